"""`diagnose`: a generator's pipeline measured stage by stage on seen tasks.

For each seen task, the same `policies` zoo checkpoints (a seeded sample, shared by all
training seeds) and the same evaluation configurations as the suites:

    checkpoint      (a) the zoo checkpoints themselves: the ceiling of anything that reproduces them
    reconstruction  (b) their encode -> decode through the method's autoencoder
                        (only for methods with a `reconstruct` hook)
    own-trajectory  (c) policies generated from the checkpoints' own trajectories
                        (the conditions the generator was trained with)
    condition       (d) policies generated from the cells' condition trajectories: exactly the
                        policies of the seen suite's cell with n_traj = `policies` (same rows,
                        same proposal seed)
    nearest-checkpoint  the memorisation control on the same condition trajectories

A method without the hooks gets (a), (c), (d) and the control. `--domain robosuite --robot R`
diagnoses the profile's Robosuite zoo with every stage rolled out on robot R (the zoo is Panda's,
its condition trajectories Sawyer's: stages (a)-(c) on Sawyer measure the change of robot as
well as the reproduction, on Panda the reproduction alone). Units (task, stage, seed) are
stored one JSON each under <run>/units/ and skipped on a rerun; the model's own diagnostics
(reconstruction error, share of clamped latents, train and held-out loss curves) go to
<run>/models.json; `diagnosis.csv` is one row per (task, stage, seed). `report` renders the run.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from benchmark.errors import UserError

if TYPE_CHECKING:  # the CLI imports this module for its parser: torch and pandas load on use
    import pandas as pd

    from benchmark.plan import ResolvedMethod

DIAGNOSIS_FORMAT = "b2p-diagnosis"
STAGES = ("checkpoint", "reconstruction", "own-trajectory", "condition", "nearest-checkpoint")
STAGE_LABELS = {"checkpoint": "(a) zoo checkpoints", "reconstruction": "(b) reconstructed",
                "own-trajectory": "(c) generated, own trajectories",
                "condition": "(d) generated, cell conditions",
                "nearest-checkpoint": "nearest-checkpoint control"}
CONTROL = "nearest-checkpoint"


@dataclass(frozen=True)
class DiagnosisUnit:
    """One stage of one task for one training seed: `rows` of the zoo's checkpoints (stages
    a-c) or conditions (d, control) turned into policies and rolled out."""

    unit_id: str
    task: str
    stage: str
    seed: int
    method: ResolvedMethod | None
    """The model the stage uses (the control's for the control stage; None for stage a)."""
    model_dir: str
    zoo_root: str
    rows: tuple[int, ...]
    proposal_seed: int
    configurations: tuple[int, ...]
    max_steps: int
    policies_per_batch: int
    robot: str | None = None
    """None: the domain's default robot (MetaWorld's Sawyer), as before diagnose took a robot."""


def has_hook(cls, name: str) -> bool:
    """Whether a method class overrides an optional hook of the contract."""
    from benchmark.api import Method

    return getattr(cls, name, None) is not getattr(Method, name, None)


def named_robot(robot: str | None, domain: str, main_domain: str) -> str | None:
    """The robot a diagnosis names in its unit ids and run directory: the one asked for; outside
    the profile's main domain the domain's default when none is asked for, so a Robosuite run
    never shares the MetaWorld run's directory; None in the main domain (the ids of before)."""
    from benchmark.envs import get_domain

    if robot is None and domain != main_domain:
        return get_domain(domain).default_robot
    return robot


def checkpoint_rows(zoo, task: str, n: int) -> np.ndarray:
    """A seeded sample of n checkpoint rows of `task` (the same for every training seed)."""
    from benchmark.plan import stable_int

    rows = np.flatnonzero(zoo.checkpoints.tasks == task)
    if len(rows) < n:
        raise UserError(f"zoo {zoo.zoo_id} has {len(rows)} checkpoints of {task}; --policies asks for {n}")
    return np.sort(np.random.default_rng(stable_int("diagnose", task)).choice(rows, size=n, replace=False))


def stage_policies(stage: str, model, zoo, rows: np.ndarray, seed: int) -> tuple[dict, dict]:
    """The policies of one stage as `evaluate()` keyword arguments, and per-policy extra columns.

    `model` is the trained method (the control's model for the control stage; unused for the
    checkpoint stage); `rows` index the zoo's checkpoints (stages a-c) or conditions."""
    from benchmark.api import ParameterProposal
    from benchmark.cells import checked_proposal

    extra = {}
    if stage in ("checkpoint", "reconstruction"):
        params = zoo.checkpoints.params[rows]
        if stage == "reconstruction":
            reconstructed = model.reconstruct(params)
            extra["relative_error"] = (np.linalg.norm(reconstructed - params, axis=1)
                                       / np.maximum(np.linalg.norm(params, axis=1), 1e-12))
            params = reconstructed
        return dict(params=params, spec=zoo.spec), extra
    source = zoo.checkpoints if stage == "own-trajectory" else zoo.conditions
    proposal = checked_proposal(model, type(model).name, f"diagnosis stage {stage}", source.subset(rows), seed, zoo.spec)
    if isinstance(proposal, ParameterProposal):
        return dict(params=proposal.params, spec=zoo.spec), extra
    return dict(make_actor=proposal.make_actor, n_policies=proposal.n_policies), extra


def run_unit(unit: DiagnosisUnit) -> dict:
    """Worker: the unit's policies rolled out in every evaluation configuration."""
    import torch

    from benchmark.cells import _cached_zoo
    from benchmark.engine import evaluate
    from benchmark.training import load_model

    zoo = _cached_zoo(unit.zoo_root)
    model = load_model(unit.method, Path(unit.model_dir), zoo.spec)[0] if unit.method else None
    torch.manual_seed(unit.proposal_seed)
    kwargs, extra = stage_policies(unit.stage, model, zoo, np.asarray(unit.rows, np.int64), unit.proposal_seed)
    n_policies = kwargs.pop("n_policies", None) or len(kwargs["params"])
    result = evaluate(unit.task, unit.configurations, n_policies, robot=unit.robot, max_steps=unit.max_steps,
                      stop_at_success=True, policies_per_batch=unit.policies_per_batch, **kwargs)
    return dict(success=result.success_matrix().astype(int).tolist(), **{k: np.asarray(v).tolist() for k, v in extra.items()})


def _unit_path(run_dir: Path, unit: DiagnosisUnit) -> Path:
    return run_dir / "units" / f"{unit.unit_id}.json"


def _read_unit(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"damaged diagnosis unit {path} ({type(exc).__name__}); move it away to recompute it") from None
    if not isinstance(data, dict) or "status" not in data:
        raise UserError(f"damaged diagnosis unit {path} (not a unit result); move it away to recompute it")
    return data


def summarise(success: np.ndarray) -> dict:
    """success (K policies, C configurations) -> mean success and the mean of the best 5 policies
    (of all K when K < 5)."""
    per_policy = success.mean(axis=1)
    return dict(mean=float(per_policy.mean()), top5=float(np.sort(per_policy)[::-1][:5].mean()),
                qualified=float((per_policy == 1.0).mean()))


def plan_units(method: ResolvedMethod, control: ResolvedMethod, profile, zoo, tasks: list[str], seeds: int,
               policies: int, model_dirs: dict, version: str, robot: str | None = None) -> list[DiagnosisUnit]:
    """The units of a diagnosis; `model_dirs` maps (method name, seed) to a trained model. A unit
    of a named `robot` hashes it (and names it in its id); robot None keeps the ids of before."""
    from benchmark.api import METHODS
    from benchmark.envs import EVAL_CONFIGURATIONS
    from benchmark.plan import condition_rows, proposal_seed, stable_int
    from benchmark.provenance import config_hash

    has_encoder = has_hook(METHODS.get(method.target), "reconstruct")
    stages = [s for s in STAGES if s != "reconstruction" or has_encoder]
    units = []
    for task in tasks:
        ckpt_rows = checkpoint_rows(zoo, task, policies)
        for stage in stages:
            for seed in range(1 if stage == "checkpoint" else seeds):
                used = None if stage == "checkpoint" else control if stage == CONTROL else method
                if stage in ("condition", CONTROL):
                    rows = condition_rows(zoo, task, policies, seed)
                    # the seed of the seen suite's cell of n_traj = policies: the same policies
                    p_seed = proposal_seed(dict(method=used.name, method_config=used.config, zoo_id=zoo.zoo_id,
                                                task=task, n_traj=policies, seed=seed))
                else:
                    rows, p_seed = ckpt_rows, stable_int("diagnose", stage, task, seed) % 2**31
                directory = model_dirs[(used.name, seed)] if used else ""
                identity = dict(format=DIAGNOSIS_FORMAT, model=Path(directory).name, stage=stage, task=task,
                                seed=seed, rows=[int(r) for r in rows], proposal_seed=p_seed,
                                configurations=list(EVAL_CONFIGURATIONS), max_steps=profile.eval.steps_for(task),
                                zoo_id=zoo.zoo_id, code_version=version)
                where = task
                if robot is not None:
                    identity["robot"], where = robot, f"{task}-{robot}"
                units.append(DiagnosisUnit(
                    unit_id=f"{where}-{stage}-s{seed}-{config_hash(identity)}", task=task, stage=stage, seed=seed,
                    method=used, model_dir=directory, zoo_root=str(zoo.root), rows=tuple(int(r) for r in rows),
                    proposal_seed=p_seed, configurations=tuple(EVAL_CONFIGURATIONS),
                    max_steps=profile.eval.steps_for(task), policies_per_batch=profile.eval.policies_per_batch,
                    robot=robot))
    return units


def diagnose(method_name: str, profile_name: str, results: Path, tasks: list[str] | None = None, seeds: int = 1,
             policies: int = 20, workers: int = 2, address: str | None = None, tag: str | None = None,
             domain: str = "metaworld", robot: str | None = None) -> int:
    """Diagnose a method stage by stage (see the module docstring); exit code 1 if a unit failed.
    `robot` None is the domain's default robot, named (in unit ids and the run's directory) outside
    the profile's main domain, so a Robosuite diagnosis never shares the MetaWorld one's run."""
    import pandas as pd

    from benchmark.config import load_profile
    from benchmark.envs import EVAL_CONFIGURATIONS, get_domain
    from benchmark.executor import execute
    from benchmark.plan import TrainingJob, resolve_method, run_dir_for, zoo_settings
    from benchmark.provenance import atomic_write_json, code_version, provenance
    from benchmark.run import _train
    from benchmark.training import check_model, load_model, model_dir
    from benchmark.zoo.collect import build_zoo

    started = time.time()
    if seeds < 1 or policies < 1:
        raise UserError(f"--seeds and --policies must be >= 1 (got {seeds}, {policies})")
    task_domain = get_domain(domain)   # names are checked before any zoo is built
    if robot is not None:
        task_domain.check_robot(robot)
    tasks = [task_domain.check_task(t) for t in tasks or ()]
    main_profile = load_profile(profile_name)
    profile = main_profile.for_domain(domain)
    robot = named_robot(robot, domain, main_profile.domain)
    method, control = resolve_method(method_name, profile), resolve_method(CONTROL, profile)
    zoo = build_zoo(profile.zoo_profile, zoo_settings(profile, method), results, workers=workers, address=address)
    seen = list(zoo.manifest["seen_tasks"])
    tasks = tasks or seen
    unseen = [t for t in tasks if t not in seen]
    if unseen:
        raise UserError(f"diagnose runs on seen tasks (the zoo has no checkpoints of {', '.join(unseen)})")
    version = code_version()

    jobs, model_dirs = [], {}
    for used in (method, control):
        for seed in range(seeds):
            job = TrainingJob(used, str(zoo.root), seed, str(model_dir(results, used, zoo.zoo_id, seed)))
            model_dirs[(used.name, seed)] = job.directory
            if job.directory not in {j.directory for j in jobs} and check_model(Path(job.directory), zoo.spec):
                jobs.append(job)
    if _train(jobs, workers, address, "diagnose: models", 2 * seeds - len(jobs)):
        return 1

    slug = "".join(ch if ch.isalnum() or ch in "-=" else "_" for ch in method.name)
    run_dir = run_dir_for(results, f"diagnose-{slug}" + (f"-{robot}" if robot else ""), profile.name, tag)
    (run_dir / "units").mkdir(parents=True, exist_ok=True)
    units = plan_units(method, control, profile, zoo, tasks, seeds, policies, model_dirs, version, robot)
    todo = [u for u in units if not _unit_path(run_dir, u).is_file()
            or _read_unit(_unit_path(run_dir, u))["status"] != "ok"]
    failed = 0
    for outcome in execute(run_unit, todo, workers=workers, address=address,
                           desc="diagnose: units", skipped=len(units) - len(todo)):
        failed += not outcome.ok
        atomic_write_json(_unit_path(run_dir, outcome.unit), dict(
            unit=dataclasses.asdict(outcome.unit), status="ok" if outcome.ok else "failed",
            error=outcome.error, traceback=outcome.traceback, result=outcome.result,
            worker_cpu_s=round(outcome.seconds, 3)))

    stored = [_read_unit(_unit_path(run_dir, unit)) for unit in units]
    frame = pd.DataFrame([_unit_row(unit, data) for unit, data in zip(units, stored)])
    frame = frame.dropna(subset=["mean"])
    frame.to_csv(run_dir / "diagnosis.csv", index=False)
    models = {}
    for seed in range(seeds):
        directory = model_dirs[(method.name, seed)]
        model, meta = load_model(method, Path(directory), zoo.spec)
        models[str(seed)] = dict(model=Path(directory).name, train_cpu_s=meta.get("train_cpu_s"),
                                 diagnostics=model.diagnostics())
    atomic_write_json(run_dir / "models.json", models)
    atomic_write_json(run_dir / "run.json", dict(
        format=DIAGNOSIS_FORMAT, method=method.name, method_config=method.config, profile=profile.name,
        profile_description=profile.description, reductions=profile.reductions, domain=domain,
        robot=robot or task_domain.default_robot, tasks=tasks, seeds=seeds,
        policies=policies, n_configurations=len(EVAL_CONFIGURATIONS), zoo_id=zoo.zoo_id,
        command="python -m benchmark " + " ".join(sys.argv[1:]), units=len(units), failed_units=failed,
        wall_s_last_invocation=round(time.time() - started, 1), provenance=provenance(version)))
    if len(frame):   # a run whose every unit failed has no table to print
        print(stage_table(frame).round(3).to_string())
    errors = [data["error"].strip().splitlines()[-1] for data in stored if data["error"]]
    print(f"diagnosis: {run_dir} ({len(units) - len(errors)} units ok, {len(errors)} failed"
          + (f"; first error: {errors[0]})" if errors else ")"))
    return 1 if failed else 0


def _unit_row(unit: DiagnosisUnit, data: dict) -> dict:
    """One row of diagnosis.csv; NaN metrics for a failed unit."""
    row = dict(task=unit.task, stage=unit.stage, seed=unit.seed, n_policies=len(unit.rows))
    if data["status"] != "ok":
        return dict(row, mean=np.nan)
    row.update(summarise(np.asarray(data["result"]["success"], float)))
    if "relative_error" in data["result"]:
        row["relative_error"] = float(np.mean(data["result"]["relative_error"]))
    return row


def stage_table(frame: pd.DataFrame, metric: str = "mean") -> pd.DataFrame:
    """(task x stage) `metric` averaged over seeds, with a 'mean over tasks' row."""
    table = frame.pivot_table(index="task", columns="stage", values=metric, aggfunc="mean")
    table = table[[s for s in STAGES if s in table.columns]]
    table.loc["mean over tasks"] = table.mean(axis=0)
    return table


def add_command(sub, add_common) -> None:
    parser = sub.add_parser("diagnose", help="a generator's pipeline measured stage by stage on seen tasks")
    add_common(parser)
    parser.add_argument("--method", default="make-an-agent", help="method name (default: %(default)s)")
    parser.add_argument("--domain", default="metaworld",
                        help="diagnose on the profile's zoo of this domain (default: %(default)s)")
    parser.add_argument("--robot", default=None,
                        help="roll every stage out on this robot (default: the domain's default robot)")
    parser.add_argument("--tasks", nargs="+", default=None, help="seen tasks (default: the zoo's seen tasks)")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds (default: %(default)s)")
    parser.add_argument("--policies", type=int, default=20,
                        help="policies per task and stage (default: %(default)s, the seen suite's largest cell)")
    parser.add_argument("--tag", default=None, help="suffix of the run directory name")
    parser.set_defaults(func=lambda args: diagnose(
        args.method, args.profile, args.results, args.tasks, args.seeds, args.policies, args.workers,
        args.address, args.tag, args.domain, args.robot))
