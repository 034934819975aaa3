"""Multi-task behaviour cloning (the paper's "Multi-task BC" baseline).

Pretraining: one network of the policy family (benchmark.policy.GaussianActor, 39-128-128-4)
is cloned on every (state, action) of the zoo's checkpoint trajectories, all seen tasks mixed:
the mean head by MSE between tanh(mean) and the action, the log_std head by the Gaussian
likelihood of atanh(action) (mean detached), so the proposals look like SAC actors.

Inputs (what it reads from a condition trajectory): states and actions; with `task_onehot`
also the task name. Never rewards or success flags.

Optional task identity (`task_onehot`, default off because unseen tasks have no id; the
variant `mtbc[task_onehot=true]` shows what task identity alone buys): the
input is [state, task vector] where the task vector is the one-hot of a seen task, or the
uniform vector 1/n_tasks for a task the zoo does not contain. Because the vector enters
linear1 linearly it is folded into linear1's bias, so the proposal is still the family.

Adaptation (per cell): K copies of the pretrained network are finetuned by the same loss on
the cell's condition trajectories, copy k on bootstrap resample k of them (n trajectories
drawn with replacement, seeded by the cell seed). K = `n_adapt`, or, by default (0), one
policy per condition trajectory, the count Make-An-Agent proposes, so best / top-5 /
qualified rate are taken over the same number of policies. Returns a ParameterProposal.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from baselines.common import (
    EnsembleGaussianActor,
    bootstrap_rows,
    check_policy_set,
    condition_task,
    gaussian_nll,
    n_proposals,
    pre_tanh,
    replicate,
    sample_steps,
    seeded,
)
from benchmark.api import STATE_META, Method, ParameterProposal, config_from_dict, config_to_dict
from benchmark.policy import PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

REDUCTIONS: dict[str, str] = {
    "paper": ("the paper gives no hyperparameters for Multi-task BC: 100k pretraining steps and 500 finetuning "
              "steps per cell are this benchmark's full-budget choice"),
    "mini": "3k pretraining steps (100k), 100 finetuning steps per cell (500)",
    "smoke": "a few dozen steps: plumbing only",
}


@dataclass
class Config:
    """Hyperparameters of multi-task BC."""

    steps: int = 100_000
    """Pretraining gradient steps on the zoo's trajectories."""
    batch_size: int = 256
    """(state, action) pairs per pretraining step."""
    lr: float = 3e-4
    """Adam learning rate for pretraining."""
    log_std_weight: float = 0.01
    """Weight of the log_std head's Gaussian likelihood term beside the action MSE."""
    task_onehot: bool = False
    """Give the network a task one-hot (uniform vector for tasks the zoo lacks); off by default."""
    finetune_steps: int = 500
    """Gradient steps of each adaptation on the condition trajectories."""
    finetune_batch_size: int = 128
    """(state, action) pairs per finetuning step and proposed policy."""
    finetune_lr: float = 1e-4
    """Adam learning rate for finetuning."""
    n_adapt: int = 0
    """Policies proposed per cell; 0 means one per condition trajectory (as Make-An-Agent)."""
    device: str = "cpu"
    """Torch device for training and adaptation."""


PRESETS = {
    "paper": {},
    "mini": {"steps": 3_000, "finetune_steps": 100},
    "smoke": {"steps": 60, "batch_size": 64, "finetune_steps": 10, "finetune_batch_size": 32},
}


def bc_losses(actor: EnsembleGaussianActor, obs: torch.Tensor, actions: torch.Tensor,
              log_std_weight: float) -> torch.Tensor:
    """(E,) loss per member for obs (E, B, obs_in) and actions (E, B, act_dim)."""
    mean, log_std = actor(obs)
    mse = ((torch.tanh(mean) - actions) ** 2).sum(-1).mean(-1)
    nll = gaussian_nll(pre_tanh(actions), mean.detach(), log_std).sum(-1).mean(-1)
    return mse + log_std_weight * nll


class MultiTaskBC(Method):
    name = "mtbc"
    Config = Config
    reads = ("states", "actions")

    def __init__(self, config: Config, spec: PolicySpec):
        super().__init__(config, spec)
        self.tasks: list[str] = []
        self.actor: EnsembleGaussianActor | None = None

    @classmethod
    def reads_for(cls, config: Config) -> tuple[str, ...]:
        return (*cls.reads, "task") if config.task_onehot else cls.reads

    # -- inputs -----------------------------------------------------------------------------
    def _input_spec(self) -> PolicySpec:
        extra = len(self.tasks) if self.config.task_onehot else 0
        return PolicySpec(self.spec.obs_dim + extra, self.spec.act_dim, self.spec.hidden)

    def _task_vector(self, task: str | None) -> np.ndarray:
        """(n_tasks,) one-hot of a seen task, uniform for any other; (0,) without task input."""
        if not self.config.task_onehot:
            return np.zeros(0, np.float32)
        if task in self.tasks:
            return np.eye(len(self.tasks), dtype=np.float32)[self.tasks.index(task)]
        return np.full(len(self.tasks), 1.0 / len(self.tasks), np.float32)

    def _inputs(self, data: PolicySet) -> tuple[torch.Tensor, torch.Tensor]:
        """(obs (N, T, obs_in), actions (N, T, act)) tensors with the task vector appended (the
        task names are read only with `task_onehot`)."""
        tasks = data.tasks if self.config.task_onehot else [None] * len(data)
        vectors = np.stack([self._task_vector(t) for t in tasks])                       # (N, n_tasks|0)
        vectors = np.broadcast_to(vectors[:, None, :], data.states.shape[:2] + vectors.shape[1:])
        obs = np.concatenate([data.states, vectors], axis=-1).astype(np.float32)
        device = self.config.device
        return torch.as_tensor(obs, device=device), torch.as_tensor(data.actions, device=device)

    def _train(self, actor, obs, actions, rows, lengths, steps, batch, lr, rng) -> list[float]:
        """Adam on the summed member losses; member e draws from trajectories rows[e]. Returns
        the mean member loss per step."""
        optimizer = torch.optim.Adam(actor.parameters(), lr=lr)
        history = []
        for _ in range(steps):
            traj, step = sample_steps(rng, rows, lengths, batch)
            traj_t, step_t = torch.as_tensor(traj), torch.as_tensor(step)
            losses = bc_losses(actor, obs[traj_t, step_t], actions[traj_t, step_t], self.config.log_std_weight)
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
            history.append(float(losses.detach().mean()))
        return history

    # -- the method contract ----------------------------------------------------------------
    def fit(self, zoo: Zoo, seed: int) -> dict:
        cfg, data = self.config, zoo.checkpoints
        check_policy_set(data, self.spec, "zoo checkpoints")
        start = time.process_time()
        rng = seeded(seed)
        self.tasks = sorted(set(data.tasks.tolist()))
        self.actor = EnsembleGaussianActor(self._input_spec(), 1).to(cfg.device)
        obs, actions = self._inputs(data)
        rows = np.arange(len(data))[None, :]
        history = self._train(self.actor, obs, actions, rows, data.lengths, cfg.steps, cfg.batch_size, cfg.lr, rng)
        window = max(1, min(50, len(history) // 5))
        return {"loss_first": float(np.mean(history[:window])), "loss_last": float(np.mean(history[-window:])),
                "steps": cfg.steps, "cpu_seconds": time.process_time() - start}

    def propose(self, conditions: PolicySet, seed: int) -> ParameterProposal:
        """K = n_adapt (or one per condition trajectory) policies, copy k finetuned on bootstrap
        resample k of the condition trajectories."""
        cfg = self.config
        check_policy_set(conditions, self.spec, "condition trajectories")
        rng = seeded(seed)
        k = n_proposals(cfg.n_adapt, len(conditions))
        actor = replicate(self.actor, k)
        obs, actions = self._inputs(conditions)
        rows = bootstrap_rows(rng, len(conditions), k)
        self._train(actor, obs, actions, rows, conditions.lengths, cfg.finetune_steps,
                    cfg.finetune_batch_size, cfg.finetune_lr, rng)
        task = condition_task(conditions) if cfg.task_onehot else None
        return ParameterProposal(params=self._family_params(actor, task), spec=self.spec)

    def n_policies(self, n_conditions: int) -> int:
        return n_proposals(self.config.n_adapt, n_conditions)

    def _family_params(self, actor: EnsembleGaussianActor, task: str | None) -> np.ndarray:
        """(E, spec.n_params): each member with the task vector folded into linear1's bias."""
        vector = torch.as_tensor(self._task_vector(task), device=self.config.device)
        o = self.spec.obs_dim
        weight = actor.linear1.weight.detach()                                           # (E, h, o + n)
        folded = EnsembleGaussianActor(self.spec, weight.shape[0]).to(self.config.device)
        folded.load_state_dict({k: v for k, v in actor.state_dict().items() if not k.startswith("linear1.")},
                               strict=False)
        with torch.no_grad():
            folded.linear1.weight.copy_(weight[:, :, :o])
            folded.linear1.bias.copy_(actor.linear1.bias.detach() + weight[:, :, o:] @ vector)
        return folded.flat()

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.actor.state_dict(), {
            "method": self.name,
            "tasks": self.tasks,
            "config": config_to_dict(self.config),
            "spec": self.spec.to_dict(),
        }

    @classmethod
    def from_state(
        cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None, spec: PolicySpec
    ) -> "MultiTaskBC":
        method = cls(config_from_dict(Config, meta["config"], STATE_META) if config is None else config, spec)
        method.tasks = list(meta["tasks"])
        method.actor = EnsembleGaussianActor(method._input_spec(), 1).to(method.config.device)
        method.actor.load_state_dict(tensors)
        return method
