"""Pieces the four baselines share: trajectory sampling, ensemble layers, seeding.

An *ensemble* module holds E independent copies of a network in one set of tensors with a
leading dimension E (weights (E, out, in)). Pretraining uses E = 1; adaptation copies the
pretrained member E = K times and trains all K proposals at once with one batched matmul per
layer. Adam is elementwise and the K losses are summed, so this is exactly K independent runs.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from benchmark.errors import UserError
from benchmark.policy import LOG_STD_MAX, LOG_STD_MIN, PolicySpec
from benchmark.zoo.format import PolicySet

ACTION_CLIP = 1.0 - 1e-4
"""Actions are clipped to +-ACTION_CLIP before atanh so the pre-tanh target stays finite."""


def seeded(seed: int) -> np.random.Generator:
    """Seed torch's global generator and return a numpy generator for the same seed."""
    torch.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def check_policy_set(data: PolicySet, spec: PolicySpec, what: str) -> None:
    """Raise UserError if `data` is empty or its trajectories do not fit `spec`."""
    if len(data) == 0:
        raise UserError(f"{what}: no trajectories")
    if data.states.shape[-1] != spec.obs_dim or data.actions.shape[-1] != spec.act_dim:
        raise UserError(f"{what}: trajectories have obs/act {data.states.shape[-1]}/{data.actions.shape[-1]}, "
                        f"the policy family expects {spec.obs_dim}/{spec.act_dim}")


def condition_task(conditions: PolicySet) -> str:
    """The one task of a cell's condition trajectories (UserError if they mix tasks)."""
    tasks = sorted(set(conditions.tasks.tolist()))
    if len(tasks) != 1:
        raise UserError(f"condition trajectories must come from one task, found {tasks}")
    return tasks[0]


def n_proposals(n_adapt: int, n_conditions: int) -> int:
    """Policies per cell: `n_adapt`, or one per condition trajectory when n_adapt is 0."""
    if n_adapt < 0:
        raise UserError(f"n_adapt must be >= 0, got {n_adapt}")
    return n_adapt or n_conditions


def bootstrap_rows(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """(k, n) row indices: resample r draws n of the n trajectories with replacement."""
    return rng.integers(0, n, size=(k, n))


def sample_steps(rng: np.random.Generator, rows: np.ndarray, spans: np.ndarray,
                 batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory (E, batch), step (E, batch)): member e draws a trajectory uniformly from
    rows[e] (rows is (E, n)), then a step uniformly in [0, spans[trajectory]) (spans is (N,))."""
    pick = rng.integers(0, rows.shape[1], size=(rows.shape[0], batch))
    traj = np.take_along_axis(rows, pick, axis=1)
    step = np.floor(rng.random(traj.shape) * spans[traj]).astype(np.int64)
    return traj, step


def pre_tanh(actions: torch.Tensor) -> torch.Tensor:
    """atanh of actions clipped inside (-1, 1): the Gaussian sample the SAC actor squashed."""
    return torch.atanh(actions.clamp(-ACTION_CLIP, ACTION_CLIP))


def gaussian_nll(value: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood per element of `value` under N(mean, exp(log_std)^2)."""
    return 0.5 * ((value - mean) / log_std.exp()) ** 2 + log_std + 0.5 * math.log(2 * math.pi)


class EnsembleLinear(nn.Module):
    """E independent linear layers: x (E, B, in) -> (E, B, out); init as torch's nn.Linear."""

    def __init__(self, in_features: int, out_features: int, ensemble: int = 1):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(ensemble, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(ensemble, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


def replicate(module: nn.Module, ensemble: int) -> nn.Module:
    """A copy of an E = 1 ensemble module whose every member equals the original."""
    import copy

    clone = copy.deepcopy(module)
    with torch.no_grad():
        for sub in clone.modules():
            if isinstance(sub, EnsembleLinear):
                if sub.weight.shape[0] != 1:
                    raise ValueError("replicate expects a module with one ensemble member")
                sub.weight = nn.Parameter(sub.weight.repeat(ensemble, 1, 1))
                sub.bias = nn.Parameter(sub.bias.repeat(ensemble, 1))
    return clone


class EnsembleGaussianActor(nn.Module):
    """E members of the policy family (benchmark.policy.GaussianActor), same layer names.

    obs (E, B, obs_dim) -> (mean, log_std), each (E, B, act_dim). `flat(e)` returns member e
    as a family parameter vector (spec.n_params,) in the authors' order.
    """

    def __init__(self, spec: PolicySpec, ensemble: int = 1):
        super().__init__()
        self.spec = spec
        self.linear1 = EnsembleLinear(spec.obs_dim, spec.hidden, ensemble)
        self.linear2 = EnsembleLinear(spec.hidden, spec.hidden, ensemble)
        self.mean_linear = EnsembleLinear(spec.hidden, spec.act_dim, ensemble)
        self.log_std_linear = EnsembleLinear(spec.hidden, spec.act_dim, ensemble)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.relu(self.linear2(nn.functional.elu(self.linear1(obs))))
        return self.mean_linear(x), self.log_std_linear(x).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def flat(self) -> np.ndarray:
        """(E, spec.n_params) float32: every member as a family parameter vector."""
        parts = []
        for name, _ in self.spec.layers:
            layer, kind = name.split(".")
            tensor = getattr(getattr(self, layer), kind).detach()
            parts.append(tensor.reshape(tensor.shape[0], -1))
        return torch.cat(parts, dim=1).cpu().numpy().astype(np.float32)

