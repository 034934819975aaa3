"""`run`, `train` and `report`: a suite in a profile, expanded into cells and executed.

    zoo (cached by settings) -> trained methods (cached by config, zoo, seed)
      -> cells: method x task x n_traj x setting x seed, each a unit of work whose id hashes
         its resolved config and the code version; one JSON per finished cell
      -> episodes.parquet, policies.parquet, summary.csv, tables.md (pure functions of cells)

A rerun of the same command skips finished cells; a killed run resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.config import EXECUTION_ONLY, load_profile
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.errors import UserError
from benchmark.executor import execute
from benchmark.methods import config_to_dict, resolve_method
from benchmark.provenance import atomic_write_json, code_version, config_hash, provenance
from benchmark.suites import load_suite
from benchmark.training import load_model, model_dir, train_unit
from benchmark.zoo.collect import ZooSettings, build_zoo
from benchmark.zoo.format import PolicySet, Zoo, load_zoo

RUN_FORMAT = "b2p-run"


@dataclass(frozen=True)
class Cell:
    cell_id: str
    config: dict
    model_dir: str
    zoo_root: str
    policies_per_batch: int = 2


# ----------------------------------------------------------------------------- planning

def _zoo_for(profile, overrides: dict, results: Path, workers: int, address: str | None, cache: dict) -> Zoo:
    key = json.dumps(overrides, sort_keys=True)
    if key not in cache:
        cache[key] = build_zoo(profile.name, {**profile.zoo, **overrides}, results, workers=workers, address=address)
    return cache[key]


def stable_int(*parts) -> int:
    return int(config_hash(list(parts), length=8), 16)


def proposal_seed(config: dict) -> int:
    """Seed of a cell's proposals: a function of what the method is and sees, not of the suite,
    the setting or the code version, so a clean and a noisy cell (or one cell in two suites or
    two commits) are paired samples that differ only in what differs between them."""
    base_method = config["method"].split("[")[0]  # a variant's own settings are in method_config
    keys = (config[k] for k in ("method_config", "zoo_id", "task", "n_traj", "seed"))
    return stable_int("propose", base_method, *keys) % 2**31


def condition_rows(zoo: Zoo, task: str, n_traj: int, seed: int) -> np.ndarray:
    """The zoo rows of a cell's condition trajectories: a seeded permutation of the task's
    rows cut at n_traj, so smaller counts are subsets of larger ones."""
    rows = np.flatnonzero(zoo.conditions.tasks == task)
    if len(rows) < n_traj:
        raise UserError(f"zoo {zoo.zoo_id} has {len(rows)} condition trajectories of {task}; the suite asks for {n_traj}")
    order = np.random.default_rng(stable_int("conditions", task, seed)).permutation(len(rows))
    return rows[order[:n_traj]]


def cell_conditions(zoo: Zoo, config: dict) -> tuple[PolicySet, np.ndarray]:
    rows = condition_rows(zoo, config["task"], config["n_traj"], config["seed"])
    conditions = zoo.conditions.subset(rows)
    if config["setting"] == "noisy":
        # the same noise for every method (identical condition trajectories), and the noise of
        # n rows is the start of the noise of more rows, as the rows themselves are
        rng = np.random.default_rng(stable_int("noise", config["task"], config["seed"], config["noise_std"]))
        noise = rng.normal(0.0, config["noise_std"], conditions.actions.shape).astype(np.float32)
        valid = np.arange(conditions.actions.shape[1])[None, :] < conditions.lengths[:, None]
        conditions.actions = np.clip(conditions.actions + noise * valid[..., None], -1.0, 1.0).astype(np.float32)
    return conditions, rows


def plan(suite_name: str, profile_name: str, results: Path, methods: list[str] | None = None,
         seeds: int | None = None, workers: int = 0, address: str | None = None, build: bool = True):
    """Resolve a suite into (profile, zoos, training jobs, cells). With build=False no zoo is
    collected: cells of zoos that do not exist yet get a provisional id (for --dry-run)."""
    suite = load_suite(suite_name)
    profile = load_profile(profile_name)
    methods = methods or suite.methods
    seeds = seeds if seeds is not None else suite.seeds
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1, got {seeds}")
    resolved = {m: resolve_method(m, profile) for m in methods}  # unknown names fail here
    result_settings = {k: v for k, v in dataclasses.asdict(profile.eval).items() if k not in EXECUTION_ONLY}
    version = code_version()  # once: the checkout may change while the plan is built
    zoo_cache: dict = {}
    trainings, cells = {}, []
    for method in methods:
        _, config, zoo_overrides = resolved[method]
        settings = {**profile.zoo, **zoo_overrides}
        if build:
            zoo = _zoo_for(profile, zoo_overrides, results, workers, address, zoo_cache)
            zoo_id, zoo_root = zoo.zoo_id, str(zoo.root)
        else:
            from benchmark.zoo.collect import zoo_dir

            zoo = None
            zoo_root = str(zoo_dir(results, profile.name, ZooSettings.from_profile(settings)))
            zoo_id = Path(zoo_root).name
        for seed in range(seeds):
            directory = model_dir(results, method, config, zoo_id, seed)
            trainings[(method, seed)] = (method, profile, zoo_root, seed, str(directory))
            for task in suite.task_list():
                for n_traj in suite.n_traj_for(profile.name):
                    for setting in suite.settings:
                        base = dict(suite=suite.name, profile=profile.name, method=method,
                                    method_config=config_to_dict(config), zoo_id=zoo_id, task=task,
                                    n_traj=int(n_traj), setting=setting, seed=seed,
                                    noise_std=suite.noise_std if setting == "noisy" else 0.0,
                                    configurations=list(EVAL_CONFIGURATIONS),
                                    eval=result_settings, code_version=version)
                        if zoo is not None:
                            condition_rows(zoo, task, n_traj, seed)  # too few conditions fails now
                        digest = config_hash(base)
                        slug = "".join(ch if ch.isalnum() or ch in "-=" else "_" for ch in method)
                        cell_id = f"{slug}-{task}-n{n_traj}-{setting}-s{seed}-{digest}"
                        cells.append(Cell(cell_id, dict(base, cell_id=cell_id, cell_id_base=digest),
                                          str(directory), zoo_root, profile.eval.policies_per_batch))
    return suite, profile, list(trainings.values()), cells


# ----------------------------------------------------------------------------- one cell

@functools.lru_cache(maxsize=4)
def _cached_zoo(root: str) -> Zoo:
    return load_zoo(root)


@functools.lru_cache(maxsize=8)
def _cached_model(method: str, profile_name: str, directory: str, zoo_root: str):
    return load_model(method, load_profile(profile_name), Path(directory), _cached_zoo(zoo_root).spec)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities of the rows of a and b."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def run_cell(cell: Cell) -> dict:
    """Worker: propose policies for one cell and roll them out. Returns plain data."""
    import torch

    from benchmark.engine import evaluate
    from generators.base import ParameterProposal

    config = cell.config
    zoo = _cached_zoo(cell.zoo_root)
    model, meta = _cached_model(config["method"], config["profile"], cell.model_dir, cell.zoo_root)
    conditions, rows = cell_conditions(zoo, config)
    seed = proposal_seed(config)
    torch.manual_seed(seed)
    start = time.process_time()
    proposal = model.propose(conditions, seed=seed)
    propose_s = time.process_time() - start
    settings = config["eval"]
    keep = tuple(range(settings["trajectories_kept"]))
    start = time.process_time()
    if isinstance(proposal, ParameterProposal):
        if proposal.spec != zoo.spec:
            raise UserError(f"{config['method']} proposed policies of spec {proposal.spec}, the zoo has {zoo.spec}")
        n_policies = len(proposal.params)
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies, params=proposal.params,
                          spec=zoo.spec, max_steps=settings["max_steps"], stop_at_success=settings["stop_at_success"],
                          policies_per_batch=cell.policies_per_batch, keep_trajectories_of=keep)
    else:
        n_policies = proposal.n_policies
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies,
                          make_actor=proposal.make_actor, max_steps=settings["max_steps"],
                          stop_at_success=settings["stop_at_success"],
                          policies_per_batch=cell.policies_per_batch, keep_trajectories_of=keep)
    eval_s = time.process_time() - start

    # one policy per condition trajectory when the counts match; otherwise no pairing
    paired = n_policies == len(rows)
    first = conditions.first_success_steps
    policies = pd.DataFrame(dict(
        policy_id=np.arange(n_policies), condition_row=rows if paired else -1,
        condition_first_success_step=first if paired else -1))
    if isinstance(proposal, ParameterProposal):
        to_ckpt = _cosines(proposal.params, zoo.checkpoints.params)
        policies["cos_nearest_checkpoint"] = to_ckpt.max(axis=1)
        policies["nearest_checkpoint"] = to_ckpt.argmax(axis=1)
        policies["cos_condition"] = (np.sum(_cosines(proposal.params, conditions.params) * np.eye(n_policies), axis=1)
                                     if paired else np.nan)
    else:
        policies["cos_nearest_checkpoint"] = np.nan
        policies["nearest_checkpoint"] = -1
        policies["cos_condition"] = np.nan
    episodes = pd.DataFrame(dict(
        policy_id=result.policy_id, config_index=result.config_index,
        configuration=np.asarray(config["configurations"])[result.config_index],
        success=result.success, first_success_step=result.first_success_step,
        **{"return": result.episode_return}, length=result.length))
    kept_ids = sorted(result.kept_states)
    trajectories = {}
    if kept_ids:
        horizon = max(len(result.kept_states[k]) for k in kept_ids)
        states = np.zeros((len(kept_ids), horizon, zoo.spec.obs_dim), np.float32)
        for i, k in enumerate(kept_ids):
            states[i, :len(result.kept_states[k])] = result.kept_states[k]
        keep_conditions = rows[: len(kept_ids)]
        trajectories = dict(states=states, lengths=np.array([len(result.kept_states[k]) for k in kept_ids], np.int32),
                            policy_ids=np.array(kept_ids, np.int32),
                            condition_states=zoo.conditions.states[keep_conditions],
                            condition_lengths=zoo.conditions.lengths[keep_conditions])
    return dict(episodes=episodes.to_dict("list"), policies=policies.to_dict("list"), trajectories=trajectories,
                timings=dict(train_cpu_s=meta.get("train_cpu_s"), propose_s=round(propose_s, 3),
                             eval_cpu_s=round(eval_s, 3), env_steps=int(result.length.sum())))


# ----------------------------------------------------------------------------- store

def cell_path(run_dir: Path, cell_id: str) -> Path:
    return run_dir / "cells" / f"{cell_id}.json"


def read_cell(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UserError(f"damaged cell file {path} ({type(exc).__name__}); move it away to recompute that cell") from None
    if not isinstance(data, dict) or "status" not in data or "config" not in data:
        raise UserError(f"damaged cell file {path} (not a cell result); move it away to recompute that cell")
    return data


def write_cell(run_dir: Path, cell: Cell, outcome) -> None:
    record = dict(cell_id=cell.cell_id, config=cell.config, provenance=provenance(cell.config["code_version"]),
                  status="ok" if outcome.ok else "failed", error=outcome.error,
                  worker_cpu_s=round(outcome.seconds, 3))
    if outcome.ok:
        data = outcome.result
        if data["trajectories"]:
            from safetensors.numpy import save_file

            path = run_dir / "trajectories" / f"{cell.cell_id}.safetensors"
            path.parent.mkdir(exist_ok=True)
            save_file({k: np.ascontiguousarray(v) for k, v in data["trajectories"].items()}, str(path))
        record.update(timings=data["timings"], episodes=data["episodes"], policies=data["policies"])
    atomic_write_json(cell_path(run_dir, cell.cell_id), record)


CELL_COLUMNS = ("suite", "method", "task", "n_traj", "setting", "seed")


def consolidate(run_dir: Path, cells: list[Cell]) -> tuple[int, int]:
    """Write episodes.parquet and policies.parquet from the plan's ok cells; (ok, failed)."""
    episodes, policies, ok, failed = [], [], 0, 0
    for cell in cells:
        data = read_cell(cell_path(run_dir, cell.cell_id))
        if data["status"] != "ok":
            failed += 1
            continue
        ok += 1
        keys = {k: cell.config[k] for k in CELL_COLUMNS}
        episodes.append(pd.DataFrame(data["episodes"]).assign(cell_id=cell.cell_id, **keys))
        policies.append(pd.DataFrame(data["policies"]).assign(cell_id=cell.cell_id, **keys))
    if episodes:
        pd.concat(episodes, ignore_index=True).to_parquet(run_dir / "episodes.parquet", index=False)
        pd.concat(policies, ignore_index=True).to_parquet(run_dir / "policies.parquet", index=False)
    return ok, failed


# ----------------------------------------------------------------------------- driver

def estimate(cells: list[Cell], trainings: list) -> dict:
    """Upper-bound cost: every episode runs 500 steps at ~350 us a step (measured)."""
    episodes = 0
    for cell in cells:
        # Methods propose n_traj policies (Make-An-Agent, controls, hypernetwork) or fewer.
        episodes += cell.config["n_traj"] * len(cell.config["configurations"])
    steps = episodes * cells[0].config["eval"]["max_steps"] if cells else 0
    return dict(cells=len(cells), trainings=len(trainings), max_episodes=episodes, max_env_steps=steps,
                max_eval_cpu_h=round(steps * 350e-6 / 3600, 2))


def run_dir_for(results: Path, suite: str, profile: str, tag: str | None) -> Path:
    return Path(results) / "runs" / (f"{suite}-{profile}" + (f"-{tag}" if tag else ""))


def run_suite(args) -> int:
    started = time.time()
    if args.dry_run:
        suite, profile, trainings, cells = plan(args.suite, args.profile, args.results, args.methods, args.seeds,
                                                build=False)
        cost = estimate(cells, trainings)
        print(f"suite {suite.name}, profile {profile.name}: {cost['cells']} cells, {cost['trainings']} trainings "
              f"(zoo and cached models reused when present)")
        print(f"at most {cost['max_episodes']} episodes, {cost['max_env_steps']:,} env steps, "
              f"~{cost['max_eval_cpu_h']} CPU-hours of rollouts (upper bound: every episode 500 steps)")
        for cell in cells:
            print("  " + cell.cell_id)
        return 0

    run_dir = run_dir_for(args.results, args.suite, args.profile, args.tag)
    suite, profile, trainings, cells = plan(args.suite, args.profile, args.results, args.methods, args.seeds,
                                            workers=args.workers, address=args.address)
    (run_dir / "cells").mkdir(parents=True, exist_ok=True)
    existing = {c.cell_id: read_cell(cell_path(run_dir, c.cell_id))["status"]
                for c in cells if cell_path(run_dir, c.cell_id).is_file()}
    todo = [c for c in cells if existing.get(c.cell_id) != "ok"]

    needed = {c.model_dir for c in todo}
    to_train = [job for job in trainings if job[4] in needed and not (Path(job[4]) / "training.json").is_file()]
    train_failures = {}
    for outcome in execute(train_unit, to_train, workers=args.workers, address=args.address,
                           desc=f"train {suite.name}: models", skipped=len(trainings) - len(to_train)):
        if not outcome.ok:
            train_failures[outcome.unit[4]] = outcome.error
    for directory, error in train_failures.items():
        print(f"training failed for {Path(directory).name}:\n{error}", file=sys.stderr)

    runnable = [c for c in todo if c.model_dir not in train_failures]
    for cell in todo:
        if cell.model_dir in train_failures:
            from benchmark.executor import Outcome

            write_cell(run_dir, cell, Outcome(cell, error="training failed:\n" + train_failures[cell.model_dir]))
    for outcome in execute(run_cell, runnable, workers=args.workers, address=args.address,
                           desc=f"run {suite.name}: cells", skipped=len(cells) - len(todo)):
        write_cell(run_dir, outcome.unit, outcome)

    ok, failed = consolidate(run_dir, cells)
    atomic_write_json(run_dir / "run.json", dict(
        format=RUN_FORMAT, suite=suite.name, profile=profile.name, profile_description=profile.description,
        reductions=profile.reductions, command="python -m benchmark " + " ".join(sys.argv[1:]),
        cells=[c.cell_id for c in cells], n_configurations=len(EVAL_CONFIGURATIONS),
        wall_s_last_invocation=round(time.time() - started, 1),
        provenance=provenance(cells[0].config["code_version"] if cells else None),
        ok_cells=ok, failed_cells=failed))
    if ok:
        from benchmark.report.tables import write_summary, write_tables

        write_summary(run_dir)
        tables = write_tables(run_dir, reps=profile.eval.bootstrap_reps)
        print(f"{ok} cells ok, {failed} failed; tables: {tables}; summary: {run_dir / 'summary.csv'}")
    else:
        print(f"no cell finished ({failed} failed); see {run_dir / 'cells'}")
    return 1 if failed else 0


def train_command(args) -> int:
    profile = load_profile(args.profile)
    cls, config, zoo_overrides = resolve_method(args.method, profile)
    zoo = build_zoo(profile.name, {**profile.zoo, **zoo_overrides}, args.results, workers=args.workers,
                    address=args.address)
    directory = model_dir(args.results, args.method, config, zoo.zoo_id, args.seed)
    if (directory / "training.json").is_file():
        print(f"cached: {directory}")
        return 0
    outcomes = list(execute(train_unit, [(args.method, profile, str(zoo.root), args.seed, str(directory))],
                            workers=0, desc=f"train {args.method}: models"))
    if not outcomes[0].ok:
        print(outcomes[0].error, file=sys.stderr)
        return 1
    meta = outcomes[0].result
    print(f"trained {args.method} in {meta['train_cpu_s']} CPU-s: {directory}")
    return 0


def report_command(args) -> int:
    from benchmark.report import build_report

    for run_dir in args.results:
        if not (run_dir / "run.json").is_file():
            raise UserError(f"{run_dir} is not a run directory (no run.json); pass results/runs/<suite>-<profile>")
    written = build_report(args.results, args.out, reps=args.reps)
    print(f"report: {written[0]}")
    return 0


def add_commands(sub, add_common) -> None:
    run = sub.add_parser("run", help="evaluate a suite: zoo -> training -> cells -> tables")
    add_common(run)
    run.add_argument("--suite", required=True, help="suite name (see `list`)")
    run.add_argument("--methods", nargs="+", default=None, help="override the suite's methods (NAME or NAME[key=value])")
    run.add_argument("--seeds", type=int, default=None, help="training seeds per method (default: the suite's)")
    run.add_argument("--tag", default=None, help="suffix of the run directory name")
    run.add_argument("--dry-run", action="store_true", help="print the plan and its cost, run nothing")
    run.set_defaults(func=run_suite)

    train = sub.add_parser("train", help="train (or find) one method on the profile's zoo")
    add_common(train)
    train.add_argument("--method", required=True)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=train_command)

    report = sub.add_parser("report", help="tables and figures from a stored run (no rerun)")
    report.add_argument("--results", required=True, type=Path, nargs="+",
                        help="a run directory, results/runs/<suite>-<profile>; several make one report "
                             "(e.g. the four Figure-12 ablation runs)")
    report.add_argument("--out", type=Path, default=None,
                        help="output directory (default: <run>/report; required with several runs)")
    report.add_argument("--reps", type=int, default=2000, help="bootstrap repetitions (default: %(default)s)")
    report.set_defaults(func=report_command)
