"""Suites as data: which tasks, condition-trajectory counts, settings, methods and seeds.

Each suite is a YAML file beside this module, validated into `Suite`. A run of a suite in a
profile expands into cells: method x task x n_traj x setting x seed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmark.envs import SEEN_TASKS, UNSEEN_TASKS, check_task
from benchmark.errors import UserError, unknown

SUITE_DIR = Path(__file__).parent
SETTINGS = ("clean", "noisy")


@dataclass
class Suite:
    """One evaluation suite."""

    name: str
    """Suite name (the YAML file's stem)."""
    description: str
    """One line for `python -m benchmark list`."""
    tasks: list
    """Task names, or 'seen' / 'unseen' for the paper's lists."""
    n_traj: list
    """Condition-trajectory counts per cell (paper: 5/10/50/100 seen, 50/100 unseen)."""
    methods: list
    """Method names, with variants as NAME[key=value,...]."""
    settings: list = field(default_factory=lambda: ["clean"])
    """'clean' and/or 'noisy' (condition-trajectory actions plus Gaussian noise)."""
    noise_std: float = 0.1
    """Std of the action noise of the noisy setting (paper: 0.1)."""
    seeds: int = 1
    """Training seeds per method (each trains its own model)."""
    profile_n_traj: dict = field(default_factory=dict)
    """Per-profile replacement of n_traj (e.g. {mini: [50]}), stated as a reduction."""
    figures: list = field(default_factory=list)
    """Paper figures this suite feeds."""

    def task_list(self) -> list[str]:
        if self.tasks == "seen":
            return list(SEEN_TASKS)
        if self.tasks == "unseen":
            return list(UNSEEN_TASKS)
        return [check_task(t) for t in self.tasks]

    def n_traj_for(self, profile_name: str) -> list[int]:
        return list(self.profile_n_traj.get(profile_name, self.n_traj))


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITE_DIR.glob("*.yaml"))


def load_suite(name: str) -> Suite:
    path = SUITE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise unknown("suite", name, suite_names())
    raw = yaml.safe_load(path.read_text()) or {}
    names = {f.name for f in dataclasses.fields(Suite)}
    extra = sorted(set(raw) - names)
    if extra:
        raise UserError(f"suite {name}: unknown key(s) {', '.join(extra)}")
    suite = Suite(**{"name": name, **raw})
    bad = [s for s in suite.settings if s not in SETTINGS]
    if bad:
        raise UserError(f"suite {name}: unknown setting(s) {bad}; valid: {', '.join(SETTINGS)}")
    suite.task_list()
    return suite
