"""Profiles: named budgets (smoke, mini, paper) stored as YAML in benchmark/profiles/.

A profile has one section per component, each validated into that component's dataclass:

    name, description
    reductions: [what this profile reduces from the paper, one line each]
    zoo:     benchmark.zoo.collect.ZooSettings fields
    methods: {method name: Config overrides on top of the method's preset of this name}
    eval:    benchmark.config.EvalSettings fields
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmark.errors import UserError, unknown

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass
class EvalSettings:
    """How proposed policies are rolled out and summarised."""

    max_steps: int = 500
    """Episode length cap (MetaWorld's 500)."""
    stop_at_success: bool = True
    """End an episode at its first success (success is 'any step', so the result is equal)."""
    policies_per_batch: int = 2
    """Policies stepped in lockstep by one batched forward, each in every configuration
    (2 x 5 = 10 envs per task and worker, built once at ~0.15 s each; the batched forward is
    ~1% of a step whatever the batch, so larger batches only cost env construction)."""
    selection_configurations: tuple[int, ...] = (0, 1, 2)
    """Configuration indices the honest top-k selects on; the others are reported."""
    bootstrap_reps: int = 2000
    """Stratified-bootstrap repetitions for confidence intervals."""
    trajectories_kept: int = 3
    """Full trajectories kept per cell for Figure 9."""


EXECUTION_ONLY = ("policies_per_batch", "bootstrap_reps")
"""EvalSettings fields that do not change a cell's episodes (left out of its id)."""


@dataclass
class Profile:
    name: str
    description: str
    reductions: list[str]
    zoo: dict
    methods: dict = field(default_factory=dict)
    eval: EvalSettings = field(default_factory=EvalSettings)


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def _dataclass_from(cls, values, where):
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(values) - names)
    if extra:
        raise UserError(f"{where}: unknown setting(s) {', '.join(extra)}")
    for f in dataclasses.fields(cls):
        if f.name in values and isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


def load_profile(name: str) -> Profile:
    """The profile called `name`; an unknown name is a UserError listing the valid ones."""
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise unknown("profile", name, profile_names())
    raw = yaml.safe_load(path.read_text())
    where = f"profile {name} ({path.name})"
    allowed = {"name", "description", "reductions", "zoo", "methods", "eval"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise UserError(f"{where}: unknown section(s) {', '.join(extra)}")
    return Profile(
        name=raw.get("name", name), description=raw.get("description", ""),
        reductions=list(raw.get("reductions", [])), zoo=dict(raw.get("zoo", {})),
        methods=dict(raw.get("methods") or {}),
        eval=_dataclass_from(EvalSettings, raw.get("eval"), f"{where} eval"),
    )
