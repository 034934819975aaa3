"""The policy family every method outputs: the SAC Gaussian actor of Make-An-Agent.

    linear1: obs -> hidden, ELU;  linear2: hidden -> hidden, ReLU;
    mean_linear, log_std_linear: hidden -> act  (log_std clamped to [-20, 2])
    evaluation action: tanh(mean)

A policy is a flat float32 vector in the authors' order (the state_dict order, each tensor
row-major): linear1.weight, linear1.bias, linear2.weight, linear2.bias, mean_linear.weight,
mean_linear.bias, log_std_linear.weight, log_std_linear.bias. For MetaWorld (39, 4, 128)
that is 22,664 numbers, so the authors' `param` vectors load unchanged.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


@dataclass(frozen=True)
class PolicySpec:
    """Shape of the policy family; every size is derived from these three numbers."""

    obs_dim: int = 39
    """Observation size (39 for MetaWorld v3)."""
    act_dim: int = 4
    """Action size (4 for MetaWorld v3)."""
    hidden: int = 128
    """Width of both hidden layers (128 in the paper; Figure 12 varies it)."""

    @property
    def layers(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """(name, shape) of every tensor in flattening order."""
        o, a, h = self.obs_dim, self.act_dim, self.hidden
        return (
            ("linear1.weight", (h, o)), ("linear1.bias", (h,)),
            ("linear2.weight", (h, h)), ("linear2.bias", (h,)),
            ("mean_linear.weight", (a, h)), ("mean_linear.bias", (a,)),
            ("log_std_linear.weight", (a, h)), ("log_std_linear.bias", (a,)),
        )

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(shape)) for _, shape in self.layers)

    @property
    def chunk_sizes(self) -> tuple[int, int]:
        """The release's autoencoder split: (first layer | second layer and both heads)."""
        first = self.hidden * self.obs_dim + self.hidden
        return first, self.n_params - first

    def to_dict(self) -> dict:
        return asdict(self)


METAWORLD_SPEC = PolicySpec()


class GaussianActor(nn.Module):
    """The SAC actor as a torch module; `state_dict()` order is the flattening order."""

    def __init__(self, spec: PolicySpec = METAWORLD_SPEC):
        super().__init__()
        self.spec = spec
        self.linear1 = nn.Linear(spec.obs_dim, spec.hidden)
        self.linear2 = nn.Linear(spec.hidden, spec.hidden)
        self.mean_linear = nn.Linear(spec.hidden, spec.act_dim)
        self.log_std_linear = nn.Linear(spec.hidden, spec.act_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log_std) of the pre-tanh Gaussian, each (..., act_dim)."""
        x = torch.relu(self.linear2(torch.nn.functional.elu(self.linear1(obs))))
        log_std = self.log_std_linear(x).clamp(LOG_STD_MIN, LOG_STD_MAX)
        return self.mean_linear(x), log_std

    def act(self, obs: torch.Tensor) -> torch.Tensor:
        """Deterministic evaluation action tanh(mean)."""
        return torch.tanh(self.forward(obs)[0])

    def flat_parameters(self) -> np.ndarray:
        return flatten_state_dict(self.state_dict(), self.spec)

    def load_flat(self, flat: np.ndarray) -> "GaussianActor":
        self.load_state_dict(unflatten(flat, self.spec, as_torch=True))
        return self


def flatten_state_dict(state_dict, spec: PolicySpec = METAWORLD_SPEC) -> np.ndarray:
    """Flat float32 vector (n_params,) of a GaussianActor state_dict, in the authors' order."""
    parts = []
    for name, shape in spec.layers:
        tensor = state_dict[name]
        array = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
        parts.append(array.reshape(-1))
    return np.concatenate(parts).astype(np.float32)


def unflatten(flat, spec: PolicySpec = METAWORLD_SPEC, as_torch: bool = False) -> dict:
    """Inverse of `flatten_state_dict`: name -> array of its shape. `flat` is (n_params,)."""
    flat = np.asarray(flat, dtype=np.float32)
    if flat.shape != (spec.n_params,):
        raise ValueError(f"parameter vector has shape {flat.shape}, expected ({spec.n_params},) for {spec}")
    out, start = {}, 0
    for name, shape in spec.layers:
        size = int(np.prod(shape))
        array = flat[start:start + size].reshape(shape)
        out[name] = torch.from_numpy(array.copy()) if as_torch else array
        start += size
    return out


class BatchedPolicies:
    """K policies of one spec evaluated together in numpy: one batched matmul per layer.

    params: (K, n_params) float32. `act(obs)` takes obs (K, obs_dim), row k for policy k,
    and returns tanh(mean) (K, act_dim). `select(rows)` keeps a subset of policies (used when
    some episodes have finished and their envs are no longer stepped).
    """

    def __init__(self, params: np.ndarray, spec: PolicySpec = METAWORLD_SPEC):
        params = np.asarray(params, dtype=np.float32)
        if params.ndim != 2 or params.shape[1] != spec.n_params:
            raise ValueError(f"params has shape {params.shape}, expected (K, {spec.n_params})")
        self.spec = spec
        tensors, start = {}, 0
        for name, shape in spec.layers:
            size = int(np.prod(shape))
            tensors[name] = params[:, start:start + size].reshape((len(params),) + shape)
            start += size
        # weights stored transposed (K, in, out) so a forward is x @ W without copies
        self._w1 = np.ascontiguousarray(tensors["linear1.weight"].transpose(0, 2, 1))
        self._b1 = tensors["linear1.bias"]
        self._w2 = np.ascontiguousarray(tensors["linear2.weight"].transpose(0, 2, 1))
        self._b2 = tensors["linear2.bias"]
        self._wm = np.ascontiguousarray(tensors["mean_linear.weight"].transpose(0, 2, 1))
        self._bm = tensors["mean_linear.bias"]
        self._ws = np.ascontiguousarray(tensors["log_std_linear.weight"].transpose(0, 2, 1))
        self._bs = tensors["log_std_linear.bias"]

    def __len__(self) -> int:
        return len(self._b1)

    def _hidden(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32)[:, None, :]
        z = np.matmul(x, self._w1)[:, 0] + self._b1
        z = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))  # ELU
        z = np.matmul(z[:, None, :], self._w2)[:, 0] + self._b2
        return np.maximum(z, 0)

    def mean_log_std(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, log_std), each (K, act_dim), for obs (K, obs_dim)."""
        h = self._hidden(obs)[:, None, :]
        mean = np.matmul(h, self._wm)[:, 0] + self._bm
        log_std = np.clip(np.matmul(h, self._ws)[:, 0] + self._bs, LOG_STD_MIN, LOG_STD_MAX)
        return mean, log_std

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic evaluation actions tanh(mean), (K, act_dim)."""
        h = self._hidden(obs)[:, None, :]
        return np.tanh(np.matmul(h, self._wm)[:, 0] + self._bm)

    def act_on(self, states: np.ndarray) -> np.ndarray:
        """tanh(mean) of every policy on every state: states (S, obs_dim) -> (K, S, act_dim)."""
        x = np.broadcast_to(np.asarray(states, dtype=np.float32), (len(self),) + np.shape(states))
        z = np.matmul(x, self._w1) + self._b1[:, None, :]
        z = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))  # ELU
        z = np.maximum(np.matmul(z, self._w2) + self._b2[:, None, :], 0)
        return np.tanh(np.matmul(z, self._wm) + self._bm[:, None, :])

    def select(self, rows) -> "BatchedPolicies":
        out = object.__new__(BatchedPolicies)
        out.spec = self.spec
        for key in ("_w1", "_b1", "_w2", "_b2", "_wm", "_bm", "_ws", "_bs"):
            setattr(out, key, getattr(self, key)[rows])
        return out
