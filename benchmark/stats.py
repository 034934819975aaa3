"""Interval estimates across seeds and tasks with rliable (Agarwal et al. 2021).

Scores are arranged as rliable expects: a dict method -> matrix of size
(num_runs x num_tasks) where scores[n][m] is the score in [0, 1] of run (seed) n on task m.
Every method's matrix has the same tasks in the same column order.

rliable ignores its `random_state` argument (its bootstrap draws from the global
`np.random`), so each function below seeds `np.random` right before the rliable call: the
same input and seed give the same intervals.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np
import pandas as pd
import scipy.stats
from rliable import library as rly
from rliable import metrics as rly_metrics

AGGREGATES: tuple[str, ...] = ("IQM", "Mean")


def score_matrices(
    summary: pd.DataFrame, metric: str, methods: list[str] | None = None,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """rliable score matrices of one metric from a per-cell summary.

    Args:
      summary: per-cell rows (benchmark.metrics.cell_metrics) of a single trajectory count
        and setting, with columns method, task, seed and `metric`.
      metric: the summary column to use as score.
      methods: which methods, in order; default all, sorted.
    Returns:
      (scores, tasks): scores maps method -> (num_runs x num_tasks) float array over the
      tasks every method has; a seed lacking a task (e.g. a failed cell) is dropped for that
      method. tasks lists the column order. Methods left with no complete run are omitted.
    """
    methods = sorted(summary["method"].unique()) if methods is None else list(methods)
    frame = summary[summary["method"].isin(methods)].dropna(subset=[metric])
    tasks = sorted(set.intersection(*(set(frame.loc[frame["method"] == m, "task"]) for m in methods)))
    scores = {}
    for method in methods:
        rows = frame[(frame["method"] == method) & frame["task"].isin(tasks)]
        table = rows.pivot_table(index="seed", columns="task", values=metric, aggfunc="mean")
        table = table.reindex(columns=tasks).dropna(axis=0)
        if len(table):
            scores[method] = table.to_numpy(dtype=float)
    return scores, tasks


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all scores: rliable's `aggregate_iqm` (scipy's 25% trim_mean)
    computed with numpy alone, since scipy's per-call overhead dominated the bootstrap.

    Args:
      scores: (num_runs x num_tasks) scores.
    """
    flat = np.asarray(scores, dtype=float).ravel()
    cut = int(0.25 * flat.size)
    kept = np.partition(flat, (cut, flat.size - cut - 1))[cut: flat.size - cut]
    return float(kept.mean())


def _aggregate(scores: np.ndarray) -> np.ndarray:
    return np.array([iqm(scores), rly_metrics.aggregate_mean(scores)])


def aggregate_intervals(
    scores: dict[str, np.ndarray], reps: int = 2000, seed: int = 0, confidence: float = 0.95,
) -> pd.DataFrame:
    """IQM and mean with stratified bootstrap confidence intervals.

    With a single run per method the stratified bootstrap (runs resampled within each
    task) has nothing to resample and its interval collapses to the point; then tasks are
    resampled too (rliable's `task_bootstrap`), and the `bootstrap` column says so.

    Args:
      scores: method -> (num_runs x num_tasks) scores.
      reps: bootstrap repetitions.
      seed: seeds np.random before the bootstrap.
      confidence: interval coverage.
    Returns:
      DataFrame with columns method, aggregate ("IQM" or "Mean"), point, lo, hi, bootstrap
      ("runs within tasks" or "runs and tasks").
    """
    if not scores:
        return pd.DataFrame(columns=["method", "aggregate", "point", "lo", "hi", "bootstrap"])
    task_bootstrap = all(len(matrix) == 1 for matrix in scores.values())
    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        scores, _aggregate, reps=reps, confidence_interval_size=confidence, task_bootstrap=task_bootstrap)
    rows = [
        {"method": m, "aggregate": name, "point": float(points[m][j]),
         "lo": float(intervals[m][0, j]), "hi": float(intervals[m][1, j]),
         "bootstrap": "runs and tasks" if task_bootstrap else "runs within tasks"}
        for m in scores for j, name in enumerate(AGGREGATES)
    ]
    return pd.DataFrame(rows)


def probability_of_improvement(
    scores: dict[str, np.ndarray], pairs: list[tuple[str, str]] | None = None,
    reps: int = 1000, seed: int = 0, confidence: float = 0.95,
) -> pd.DataFrame:
    """P(X > Y) averaged over tasks, with stratified bootstrap intervals.

    Slow (about 1 s per pair per 300 reps on one core): keep `reps` and `pairs` small.

    Args:
      scores: method -> (num_runs x num_tasks) scores.
      pairs: (x, y) method pairs; default every ordered pair.
      reps: bootstrap repetitions.
      seed: seeds np.random before the bootstrap.
    Returns:
      DataFrame with columns x, y, point, lo, hi.
    """
    pairs = list(permutations(scores, 2)) if pairs is None else list(pairs)
    if not pairs:
        return pd.DataFrame(columns=["x", "y", "point", "lo", "hi"])
    if all(len(matrix) == 1 for matrix in scores.values()):
        return _poi_task_bootstrap(scores, pairs, reps, seed, confidence)
    pair_scores = {f"{x},{y}": (scores[x], scores[y]) for x, y in pairs}
    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        pair_scores, rly_metrics.probability_of_improvement, reps=reps,
        confidence_interval_size=confidence)
    return pd.DataFrame([
        {"x": x, "y": y, "point": float(points[f"{x},{y}"]),
         "lo": float(np.ravel(intervals[f"{x},{y}"])[0]), "hi": float(np.ravel(intervals[f"{x},{y}"])[1])}
        for x, y in pairs
    ])


def _poi_task_bootstrap(scores, pairs, reps: int, seed: int, confidence: float) -> pd.DataFrame:
    """P(X > Y) with one run per task: the runs-within-tasks bootstrap would return a zero-width
    interval (and rliable's task_bootstrap does not take pairs), so resample tasks, the same
    task indices for X and Y."""
    rng = np.random.default_rng(seed)
    n_tasks = next(iter(scores.values())).shape[1]
    resampled = rng.integers(0, n_tasks, size=(reps, n_tasks))
    tail = (1 - confidence) / 2 * 100
    rows = []
    for x, y in pairs:
        samples = [rly_metrics.probability_of_improvement(scores[x][:, idx], scores[y][:, idx]) for idx in resampled]
        lo, hi = np.percentile(samples, [tail, 100 - tail])
        rows.append({"x": x, "y": y, "point": float(rly_metrics.probability_of_improvement(scores[x], scores[y])),
                     "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


def performance_profiles(
    scores: dict[str, np.ndarray], taus: np.ndarray | None = None, reps: int = 1000, seed: int = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fraction of runs x tasks with score above each threshold, with bootstrap intervals.

    Args:
      scores: method -> (num_runs x num_tasks) scores.
      taus: (num_taus,) thresholds; default 0..1 in 21 steps.
      reps: bootstrap repetitions.
      seed: seeds np.random before the bootstrap.
    Returns:
      (taus, profiles, cis): profiles maps method -> (num_taus,), cis method -> (2, num_taus).
    """
    taus = np.linspace(0.0, 1.0, 21) if taus is None else np.asarray(taus, dtype=float)
    np.random.seed(seed)
    profiles, cis = rly.create_performance_profile(scores, taus, reps=reps)
    return taus, profiles, cis


def mean_interval(values: np.ndarray, reps: int = 2000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of one task's runs with a percentile bootstrap interval over runs.

    This is rliable's stratified bootstrap for a single task (one stratum), done with scipy
    because it is vectorised and so fast enough for every table entry.

    Args:
      values: (num_runs,) scores.
    Returns:
      (mean, lo, hi); lo == hi == mean when there are fewer than two runs or all are equal.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if values.size < 2 or np.all(values == values[0]):
        return mean, mean, mean
    result = scipy.stats.bootstrap(
        (values,), np.mean, n_resamples=reps, confidence_level=confidence, method="percentile",
        vectorized=True, random_state=np.random.default_rng(seed))
    return mean, float(result.confidence_interval.low), float(result.confidence_interval.high)
