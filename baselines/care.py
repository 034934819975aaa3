"""CARE: Contextual Attention-based REpresentations (Sodhani, Zhang, Pineau, ICML 2021), on SAC.

Networks (actor and critic each have their own):
    metadata m (metadata_dim)  -> context encoder MLP -> c (context_dim)
    state s -> k encoder MLPs   -> e_1..e_k (encoder_dim each)
    attention alpha = softmax(Linear(c)) over k;  representation r = sum_i alpha_i e_i
    actor:  [r, c] -> MLP -> (mean, log_std) of a tanh-squashed Gaussian (act_dim)
    critic: [r, c, a] -> two MLPs -> Q1, Q2;  target critic by Polyak averaging; automatic
            entropy temperature with target entropy -act_dim.

Inputs (what it reads from a condition trajectory): states, actions, the success flags (for the
sparse finetuning reward) and the task name (for the task description). It never reads the
dense reward of a condition trajectory.

Task metadata: CARE embeds a text description of each task with a pretrained language model
(RoBERTa in mtrl). The descriptions here are not ours: `TASK_DESCRIPTIONS` is mtrl's
`config/env/metaworld-mt50.yaml` `description:` field, copied verbatim (typos and all; mtrl
names MetaWorld v1 tasks, this benchmark runs v3 envs of the same names). No language model may
be downloaded, so `describe` embeds a description as a signed hashed bag of words and character
trigrams (crc32 hashing into `metadata_dim` buckets, L2-normalised): deterministic, and an
unseen task shares words with related seen tasks (as the descriptions themselves do).

Architecture as mtrl's CARE on MetaWorld where it costs nothing: k state encoders of one hidden
layer of `encoder_hidden` (50) units to `encoder_dim` (50); the task encoder metadata ->
50 -> 50 -> `context_dim` (50); attention weights from an MLP 50 -> 50 -> k on the DETACHED
task encoding (mtrl's should_detach_task_encoding); actor and critic trunks of `trunk_layers`
(3) hidden layers of `hidden`; one entropy temperature per training task (mtrl's multi-task
alpha). Actor and critic have their own encoders (mtrl ties the actor's to the critic's and
detaches it in the actor update).

Training: `online_steps_per_task > 0` (the `paper` preset) runs online multi-task SAC with
MetaWorld's dense reward, one env per seen task stepped in lockstep and one update per lockstep
step on a batch of `batch_size` transitions per task (CARE's MT10 setting). Reduced presets
pretrain OFFLINE on the zoo's stored transitions (state, action, dense reward, next state)
with a TD3+BC-style actor loss (Fujimoto & Gu 2021), which offline SAC needs to stay on data.

Adaptation per cell (offline, the SAC update with the same BC term): K copies of the pretrained
agent, copy k on bootstrap resample k of the condition trajectories, with a SPARSE reward on the
pretraining scale: the step of a trajectory's first success is terminal (evaluation episodes
end there) with reward `success_value` = reward_scale * reward_max / (1 - gamma), the value of
staying in success with the domain's best dense reward (`Domain.reward_max`: MetaWorld 10 per
step, Robosuite 1) forever, which is the largest value
the pretrained critic can hold; every other step has reward 0; steps after the first success,
and the last step of a failed trajectory (no next state), are not used. (A terminal reward of
1, as before, sat far below the pretrained Q values in the tens and taught the critic that
succeeding is worse than carrying on.) The temperature starts at the task's own (the mean
log-temperature of the training tasks for an unseen task). K = `n_adapt`, or by default (0)
one per condition trajectory, as Make-An-Agent. Returns an ActorProposal whose actor acts
with tanh(mean) of member policy_ids[b] for row b.
"""
from __future__ import annotations

import copy
import re
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from baselines.common import (
    EnsembleLinear,
    bootstrap_rows,
    check_policy_set,
    condition_task,
    n_proposals,
    replicate,
    sample_steps,
    seeded,
)
from benchmark.api import STATE_META, ActorProposal, Method, config_from_dict, config_to_dict, report_progress
from benchmark.envs import domain_of, make_env, train_configuration
from benchmark.errors import UserError
from benchmark.policy import LOG_STD_MAX, LOG_STD_MIN, PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

REDUCTIONS: dict[str, str] = {
    "paper": ("online SAC with dense rewards, 2M steps per seen task, CARE's MT10 recipe (k=6 encoders, trunks "
              "of 3 x 400, batch 128 per task); task descriptions embedded by a hashed bag of words, not RoBERTa "
              "(nothing may be downloaded); actor and critic have their own encoders; finetuning offline on the "
              "condition trajectories with a TD3+BC actor term (500 updates)"),
    "mini": ("NO online RL: pretrained OFFLINE on the zoo's stored transitions (dense reward) with a TD3+BC actor "
             "term, 4k updates (2M online steps per task); k=4 encoders (6), trunk width 128 (400); finetuning "
             "40 updates of batch 32 per cell (500 of 64)"),
    "smoke": "offline, a few updates, tiny widths: plumbing only",
}

# Task descriptions: vendored data, not written for this benchmark. Copied verbatim from mtrl
# (https://github.com/facebookresearch/mtrl, config/env/metaworld-mt50.yaml, key `description`,
# commit e6c0e4a93d40ef3267ddba873da0afe9571eab45; Copyright (c) Facebook, Inc. and its
# affiliates, MIT License), the descriptions CARE's authors embedded. mtrl's keys are MetaWorld v1
# names (`reach-v1`); MetaWorld's `button-press` is mtrl's `button-press-v1` (not `-topdown`).
PROGRESS_EVERY = 500
"""Updates (offline) or env steps (online) between two progress reports."""

TASK_DESCRIPTIONS = {
    "window-open": "Push and open a window. Randomize window positions.",
    "window-close": "Push and close a window. Randomize window positions.",
    "door-open": "Open a door with a revolving joint. Randomize door positions.",
    "door-close": "Close a door with a revolvinig joint. Randomize door positions.",
    "drawer-open": "Open a drawer. Randomize drawer positions.",
    "drawer-close": "Push and close a drawer. Randomize the drawer positions.",
    "dial-turn": "Rotate a dial 180 degrees. Randomize dial positions.",
    "faucet-open": "Rotate the faucet counter-clockwise. Randomize faucet positions.",
    "faucet-close": "Rotate the faucet clockwise. Randomize faucet positions.",
    "button-press": "Press a button. Randomize button positions.",
    "button-press-wall": "Bypass a wall and press a button. Randomize the button positions.",
    "door-unlock": "Unlock the door by rotating the lock counter-clockwise. Randomize door positions.",
    "door-lock": "Lock the door by rotating the lock clockwise. Randomize door positions.",
    "handle-press": "Press a handle down. Randomize the handle positions",
    "handle-press-side": "Press a handle down sideways. Randomize the handle positions.",
    "plate-slide": "Get a plate from the cabinet. Randomize plate and cabinet positions",
    "reach": "Reach a goal position. Randomize the goal positions.",
    "reach-wall": "Bypass a wall and reach a goal. Randomize goal positions.",
    "coffee-button": "Push a button on the coffee machine. Randomize the position of the coffee machine.",
    # Robosuite 1.5.2's own class docstrings (robosuite/environments/manipulation/*.py, MIT License),
    # first sentence, verbatim: mtrl has no Robosuite tasks.
    "Lift": "This class corresponds to the lifting task for a single robot arm.",
    "Door": "This class corresponds to the door opening task for a single robot arm.",
    "NutAssemblyRound": "Easier version of task - place one round nut into its peg.",
}


def describe(task: str, dim: int) -> np.ndarray:
    """(dim,) float32 metadata embedding of the task's description: signed hashed words and
    character trigrams (of '<word>'), L2-normalised. Deterministic across runs and machines."""
    if task not in TASK_DESCRIPTIONS:
        raise UserError(f"CARE has no description of task {task!r}; add one to TASK_DESCRIPTIONS")
    vector = np.zeros(dim, np.float64)
    for word in re.findall(r"[a-z0-9]+", TASK_DESCRIPTIONS[task].lower()):
        marked = f"<{word}>"
        for feature in [word] + [marked[i:i + 3] for i in range(len(marked) - 2)]:
            code = zlib.crc32(feature.encode())
            vector[code % dim] += 1.0 if (code >> 31) & 1 else -1.0
    return (vector / max(np.linalg.norm(vector), 1e-8)).astype(np.float32)


@dataclass
class Config:
    """Hyperparameters of CARE on SAC."""

    n_encoders: int = 6
    """k, the number of state encoders mixed by attention."""
    encoder_dim: int = 50
    """Output size of each state encoder."""
    context_dim: int = 50
    """Output size of the context (metadata) encoder."""
    metadata_dim: int = 128
    """Size of the hashed bag-of-words embedding of a task description."""
    hidden: int = 400
    """Width of the actor's and the critics' trunk layers."""
    trunk_layers: int = 3
    """Hidden layers of the actor's and each critic's trunk (mtrl: 3)."""
    encoder_hidden: int = 50
    """Hidden width of the state encoders, the task encoder and the attention MLP (mtrl: 50)."""
    gamma: float = 0.99
    """Discount."""
    tau: float = 0.005
    """Polyak rate of the target critic."""
    lr: float = 3e-4
    """Adam learning rate of actor, critics and temperature."""
    init_temperature: float = 1.0
    """Initial entropy temperature alpha."""
    reward_scale: float = 0.1
    """Multiplies the dense reward in pretraining (MetaWorld's lies in 0..10 per step; the
    profiles set 1.0 for Robosuite, whose reward lies in 0..1)."""
    batch_size: int = 128
    """Transitions per update (online: per task)."""
    online_steps_per_task: int = 2_000_000
    """Online env steps per seen task; 0 pretrains offline on the zoo's transitions instead."""
    learning_starts: int = 1_500
    """Online: lockstep steps with uniform random actions before updates start."""
    offline_steps: int = 0
    """Offline pretraining updates (used when online_steps_per_task is 0)."""
    bc_alpha: float = 2.5
    """TD3+BC weight in offline updates: actor loss lambda*(alpha*logp - Q) + |tanh(mean) - a|^2,
    lambda = bc_alpha / mean|Q|. Online SAC never uses it."""
    finetune_steps: int = 500
    """Offline SAC updates of each adaptation on the condition trajectories (sparse reward)."""
    finetune_batch_size: int = 64
    """Transitions per finetuning update and proposed policy."""
    n_adapt: int = 0
    """Policies proposed per cell; 0 means one per condition trajectory (as Make-An-Agent)."""
    train_tasks: list[str] = field(default_factory=list)
    """Seen tasks pretraining uses (online or offline); empty means all of the zoo's. For runs of
    online SAC at small scale (suite care-online), which cannot afford every seen task."""
    device: str = "cpu"
    """Torch device."""


PRESETS = {
    "paper": {},
    "mini": {"online_steps_per_task": 0, "offline_steps": 4_000, "n_encoders": 4, "hidden": 128,
             "finetune_steps": 40, "finetune_batch_size": 32},
    "smoke": {"online_steps_per_task": 0, "offline_steps": 5, "n_encoders": 2, "hidden": 32, "encoder_dim": 16,
              "context_dim": 16, "batch_size": 16, "finetune_steps": 3, "finetune_batch_size": 8},
}


def mlp(sizes: list[int], ensemble: int) -> nn.Sequential:
    """Ensemble MLP with ReLU between layers: (E, B, sizes[0]) -> (E, B, sizes[-1])."""
    layers = []
    for i in range(len(sizes) - 1):
        layers += [EnsembleLinear(sizes[i], sizes[i + 1], ensemble)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


class MixtureEncoder(nn.Module):
    """(state (E, B, obs), metadata (E, B, m)) -> [sum_i alpha_i e_i(state), c] (E, B, encoder_dim + context_dim)."""

    def __init__(self, cfg: Config, obs_dim: int, ensemble: int):
        super().__init__()
        h = cfg.encoder_hidden
        self.context = mlp([cfg.metadata_dim, h, h, cfg.context_dim], ensemble)
        self.encoders = nn.ModuleList([mlp([obs_dim, h, cfg.encoder_dim], ensemble)
                                       for _ in range(cfg.n_encoders)])
        self.attention = mlp([cfg.context_dim, h, h, cfg.n_encoders], ensemble)

    def forward(self, obs: torch.Tensor, metadata: torch.Tensor) -> torch.Tensor:
        c = self.context(metadata)
        alpha = torch.softmax(self.attention(c.detach()), dim=-1)                       # (E, B, k), task encoding detached
        encodings = torch.stack([encoder(obs) for encoder in self.encoders], dim=-1)    # (E, B, d, k)
        return torch.cat([(encodings * alpha[..., None, :]).sum(-1), c], dim=-1)


class CareActor(nn.Module):
    """Tanh-Gaussian policy on the mixture representation."""

    def __init__(self, cfg: Config, spec: PolicySpec, ensemble: int = 1):
        super().__init__()
        self.encoder = MixtureEncoder(cfg, spec.obs_dim, ensemble)
        self.trunk = mlp([cfg.encoder_dim + cfg.context_dim] + [cfg.hidden] * cfg.trunk_layers + [2 * spec.act_dim],
                         ensemble)

    def forward(self, obs, metadata):
        """(mean, log_std), each (E, B, act), of the pre-tanh Gaussian."""
        mean, log_std = self.trunk(torch.relu(self.encoder(obs, metadata))).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs, metadata):
        """(action (E, B, act) in (-1, 1), log-probability (E, B), mean (E, B, act))."""
        mean, log_std = self(obs, metadata)
        u = mean + log_std.exp() * torch.randn_like(mean)
        action = torch.tanh(u)
        log_prob = (-0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        log_prob = log_prob - (2 * (np.log(2) - u - nn.functional.softplus(-2 * u))).sum(-1)
        return action, log_prob, mean


class CareCritic(nn.Module):
    """Twin Q on [mixture representation, action]."""

    def __init__(self, cfg: Config, spec: PolicySpec, ensemble: int = 1):
        super().__init__()
        self.encoder = MixtureEncoder(cfg, spec.obs_dim, ensemble)
        sizes = [cfg.encoder_dim + cfg.context_dim + spec.act_dim] + [cfg.hidden] * cfg.trunk_layers + [1]
        self.q1, self.q2 = mlp(sizes, ensemble), mlp(sizes, ensemble)

    def forward(self, obs, metadata, action):
        """(Q1, Q2), each (E, B)."""
        x = torch.cat([torch.relu(self.encoder(obs, metadata)), action], dim=-1)
        return self.q1(x)[..., 0], self.q2(x)[..., 0]


class SacAgent(nn.Module):
    """Actor, critic, target critic and log temperatures (E members x n_tasks) of E ensemble members."""

    def __init__(self, cfg: Config, spec: PolicySpec, ensemble: int = 1, n_tasks: int = 1):
        super().__init__()
        self.actor = CareActor(cfg, spec, ensemble)
        self.critic = CareCritic(cfg, spec, ensemble)
        self.target = copy.deepcopy(self.critic).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.full((ensemble, n_tasks), float(np.log(cfg.init_temperature))))

    def replicate(self, ensemble: int, log_alpha: float) -> "SacAgent":
        """E copies of the (single) member, for one task whose log temperature is `log_alpha`."""
        clone = replicate(self, ensemble)
        with torch.no_grad():
            clone.log_alpha = nn.Parameter(torch.full((ensemble, 1), float(log_alpha)))
        clone.target.requires_grad_(False)
        return clone


class SacUpdater:
    """One SAC (optionally SAC+BC) update of every ensemble member on its own batch."""

    def __init__(self, agent: SacAgent, cfg: Config, act_dim: int):
        self.agent, self.cfg, self.target_entropy = agent, cfg, -float(act_dim)
        self.actor_opt = torch.optim.Adam(agent.actor.parameters(), lr=cfg.lr)
        self.critic_opt = torch.optim.Adam(agent.critic.parameters(), lr=cfg.lr)
        self.alpha_opt = torch.optim.Adam([agent.log_alpha], lr=cfg.lr)

    @torch.no_grad()
    def target(self, metadata, reward, next_obs, done, task_index) -> torch.Tensor:
        """TD target y (E, B) = r + gamma (1 - done) (min Q_target(s', a') - alpha_task log pi(a'|s'))."""
        agent = self.agent
        alpha = agent.log_alpha.exp().gather(1, task_index)                              # (E, B)
        next_action, next_log_prob, _ = agent.actor.sample(next_obs, metadata)
        target_q = torch.min(*agent.target(next_obs, metadata, next_action)) - alpha * next_log_prob
        return reward + self.cfg.gamma * (1 - done) * target_q

    def update(self, obs, metadata, action, reward, next_obs, done, task_index, bc_alpha: float) -> dict:
        """All tensors (E, B, ...); reward, done and task_index (the temperature column, int64) (E, B).
        Returns mean losses."""
        agent, cfg = self.agent, self.cfg
        alpha = agent.log_alpha.exp().detach().gather(1, task_index)                     # (E, B)
        y = self.target(metadata, reward, next_obs, done, task_index)
        q1, q2 = agent.critic(obs, metadata, action)
        critic_loss = (((q1 - y) ** 2).mean(-1) + ((q2 - y) ** 2).mean(-1)).sum()
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        new_action, log_prob, mean = agent.actor.sample(obs, metadata)
        q = torch.min(*agent.critic(obs, metadata, new_action))
        sac_term = alpha * log_prob - q                                                  # (E, B)
        if bc_alpha > 0:
            scale = bc_alpha / q.abs().mean(-1, keepdim=True).detach().clamp(min=1e-6)
            bc = ((torch.tanh(mean) - action) ** 2).sum(-1)
            actor_loss = (scale * sac_term + bc).mean(-1).sum()
        else:
            actor_loss = sac_term.mean(-1).sum()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        alpha_loss = -(agent.log_alpha.gather(1, task_index) * (log_prob.detach() + self.target_entropy)).mean(-1).sum()
        self.alpha_opt.zero_grad()
        alpha_loss.backward()
        self.alpha_opt.step()
        with torch.no_grad():
            for target, source in zip(agent.target.parameters(), agent.critic.parameters()):
                target.lerp_(source, cfg.tau)
        e = len(q1)
        return {"critic_loss": float(critic_loss.detach()) / e, "actor_loss": float(actor_loss.detach()) / e}


class CareActorPolicies:
    """`act(obs (B, obs))` -> tanh(mean) (B, act) of member policy_ids[b] for row b."""

    def __init__(self, actor: CareActor, metadata: np.ndarray, policy_ids: np.ndarray, device: str):
        self.actor, self.device = actor, device
        self.metadata = torch.as_tensor(metadata, device=device)
        self.policy_ids = torch.as_tensor(np.asarray(policy_ids, dtype=np.int64), device=device)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        obs_t = torch.as_tensor(np.asarray(obs, np.float32), device=self.device)
        n_members = self.actor.trunk[0].weight.shape[0]
        # every member on every row, then row b keeps member policy_ids[b]: cheap for small MLPs
        mean, _ = self.actor(obs_t.expand(n_members, -1, -1),
                             self.metadata.expand(n_members, len(obs_t), -1))
        return torch.tanh(mean[self.policy_ids, torch.arange(len(obs_t))]).cpu().numpy()


class CARE(Method):
    name = "care"
    Config = Config
    reads = ("states", "actions", "successes", "task")

    def __init__(self, config: Config, spec: PolicySpec):
        super().__init__(config, spec)
        self.agent: SacAgent | None = None
        self.tasks: list[str] = []
        """The training tasks, in the order of the temperature columns."""

    def _metadata(self, tasks) -> np.ndarray:
        """(N, metadata_dim) embeddings of the tasks' descriptions."""
        return np.stack([describe(t, self.config.metadata_dim) for t in tasks])

    def success_value(self) -> float:
        """Finetuning reward of a success (terminal) step, on the pretraining scale: the discounted
        value of the domain's best scaled dense reward forever, reward_scale * reward_max / (1 - gamma)."""
        return self.config.reward_scale * domain_of(self.tasks[0]).reward_max / (1 - self.config.gamma)

    def finetune_transitions(self, conditions: PolicySet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(reward (N, T), done (N, T), spans (N,)) of the sparse finetuning reward: the first success
        step is terminal with reward `success_value()`, every earlier step 0; steps t < spans are used."""
        first = conditions.first_success_steps
        succeeded = first >= 0
        reward = np.zeros(conditions.successes.shape, np.float32)  # sparse: the dense reward is not read
        reward[np.flatnonzero(succeeded), first[succeeded]] = self.success_value()
        done = (reward > 0).astype(np.float32)
        spans = np.where(succeeded, first + 1, np.maximum(conditions.lengths - 1, 1))   # failed: no last step
        return reward, done, spans

    def _offline(self, agent, data: PolicySet, rows, spans, reward, done, task_index, steps, batch,
                 rng) -> list[dict]:
        """`steps` SAC+BC updates; member e samples steps t < spans[traj] of trajectories rows[e].
        reward and done are (N, T) arrays of the transition at (traj, t); task_index (N,) the
        temperature column of each trajectory."""
        cfg, device = self.config, self.config.device
        tensor = lambda x: torch.as_tensor(x, device=device)                             # noqa: E731
        states, actions = tensor(data.states), tensor(data.actions)
        metadata, reward, done = tensor(self._metadata(data.tasks)), tensor(reward), tensor(done)
        task_index = tensor(np.asarray(task_index, dtype=np.int64))
        updater, history = SacUpdater(agent, cfg, self.spec.act_dim), []
        for update in range(steps):
            if update % PROGRESS_EVERY == 0:
                report_progress("offline SAC", update, steps)
            traj, step = sample_steps(rng, rows, spans, batch)
            traj, step = tensor(traj), tensor(step)
            next_step = (step + 1).clamp(max=data.states.shape[1] - 1)
            history.append(updater.update(states[traj, step], metadata[traj], actions[traj, step],
                                          reward[traj, step], states[traj, next_step], done[traj, step],
                                          task_index[traj], cfg.bc_alpha))
        return history

    def _online(self, tasks: list[str], seed: int, rng: np.random.Generator, robot: str | None) -> list[dict]:
        """Multi-task online SAC on `robot` (the zoo's): one env per task stepped in lockstep,
        dense reward; each env starts a new episode at its task's horizon."""
        cfg, spec, device = self.config, self.spec, self.config.device
        n, total = len(tasks), cfg.online_steps_per_task
        metadata = torch.as_tensor(self._metadata(tasks), device=device)                 # (n, m)
        buffer = {"obs": np.zeros((total, n, spec.obs_dim), np.float32),
                  "action": np.zeros((total, n, spec.act_dim), np.float32),
                  "reward": np.zeros((total, n), np.float32),
                  "next_obs": np.zeros((total, n, spec.obs_dim), np.float32)}
        episodes = [0] * n

        def fresh(i: int):
            # a fresh training configuration per episode and task (MetaWorld seeds at construction)
            env = make_env(tasks[i], train_configuration((seed * 10_007 + episodes[i] * n + i) % 100_000), robot)
            return env, env.reset()[0]

        envs, obs = map(list, zip(*[fresh(i) for i in range(n)]))
        obs = np.stack(obs).astype(np.float32)
        updater, history = SacUpdater(self.agent, cfg, spec.act_dim), []
        for step in range(total):
            if step % PROGRESS_EVERY == 0:
                report_progress("online SAC", step, total)
            if step < cfg.learning_starts:
                action = rng.uniform(-1, 1, size=(n, spec.act_dim)).astype(np.float32)
            else:
                with torch.no_grad():
                    action = self.agent.actor.sample(torch.as_tensor(obs, device=device)[None], metadata[None])[0][0]
                action = action.cpu().numpy()
            results = [env.step(a) for env, a in zip(envs, action)]
            next_obs = np.stack([r[0] for r in results]).astype(np.float32)
            buffer["obs"][step], buffer["action"][step], buffer["next_obs"][step] = obs, action, next_obs
            buffer["reward"][step] = [r[1] * cfg.reward_scale for r in results]
            obs = next_obs
            for i, result in enumerate(results):
                if result[3]:                                                     # truncation, not terminal
                    episodes[i] += 1
                    envs[i], obs[i] = fresh(i)
            if step >= cfg.learning_starts:
                index = torch.as_tensor(rng.integers(0, step + 1, size=(n, cfg.batch_size)))  # per task
                task_index = torch.arange(n)[:, None].expand(-1, cfg.batch_size)
                pick = {k: torch.as_tensor(v, device=device)[index, task_index].reshape(1, n * cfg.batch_size, -1)
                        for k, v in buffer.items()}
                meta = metadata[task_index.reshape(-1)][None]
                history.append(updater.update(pick["obs"], meta, pick["action"], pick["reward"][..., 0],
                                              pick["next_obs"], torch.zeros_like(pick["reward"][..., 0]),
                                              task_index.reshape(1, -1).to(device), 0.0))
        return history

    def fit(self, zoo: Zoo, seed: int) -> dict:
        cfg, data = self.config, zoo.checkpoints
        check_policy_set(data, self.spec, "zoo checkpoints")
        start = time.process_time()
        rng = seeded(seed)
        if cfg.train_tasks:
            missing = sorted(set(cfg.train_tasks) - set(data.tasks.tolist()))
            if missing:
                raise UserError(f"{self.name}: train_tasks {', '.join(missing)} not among the zoo's seen tasks")
            data = data.subset(np.flatnonzero(np.isin(data.tasks, cfg.train_tasks)))
        self.tasks = tasks = sorted(set(data.tasks.tolist()))
        self.agent = SacAgent(cfg, self.spec, 1, len(tasks)).to(cfg.device)
        if cfg.online_steps_per_task > 0:
            history = self._online(tasks, seed, rng, zoo.manifest.get("settings", {}).get("robot"))
        else:
            # dense reward of (s_t, a_t); the last stored step has no next state, so it is never drawn
            task_index = np.array([tasks.index(t) for t in data.tasks], np.int64)
            history = self._offline(self.agent, data, np.arange(len(data))[None], np.maximum(data.lengths - 1, 1),
                                    data.rewards * cfg.reward_scale, np.zeros_like(data.rewards), task_index,
                                    cfg.offline_steps, cfg.batch_size, rng)
        critic = np.array([h["critic_loss"] for h in history] or [np.nan])
        window = max(1, min(50, len(critic) // 5))
        return {"critic_loss_first": float(critic[:window].mean()), "critic_loss_last": float(critic[-window:].mean()),
                "updates": len(history), "online": cfg.online_steps_per_task > 0,
                "cpu_seconds": time.process_time() - start}

    def n_policies(self, n_conditions: int) -> int:
        return n_proposals(self.config.n_adapt, n_conditions)

    def propose(self, conditions: PolicySet, seed: int) -> ActorProposal:
        """K = n_adapt (or one per condition trajectory) policies, copy k finetuned with the sparse
        reward (see `finetune_transitions`) on bootstrap resample k of the condition trajectories."""
        cfg = self.config
        check_policy_set(conditions, self.spec, "condition trajectories")
        task = condition_task(conditions)
        rng = seeded(seed)
        k = n_proposals(cfg.n_adapt, len(conditions))
        log_alpha = self.agent.log_alpha.detach()[0]                                     # (n_tasks,)
        own = log_alpha[self.tasks.index(task)] if task in self.tasks else log_alpha.mean()
        agent = self.agent.replicate(k, float(own))
        reward, done, spans = self.finetune_transitions(conditions)
        self._offline(agent, conditions, bootstrap_rows(rng, len(conditions), k), spans, reward, done,
                      np.zeros(len(conditions), np.int64), cfg.finetune_steps, cfg.finetune_batch_size, rng)
        actor = agent.actor.eval()
        metadata = describe(task, cfg.metadata_dim)[None]
        return ActorProposal(n_policies=k,
                             make_actor=lambda ids: CareActorPolicies(actor, metadata, ids, cfg.device))

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.agent.state_dict(), {
            "method": self.name,
            "tasks": self.tasks,
            "config": config_to_dict(self.config),
            "spec": self.spec.to_dict(),
        }

    @classmethod
    def from_state(
        cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None, spec: PolicySpec
    ) -> "CARE":
        if config is None:
            config = config_from_dict(Config, meta["config"], STATE_META)
        method = cls(config, spec)
        method.tasks = list(meta["tasks"])
        method.agent = SacAgent(config, spec, 1, len(method.tasks)).to(config.device)
        method.agent.load_state_dict(tensors)
        return method
