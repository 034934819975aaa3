"""How general are the zoo's checkpoints? One vs several configurations per distillation run.

For every seen task and run seed, one expert-distillation run per recipe (K configurations per
run), then every harvested checkpoint rolled out in the 5 evaluation configurations (never seen
in training). Prints, per task and recipe: checkpoints harvested, their mean success on the
evaluation configurations, and the run's CPU seconds. Optionally adds the checkpoints of an
existing zoo (e.g. a SAC zoo) as a row per task.

    OMP_NUM_THREADS=1 python scripts/bench_zoo.py --runs 2 --recipes 1 4 --workers 2

Each finished run is appended to --out (JSON lines), so a killed measurement resumes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS, SEEN_TASKS, train_configuration
from benchmark.executor import execute
from benchmark.policy import PolicySpec
from benchmark.zoo import distill


def success_on_eval(task: str, params: np.ndarray, spec: PolicySpec) -> np.ndarray:
    """(K,) mean success of each parameter vector over the evaluation configurations."""
    result = evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=spec, policies_per_batch=4)
    success = np.zeros((len(params), len(EVAL_CONFIGURATIONS)))
    success[result.policy_id, result.config_index] = result.success
    return success.mean(axis=1)


def one_run(job: tuple[str, int, int, dict]) -> dict:
    task, run_seed, k, overrides = job
    spec = PolicySpec()
    config = dataclasses.replace(distill.DistillConfig(**overrides), configurations_per_run=k)
    start = time.process_time()
    checkpoints, _, stats = distill.run_distill(task, run_seed, train_configuration(run_seed), config, spec)
    run_cpu = time.process_time() - start
    success = success_on_eval(task, checkpoints.params, spec) if len(checkpoints) else np.zeros(0)
    return dict(task=task, recipe=f"K={k}", run_seed=run_seed, checkpoints=len(checkpoints),
                eval_success=success.tolist(), run_cpu_s=run_cpu, updates=stats["updates"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(SEEN_TASKS))
    parser.add_argument("--runs", type=int, default=2, help="run seeds per task and recipe")
    parser.add_argument("--recipes", type=int, nargs="+", default=[1, 4], help="configurations per run")
    parser.add_argument("--checkpoints", type=int, default=20, help="checkpoints harvested per run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/bench_zoo.jsonl"), help="finished runs (JSON lines)")
    args = parser.parse_args()
    overrides = dict(checkpoints_per_run=args.checkpoints, conditions_per_run=10)
    done = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.is_file() else []
    finished = {(r["task"], r["recipe"], r["run_seed"]) for r in done}
    jobs = [(t, s, k, overrides) for t in args.tasks for k in args.recipes for s in range(args.runs)
            if (t, f"K={k}", s) not in finished]
    started = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for outcome in execute(one_run, jobs, workers=args.workers, desc="zoo recipes: runs"):
        if not outcome.ok:
            raise SystemExit(outcome.error)
        with open(args.out, "a") as handle:
            handle.write(json.dumps(outcome.result) + "\n")
    wanted = {(t, f"K={k}", s) for t in args.tasks for k in args.recipes for s in range(args.runs)}
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    frame = pd.DataFrame([r for r in rows if (r["task"], r["recipe"], r["run_seed"]) in wanted])
    table = frame.groupby(["task", "recipe"]).agg(
        checkpoints=("checkpoints", "sum"),
        eval_success=("eval_success", lambda s: float(np.mean(np.concatenate([np.asarray(x) for x in s])))
                      if sum(len(x) for x in s) else float("nan")),
        run_cpu_s=("run_cpu_s", "mean")).unstack("recipe")
    print(table.round(2).to_string())
    means = frame.groupby("recipe").apply(
        lambda g: pd.Series(dict(eval_success=np.mean(np.concatenate([np.asarray(x) for x in g.eval_success])),
                                 run_cpu_s=g.run_cpu_s.mean())), include_groups=False)
    print(means.round(3).to_string())
    print(f"{len(jobs)} runs on {args.workers} workers in {time.time() - started:.0f} s wall")


if __name__ == "__main__":
    main()
