"""Methods that probe the harness's contract from outside the repository's packages.

Each imports only `benchmark.api` (and numpy). `Probe` is honest and reports what it was
given; every other class breaks the contract one way. None is a useful method.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from benchmark.api import CONDITION_FIELDS, Method, ParameterProposal


@dataclass
class Config:
    """No hyperparameters."""


def _report(**what) -> None:
    """Append one JSON line to $B2P_PROBE_OUT (nothing when it is unset)."""
    path = os.environ.get("B2P_PROBE_OUT")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps(what) + "\n")


def _try(read) -> str:
    """'ok' if `read()` works, else the one-line error it raised."""
    try:
        read()
        return "ok"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


class _Untrained(Method):
    Config = Config

    def fit(self, zoo, seed: int) -> dict:
        return {}

    def state(self):
        return {}, {"method": self.name}

    @classmethod
    def from_state(cls, tensors, meta, config, spec):
        return cls(config or Config(), spec)

    def zeros(self, n: int) -> ParameterProposal:
        return ParameterProposal(np.zeros((n, self.spec.n_params), np.float32), self.spec)


class Probe(_Untrained):
    """Declares states and actions; reports what fit's zoo and propose's conditions hold."""

    name = "probe"

    def fit(self, zoo, seed: int) -> dict:
        _report(where="fit", kind=type(zoo).__name__, checkpoints=len(zoo.checkpoints),
                checkpoint_tasks=sorted(set(zoo.checkpoints.tasks.tolist())), tasks=list(zoo.tasks),
                conditions=_try(lambda: zoo.conditions), root=_try(lambda: zoo.root))
        return {}

    def propose(self, conditions, seed: int):
        fields = {name: _try(lambda name=name: getattr(conditions, "tasks" if name == "task" else name))
                  for name in CONDITION_FIELDS}
        _report(where="propose", kind=type(conditions).__name__, n=len(conditions), fields=fields,
                record_keys=sorted({k for r in conditions.records for k in r}),
                params_shape=list(conditions.params.shape), states_shape=list(conditions.states.shape))
        return self.zeros(len(conditions))


class Snooper(_Untrained):
    """Declares states and actions, reads the dense rewards."""

    name = "snooper"

    def propose(self, conditions, seed: int):
        conditions.rewards.sum()
        return self.zeros(len(conditions))


class NaNProposer(_Untrained):
    name = "nan-proposer"

    def propose(self, conditions, seed: int):
        return ParameterProposal(np.full((len(conditions), self.spec.n_params), np.nan, np.float32), self.spec)


class WrongShape(_Untrained):
    name = "wrong-shape"

    def propose(self, conditions, seed: int):
        return ParameterProposal(np.zeros((len(conditions), self.spec.n_params - 1), np.float32), self.spec)


class Empty(_Untrained):
    name = "empty"

    def propose(self, conditions, seed: int):
        return self.zeros(0)


class Raising(_Untrained):
    name = "raising"

    def propose(self, conditions, seed: int):
        raise RuntimeError("boom inside propose")


class FitRaising(_Untrained):
    name = "fit-raising"

    def fit(self, zoo, seed: int) -> dict:
        raise ValueError("boom inside fit")

    def propose(self, conditions, seed: int):
        return self.zeros(len(conditions))
