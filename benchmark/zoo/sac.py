"""The `sac` collector: Soft Actor-Critic on one task of any domain, as the paper built its zoo.

One run trains SAC on `task` in one fixed initial configuration (by default
`train_configuration(run_seed)`; every reset gives the same object and goal positions) and
collects two things:

- checkpoints: every `checkpoint_every` steps the actor is evaluated with its deterministic
  action tanh(mean) for one episode; once an evaluation has succeeded, every later evaluation
  point saves the actor's flat parameters with that evaluation trajectory (the paper: "saved
  every 5,000 steps once test success reaches 1"). Each record carries its own success, so a
  later snapshot that fails again is kept and labelled.
- conditions: sub-optimal trajectories from the first `condition_until` steps. Every
  `condition_every` steps the current actor is frozen and run once with its *stochastic*
  policy (the behaviour that fills the replay buffer). The paper takes these trajectories from
  the replay buffer itself, where the policy changes at every step of an episode; a frozen
  snapshot makes the stored parameters exactly the policy that produced the stored trajectory.
  These rollouts are not added to the replay buffer, so they do not change training.

SAC (Haarnoja et al. 2018, CleanRL's `sac_continuous_action` layout): the actor is
`benchmark.policy.GaussianActor` (tanh-squashed Gaussian, log_std clamped to [-20, 2]), twin
Q critics (256x2 MLPs) with Polyak-averaged targets, automatic entropy tuning towards
-act_dim, uniform random actions during warm-up, then one gradient update per env step.
Episodes end only by the task's time limit (`truncated`; MetaWorld 500 steps, Robosuite
150-400), which is not a terminal state, so targets always bootstrap. The run trains on
`robot` and rolls its condition trajectories out on `condition_robot` (both default to the
domain's default robot).

Seeding: network initialisation, action noise and replay sampling come from `run_seed` only
(a private torch generator and numpy generator; the global RNGs are left untouched), and the
env is deterministic given its configuration, so the same call gives the same result.

Resume: with `state_dir`, the complete training state (networks, optimizers, entropy
coefficient, replay buffer, RNG states, collected trajectories) is written as one safetensors
file with the counters as JSON in its metadata, at episode boundaries every `state_every`
steps. A rerun with the same arguments continues from it and ends with the same result as an
uninterrupted run.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.envs import CONDITION_CONFIGURATION_BASE, domain_of, make_env, train_configuration
from benchmark.errors import UserError, unknown
from benchmark.policy import GaussianActor, PolicySpec
from benchmark.zoo.format import PolicySet, empty_policy_set

STATE_FILE = "sac_state.safetensors"
STATE_VERSION = 1
METAWORLD_EPISODE = 500
"""MetaWorld's episode length: `state_every` is a multiple of it (saves on episode ends)."""


@dataclass(frozen=True)
class SACConfig:
    """Hyperparameters of one SAC collector run (defaults = the paper's scale)."""

    total_steps: int = 1_000_000
    """Environment steps of training."""
    learning_starts: int = 5_000
    """Warm-up steps with uniform random actions before the first update."""
    buffer_size: int = 1_000_000
    """Replay buffer capacity in transitions."""
    batch_size: int = 256
    """Transitions per gradient update."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Polyak rate of the target critics (updated every step)."""
    policy_lr: float = 3e-4
    """Adam learning rate of the actor."""
    q_lr: float = 3e-4
    """Adam learning rate of the twin critics."""
    alpha_lr: float = 3e-4
    """Adam learning rate of log(alpha), the entropy coefficient."""
    initial_alpha: float = 1.0
    """Entropy coefficient before tuning."""
    critic_hidden: int = 256
    """Width of both hidden layers of each critic."""
    policy_hidden: int = 128
    """Width of the actor's hidden layers (128 in the paper; Figure 12 varies it)."""
    checkpoint_every: int = 5_000
    """Steps between deterministic evaluations (and checkpoints once one has succeeded)."""
    require_success: bool = True
    """Save checkpoints only after an evaluation has succeeded (the paper); False saves at every evaluation."""
    condition_every: int = 10_000
    """Steps between stochastic condition rollouts."""
    condition_until: int = 500_000
    """Condition rollouts are taken at steps <= this (the paper's first 0.5M steps)."""
    partial_share: float = 0.5
    """A failed condition episode whose best step reward reaches this share of the domain's
    largest step reward (`Domain.reward_max`, MetaWorld 10) is 'partial'."""
    keep_after_success: int = 10
    """Stored trajectories end this many steps after the first success (the full episode without one)."""
    state_every: int = 50_000
    """Steps between training-state saves when a state_dir is given (a multiple of MetaWorld's
    500-step episode); the state is saved at the first episode end at or after each multiple,
    which for MetaWorld is the multiple itself."""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise UserError(f"SACConfig.{f.name} must be >= 0, got {value}")
        for name in ("total_steps", "buffer_size", "batch_size", "checkpoint_every", "condition_every",
                     "state_every", "critic_hidden", "policy_hidden"):
            if getattr(self, name) < 1:
                raise UserError(f"SACConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.state_every % METAWORLD_EPISODE:
            raise UserError(f"SACConfig.state_every must be a multiple of {METAWORLD_EPISODE}, got {self.state_every}")
        if self.learning_starts < self.batch_size:
            raise UserError(f"SACConfig.learning_starts ({self.learning_starts}) must be >= batch_size ({self.batch_size})")

    @classmethod
    def paper(cls) -> "SACConfig":
        """The paper's collector: 1M steps, a checkpoint every 5,000 steps after first success."""
        return cls()

    @classmethod
    def tiny(cls) -> "SACConfig":
        """A mechanics check of about a minute on one core (it does not learn the task)."""
        return cls(total_steps=2_000, learning_starts=500, buffer_size=2_000, batch_size=64,
                   checkpoint_every=500, condition_every=500, condition_until=1_000, state_every=500)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS = {"paper": SACConfig.paper, "tiny": SACConfig.tiny}


# ----------------------------------------------------------------------------- networks
class SoftQNetwork(nn.Module):
    """Q(obs (B, obs_dim), action (B, act_dim)) -> (B, 1)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(obs_dim + act_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, action], dim=1))


def sample_action(actor: GaussianActor, obs: torch.Tensor, generator: torch.Generator):
    """Reparameterised tanh-Gaussian sample: (action (B, act), log_prob (B, 1)) for obs (B, obs)."""
    mean, log_std = actor(obs)
    std = log_std.exp()
    noise = torch.randn(mean.shape, generator=generator)
    pre_tanh = mean + std * noise
    action = torch.tanh(pre_tanh)
    log_prob = -0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    # change of variables through tanh; 1e-6 keeps the log finite at |action| = 1
    log_prob = log_prob - torch.log(1 - action.pow(2) + 1e-6)
    return action, log_prob.sum(dim=1, keepdim=True)


# ----------------------------------------------------------------------------- replay buffer
class ReplayBuffer:
    """Ring buffer of transitions; arrays are (capacity, ...) float32."""

    ARRAYS = ("obs", "next_obs", "actions", "rewards", "terminations")

    def __init__(self, capacity: int, obs_dim: int, act_dim: int):
        self.capacity, self.pos, self.size = capacity, 0, 0
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros((capacity,), np.float32)
        self.terminations = np.zeros((capacity,), np.float32)

    def add(self, obs, next_obs, action, reward, terminated) -> None:
        i = self.pos
        self.obs[i], self.next_obs[i], self.actions[i] = obs, next_obs, action
        self.rewards[i], self.terminations[i] = reward, float(terminated)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """(obs, actions, rewards (B, 1), next_obs, terminations (B, 1)) as tensors."""
        idx = rng.integers(0, self.size, size=batch_size)
        return (torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[idx]),
                torch.from_numpy(self.rewards[idx, None]), torch.from_numpy(self.next_obs[idx]),
                torch.from_numpy(self.terminations[idx, None]))


# ----------------------------------------------------------------------------- rollouts
def rollout(env, policy, keep_after_success: int) -> dict:
    """One episode from reset, stopped `keep_after_success` steps after the first success.

    `policy(obs (obs_dim,) float32) -> action (act_dim,)`. Returns states (L, obs), actions
    (L, act), rewards (L,), successes (L,) uint8 and first_success (int or None).
    """
    obs, _ = env.reset()
    states, actions, rewards, successes = [], [], [], []
    first_success = None
    for t in range(env.max_path_length):
        obs = np.asarray(obs, np.float32)
        action = np.asarray(policy(obs), np.float32)
        next_obs, reward, _, truncated, info = env.step(action)
        states.append(obs)
        actions.append(action)
        rewards.append(reward)
        successes.append(int(info["success"]))
        if first_success is None and info["success"]:
            first_success = t
        if truncated or (first_success is not None and t >= first_success + keep_after_success):
            break
        obs = next_obs
    return {"states": np.stack(states), "actions": np.stack(actions),
            "rewards": np.asarray(rewards, np.float32), "successes": np.asarray(successes, np.uint8),
            "first_success": first_success}


def to_policy_set(rows: list[dict], spec: PolicySpec) -> PolicySet:
    """Stack rows (params, states, actions, rewards, successes, record) padded to the longest."""
    if not rows:
        return empty_policy_set(spec)
    horizon = max(len(r["rewards"]) for r in rows)

    def stack(key, dtype):
        out = []
        for r in rows:
            a = np.asarray(r[key], dtype)
            out.append(np.pad(a, [(0, horizon - len(a))] + [(0, 0)] * (a.ndim - 1)))
        return np.stack(out)

    return PolicySet(
        params=np.stack([r["params"] for r in rows]).astype(np.float32),
        states=stack("states", np.float32), actions=stack("actions", np.float32),
        rewards=stack("rewards", np.float32), successes=stack("successes", np.uint8),
        lengths=np.array([len(r["rewards"]) for r in rows], np.int32),
        records=[r["record"] for r in rows],
    )


# ----------------------------------------------------------------------------- training state
def _optimizer_tensors(name: str, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    return {f"opt.{name}.{index}.{key}": value.clone()
            for index, state in optimizer.state_dict()["state"].items() for key, value in state.items()}


def _load_optimizer(name: str, optimizer: torch.optim.Optimizer, tensors: dict) -> None:
    state_dict = optimizer.state_dict()  # param_groups (lr, betas, ...) follow from the config
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        parts = key.split(".")
        if parts[0] == "opt" and parts[1] == name:
            state.setdefault(int(parts[2]), {})[parts[3]] = value
    state_dict["state"] = state
    optimizer.load_state_dict(state_dict)


def _rows_tensors(prefix: str, rows: list[dict], spec: PolicySpec) -> tuple[dict, list[dict]]:
    data = to_policy_set(rows, spec)
    return {f"{prefix}.{k}": torch.from_numpy(np.ascontiguousarray(v)) for k, v in data.arrays().items()}, data.records


def _rows_from_tensors(prefix: str, tensors: dict, records: list[dict]) -> list[dict]:
    get = {k: tensors[f"{prefix}.{k}"].numpy() for k in ("params", "states", "actions", "rewards", "successes", "lengths")}
    rows = []
    for i, record in enumerate(records):
        n = int(get["lengths"][i])
        rows.append({"params": get["params"][i], "states": get["states"][i, :n], "actions": get["actions"][i, :n],
                     "rewards": get["rewards"][i, :n], "successes": get["successes"][i, :n], "record": record})
    return rows


# ----------------------------------------------------------------------------- the run
def run_sac(task: str, run_seed: int, config: SACConfig, state_dir: Path | None = None,
            progress=None, configuration: int | None = None, robot: str | None = None,
            condition_robot: str | None = None) -> tuple[PolicySet, PolicySet]:
    """Train SAC on `task` with `robot` seeded by `run_seed`, in `configuration` (default
    `train_configuration(run_seed)`, unseen-task condition runs pass
    `condition_configuration(i)`); condition rollouts on `condition_robot` (default `robot`).

    Returns (checkpoints, conditions) PolicySets (see module docstring). `progress`, if given,
    is called at the end of every episode as `progress(step, metrics)` with metrics a dict of
    floats (episode_return, episode_success, qf_loss, actor_loss, alpha, alpha_loss; losses are
    NaN before the first update). With `state_dir`, training state is saved there and a rerun
    resumes from it.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    if not isinstance(run_seed, (int, np.integer)) or not 0 <= run_seed < CONDITION_CONFIGURATION_BASE:
        raise UserError(f"run seed must be an integer in [0, {CONDITION_CONFIGURATION_BASE}), got {run_seed!r}")
    run_seed = int(run_seed)
    if configuration is None:
        configuration = train_configuration(run_seed)
    if not isinstance(configuration, (int, np.integer)) or configuration < 0:
        raise UserError(f"configuration must be a non-negative integer, got {configuration!r}")
    configuration = int(configuration)
    domain = domain_of(task)                     # raises UserError for an unknown task
    robot = domain.check_robot(robot)
    condition_robot = domain.check_robot(condition_robot or robot)
    obs_dim, act_dim, horizon = domain.obs_dim, domain.act_dim, domain.horizon(task)
    env = make_env(task, configuration, robot)
    eval_env = make_env(task, configuration, robot)  # evaluations never interrupt a training episode
    condition_env = eval_env if condition_robot == robot else make_env(task, configuration, condition_robot)
    spec = PolicySpec(obs_dim, act_dim, config.policy_hidden)

    # ---- seeding: private generators, global RNG states untouched
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run_seed)
        actor = GaussianActor(spec)
        qf1 = SoftQNetwork(obs_dim, act_dim, config.critic_hidden)
        qf2 = SoftQNetwork(obs_dim, act_dim, config.critic_hidden)
    qf1_target, qf2_target = (SoftQNetwork(obs_dim, act_dim, config.critic_hidden),
                              SoftQNetwork(obs_dim, act_dim, config.critic_hidden))
    qf1_target.load_state_dict(qf1.state_dict())
    qf2_target.load_state_dict(qf2.state_dict())
    generator = torch.Generator().manual_seed(run_seed)
    rng = np.random.default_rng(run_seed)

    q_optimizer = torch.optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=config.q_lr)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=config.policy_lr)
    target_entropy = -float(act_dim)
    log_alpha = torch.tensor([math.log(config.initial_alpha)], requires_grad=True)
    alpha_optimizer = torch.optim.Adam([log_alpha], lr=config.alpha_lr)
    buffer = ReplayBuffer(config.buffer_size, obs_dim, act_dim)

    step, reached_success = 0, False
    checkpoint_rows: list[dict] = []
    condition_rows: list[dict] = []
    losses = {"qf_loss": math.nan, "actor_loss": math.nan, "alpha_loss": math.nan}
    modules = {"actor": actor, "qf1": qf1, "qf2": qf2, "qf1_target": qf1_target, "qf2_target": qf2_target}
    optimizers = {"q": q_optimizer, "actor": actor_optimizer, "alpha": alpha_optimizer}
    # a saved state resumes only the same run; total_steps may grow to extend a finished run
    identity = {"task": task, "run_seed": run_seed, "configuration": configuration,
                "config": {k: v for k, v in config.to_dict().items() if k != "total_steps"}}
    if (robot, condition_robot) != (domain.default_robot,) * 2:  # states saved before robots keep resuming
        identity.update(robot=robot, condition_robot=condition_robot)

    def save_state() -> None:
        tensors = {f"net.{name}.{k}": v.detach().clone() for name, m in modules.items() for k, v in m.state_dict().items()}
        for name, optimizer in optimizers.items():
            tensors.update(_optimizer_tensors(name, optimizer))
        tensors["log_alpha"] = log_alpha.detach().clone()
        tensors["torch_generator"] = generator.get_state()
        for name in ReplayBuffer.ARRAYS:
            tensors[f"buffer.{name}"] = torch.from_numpy(getattr(buffer, name)[:buffer.size].copy())
        ckpt_tensors, ckpt_records = _rows_tensors("checkpoints", checkpoint_rows, spec)
        cond_tensors, cond_records = _rows_tensors("conditions", condition_rows, spec)
        tensors.update(ckpt_tensors)
        tensors.update(cond_tensors)
        counters = {"version": STATE_VERSION, **identity, "step": step, "reached_success": reached_success,
                    "buffer_pos": buffer.pos, "numpy_rng": rng.bit_generator.state,
                    "checkpoint_records": ckpt_records, "condition_records": cond_records}
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = state_dir / f".{STATE_FILE}.tmp"
        save_file(tensors, str(tmp), metadata={"state": json.dumps(counters)})
        tmp.replace(state_dir / STATE_FILE)   # atomic: a crash never leaves half a state

    if state_dir is not None:
        state_dir = Path(state_dir)
        path = state_dir / STATE_FILE
        if path.is_file():
            try:
                with safe_open(str(path), framework="pt") as handle:
                    counters = json.loads(handle.metadata()["state"])
                    tensors = {k: handle.get_tensor(k) for k in handle.keys()}
            except Exception as exc:  # safetensors raises several types for a damaged file
                raise UserError(f"{path}: unreadable SAC state ({str(exc).splitlines()[0]})") from None
            saved = {k: counters.get(k) for k in identity}
            if counters.get("version") != STATE_VERSION or saved != json.loads(json.dumps(identity)):
                raise UserError(f"{path}: saved state belongs to another run ({saved['task']}, seed {saved['run_seed']}, "
                                f"or a different config); use another state_dir")
            for name, m in modules.items():
                m.load_state_dict({k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"net.{name}.")})
            for name, optimizer in optimizers.items():
                _load_optimizer(name, optimizer, tensors)
            with torch.no_grad():
                log_alpha.copy_(tensors["log_alpha"])
            generator.set_state(tensors["torch_generator"])
            rng.bit_generator.state = counters["numpy_rng"]
            buffer.size, buffer.pos = len(tensors["buffer.rewards"]), counters["buffer_pos"]
            for name in ReplayBuffer.ARRAYS:
                getattr(buffer, name)[:buffer.size] = tensors[f"buffer.{name}"].numpy()
            step, reached_success = counters["step"], counters["reached_success"]
            checkpoint_rows = _rows_from_tensors("checkpoints", tensors, counters["checkpoint_records"])
            condition_rows = _rows_from_tensors("conditions", tensors, counters["condition_records"])

    def record(kind_step: int, episode: dict, on_robot: str) -> dict:
        first = episode["first_success"]
        return {"task": task, "source": "sac", "run_seed": run_seed, "configuration": configuration,
                "step": kind_step, "success": float(first is not None), "first_success_step": first,
                "robot": on_robot}

    def deterministic(obs):
        with torch.no_grad():
            return actor.act(torch.from_numpy(obs)[None])[0].numpy()

    def stochastic(obs):
        with torch.no_grad():
            return sample_action(actor, torch.from_numpy(obs)[None], generator)[0][0].numpy()

    # ---- training loop; every episode is exactly `horizon` steps long (time limit only)
    episode_return, episode_success = 0.0, 0.0
    next_save = (step // config.state_every + 1) * config.state_every
    while step < config.total_steps:
        if step % horizon == 0:
            obs, _ = env.reset()
            obs = np.asarray(obs, np.float32)
            episode_return, episode_success = 0.0, 0.0

        if step < config.learning_starts:
            action = rng.uniform(-1.0, 1.0, act_dim).astype(np.float32)
        else:
            action = stochastic(obs)
        next_obs, reward, terminated, truncated, info = env.step(action)
        next_obs = np.asarray(next_obs, np.float32)
        buffer.add(obs, next_obs, action, reward, terminated)  # truncation is not terminal: keep bootstrapping
        obs = next_obs
        episode_return += float(reward)
        episode_success = max(episode_success, float(info["success"]))
        step += 1

        if step > config.learning_starts:
            b_obs, b_actions, b_rewards, b_next_obs, b_terms = buffer.sample(config.batch_size, rng)
            alpha = log_alpha.exp().item()
            with torch.no_grad():
                next_actions, next_log_prob = sample_action(actor, b_next_obs, generator)
                min_q_next = torch.min(qf1_target(b_next_obs, next_actions), qf2_target(b_next_obs, next_actions))
                q_target = b_rewards + (1 - b_terms) * config.gamma * (min_q_next - alpha * next_log_prob)
            qf_loss = F.mse_loss(qf1(b_obs, b_actions), q_target) + F.mse_loss(qf2(b_obs, b_actions), q_target)
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()

            actions_pi, log_prob = sample_action(actor, b_obs, generator)
            min_q_pi = torch.min(qf1(b_obs, actions_pi), qf2(b_obs, actions_pi))
            actor_loss = (alpha * log_prob - min_q_pi).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()

            alpha_loss = (-log_alpha.exp() * (log_prob.detach() + target_entropy)).mean()
            alpha_optimizer.zero_grad()
            alpha_loss.backward()
            alpha_optimizer.step()

            with torch.no_grad():
                for net, target in ((qf1, qf1_target), (qf2, qf2_target)):
                    for param, target_param in zip(net.parameters(), target.parameters()):
                        target_param.lerp_(param, config.tau)
            losses = {"qf_loss": qf_loss.item(), "actor_loss": actor_loss.item(), "alpha_loss": alpha_loss.item()}

        if step % config.checkpoint_every == 0:
            episode = rollout(eval_env, deterministic, config.keep_after_success)
            reached_success = reached_success or episode["first_success"] is not None
            if reached_success or not config.require_success:
                checkpoint_rows.append({**episode, "params": actor.flat_parameters(), "record": record(step, episode, robot)})

        if step % config.condition_every == 0 and step <= config.condition_until:
            episode = rollout(condition_env, stochastic, config.keep_after_success)
            rec = record(step, episode, condition_robot)
            if episode["first_success"] is not None:
                rec["quality"] = "success"
            else:
                partial = episode["rewards"].max() >= config.partial_share * domain.reward_max
                rec["quality"] = "partial" if partial else "fail"
            condition_rows.append({**episode, "params": actor.flat_parameters(), "record": rec})

        if truncated:
            if step >= next_save:
                next_save = (step // config.state_every + 1) * config.state_every
                if state_dir is not None:
                    save_state()
            if progress is not None:
                progress(step, {"episode_return": episode_return, "episode_success": episode_success,
                                "alpha": log_alpha.exp().item(), **losses})

    return to_policy_set(checkpoint_rows, spec), to_policy_set(condition_rows, spec)


def make_config(preset: str, overrides: dict | None = None) -> SACConfig:
    """A preset by name ('paper' or 'tiny') with field overrides; bad names raise UserError."""
    if preset not in PRESETS:
        raise unknown("SAC preset", preset, PRESETS)
    overrides = dict(overrides or {})
    bad = sorted(set(overrides) - {f.name for f in fields(SACConfig)})
    if bad:
        raise UserError(f"unknown SACConfig field(s): {', '.join(bad)}")
    return replace(PRESETS[preset](), **overrides)
