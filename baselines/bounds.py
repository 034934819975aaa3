"""Reference bounds for every table: MetaWorld's scripted expert (the ceiling) and uniformly
random actions (the floor). The expert reads the condition trajectories' task name and nothing
else, random actions read nothing, and neither is trained; both go through the engine's generic `act` path, one policy per
condition trajectory like every other method.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from baselines.common import condition_task
from benchmark.api import ActorProposal, Method, config_to_dict
from benchmark.envs import expert_policy
from benchmark.policy import PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

PRESETS: dict[str, dict] = {"paper": {}, "mini": {}, "smoke": {}}


@dataclass
class Config:
    """The bounds have no hyperparameters."""


class _Bound(Method):
    Config = Config

    def fit(self, zoo: Zoo, seed: int) -> dict:
        return {}

    def state(self) -> tuple[dict, dict]:
        return {}, {"method": self.name, "config": config_to_dict(self.config)}

    @classmethod
    def from_state(cls, tensors: dict, meta: dict, config, spec: PolicySpec) -> "_Bound":
        return cls(config or Config(), spec)


class _ExpertActor:
    def __init__(self, task: str, rows: int):
        self.experts = [expert_policy(task) for _ in range(rows)]

    def act(self, obs: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # experts warn about gains that the env clips anyway
            warnings.simplefilter("ignore", UserWarning)
            return np.stack([e.get_action(o.copy()) for e, o in zip(self.experts, obs)]).astype(np.float32)


class ScriptedExpert(_Bound):
    """MetaWorld's scripted expert of the cell's task: the success a policy could reach."""

    name = "expert"
    reads = ("task",)

    def propose(self, conditions: PolicySet, seed: int) -> ActorProposal:
        task = condition_task(conditions)
        return ActorProposal(len(conditions), lambda ids: _ExpertActor(task, len(ids)))


class _RandomActor:
    def __init__(self, seed: int, rows: int, act_dim: int):
        self.rng, self.shape = np.random.default_rng(seed), (rows, act_dim)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, self.shape).astype(np.float32)


class RandomPolicy(_Bound):
    """Uniform random actions in [-1, 1]: the success no policy should fall below."""

    name = "random"
    reads = ()

    def propose(self, conditions: PolicySet, seed: int) -> ActorProposal:
        act_dim = self.spec.act_dim
        return ActorProposal(len(conditions), lambda ids: _RandomActor(seed + int(ids[0]), len(ids), act_dim))
