"""A run of a suite in a profile, and the training of one method: the stages in order.

    zoos (cached by settings) -> trained methods (cached by resolved config, zoo, seed;
    a damaged model is retrained) -> cells (one JSON each; finished ones skipped)
      -> episodes.parquet, policies.parquet, run.json, summary.csv, tables.md

Planning is `benchmark.plan`, one cell's work `benchmark.cells`, storage `benchmark.store`.
A rerun of the same command skips finished work; with nothing left, it starts no Ray.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmark import executor
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.executor import Outcome, execute
from benchmark.novelty import cached_reference
from benchmark.plan import Plan, check_conditions, describe_method, estimate, plan, run_dir_for
from benchmark.provenance import provenance
from benchmark.store import cell_status, consolidate, failed_cells, write_cell, write_failures_log, write_run
from benchmark.training import META, check_model, train_unit
from benchmark.zoo.collect import build_zoo
from benchmark.zoo.format import condition_summary


def dry_run(suite: str, profile: str, results: Path, methods: list[str] | None, seeds: int | None,
            tag: str | None = None, settings: list[str] | None = None, n_traj: list[int] | None = None) -> int:
    """Print the plan and its cost; builds nothing."""
    planned = plan(suite, profile, results, methods, seeds, settings, n_traj)
    cost = estimate(planned.cells, planned.trainings)
    cached = sum((Path(job.directory) / META).is_file() for job in planned.trainings)
    zoos = sum((Path(root) / "manifest.json").is_file() for root in planned.zoos)
    run_dir = run_dir_for(results, planned.suite.name, planned.profile.name, tag)
    finished = sum(cell_status(run_dir, c.cell_id) == "ok" for c in planned.cells)
    # a cell id hashes the code version, so cells stored by another commit are not this plan's
    stale = len({p.stem for p in (run_dir / "cells").glob("*.json")} - {c.cell_id for c in planned.cells})
    print(f"suite {planned.suite.name}, profile {planned.profile.name}: {cost['cells']} cells "
          f"({finished} already finished in {run_dir}"
          + (f"; {stale} stored there are of another code version or config and are not reused" if stale else "")
          + f"), {cost['trainings']} trainings ({cached} already trained), {len(planned.zoos)} zoo(s) "
          f"({zoos} already built)")
    print(f"at most {cost['max_episodes']} episodes, {cost['max_env_steps']:,} env steps, "
          f"~{cost['max_eval_cpu_h']} CPU-hours of rollouts (upper bound: every episode runs to its task's horizon)")
    for cell in planned.cells:
        print("  " + cell.cell_id)
    return 0


def _build_zoos(planned: Plan, results: Path, workers: int, address: str | None) -> dict:
    """{zoo directory: Zoo} of every zoo the run needs (built when missing)."""
    return {root: build_zoo(planned.zoo_profiles[root], settings, results, workers=workers, address=address)
            for root, settings in planned.zoos.items()}


def zoo_provenance(zoo) -> dict:
    """Where and by which code a zoo was built: a run's numbers depend on its zoo's arrays, which
    are not bit-identical across machines (README, "The refactor and the committed unseen numbers")."""
    built = zoo.manifest.get("provenance") or {}
    return {key: built[key] for key in ("code_version", "machine", "created") if key in built}


def _models_to_train(planned: Plan, todo: list, zoos: dict) -> list:
    """The training jobs the unfinished cells need whose model is missing or damaged."""
    needed = {cell.model_dir for cell in todo}
    jobs = []
    for job in planned.trainings:
        if job.directory not in needed:
            continue
        reason = check_model(Path(job.directory), zoos[job.zoo_root].spec)
        if reason and reason != "missing":
            print(f"model {Path(job.directory).name} is damaged ({reason}); retraining it", file=sys.stderr)
        if reason:
            jobs.append(job)
    return jobs


def _train(jobs: list, workers: int, address: str | None, desc: str, skipped: int) -> dict[str, Outcome]:
    """Train `jobs`; {model directory: Outcome} of those that failed, each told in one line
    (with its traceback under --verbose)."""
    failures = {}
    for outcome in execute(train_unit, jobs, workers=workers, address=address, desc=desc, skipped=skipped,
                           label=lambda job: f"{job.method.name}-s{job.seed}"):
        if not outcome.ok:
            failures[outcome.unit.directory] = outcome
    for outcome in failures.values():
        print(f"training failed: {outcome.error}", file=sys.stderr)
        if executor.VERBOSE and outcome.traceback:
            print(outcome.traceback, file=sys.stderr)
    return failures


MAX_FAILURE_LINES = 5
"""Failed cells told on the terminal at the end of a run (all of them are in failures.log)."""


def _tell_failures(run_dir: Path, cells: list) -> Path | None:
    """Write failures.log; print the first failed cells' one-line reasons (tracebacks under
    --verbose). The log's path, or None when no cell failed."""
    failed = failed_cells(run_dir, cells)
    log = write_failures_log(run_dir, failed)
    for data in failed[:MAX_FAILURE_LINES]:
        print(f"failed: {data['error']}", file=sys.stderr)
        if executor.VERBOSE and data.get("traceback"):
            print(data["traceback"], file=sys.stderr)
    if len(failed) > MAX_FAILURE_LINES:
        print(f"failed: ... and {len(failed) - MAX_FAILURE_LINES} more cells", file=sys.stderr)
    return log if failed else None


def _tables_of(run_dir: Path, cells: list) -> bool:
    """Whether run.json, summary.csv and tables.md were written for exactly these cells."""
    try:
        run = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(run, dict) and run.get("cells") == [c.cell_id for c in cells]
            and (run_dir / "summary.csv").is_file() and (run_dir / "tables.md").is_file())


def run_suite(suite: str, profile: str, results: Path, methods: list[str] | None = None, seeds: int | None = None,
              workers: int = 2, address: str | None = None, tag: str | None = None,
              settings: list[str] | None = None, n_traj: list[int] | None = None) -> int:
    """Run a suite to its tables; exit code 1 if a cell failed."""
    started = time.time()
    planned = plan(suite, profile, results, methods, seeds, settings, n_traj)  # every bad name fails before any work
    zoos = _build_zoos(planned, results, workers, address)
    check_conditions(planned.cells, zoos)
    run_dir = run_dir_for(results, planned.suite.name, planned.profile.name, tag)
    (run_dir / "cells").mkdir(parents=True, exist_ok=True)
    cells = planned.cells
    todo = [c for c in cells if cell_status(run_dir, c.cell_id) != "ok"]
    if not todo and _tables_of(run_dir, cells):
        print(f"{len(cells)} cells ok, all finished before; tables: {run_dir / 'tables.md'}")
        return 0

    jobs = _models_to_train(planned, todo, zoos)
    failures = _train(jobs, workers, address, f"train {planned.suite.name}: models", len(planned.trainings) - len(jobs))
    for cell in todo:
        if cell.model_dir in failures:
            failure = failures[cell.model_dir]
            write_cell(run_dir, cell, Outcome(cell, error=f"training failed: {failure.error}",
                                              traceback=failure.traceback))
    runnable = [c for c in todo if c.model_dir not in failures]
    from benchmark.cells import run_cell

    for outcome in execute(run_cell, runnable, workers=workers, address=address,
                           desc=f"run {planned.suite.name}: cells", skipped=len(cells) - len(todo)):
        write_cell(run_dir, outcome.unit, outcome)

    ok, failed = consolidate(run_dir, cells)
    version = cells[0].config["code_version"] if cells else None
    write_run(run_dir, dict(
        suite=planned.suite.name, profile=planned.profile.name, profile_description=planned.profile.description,
        reductions=planned.profile.reductions, command="python -m benchmark " + " ".join(sys.argv[1:]),
        methods={name: describe_method(m, planned.profile.preset) for name, m in planned.methods.items()},
        cells=[c.cell_id for c in cells], n_configurations=len(EVAL_CONFIGURATIONS),
        wall_s_last_invocation=round(time.time() - started, 1), provenance=provenance(version),
        zoos={zoo.zoo_id: zoo_provenance(zoo) for zoo in zoos.values()},
        novelty_reference={zoo.zoo_id: cached_reference(zoo) for zoo in zoos.values()},
        zoo_conditions={zoos[root].zoo_id: condition_summary(zoos[root]) for root in sorted({c.prompt_root for c in cells})},
        ok_cells=ok, failed_cells=failed))
    log = _tell_failures(run_dir, cells)
    details = f"; failures: {log}" if log else ""
    if ok:
        from benchmark.report.tables import write_summary, write_tables

        write_summary(run_dir)
        tables = write_tables(run_dir, reps=planned.profile.eval.bootstrap_reps)
        print(f"{ok} cells ok, {failed} failed; tables: {tables}; summary: {run_dir / 'summary.csv'}{details}")
    else:
        print(f"no cell finished ({failed} failed){details}")
    return 1 if failed else 0


def train_one(method: str, profile: str, results: Path, seed: int, workers: int = 0,
              address: str | None = None, domain: str = "metaworld") -> int:
    """Train (or find) one method on the profile's zoo of `domain`; a damaged model is retrained."""
    from benchmark.config import load_profile
    from benchmark.plan import TrainingJob, resolve_method, zoo_settings
    from benchmark.training import model_dir

    settings = load_profile(profile).for_domain(domain)
    resolved = resolve_method(method, settings)
    zoo = build_zoo(profile, zoo_settings(settings, resolved), results, workers=workers, address=address)
    job = TrainingJob(resolved, str(zoo.root), seed, str(model_dir(results, resolved, zoo.zoo_id, seed)))
    reason = check_model(Path(job.directory), zoo.spec)
    if reason is None:
        print(f"cached: {job.directory}")
        return 0
    if reason != "missing":
        print(f"model {Path(job.directory).name} is damaged ({reason}); retraining it", file=sys.stderr)
    failures = _train([job], 0, None, f"train {method}: models", 0)
    if failures:
        return 1
    print(f"trained {method}: {job.directory}")
    return 0
