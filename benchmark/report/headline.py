"""The headline table that opens a report: top-5 success of every method, its IQM over seeds x
tasks with a 95% stratified-bootstrap interval, per trajectory count (and setting), with the
random-action floor and the scripted-expert ceiling beside the methods.

    headline_table(summary, profile, reps, seed) -> (frame, caption)

The numbers come from tables.group_aggregates, the very call behind the per-suite tables'
IQM rows, so the two always agree.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.envs import domain_of
from benchmark.report.style import display_name, method_order
from benchmark.report.tables import fmt, group_aggregates

HEADLINE_METRIC = "top5"
BOUNDS = {"random": "floor", "expert": "ceiling"}
"""Registry names of the bounds (the `bounds` suite's methods) -> their role in the headline."""
NOT_IN_RUN = "not in this run"


def headline_columns(summary: pd.DataFrame) -> list[tuple[tuple[str, int], str]]:
    """((setting, n_traj), column label) per column, clean before other settings.

    Args:
      summary: ok cells (RunData.ok_summary).
    """
    settings = sorted(summary["setting"].unique(), key=lambda s: (s != "clean", s))
    groups = [(s, int(n)) for s in settings for n in sorted(summary.loc[summary["setting"] == s, "n_traj"].unique())]
    named = len(settings) > 1 or settings != ["clean"]  # name the setting where it is not plainly clean
    return [((s, n), f"{n} condition trajectories" + (f", {s}" if named else "")) for s, n in groups]


def headline_cell(aggregates: pd.DataFrame, scores: dict[str, np.ndarray], method: str) -> str:
    """'0.28 [0.24, 0.33]; seeds 0.31 / 0.38 / 0.34' (per-seed means over tasks only with
    several seeds), or '-' when the method has no complete seed in this column.

    Args:
      aggregates: group_aggregates' frame of one column.
      scores: method -> (num_seeds x num_tasks) scores of that column.
    """
    hit = aggregates[(aggregates["method"] == method) & (aggregates["aggregate"] == "IQM")]
    if hit.empty:
        return "-"
    text = fmt(*hit[["point", "lo", "hi"]].iloc[0])
    per_seed = scores[method].mean(axis=1)
    return text + ("; seeds " + " / ".join(f"{v:.2f}" for v in per_seed) if len(per_seed) > 1 else "")


def _row_label(method: str) -> str:
    role = BOUNDS.get(method)
    return f"{display_name(method)} ({role})" if role else display_name(method)


def headline_table(summary: pd.DataFrame, profile: str, reps: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """One row per method (bounds last: floor, then ceiling), one column per (setting,
    trajectory count), and its caption.

    Args:
      summary: ok cells (RunData.ok_summary); not empty.
      profile: the run's profile, named in the pointer to the bounds suite.
      reps, seed: bootstrap repetitions and seed (those of the per-suite tables).
    Returns:
      (frame, caption): frame has a 'method' column (display names) and one column per
      label of headline_columns; a bound the run lacks has a row saying so.
    """
    columns = headline_columns(summary)
    missing = [m for m in BOUNDS if m not in set(summary["method"])]
    methods = [m for m in method_order(summary["method"].unique()) if m not in BOUNDS] + list(BOUNDS)
    rows = {m: {"method": _row_label(m)} for m in methods}
    n_tasks, n_seeds = set(), set()
    for (setting, n_traj), label in columns:
        group = summary[(summary["setting"] == setting) & (summary["n_traj"] == n_traj)]
        aggregates, scores, tasks = group_aggregates(group, HEADLINE_METRIC, reps=reps, seed=seed)
        n_tasks.add(len(tasks))
        n_seeds.update(len(matrix) for matrix in scores.values())
        for method in methods:
            rows[method][label] = NOT_IN_RUN if method in missing else headline_cell(aggregates, scores, method)
    caption = (f"Top-5 success (the paper's optimistic protocol: the best 5 policies, chosen and reported on "
               f"the same rollouts): IQM over seeds x tasks ({_count(n_tasks)} tasks, {_count(n_seeds)} "
               f"seed{'' if n_seeds == {1} else 's'}) with its 95% stratified-bootstrap interval ({reps} reps; with one seed, tasks are "
               f"resampled); after the semicolon, each seed's mean over tasks.")
    if missing:
        bounds = bounds_suite(summary["task"])
        caption += (f" Random-action floor and scripted-expert ceiling: {NOT_IN_RUN}"
                    f"{'' if len(missing) == len(BOUNDS) else ' (' + ', '.join(map(display_name, missing)) + ')'}; "
                    f"the `{bounds}` suite measures them (`python -m benchmark run --suite {bounds} --profile "
                    f"{profile}`; reference report: reports/{bounds}-{profile}/report.md).")
    return pd.DataFrame(list(rows.values())), caption


def bounds_suite(tasks: pd.Series) -> str:
    """The suite that measures the bounds of the tasks' domain: `bounds` (MetaWorld) or
    `<domain>-bounds`."""
    domain = domain_of(str(tasks.iloc[0])).name
    return "bounds" if domain == "metaworld" else f"{domain}-bounds"


def _count(values: set[int]) -> str:
    """'10', or '9-10' when the columns differ."""
    return str(min(values)) if len(values) == 1 else f"{min(values)}-{max(values)}"
