"""Planning: a suite in a profile, resolved once into training jobs and cells.

    method name + variant + profile preset  ->  ResolvedMethod (class target + Config as JSON)
    suite x profile  ->  Plan: TrainingJob per (method, seed), Cell per
                         method x task x n_traj x setting x seed

A cell's id hashes its resolved config and the code version; the cell carries the resolved
method, so training and workers build exactly the config that was hashed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.api import (
    CONDITION_FIELDS,
    METHODS,
    config_from_dict,
    config_to_dict,
    parse_method_name,
    presets_of,
    reductions_of,
)
from benchmark.config import EXECUTION_ONLY, Profile, load_profile
from benchmark.envs import EVAL_CONFIGURATIONS, domain_of
from benchmark.errors import UserError, unknown
from benchmark.provenance import code_version, config_hash
from benchmark.suites import Suite, load_suite
from benchmark.training import model_dir
from benchmark.zoo.collect import ZooSettings, zoo_dir
from benchmark.zoo.format import PolicySet, Zoo

ZOO_KEYS = {"zoo_hidden": "hidden"}
"""Variant keys that select the zoo rather than configure the method (Figure 12b)."""


@dataclass(frozen=True)
class ResolvedMethod:
    """A method name resolved in a profile: what every later stage builds the method from."""

    name: str
    """As written in the suite, variant included ('make-an-agent[latent_width=64]')."""
    base: str
    """Registry name ('make-an-agent')."""
    target: str
    """'package.module:Class' of the Method subclass."""
    config: dict
    """The resolved Config as JSON: preset < profile `methods:` section < variant."""
    zoo_overrides: dict
    """Zoo settings the variant changes (ZOO_KEYS)."""

    def __hash__(self) -> int:  # workers cache loaded models by it
        return hash((self.name, self.target, config_hash(self.config), config_hash(self.zoo_overrides)))

    def build_config(self):
        """The Config dataclass of this method (imports the class)."""
        cls = METHODS.get(self.target)
        return config_from_dict(cls.Config, self.config, f"method {self.name}")


def resolve_method(name: str, profile: Profile) -> ResolvedMethod:
    """Resolve a method name in a profile; unknown names, keys and ill-typed values are UserErrors."""
    base, overrides = parse_method_name(name)
    zoo_overrides = {ZOO_KEYS[k]: overrides.pop(k) for k in list(overrides) if k in ZOO_KEYS}
    for value in zoo_overrides.values():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise UserError(f"method {name}: zoo_hidden must be a positive integer, got {value!r}")
    if base not in METHODS:
        raise unknown("method", base, METHODS.names())
    cls = METHODS.get(base)
    values = dict(presets_of(cls).get(profile.preset, {}))
    values.update(profile.methods.get(base, {}) or {})
    values.update(overrides)
    config = config_from_dict(cls.Config, values, f"method {name}")
    reads = cls.reads_for(config)
    undeclarable = [field for field in reads if field not in CONDITION_FIELDS]
    if isinstance(reads, str) or undeclarable:
        raise UserError(f"method {name} declares reads {reads!r}; a method reads a tuple of "
                        f"{', '.join(CONDITION_FIELDS)}")
    return ResolvedMethod(name, base, f"{cls.__module__}:{cls.__qualname__}", config_to_dict(config), zoo_overrides)


def describe_method(method: ResolvedMethod, profile_name: str) -> dict:
    """How a report shows a method: registry metadata, what it reads, its profile's reductions,
    and the Config fields its profile or variant sets away from that preset ({field: [preset, used]})."""
    entry = METHODS.entry(method.base)
    cls = METHODS.get(method.target)
    preset = config_to_dict(config_from_dict(cls.Config, presets_of(cls).get(profile_name, {}), method.name))
    changed = {k: [preset.get(k), v] for k, v in method.config.items() if preset.get(k) != v}
    return dict(base=method.base, display=entry.display or method.base, rank=entry.rank,
                axis_labels=entry.axis_labels, value_order=entry.value_order,
                reads=list(cls.reads_for(method.build_config())),
                reductions=reductions_of(cls, profile_name), changed_from_preset=changed)


@dataclass(frozen=True)
class TrainingJob:
    """One (method, seed) to train on a zoo into `directory`."""

    method: ResolvedMethod
    zoo_root: str
    seed: int
    directory: str


@dataclass(frozen=True)
class Cell:
    """One unit of evaluation work; `config` is what its id hashes (plus its id)."""

    cell_id: str
    config: dict
    method: ResolvedMethod
    model_dir: str
    zoo_root: str
    policies_per_batch: int = 2
    conditions_root: str = ""
    """The zoo the cell's condition trajectories come from, when not `zoo_root` (the profile's
    `conditions_profile`)."""

    @property
    def prompt_root(self) -> str:
        """The zoo holding the cell's condition trajectories."""
        return self.conditions_root or self.zoo_root


@dataclass
class Plan:
    suite: Suite
    profile: Profile
    methods: dict[str, ResolvedMethod]
    zoos: dict[str, dict]
    """{zoo directory: zoo settings} of the zoos the run needs."""
    zoo_profiles: dict[str, str]
    """{zoo directory: the profile whose name it carries} (a conditions zoo is another profile's)."""
    trainings: list[TrainingJob]
    cells: list[Cell]


def stable_int(*parts) -> int:
    return int(config_hash(list(parts), length=8), 16)


def proposal_seed(config: dict) -> int:
    """Seed of a cell's proposals: a function of what the method is and sees, not of the suite,
    the setting or the code version, so a clean and a noisy cell (or one cell in two suites or
    two commits) are paired samples that differ only in what differs between them."""
    base_method = config["method"].split("[")[0]  # a variant's own settings are in method_config
    keys = (config[k] for k in ("method_config", "zoo_id", "task", "n_traj", "seed"))
    return stable_int("propose", base_method, *keys) % 2**31


def condition_rows(zoo: Zoo, task: str, n_traj: int, seed: int, successful_only: bool = False) -> np.ndarray:
    """The zoo rows of a cell's condition trajectories: a seeded permutation of the task's
    rows cut at n_traj, so smaller counts are subsets of larger ones. `successful_only` keeps
    the rows whose trajectory succeeds, in the same order, and all of them when fewer than
    n_traj succeed (no row twice)."""
    rows = np.flatnonzero(zoo.conditions.tasks == task)
    if len(rows) < n_traj:
        raise UserError(f"zoo {zoo.zoo_id} has {len(rows)} condition trajectories of {task}; the suite asks for {n_traj}")
    rows = rows[np.random.default_rng(stable_int("conditions", task, seed)).permutation(len(rows))]
    if successful_only:
        rows = rows[zoo.conditions.successes[rows].any(axis=1)]
        if len(rows) == 0:
            raise ValueError(f"no condition trajectory of {task} succeeds in zoo {zoo.zoo_id}")
    return rows[:n_traj]


def cell_conditions(zoo: Zoo, config: dict) -> tuple[PolicySet, np.ndarray]:
    """(condition trajectories of a cell, their zoo rows); noisy actions in the noisy setting,
    only trajectories that succeed in the successful setting."""
    rows = condition_rows(zoo, config["task"], config["n_traj"], config["seed"],
                          successful_only=config["setting"] == "successful")
    conditions = zoo.conditions.subset(rows)
    if config["setting"] == "noisy":
        # the same noise for every method (identical condition trajectories), and the noise of
        # n rows is the start of the noise of more rows, as the rows themselves are
        rng = np.random.default_rng(stable_int("noise", config["task"], config["seed"], config["noise_std"]))
        noise = rng.normal(0.0, config["noise_std"], conditions.actions.shape).astype(np.float32)
        valid = np.arange(conditions.actions.shape[1])[None, :] < conditions.lengths[:, None]
        conditions.actions = np.clip(conditions.actions + noise * valid[..., None], -1.0, 1.0).astype(np.float32)
    return conditions, rows


def zoo_settings(profile: Profile, method: ResolvedMethod) -> dict:
    """The zoo settings a method trains on: the profile's, with its variant's zoo keys."""
    return {**profile.zoo, **method.zoo_overrides}


def _cell_id(method: str, task: str, robot: str | None, n_traj: int, setting: str, seed: int, digest: str) -> str:
    slug = "".join(ch if ch.isalnum() or ch in "-=" else "_" for ch in method)
    where = f"{task}-{robot}" if robot else task
    return f"{slug}-{where}-n{n_traj}-{setting}-s{seed}-{digest}"


def _cell_base(suite: Suite, profile: Profile, name: str, method: ResolvedMethod, zoo_id: str, task: str,
               n_traj: int, setting: str, seed: int, version: str) -> dict:
    """What a cell's id hashes. `eval.max_steps` is resolved per task (MetaWorld: 500, as when it
    was a constant); `robot` is there only when the suite names one, so MetaWorld ids stay."""
    result_settings = {k: v for k, v in dataclasses.asdict(profile.eval).items() if k not in EXECUTION_ONLY}
    result_settings["max_steps"] = profile.eval.steps_for(task)
    base = dict(suite=suite.name, profile=profile.name, method=name, method_config=method.config, zoo_id=zoo_id,
                task=task, n_traj=int(n_traj), setting=setting, seed=seed,
                noise_std=suite.noise_std if setting == "noisy" else 0.0,
                configurations=list(EVAL_CONFIGURATIONS), eval=result_settings, code_version=version)
    if suite.robot is not None:
        base["robot"] = suite.robot
    return base


def plan(suite_name: str, profile_name: str, results: Path, methods: list[str] | None = None,
         seeds: int | None = None, settings: list[str] | None = None, n_traj: list[int] | None = None) -> Plan:
    """Resolve a suite into zoos, training jobs and cells; builds nothing. A zoo's id is its
    directory name, a hash of its settings, so cell ids do not need the zoo built. `methods`,
    `seeds`, `settings` and `n_traj` override the suite's."""
    suite = load_suite(suite_name)
    if settings is not None:
        suite = suite.with_settings(settings)
    if n_traj is not None:
        suite = suite.with_n_traj(n_traj)
    profile = load_profile(profile_name).for_domain(suite.domain.name)
    names = methods or suite.methods
    seeds = seeds if seeds is not None else suite.seeds
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    resolved = {name: resolve_method(name, profile) for name in names}  # every bad name fails here
    version = code_version()  # once: the checkout may change while the plan is built
    zoos, zoo_profiles, trainings, cells = {}, {}, {}, []
    tasks = suite.tasks_for(profile.lookup_names)
    prompts_from = load_profile(profile.conditions_profile).for_domain(suite.domain.name) \
        if profile.conditions_profile else None
    for name, method in resolved.items():
        settings = zoo_settings(profile, method)
        zoo = ZooSettings.from_profile(settings)
        held = zoo.seen_tasks + zoo.unseen_tasks
        missing = [t for t in tasks if t not in held]
        if missing:
            raise UserError(f"suite {suite.name} evaluates {', '.join(missing)}, which profile {profile.name}'s "
                            f"{suite.domain.name} zoo does not hold (it holds {', '.join(held)})")
        root = str(zoo_dir(results, profile.zoo_profile, zoo))
        zoos[root], zoo_profiles[root] = settings, profile.zoo_profile
        zoo_id = Path(root).name
        conditions_root = ""
        if prompts_from is not None:
            prompt_settings = zoo_settings(prompts_from, method)
            conditions_root = str(zoo_dir(results, prompts_from.zoo_profile, ZooSettings.from_profile(prompt_settings)))
            zoos[conditions_root], zoo_profiles[conditions_root] = prompt_settings, prompts_from.zoo_profile
        for seed in range(seeds):
            directory = str(model_dir(results, method, zoo_id, seed))
            # two names that resolve to one config (a variant spelling out a default) share one model
            trainings.setdefault(directory, TrainingJob(method, root, seed, directory))
            for task in tasks:
                for n_traj in suite.n_traj_for(profile.lookup_names):
                    for setting in suite.settings:
                        base = _cell_base(suite, profile, name, method, zoo_id, task, n_traj, setting, seed,
                                          version)
                        if conditions_root:
                            base["conditions_zoo_id"] = Path(conditions_root).name
                        digest = config_hash(base)
                        cell_id = _cell_id(name, task, suite.robot, n_traj, setting, seed, digest)
                        cells.append(Cell(cell_id, dict(base, cell_id=cell_id, cell_id_base=digest), method,
                                          directory, root, profile.eval.policies_per_batch, conditions_root))
    return Plan(suite, profile, resolved, zoos, zoo_profiles, list(trainings.values()), cells)


def check_conditions(cells: list[Cell], zoos: dict[str, Zoo]) -> None:
    """UserError if a zoo holds fewer condition trajectories of a task than a cell asks for."""
    for cell in cells:
        condition_rows(zoos[cell.prompt_root], cell.config["task"], cell.config["n_traj"], cell.config["seed"])


def estimate(cells: list[Cell], trainings: list[TrainingJob]) -> dict:
    """Upper-bound cost: every episode runs its task's max_steps at its domain's measured step
    cost (`Domain.step_cost_s`: MetaWorld ~350 us, Robosuite ~13 ms)."""
    episodes = [cell.config["n_traj"] * len(cell.config["configurations"]) for cell in cells]
    steps = [n * cell.config["eval"]["max_steps"] for n, cell in zip(episodes, cells)]
    seconds = sum(n * domain_of(cell.config["task"]).step_cost_s for n, cell in zip(steps, cells))
    return dict(cells=len(cells), trainings=len(trainings), max_episodes=sum(episodes), max_env_steps=sum(steps),
                max_eval_cpu_h=round(seconds / 3600, 2))


def run_dir_for(results: Path, suite: str, profile: str, tag: str | None) -> Path:
    """results/runs/<suite>-<profile>[-tag]; `suite` is the suite's name, never a path."""
    return Path(results) / "runs" / (f"{suite}-{profile}" + (f"-{tag}" if tag else ""))
