"""The contract every method of the benchmark fulfils (generators and baselines alike).

A method is trained once on a zoo (`fit`), saved and loaded, and then asked, per cell, to
propose policies from condition trajectories (`propose`). Proposals come in two kinds:

- `ParameterProposal`: K parameter vectors of the shared policy family. The engine evaluates
  them K at a time with one batched numpy forward. Every weight generator returns this.
- `ActorProposal`: policies that are not of the family (e.g. a Decision Transformer). The
  engine asks `make_actor(policy_ids)` for an object whose `act(obs)` maps a batch of
  observations (B, obs_dim) to actions (B, act_dim); row b is an episode of policy
  policy_ids[b]. One actor object lives for one batch of episodes, so it may keep history.

Methods are found by name in `METHODS` (see benchmark.registry): in-repo names below,
installed plug-ins through the entry-point group "benchmark.generators", or a direct
"package.module:Class" path. A worked plug-in example is in docs/plugin_example/.
"""
from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Protocol

import numpy as np

from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from benchmark.registry import Registry
from benchmark.zoo.format import PolicySet, Zoo


@dataclass
class ParameterProposal:
    """K policies of the shared family."""

    params: np.ndarray
    """(K, spec.n_params) float32 flat parameter vectors."""
    spec: PolicySpec
    """The policy family the vectors belong to; must equal the zoo's."""


class Actor(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions (B, act_dim) in [-1, 1] for observations (B, obs_dim)."""


@dataclass
class ActorProposal:
    """K policies evaluated through the generic `act` path."""

    n_policies: int
    make_actor: Callable[[np.ndarray], Actor]
    """policy_ids (B,) -> an Actor for B lockstep episodes of those policies."""


Proposal = ParameterProposal | ActorProposal


class Method(ABC):
    """A behaviour-to-policy method.

    Subclasses set `name`, `Config` (a dataclass whose fields are the method's
    hyperparameters, each with a docstring; profiles fill it from YAML) and implement the
    four methods below. `proposals_per_trajectory` documents how many policies a cell gets:
    for a cell with n condition trajectories a method proposes n policies (one per
    trajectory) unless it says otherwise in `propose`'s docstring.
    """

    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, config, spec: PolicySpec):
        self.config = config
        self.spec = spec

    @abstractmethod
    def fit(self, zoo: Zoo, seed: int) -> dict:
        """Train on the zoo (its seen tasks' checkpoints and trajectories); returns a dict
        of scalar training statistics (final losses, seconds) to store with the model."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write everything `load` needs into `directory` (safetensors / JSON, no pickle)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, config, spec: PolicySpec) -> "Method":
        """Inverse of `save`."""

    @abstractmethod
    def propose(self, conditions: PolicySet, seed: int) -> Proposal:
        """Policies for one cell, prompted or adapted with `conditions` (the cell's n
        condition trajectories of one task, possibly with noisy actions)."""


def config_from_dict(config_class, values: dict | None, where: str):
    """Build a Config dataclass from a mapping, rejecting unknown keys by name."""
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(config_class)}
    extra = sorted(set(values) - names)
    if extra:
        raise UserError(f"{where}: unknown setting(s) {', '.join(extra)}; valid: {', '.join(sorted(names))}")
    return config_class(**values)


def config_to_dict(config) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


METHODS = Registry("method", entry_point_groups=("benchmark.generators", "benchmark.methods"))
