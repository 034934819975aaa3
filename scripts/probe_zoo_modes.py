"""Is a task's checkpoint distribution one mode or many? Midpoints within and between runs.

    python scripts/probe_zoo_modes.py --zoo results/zoo/<id> [--pairs 20] [--tasks ...]

A generator that blends checkpoints of different training runs produces their parameter
average. Independently initialised networks differ by a permutation of hidden units, so such
an average can fail where both endpoints succeed. For every seen task this draws `--pairs`
checkpoint pairs from the same distillation run and as many from different runs, and rolls
out in the 5 evaluation configurations the endpoints and the midpoint (a + b) / 2. It prints
per task: the relative L2 distance |a - b| / |a| of each kind of pair, the endpoints' mean
success and the midpoints' mean success.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.zoo.format import load_zoo


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
    success = np.zeros((len(params), len(EVAL_CONFIGURATIONS)))
    success[result.policy_id, result.config_index] = result.success
    return success.mean(axis=1)


def probe_task(zoo, task: str, n_pairs: int, seed: int) -> list[dict]:
    checkpoints = zoo.checkpoints.for_task(task)
    run_ids = np.array([r["run_seed"] for r in checkpoints.records])
    rng = np.random.default_rng(seed)
    rows = []
    for kind, same_run in (("within run", True), ("between runs", False)):
        pairs = draw_pairs(run_ids, n_pairs, same_run, rng)
        a, b = checkpoints.params[pairs[:, 0]], checkpoints.params[pairs[:, 1]]
        endpoints = mean_success(task, np.concatenate([a, b]), zoo.spec)
        midpoints = mean_success(task, (a + b) / 2, zoo.spec)
        rows.append(dict(task=task, pairs=kind,
                         relative_l2=float(np.mean(np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1))),
                         endpoint_success=float(endpoints.mean()), midpoint_success=float(midpoints.mean())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", required=True, help="a zoo directory (results/zoo/<id>)")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per task and kind")
    parser.add_argument("--tasks", nargs="*", default=None, help="seen tasks (default: all of the zoo's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.time()
    zoo = load_zoo(args.zoo)
    tasks = args.tasks or sorted(set(zoo.checkpoints.tasks))
    frame = pd.DataFrame([row for task in tasks for row in probe_task(zoo, task, args.pairs, args.seed)])
    table = frame.pivot_table(index="task", columns="pairs",
                              values=["relative_l2", "endpoint_success", "midpoint_success"])
    table.loc["mean"] = table.mean()
    print(table.round(3).to_string())
    print(f"{len(tasks)} tasks x {args.pairs} pairs per kind in {time.time() - started:.0f} s wall")


if __name__ == "__main__":
    main()
