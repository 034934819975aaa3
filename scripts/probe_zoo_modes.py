"""Is a task's checkpoint distribution one mode or many? Midpoints within and between runs.

    python scripts/probe_zoo_modes.py --zoo results/zoo/<id> [--pairs 20] [--tasks ...]
    python scripts/probe_zoo_modes.py --distill 3 [--shared-init] [--workers 2]

A generator that blends checkpoints of different training runs produces their parameter
average. Independently initialised networks differ by a permutation of hidden units, so such
an average can fail where both endpoints succeed. For every seen task this draws `--pairs`
checkpoint pairs from the same distillation run and as many from different runs, and rolls
out in the 5 evaluation configurations the endpoints and the midpoint (a + b) / 2. It prints
per task: the relative L2 distance |a - b| / |a| of each kind of pair, the endpoints' mean
success and the midpoints' mean success. With --distill N the checkpoints come from N fresh
expert-distillation runs per task (run seeds 0..N-1, the zoo's default recipe, optionally
--shared-init) instead of a zoo.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS, SEEN_TASKS, train_configuration
from benchmark.executor import execute
from benchmark.policy import PolicySpec
from benchmark.zoo import distill
from benchmark.zoo.format import PolicySet, load_zoo


def draw_pairs(run_ids: np.ndarray, n: int, same_run: bool, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) row pairs (indices into run_ids (N,)) whose runs are equal or differ."""
    pairs = []
    while len(pairs) < n:
        a, b = rng.choice(len(run_ids), size=2, replace=False)
        if (run_ids[a] == run_ids[b]) == same_run:
            pairs.append((a, b))
    return np.array(pairs)


def mean_success(task: str, params: np.ndarray, spec) -> np.ndarray:
    """(K,) mean success of each parameter vector (K, P) over the evaluation configurations."""
    result = evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=spec, policies_per_batch=4)
    return result.success_matrix().mean(axis=1)


def distilled_checkpoints(task: str, runs: int, shared_init: bool, spec: PolicySpec) -> PolicySet:
    """The checkpoints of `runs` fresh distillation runs of `task` (run seeds 0..runs-1)."""
    config = distill.DistillConfig(shared_init=shared_init)
    sets = [distill.run_distill(task, s, train_configuration(s), config, spec)[0] for s in range(runs)]
    return PolicySet.concatenate(sets, spec)


def probe_task(job: tuple) -> list[dict]:
    """The table's rows of one task. job = (task, spec, checkpoints of the task, or
    (runs, shared_init) to distil them here, pairs per kind, seed)."""
    task, spec, source, n_pairs, seed = job
    checkpoints = distilled_checkpoints(task, *source, spec) if isinstance(source, tuple) else source
    run_ids = np.array([r["run_seed"] for r in checkpoints.records])
    # draw_pairs would never end without a pair of either kind
    if len(np.unique(run_ids)) < 2 or np.unique(run_ids, return_counts=True)[1].max() < 2:
        raise ValueError(f"{task}: needs 2 runs and a run with 2 checkpoints, has runs {sorted(set(run_ids))}")
    rng = np.random.default_rng(seed)
    rows = []
    for kind, same_run in (("within run", True), ("between runs", False)):
        pairs = draw_pairs(run_ids, n_pairs, same_run, rng)
        a, b = checkpoints.params[pairs[:, 0]], checkpoints.params[pairs[:, 1]]
        endpoints = mean_success(task, np.concatenate([a, b]), spec)
        midpoints = mean_success(task, (a + b) / 2, spec)
        rows.append(dict(task=task, pairs=kind,
                         relative_l2=float(np.mean(np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1))),
                         endpoint_success=float(endpoints.mean()), midpoint_success=float(midpoints.mean())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--zoo", help="a zoo directory (results/zoo/<id>)")
    source.add_argument("--distill", type=int, help="distil this many fresh runs per task instead")
    parser.add_argument("--shared-init", action="store_true", help="with --distill: one initialisation per task")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per task and kind")
    parser.add_argument("--tasks", nargs="*", default=None, help="seen tasks (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="Ray workers (0: in this process)")
    args = parser.parse_args()
    started = time.time()
    if args.zoo:
        zoo = load_zoo(args.zoo)
        tasks = args.tasks or sorted(set(zoo.checkpoints.tasks))
        jobs = [(t, zoo.spec, zoo.checkpoints.for_task(t), args.pairs, args.seed) for t in tasks]
    else:
        tasks = args.tasks or list(SEEN_TASKS)
        jobs = [(t, PolicySpec(), (args.distill, args.shared_init), args.pairs, args.seed) for t in tasks]
    rows = []
    for outcome in execute(probe_task, jobs, workers=args.workers, desc="zoo modes: tasks"):
        if not outcome.ok:
            raise SystemExit(outcome.error)
        rows += outcome.result
    table = pd.DataFrame(rows).pivot_table(index="task", columns="pairs",
                                           values=["relative_l2", "endpoint_success", "midpoint_success"])
    table.loc["mean"] = table.mean()
    print(table.round(3).to_string())
    print(f"{len(tasks)} tasks x {args.pairs} pairs per kind in {time.time() - started:.0f} s wall")


if __name__ == "__main__":
    main()
