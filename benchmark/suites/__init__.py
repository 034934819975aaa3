"""Suites as data: which tasks, condition-trajectory counts, settings, methods and seeds.

Each suite is a YAML file beside this module, validated into `Suite`. A run of a suite in a
profile expands into cells: method x task x n_traj x setting x seed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmark.envs import SEEN_TASKS, UNSEEN_TASKS, Domain, domain_of
from benchmark.errors import UserError, unknown

SUITE_DIR = Path(__file__).parent
SETTINGS = ("clean", "noisy", "successful")


@dataclass
class Suite:
    """One evaluation suite."""

    name: str
    """Suite name (the YAML file's stem)."""
    description: str
    """One line for `python -m benchmark list`."""
    tasks: list
    """Task names of one domain, or 'seen' / 'unseen' for the paper's MetaWorld lists."""
    n_traj: list
    """Condition-trajectory counts per cell (paper: 5/10/50/100 seen, 50/100 unseen)."""
    methods: list
    """Method names, with variants as NAME[key=value,...]."""
    settings: list = field(default_factory=lambda: ["clean"])
    """'clean', 'noisy' (condition-trajectory actions plus Gaussian noise) and/or 'successful'
    (only condition trajectories that succeed, in the clean cell's order: all of them when
    fewer than n_traj do, so such a cell has fewer conditions)."""
    noise_std: float = 0.1
    """Std of the action noise of the noisy setting (paper: 0.1)."""
    seeds: int = 1
    """Training seeds per method (each trains its own model)."""
    profile_n_traj: dict = field(default_factory=dict)
    """Per-profile replacement of n_traj (e.g. {mini: [50]}), stated as a reduction; keyed by
    the profile's name, else by a profile it extends, else by its preset (so `standard`, which
    extends mini, takes mini's)."""
    profile_tasks: dict = field(default_factory=dict)
    """Per-profile replacement of tasks (e.g. {smoke: [Lift]}, where the profile's zoo holds
    only those), stated as a reduction; keyed like profile_n_traj."""
    figures: list = field(default_factory=list)
    """Paper figures this suite feeds."""
    robot: str | None = None
    """The robot every policy is evaluated on; None: the domain's default. A suite that names
    it has the robot in its cells' configs (and ids); the MetaWorld suites do not, so their
    cell ids are those from before domains had robots. One robot per suite: the report has
    no robot axis, so a control robot is a suite of its own (robosuite-panda)."""

    def with_settings(self, settings: list[str]) -> "Suite":
        """This suite with its settings replaced (`run --settings`); UserError on an unknown one."""
        bad = [s for s in settings if s not in SETTINGS]
        if bad or not settings:  # an empty list (possible from Python, not the CLI) would plan no cells
            raise UserError(f"--settings: {f'unknown setting(s) {bad}' if bad else 'none given'}; "
                            f"valid: {', '.join(SETTINGS)}")
        return dataclasses.replace(self, settings=list(dict.fromkeys(settings)))

    def with_n_traj(self, counts: list[int]) -> "Suite":
        """This suite with its condition-trajectory counts replaced in every profile (`run
        --n-traj`): the cells are those of the full grid at these counts, ids included."""
        _counts(list(counts), "--n-traj", "run")
        return dataclasses.replace(self, n_traj=sorted(set(counts)), profile_n_traj={})

    def task_list(self) -> list[str]:
        if self.tasks == "seen":
            return list(SEEN_TASKS)
        if self.tasks == "unseen":
            return list(UNSEEN_TASKS)
        for task in self.tasks:
            domain_of(task)  # an unknown name is a one-line UserError
        return list(self.tasks)

    @property
    def domain(self) -> Domain:
        """The domain of the suite's tasks (load_suite refuses a suite that mixes domains)."""
        return domain_of(self.task_list()[0])

    def tasks_for(self, names) -> list[str]:
        """The tasks a run in a profile evaluates: `profile_tasks` of the first of `names` (the
        profile's `lookup_names`: itself, what it extends, its preset) that has an entry, else all."""
        return list(next((self.profile_tasks[n] for n in names if n in self.profile_tasks), self.task_list()))

    def n_traj_for(self, names) -> list[int]:
        """The condition-trajectory counts of a run in a profile, looked up as `tasks_for`."""
        return list(next((self.profile_n_traj[n] for n in names if n in self.profile_n_traj), self.n_traj))


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITE_DIR.glob("*.yaml"))


REQUIRED = ("tasks", "n_traj", "methods")


def _suite_path(name: str) -> Path:
    """A suite's YAML file: a name beside this module, or a path ending in .yaml/.yml."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"suite file {name} does not exist")
        return path
    path = SUITE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise unknown("suite", name, suite_names())
    return path


def _counts(value, key: str, where: str) -> None:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise UserError(f"{where}: {key} must be a non-empty list of positive integers, got {value!r}")


def _check(raw: dict, where: str) -> None:
    """UserError naming the first key of a suite file that is missing or of the wrong type."""
    names = {f.name for f in dataclasses.fields(Suite)}
    extra = sorted(set(raw) - names)
    if extra:
        raise UserError(f"{where}: unknown key(s) {', '.join(extra)}; valid: {', '.join(sorted(names - {'name'}))}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise UserError(f"{where}: missing key(s) {', '.join(missing)}")
    _counts(raw["n_traj"], "n_traj", where)
    for profile, counts in (raw.get("profile_n_traj") or {}).items():
        _counts(counts, f"profile_n_traj.{profile}", where)
    if raw["tasks"] not in ("seen", "unseen") and not (
            isinstance(raw["tasks"], list) and raw["tasks"] and all(isinstance(t, str) for t in raw["tasks"])):
        raise UserError(f"{where}: tasks must be 'seen', 'unseen' or a list of task names, got {raw['tasks']!r}")
    for profile, tasks in (raw.get("profile_tasks") or {}).items():
        if not (isinstance(tasks, list) and tasks and all(isinstance(t, str) for t in tasks)):
            raise UserError(f"{where}: profile_tasks.{profile} must be a list of task names, got {tasks!r}")
    for key in ("methods", "settings", "figures"):
        if key in raw and not (isinstance(raw[key], list) and all(isinstance(v, (str, int)) for v in raw[key])):
            raise UserError(f"{where}: {key} must be a list of names, got {raw[key]!r}")
    if not raw["methods"]:
        raise UserError(f"{where}: methods is empty")
    seeds = raw.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UserError(f"{where}: seeds must be a positive integer, got {seeds!r}")
    if raw.get("robot") is not None and not isinstance(raw["robot"], str):
        raise UserError(f"{where}: robot must be a robot name, got {raw['robot']!r}")
    noise = raw.get("noise_std", 0.1)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise UserError(f"{where}: noise_std must be a number >= 0, got {noise!r}")


def load_suite(name: str) -> Suite:
    """The suite called `name` (or the suite file at that path); any defect is a one-line UserError."""
    path = _suite_path(name)
    where = f"suite {path}" if path.parent != SUITE_DIR else f"suite {path.stem}"
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{where}: not valid YAML{line} ({getattr(exc, 'problem', None) or type(exc).__name__})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: unreadable ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a mapping of suite keys, got {type(raw).__name__}")
    _check(raw, where)
    suite = Suite(**{"description": "", **raw, "name": path.stem})
    bad = [s for s in suite.settings if s not in SETTINGS]
    if bad:
        raise UserError(f"{where}: unknown setting(s) {bad}; valid: {', '.join(SETTINGS)}")
    tasks = suite.task_list() + [t for ts in suite.profile_tasks.values() for t in ts]
    domains = sorted({domain_of(t).name for t in tasks})
    if len(domains) > 1:
        raise UserError(f"{where}: tasks of several domains ({', '.join(domains)}); a suite runs one domain")
    if suite.robot is not None:
        suite.domain.check_robot(suite.robot)
    return suite
