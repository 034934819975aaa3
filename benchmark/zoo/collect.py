"""Build a zoo: one collector run per (task, run seed), in parallel, resumable, cached.

The zoo directory is named by a hash of its settings (content-addressed): a second build
with the same settings finds the finished zoo and does nothing. Every finished run is
stored at once as a shard (`shards/<task>__<seed>.*`), so an interrupted build resumes
with the runs it lacks. The shards are assembled into the zoo (see format.py) at the end.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.envs import Domain, condition_configuration, get_domain, train_configuration
from benchmark.errors import UserError
from benchmark.executor import execute
from benchmark.policy import PolicySpec
from benchmark.provenance import atomic_write_json, code_version, config_hash, provenance
from benchmark.zoo import distill
from benchmark.zoo.format import ARRAYS, FORMAT_VERSION, PolicySet, Zoo, load_zoo, write_zoo

ALIGN_VERSION = 1
"""Version of the alignment an `align_checkpoints` zoo is derived with (part of its id): a change to
benchmark.align.align_pool's result must raise it, so that zoos aligned the old way are not found."""


@dataclass
class ZooSettings:
    """What a zoo holds and how it is collected (the `zoo` section of a profile). Build it with
    `from_profile`, which resolves 'all' and checks every name."""

    collector: str = "expert-distill"
    """'expert-distill' (fast, one machine) or 'sac' (the paper's, cluster scale)."""
    seen_tasks: list | str = "all"
    """Tasks with zoo checkpoints and condition trajectories ('all' = the domain's seen tasks,
    MetaWorld: the paper's 10)."""
    unseen_tasks: list | str = "all"
    """Tasks with condition trajectories only ('all' = the domain's unseen tasks, MetaWorld: the
    paper's 9; Robosuite has none)."""
    runs_per_seen_task: int = 10
    """Collector runs (run seeds, each its own configuration) per seen task."""
    runs_per_unseen_task: int = 10
    """Condition-trajectory runs per unseen task."""
    hidden: int = 128
    """Hidden width of the policy family (Figure 12's hidden-size ablation varies it)."""
    distill: dict = field(default_factory=dict)
    """DistillConfig overrides (expert-distill collector)."""
    sac_preset: str = "tiny"
    """SACConfig preset of the sac collector."""
    sac: dict = field(default_factory=dict)
    """SACConfig overrides on top of the preset."""
    domain: str = "metaworld"
    """The domain of every task of the zoo (its policy family's obs/act sizes come from it)."""
    robot: str | None = None
    """Robot of the collector runs, i.e. of the checkpoints (None: the domain's default)."""
    condition_robot: str | None = None
    """Robot the condition trajectories are rolled out on (None: `robot`); the Robosuite zoo
    trains on Panda and records its conditions on Sawyer, the robot the paper evaluates on."""
    distill_tasks: dict = field(default_factory=dict)
    """{task: DistillConfig overrides on top of `distill`}, for recipes that differ by task
    (Robosuite Lift needs several configurations per run to transfer at all)."""
    align_checkpoints: bool = False
    """Permute every seen task's runs into one hidden-unit order (benchmark.align.align_pool, one
    permutation per run): the same policies and trajectories, with the runs no longer in unrelated
    orders of their hidden units and each run's checkpoints as close as before. The zoo is derived
    from the zoo of the same settings without it (built or found first)."""

    LATER_FIELDS = ("domain", "robot", "condition_robot", "distill_tasks", "align_checkpoints")
    """Fields added after the MetaWorld zoos were built: hashed only when they differ from their
    default, so those zoos (and every cell id that names them) keep their ids."""

    @classmethod
    def from_profile(cls, values: dict, tasks: list[str] | None = None) -> "ZooSettings":
        values = dict(values)
        names = {f.name for f in dataclasses.fields(cls)}
        extra = sorted(set(values) - names)
        if extra:
            raise UserError(f"zoo settings: unknown key(s) {', '.join(extra)}")
        domain = get_domain(values.get("domain", "metaworld"))
        for key, default in (("seen_tasks", domain.seen_tasks), ("unseen_tasks", domain.unseen_tasks)):
            if values.get(key, "all") == "all":
                values[key] = list(default)
            values[key] = [domain.check_task(t) for t in values[key]]
        if tasks:
            for task in tasks:
                domain.check_task(task)
            values["seen_tasks"] = [t for t in values["seen_tasks"] if t in tasks]
            values["unseen_tasks"] = [t for t in values["unseen_tasks"] if t in tasks]
        if values.get("collector", "expert-distill") not in ("expert-distill", "sac"):
            raise UserError(f"unknown collector {values['collector']!r}; valid: expert-distill, sac")
        for key in ("robot", "condition_robot"):
            if values.get(key) is not None:
                domain.check_robot(values[key])
        settings = cls(**values)
        for task in settings.seen_tasks + settings.unseen_tasks:
            settings.distill_config(task)  # reject unknown keys early
        return settings

    @property
    def domain_object(self) -> Domain:
        return get_domain(self.domain)

    @property
    def spec(self) -> PolicySpec:
        """The policy family: the domain's observation and action sizes, width `hidden`."""
        return PolicySpec(self.domain_object.obs_dim, self.domain_object.act_dim, self.hidden)

    def distill_config(self, task: str) -> distill.DistillConfig:
        """The DistillConfig of `task`'s runs: `distill`, then `distill_tasks[task]`."""
        values = {**self.distill, **self.distill_tasks.get(task, {})}
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(distill.DistillConfig)})
        if unknown:
            raise UserError(f"zoo settings: unknown distill key(s) {', '.join(unknown)} for {task}")
        return distill.DistillConfig(**values)

    def identity(self) -> dict:
        """Everything the zoo's content depends on."""
        settings = dataclasses.asdict(self)
        defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                    for f in dataclasses.fields(self)}
        for name in self.LATER_FIELDS:
            if settings[name] == defaults[name]:
                del settings[name]
        identity = dict(settings=settings, format_version=FORMAT_VERSION, collector_version=distill.COLLECTOR_VERSION)
        if self.align_checkpoints:
            identity["align_version"] = ALIGN_VERSION
        task_versions = {task: version for task, version in self.domain_object.task_versions.items()
                         if task in self.seen_tasks + self.unseen_tasks}
        if task_versions:
            identity["task_versions"] = task_versions
        return identity


@dataclass(frozen=True)
class RunUnit:
    task: str
    run_seed: int
    seen: bool

    @property
    def name(self) -> str:
        return f"{self.task}__{self.run_seed}"

    @property
    def configuration(self) -> int:
        return train_configuration(self.run_seed) if self.seen else condition_configuration(self.run_seed)


def zoo_dir(results: Path, profile_name: str, settings: ZooSettings) -> Path:
    return Path(results) / "zoo" / f"{profile_name}-{config_hash(settings.identity())}"


def plan_units(settings: ZooSettings) -> list[RunUnit]:
    units = [RunUnit(t, s, True) for t in settings.seen_tasks for s in range(settings.runs_per_seen_task)]
    units += [RunUnit(t, s, False) for t in settings.unseen_tasks for s in range(settings.runs_per_unseen_task)]
    return units


def _collect_one(job: tuple[RunUnit, ZooSettings]) -> dict:
    """Worker: one collector run -> plain arrays and records (small enough to ship back)."""
    unit, settings = job
    spec = settings.spec
    if settings.collector == "expert-distill":
        config = settings.distill_config(unit.task)
        if not unit.seen:
            config = dataclasses.replace(config, checkpoints_per_run=0, configurations_per_run=1)
        checkpoints, conditions, stats = distill.run_distill(
            unit.task, unit.run_seed, unit.configuration, config, spec, robot=settings.robot,
            condition_robot=settings.condition_robot)
    else:
        from benchmark.zoo import sac

        config = sac.make_config(settings.sac_preset, {**settings.sac, "policy_hidden": settings.hidden})
        checkpoints, conditions = sac.run_sac(unit.task, unit.run_seed, config, configuration=unit.configuration,
                                              robot=settings.robot, condition_robot=settings.condition_robot)
        if not unit.seen:
            checkpoints = checkpoints.subset([])
        stats = dict(task=unit.task, run_seed=unit.run_seed, checkpoints=len(checkpoints), conditions=len(conditions))
    return dict(checkpoints=checkpoints, conditions=conditions, stats=stats)


def _write_shard(shard_dir: Path, unit: RunUnit, result: dict) -> None:
    from safetensors.numpy import save_file

    arrays = {f"{split}/{k}": np.ascontiguousarray(v) for split in ("checkpoints", "conditions")
              for k, v in result[split].arrays().items()}
    tmp = shard_dir / f".{unit.name}.safetensors.tmp"
    save_file(arrays, str(tmp))
    tmp.replace(shard_dir / f"{unit.name}.safetensors")
    atomic_write_json(shard_dir / f"{unit.name}.json", dict(
        stats=result["stats"], checkpoints=result["checkpoints"].records,
        conditions=result["conditions"].records))


def _read_shard(shard_dir: Path, unit: RunUnit) -> tuple[PolicySet, PolicySet, dict]:
    from safetensors.numpy import load_file

    meta = json.loads((shard_dir / f"{unit.name}.json").read_text())
    arrays = load_file(str(shard_dir / f"{unit.name}.safetensors"))
    sets = [PolicySet(**{k: arrays[f"{split}/{k}"] for k in ARRAYS}, records=meta[split])
            for split in ("checkpoints", "conditions")]
    return sets[0], sets[1], meta["stats"]


def _usable_shard(shard_dir: Path, unit: RunUnit) -> bool:
    """Whether a collector run's shard is stored and readable; a damaged one (an interrupted
    build) is removed with one line saying so, and collected again."""
    if not (shard_dir / f"{unit.name}.json").is_file():
        return False
    try:
        _read_shard(shard_dir, unit)
        return True
    except Exception as exc:  # json, safetensors and key errors alike: the shard is unusable
        print(f"zoo shard {shard_dir / unit.name} is damaged ({type(exc).__name__}); collecting it again",
              file=sys.stderr)
        for suffix in (".json", ".safetensors"):
            (shard_dir / f"{unit.name}{suffix}").unlink(missing_ok=True)
        return False


def build_zoo(profile_name: str, zoo_settings: dict, results: Path, tasks: list[str] | None = None,
              workers: int = 0, address: str | None = None) -> Zoo:
    """Build (or find) the zoo of a profile; returns it loaded and validated."""
    settings = ZooSettings.from_profile(zoo_settings, tasks)
    root = zoo_dir(results, profile_name, settings)
    if (root / "manifest.json").is_file():
        return load_zoo(root)
    if settings.align_checkpoints:
        return _build_aligned_zoo(root, profile_name, settings, results, workers, address)
    return _collect_zoo(root, profile_name, settings, workers, address)


def _find_zoo(results: Path, settings: ZooSettings) -> Path | None:
    """A finished zoo of these settings under any profile's name (the hash names the content)."""
    digest = config_hash(settings.identity())
    found = sorted(p.parent for p in (Path(results) / "zoo").glob(f"*-{digest}/manifest.json"))
    return found[0] if found else None


def _build_aligned_zoo(root: Path, profile_name: str, settings: ZooSettings, results: Path,
                       workers: int, address: str | None) -> Zoo:
    """The zoo of `settings` without alignment (found under any profile's name, or collected),
    with every seen task's runs permuted into one hidden-unit order; conditions as they are."""
    from benchmark.align import align_pool

    unaligned = dataclasses.replace(settings, align_checkpoints=False)
    base_root = _find_zoo(results, unaligned)
    base = load_zoo(base_root) if base_root else _collect_zoo(
        zoo_dir(results, profile_name, unaligned), profile_name, unaligned, workers, address)
    start = time.time()
    params = base.checkpoints.params.copy()
    for task in settings.seen_tasks:
        rows = np.flatnonzero(base.checkpoints.tasks == task)
        runs = np.array([base.checkpoints.records[i]["run_seed"] for i in rows])
        params[rows] = align_pool(params[rows], settings.spec, groups=runs)
    checkpoints = dataclasses.replace(base.checkpoints, params=params)
    manifest = {key: value for key, value in base.manifest.items() if key not in ("checkpoints", "conditions")}
    manifest.update(zoo_id=root.name, profile=profile_name, settings=dataclasses.asdict(settings),
                    aligned_from=base.manifest["zoo_id"],
                    provenance=dict(base.manifest["provenance"], align_wall_s=round(time.time() - start, 1),
                                    align_code_version=code_version()))
    write_zoo(root, manifest, checkpoints, base.conditions)
    return load_zoo(root)


def _collect_zoo(root: Path, profile_name: str, settings: ZooSettings, workers: int, address: str | None) -> Zoo:
    """Run every collector run the zoo lacks (resumable shards), then assemble and write the zoo."""
    shard_dir = root / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    units = plan_units(settings)
    todo = [u for u in units if not _usable_shard(shard_dir, u)]
    start = time.time()
    failures = []
    for outcome in execute(_collect_one, [(u, settings) for u in todo], workers=workers, address=address,
                           desc=f"zoo {profile_name}: runs", skipped=len(units) - len(todo)):
        unit = outcome.unit[0]
        if outcome.ok:
            _write_shard(shard_dir, unit, outcome.result)
        else:
            failures.append(f"{unit.name}: {outcome.error.strip().splitlines()[-1]}")
    if failures:
        raise RuntimeError(f"{len(failures)} collector run(s) failed (rerun to retry them): " + "; ".join(failures))

    spec = settings.spec
    parts = [_read_shard(shard_dir, u) for u in units]
    checkpoints = PolicySet.concatenate([p[0] for p in parts], spec)
    conditions = PolicySet.concatenate([p[1] for p in parts], spec)
    stats = [p[2] for p in parts]
    missing = [t for t in settings.seen_tasks if not (checkpoints.tasks == t).any()]
    if missing:
        raise RuntimeError(f"no checkpoint succeeded for seen task(s) {', '.join(missing)}: raise the collector budget")
    manifest = dict(
        zoo_id=root.name, profile=profile_name, settings=dataclasses.asdict(settings),
        policy_spec=spec.to_dict(), tasks=settings.seen_tasks + settings.unseen_tasks,
        seen_tasks=settings.seen_tasks, unseen_tasks=settings.unseen_tasks,
        provenance=dict(provenance(), build_wall_s_this_session=round(time.time() - start, 1),
                        collector_cpu_s=round(sum(s.get("seconds", 0.0) for s in stats), 1)),
        runs=stats,
    )
    write_zoo(root, manifest, checkpoints, conditions)
    shutil.rmtree(shard_dir)  # the zoo holds everything they did; they only served resumption
    return load_zoo(root)
