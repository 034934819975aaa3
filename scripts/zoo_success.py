"""How good is a built zoo? Its checkpoints' success on the evaluation configurations, per task and robot.

Per task, `--per-task` checkpoints spread evenly over the zoo's rows of that task (runs and
snapshots alike) are rolled out in the 5 evaluation configurations (never seen in training) on
each robot of `--robots` (Robosuite: the zoo's robot and the one the suite evaluates on; MetaWorld
has one robot and takes no `--robots`). Prints per task and robot the mean success, the mean of
the best 5 checkpoints and the share succeeding in every configuration, then the zoo's build
time as its manifest records it.

    OMP_NUM_THREADS=1 python scripts/zoo_success.py results/zoo/<zoo id> --robots Panda Sawyer
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.diagnose import summarise
from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS, get_domain
from benchmark.executor import execute
from benchmark.zoo.format import load_zoo


def spread_rows(task_rows: np.ndarray, n: int) -> np.ndarray:
    """`n` of a task's zoo rows, evenly spaced over them (all of them when there are fewer)."""
    if len(task_rows) <= n:
        return task_rows
    return task_rows[np.linspace(0, len(task_rows) - 1, n).round().astype(int)]


def rollout(job: tuple[str, str, str | None, tuple[int, ...]]) -> dict:
    """Worker: one task's chosen checkpoints on one robot -> (K,) success over the configurations."""
    zoo_root, task, robot, rows = job
    zoo = load_zoo(zoo_root)
    params = zoo.checkpoints.subset(np.asarray(rows)).params
    result = evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=zoo.spec, robot=robot)
    return dict(task=task, robot=robot or "-", checkpoints=len(rows), **summarise(result.success_matrix()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoo", type=Path, help="a built zoo directory (results/zoo/<zoo id>)")
    parser.add_argument("--robots", nargs="+", default=[None], help="robots to evaluate on (Robosuite zoos)")
    parser.add_argument("--per-task", type=int, default=20, help="checkpoints per task (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    zoo = load_zoo(args.zoo)
    domain = get_domain(zoo.manifest["settings"].get("domain", "metaworld"))
    robots = [domain.check_robot(r) if r else None for r in args.robots]
    tasks = zoo.checkpoints.tasks
    jobs = [(str(args.zoo), task, robot, tuple(int(r) for r in spread_rows(np.flatnonzero(tasks == task), args.per_task)))
            for task in zoo.manifest["seen_tasks"] for robot in robots]
    started = time.time()
    rows = []
    for outcome in execute(rollout, jobs, workers=args.workers, desc="zoo checkpoints: tasks x robots"):
        if not outcome.ok:
            raise SystemExit(outcome.error)
        rows.append(outcome.result)
    table = pd.DataFrame(rows).set_index(["task", "robot"]).sort_index()
    print(table.round(3).to_string())
    print(table.groupby("robot")[["mean", "top5", "qualified"]].mean().round(3).to_string())
    built = zoo.manifest["provenance"]
    print(f"zoo {zoo.zoo_id}: {len(zoo.checkpoints)} checkpoints, built in {built.get('build_wall_s_this_session')} s "
          f"wall ({built.get('collector_cpu_s')} collector CPU-s) on {built.get('machine')}; "
          f"this measurement {time.time() - started:.0f} s wall on {args.workers} workers")


if __name__ == "__main__":
    main()
