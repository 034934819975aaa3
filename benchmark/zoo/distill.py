"""The `expert-distill` collector: MetaWorld's scripted expert distilled into the policy family.

One run = one (task, run seed) on the run's fixed configuration:

1. roll out the scripted expert once; its (state, action) pairs start the dataset;
2. DAgger: train the actor, roll the *learner* out, relabel every visited state with the
   expert's action, aggregate, repeat;
3. once the deterministic learner succeeds, keep training and harvest **checkpoints**:
   every `snapshot_every` updates a snapshot is evaluated on the configuration, and kept
   when it succeeds and differs from the last kept one by at least `min_relative_change`
   (relative L2 distance of the parameter vectors).

The run's sub-optimal **condition trajectories** are stochastic rollouts of the learner
(actions sampled from the actor's Gaussian) on the run's configuration, drawn by one of two
recipes (`condition_recipe`):

- "before-success": one per DAgger iteration while the learner does not yet succeed (the
  first `conditions_per_run` iterations): a harder protocol, prompts from before the run
  first succeeds.
- "training-window": the paper's, whose conditions come from the SAC replay buffer of the
  first 0.5M steps of runs whose checkpoints span ~0.94M steps after first success. The run
  trains for `max_updates` updates (the window's end at least) and records its conditions at
  evenly spaced updates over the first `condition_window` of them, before and after the
  first success alike; each record's `step` is the update it was drawn at.

With `configurations_per_run` K > 1 the run trains on K configurations (its own first, then
`extra_configurations`): the expert is demonstrated and the learner relabelled on all of
them, and a snapshot is harvested only when it succeeds on all K, so checkpoints generalise
beyond one initial configuration. Checkpoint trajectories and condition trajectories are
still rollouts on the run's own configuration. K = 1 is the one-configuration recipe.

With `warm_start_demos` D > 0 the dataset starts with expert demonstrations in D further
configurations (`demo_configurations`, disjoint from every run's own, extra and evaluation
configurations), and `warm_start_updates` updates on them precede the first DAgger iteration
(behaviour cloning before DAgger: the NutAssemblyRound recipe, docs/robosuite.md).

With `shared_init` every run of a task starts from one initialisation (seeded by the task
name) instead of its own. Independently initialised runs end in separate modes of parameter
space (hidden units permuted; `scripts/probe_zoo_modes.py` measures it), which a parameter
generator must keep apart; runs from one initialisation may share a mode.

The run trains on `robot` (the domain's default when None); its condition trajectories are
rolled out on `condition_robot` (default: the same robot). The Robosuite zoo distils on Panda
and records its conditions on Sawyer, the robot its policies are evaluated on.

The actor is fitted on tanh(mean) against the expert action (MSE) and its log-std head on
the Gaussian likelihood of the expert action under exploration noise, so the zoo's log-std
parameters look like those of a trained stochastic actor rather than a random init.
"""
from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.envs import domain_of, expert_policy, make_env, train_configuration
from benchmark.errors import UserError
from benchmark.policy import GaussianActor, PolicySpec
from benchmark.rollout import Trajectory, rollout, trajectories_to_arrays
from benchmark.zoo.format import PolicySet, empty_policy_set

COLLECTOR_VERSION = 2


@dataclass
class DistillConfig:
    """Hyperparameters of one expert-distillation run."""

    checkpoints_per_run: int = 20
    """Successful, distinct snapshots harvested per run (0: conditions only)."""
    conditions_per_run: int = 10
    """Stochastic rollouts of the learner recorded as condition trajectories."""
    condition_recipe: str = "before-success"
    """When the conditions are drawn: 'before-success' (the DAgger iterations before the first
    success) or 'training-window' (evenly over the first `condition_window` of `max_updates`;
    see the module docstring)."""
    condition_window: float = 0.4
    """Share of the run's `max_updates` the 'training-window' conditions are drawn from."""
    min_steps: int = 0
    """Every recorded trajectory runs at least this many steps, success or not (60: what the
    embedding reads is never padding)."""
    updates_per_iteration: int = 75
    """Gradient steps between DAgger rollouts before the first success."""
    snapshot_every: int = 20
    """Gradient steps between harvested snapshots."""
    dagger_every: int = 5
    """While harvesting, aggregate the learner's relabelled rollout every this many snapshots."""
    batch_size: int = 256
    """Minibatch size."""
    lr: float = 1e-3
    """Adam learning rate."""
    exploration_std: float = 0.2
    """Std of the noise on expert actions that the log-std head learns to predict."""
    log_std_weight: float = 0.05
    """Weight of the log-std head's Gaussian likelihood term."""
    min_relative_change: float = 0.01
    """Minimum relative L2 distance between two harvested checkpoints."""
    steps_after_success: int = 10
    """Steps recorded after the first success (trajectories are cut there)."""
    max_updates: int = 20_000
    """Gradient-step budget of one run; a run out of budget returns what it has (a step
    budget, not a time budget, so the result does not depend on the machine's load)."""
    configurations_per_run: int = 1
    """K: configurations a run trains on and its checkpoints must all succeed in (1: the run's
    own only)."""
    shared_init: bool = False
    """Start every run of a task from the same initial parameters (seeded by the task name)."""
    warm_start_demos: int = 0
    """Expert demonstrations in further configurations (`demo_configurations`) that start the
    dataset (0: only the run's own configurations)."""
    warm_start_updates: int = 0
    """Updates on the starting dataset before the first DAgger iteration (they count against
    `max_updates`)."""
    harvest_lr: float | None = None
    """Adam learning rate once the learner succeeds, while harvesting (None: `lr`). Meant to keep
    a fragile success across snapshots; on NutAssemblyRound 1e-4 harvested more slowly than 1e-3
    (docs/robosuite.md), probably as smaller steps fall under `min_relative_change` more often."""

    def __post_init__(self):
        if self.condition_recipe not in CONDITION_RECIPES:
            raise UserError(f"distill: condition_recipe {self.condition_recipe!r}; valid: {', '.join(CONDITION_RECIPES)}")
        if not 0 < self.condition_window <= 1:
            raise UserError(f"distill: condition_window must lie in (0, 1], got {self.condition_window}")


CONDITION_RECIPES = ("before-success", "training-window")
EXTRA_CONFIGURATION_STRIDE = 10_000
"""Extra configuration k of run r is train_configuration(r + k * stride): disjoint across runs
(r < stride) and inside the zoo's range."""


def extra_configurations(run_seed: int, count: int) -> list[int]:
    """The `count` configurations a run trains on beyond its own (K - 1 of them)."""
    if count and run_seed >= EXTRA_CONFIGURATION_STRIDE:
        raise ValueError(f"run seed {run_seed} >= {EXTRA_CONFIGURATION_STRIDE}: no room for extra configurations")
    return [train_configuration(run_seed + k * EXTRA_CONFIGURATION_STRIDE) for k in range(1, count + 1)]


def demo_configurations(run_seed: int, count: int) -> list[int]:
    """The `count` configurations of run r's warm-start demonstrations (scripts/nut_phases.py):
    100 * (r + 1) + j, whose remainder mod the extra stride is >= 100, so disjoint from other runs'
    demonstrations and, in zoos whose run seeds r lie below 99, from every run's own and extra
    configurations (remainder r)."""
    if count and not (run_seed < 99 and count <= 100):
        raise ValueError(f"demo configurations: run seed {run_seed} >= 99 or count {count} > 100")
    return [train_configuration(100 * (run_seed + 1) + j) for j in range(count)]


def condition_updates(config: DistillConfig) -> list[int]:
    """The updates at which a 'training-window' run records its conditions: evenly spaced over
    the first `condition_window` of `max_updates`, the last at the window's end."""
    window = config.condition_window * config.max_updates
    return [max(1, round((k + 1) * window / config.conditions_per_run)) for k in range(config.conditions_per_run)]


def shared_initialisation(task: str, spec: PolicySpec) -> GaussianActor:
    """The one initial actor of every `shared_init` run of `task`, seeded by the task name;
    the global torch RNG is left as it was, so a run's own random stream does not change."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(zlib.crc32(task.encode()))
        return GaussianActor(spec)


def fit_actor(actor: GaussianActor, optimizer: torch.optim.Optimizer, states: np.ndarray, targets: np.ndarray,
              n_updates: int, rng: np.random.Generator, config: DistillConfig) -> float:
    """`n_updates` minibatch steps of the distillation loss on (states (N, obs), expert actions
    (N, act)): MSE of tanh(mean) plus the log-std head's likelihood of the noisy expert action.
    Returns the last loss."""
    states, targets = torch.from_numpy(states), torch.from_numpy(targets)
    loss = torch.zeros(())
    for _ in range(n_updates):
        idx = torch.from_numpy(rng.integers(len(states), size=config.batch_size))
        mean, log_std = actor(states[idx])
        target = targets[idx]
        noisy = (target + config.exploration_std * torch.randn_like(target)).clamp(-0.999, 0.999)
        z = (torch.atanh(noisy) - mean.detach()) / log_std.exp()
        nll = (0.5 * z.pow(2) + log_std).mean()
        loss = torch.nn.functional.mse_loss(torch.tanh(mean), target) + config.log_std_weight * nll
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def expert_actions(expert, states: np.ndarray) -> np.ndarray:
    """(L, act) the expert's actions on states (L, obs), clipped to the action box."""
    with warnings.catch_warnings():  # experts warn about gains that the env clips anyway
        warnings.simplefilter("ignore", UserWarning)
        return np.clip(np.stack([expert.get_action(s.copy()) for s in states]), -1.0, 1.0).astype(np.float32)


def _record(task, run_seed, configuration, step, trajectory: Trajectory, robot: str, **extra) -> dict:
    first = trajectory.first_success_step
    return dict(task=task, source="expert-distill", run_seed=int(run_seed),
                configuration=int(configuration), step=int(step), success=float(first >= 0),
                first_success_step=first if first >= 0 else None, robot=robot, **extra)


def _policy_set(params: list, trajectories: list, records: list, spec: PolicySpec) -> PolicySet:
    if not params:
        return empty_policy_set(spec)
    return PolicySet(params=np.stack(params).astype(np.float32), records=records,
                     **trajectories_to_arrays(trajectories, spec))


def _quality(trajectory: Trajectory, reward_max: float) -> str:
    """'success', 'partial' (a step reward above a tenth of the domain's largest) or 'fail'."""
    partial = trajectory.rewards.max() > 0.1 * reward_max
    return "success" if trajectory.success else ("partial" if partial else "fail")


def run_distill(task: str, run_seed: int, configuration: int, config: DistillConfig, spec: PolicySpec,
                robot: str | None = None, condition_robot: str | None = None) -> tuple[PolicySet, PolicySet, dict]:
    """One distillation run on `robot`, conditions on `condition_robot` (see the module
    docstring; None: the domain's default robot, and the run's robot). Returns (checkpoints,
    conditions, stats)."""
    start = time.time()
    domain = domain_of(task)
    robot = domain.check_robot(robot)
    condition_robot = domain.check_robot(condition_robot or robot)
    rng = np.random.default_rng([run_seed, configuration, 7])
    torch.manual_seed(int(rng.integers(2**31)))
    env = make_env(task, configuration, robot)
    condition_env = env if condition_robot == robot else make_env(task, configuration, condition_robot)
    extra_envs = [make_env(task, c, robot) for c in extra_configurations(run_seed, config.configurations_per_run - 1)]
    expert = expert_policy(task, robot)
    actor = GaussianActor(spec)
    if config.shared_init:
        actor.load_state_dict(shared_initialisation(task, spec).state_dict())
    optimizer = torch.optim.Adam(actor.parameters(), lr=config.lr)

    def demonstrate(demo_env) -> Trajectory:
        """An expert rollout; its states, labelled, join the training set."""
        trajectory = rollout(demo_env, lambda obs: expert_actions(expert, obs[None])[0],
                             steps_after_success=config.steps_after_success, min_steps=config.min_steps)
        data_states.append(trajectory.states)
        data_actions.append(expert_actions(expert, trajectory.states))
        return trajectory

    data_states, data_actions = [], []
    demo = demonstrate(env)
    for extra_env in extra_envs:
        demonstrate(extra_env)
    demo_env = None
    for demo_configuration in demo_configurations(run_seed, config.warm_start_demos):
        if demo_env is not None and domain.reconfigurable:
            demo_env.configuration = demo_configuration  # moved, not rebuilt (a build costs seconds)
        else:
            demo_env = make_env(task, demo_configuration, robot)
        demonstrate(demo_env)

    def act_deterministic(obs):
        with torch.no_grad():
            return actor.act(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    def act_stochastic(obs):
        with torch.no_grad():
            mean, log_std = actor(torch.as_tensor(obs, dtype=torch.float32))
            noise = torch.as_tensor(rng.standard_normal(mean.shape), dtype=torch.float32)
            return torch.tanh(mean + log_std.exp() * noise).numpy()

    def aggregate(trajectory: Trajectory):
        data_states.append(trajectory.states)
        data_actions.append(expert_actions(expert, trajectory.states))

    updates = 0

    def train(n_updates: int) -> float:
        nonlocal updates
        loss = fit_actor(actor, optimizer, np.concatenate(data_states), np.concatenate(data_actions),
                         n_updates, rng, config)
        updates += n_updates
        return loss

    if config.warm_start_updates:
        train(config.warm_start_updates)

    def succeeds_everywhere() -> bool:
        """Roll the learner out on the extra configurations (relabelled and aggregated);
        True if it succeeds on all of them."""
        ok = True
        for extra_env in extra_envs:
            trajectory = rollout(extra_env, act_deterministic, steps_after_success=config.steps_after_success,
                             min_steps=config.min_steps)
            aggregate(trajectory)
            ok = ok and trajectory.success
        return ok

    cond_params, cond_trajs, cond_records = [], [], []
    ckpt_params, ckpt_trajs, ckpt_records = [], [], []
    first_success_update = None
    windowed = config.condition_recipe == "training-window"
    due = condition_updates(config) if windowed else []

    def record_condition():
        noisy = rollout(condition_env, act_stochastic, steps_after_success=config.steps_after_success,
                        min_steps=config.min_steps)
        cond_params.append(actor.flat_parameters())
        cond_trajs.append(noisy)
        cond_records.append(_record(task, run_seed, configuration, updates, noisy, condition_robot,
                                    quality=_quality(noisy, domain.reward_max)))

    def record_due_conditions():
        while due and updates >= due[0]:
            due.pop(0)
            record_condition()

    # DAgger until the deterministic learner succeeds on the configuration.
    while updates < config.max_updates:
        train(config.updates_per_iteration)
        if windowed:
            record_due_conditions()
        elif len(cond_trajs) < config.conditions_per_run:
            record_condition()
        learner = rollout(env, act_deterministic, steps_after_success=config.steps_after_success,
                          min_steps=config.min_steps)
        aggregate(learner)
        succeeded = learner.success and (not extra_envs or succeeds_everywhere())
        if succeeded and (windowed or len(cond_trajs) >= config.conditions_per_run):
            first_success_update = updates
            break
        if succeeded and first_success_update is None:
            first_success_update = updates
            if config.checkpoints_per_run == 0:
                # Conditions are still missing: keep sampling them from this stage.
                continue

    # Harvest distinct successful snapshots.
    if config.harvest_lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = config.harvest_lr
    last_kept = None
    snapshots_tried = 0
    while (first_success_update is not None and (len(ckpt_params) < config.checkpoints_per_run or due)
           and updates < config.max_updates):
        train(config.snapshot_every)
        record_due_conditions()
        if len(ckpt_params) >= config.checkpoints_per_run:
            continue  # training goes on to the end of the conditions' window
        snapshots_tried += 1
        trajectory = rollout(env, act_deterministic, steps_after_success=config.steps_after_success,
                             min_steps=config.min_steps)
        if snapshots_tried % config.dagger_every == 0:
            aggregate(trajectory)
        if not trajectory.success or (extra_envs and not succeeds_everywhere()):
            continue
        params = actor.flat_parameters()
        if last_kept is not None:
            change = np.linalg.norm(params - last_kept) / np.linalg.norm(last_kept)
            if change < config.min_relative_change:
                continue
        last_kept = params
        ckpt_params.append(params)
        ckpt_trajs.append(trajectory)
        ckpt_records.append(_record(task, run_seed, configuration, updates, trajectory, robot))

    stats = dict(task=task, run_seed=run_seed, configuration=configuration, robot=robot,
                 condition_robot=condition_robot, configurations_per_run=config.configurations_per_run,
                 seconds=time.time() - start, updates=updates,
                 first_success_update=first_success_update,
                 snapshots_tried=snapshots_tried, checkpoints=len(ckpt_params),
                 conditions=len(cond_params), expert_success=demo.success)
    return (_policy_set(ckpt_params, ckpt_trajs, ckpt_records, spec),
            _policy_set(cond_params, cond_trajs, cond_records, spec), stats)
