"""The headline table that opens a report: top-5 success of every method, its IQM over seeds x
tasks with a 95% stratified-bootstrap interval and its mean beside it, per trajectory count (and
setting), with the random-action floor and the scripted-expert ceiling below the methods.

    headline(summary, profile, reps, seed) -> (frame, definitions, note)
    headline_table(summary, profile, reps, seed) -> (frame, caption)

The numbers come from tables.group_aggregates, the very call behind the per-suite tables'
IQM rows, so the two always agree.
"""
from __future__ import annotations

from pathlib import Path

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


def headline_cells(aggregates: pd.DataFrame, scores: dict[str, np.ndarray], method: str) -> tuple[str, str]:
    """('0.28 [0.24, 0.33]', '0.31 (0.27-0.38)'): the IQM with its interval, and the mean with
    the range of the per-seed means (with several seeds); ('-', '-') when the method has no
    complete seed in this column.

    Args:
      aggregates: group_aggregates' frame of one column.
      scores: method -> (num_seeds x num_tasks) scores of that column.
    """
    found = aggregates[aggregates["method"] == method].set_index("aggregate")
    if found.empty:
        return "-", "-"
    iqm = fmt(*found.loc["IQM", ["point", "lo", "hi"]])
    per_seed = scores[method].mean(axis=1)
    mean = f"{found.loc['Mean', 'point']:.2f}"
    return iqm, mean + (f" ({per_seed.min():.2f}-{per_seed.max():.2f})" if len(per_seed) > 1 else "")


def row_label(method: str) -> str:
    """A method's display name, with its role for the floor and the ceiling."""
    role = BOUNDS.get(method)
    return f"{display_name(method)} ({role})" if role else display_name(method)


IQM_COLUMN = "IQM [95% CI]"
MEAN_COLUMN = "mean (seeds)"


def headline(summary: pd.DataFrame, profile: str, reps: int = 2000, seed: int = 0
             ) -> tuple[pd.DataFrame, list[str], str]:
    """One row per method (bounds last: floor, then ceiling), two columns per (setting,
    trajectory count): the top-5 IQM with its interval, then the mean.

    Args:
      summary: ok cells (RunData.ok_summary); not empty.
      profile: the run's profile, named in the pointer to the bounds suite.
      reps, seed: bootstrap repetitions and seed (those of the per-suite tables).
    Returns:
      (frame, definitions, note): frame has a 'method' column (display names) and, per label of
      headline_columns, '<label>: IQM [95% CI]' and '<label>: mean (seeds)'; a bound the run
      lacks has a row saying so. definitions: one line per quantity shown (top-5, IQM, mean);
      note: where the bounds come from when the run lacks them ('' otherwise).
    """
    columns = headline_columns(summary)
    missing = [m for m in BOUNDS if m not in set(summary["method"])]
    methods = [m for m in method_order(summary["method"].unique()) if m not in BOUNDS] + list(BOUNDS)
    rows = {m: {"method": row_label(m)} for m in methods}
    n_tasks, n_seeds = set(), set()
    for (setting, n_traj), label in columns:
        group = summary[(summary["setting"] == setting) & (summary["n_traj"] == n_traj)]
        aggregates, scores, tasks = group_aggregates(group, HEADLINE_METRIC, reps=reps, seed=seed)
        n_tasks.add(len(tasks))
        n_seeds.update(len(matrix) for matrix in scores.values())
        for method in methods:
            iqm, mean = (NOT_IN_RUN, "") if method in missing else headline_cells(aggregates, scores, method)
            rows[method][f"{label}: {IQM_COLUMN}"] = iqm
            rows[method][f"{label}: {MEAN_COLUMN}"] = mean
    definitions = [
        "**top-5**: the mean success of a cell's 5 best policies over the evaluation configurations, the "
        "paper's optimistic protocol (the 5 are chosen on the same rollouts they are scored on).",
        f"**{IQM_COLUMN}**: the interquartile mean over seeds x tasks ({_count(n_tasks)} tasks, {_count(n_seeds)} "
        f"seed{'' if n_seeds == {1} else 's'}) with its 95% stratified-bootstrap interval (rliable, {reps} reps; "
        f"with one seed, tasks are resampled).",
        f"**{MEAN_COLUMN}**: the mean over seeds x tasks; in brackets, with several seeds, the range of the "
        f"per-seed means.",
    ]
    note = ""
    if missing:
        bounds = bounds_suite(summary["task"])
        note = (f"Random-action floor and scripted-expert ceiling: {NOT_IN_RUN}"
                f"{'' if len(missing) == len(BOUNDS) else ' (' + ', '.join(map(display_name, missing)) + ')'}; "
                f"the `{bounds}` suite measures them (`python -m benchmark run --suite {bounds} --profile "
                f"{profile}`{_committed_report(f'{bounds}-{profile}')}).")
    return pd.DataFrame(list(rows.values())), definitions, note


REPORTS = Path(__file__).resolve().parents[2] / "reports"
"""The committed reference reports (in a source checkout)."""


def _committed_report(name: str) -> str:
    """'; reference report: reports/NAME/report.md' when the checkout holds that report, else ''."""
    return f"; reference report: reports/{name}/report.md" if (REPORTS / name / "report.md").is_file() else ""


def headline_table(summary: pd.DataFrame, profile: str, reps: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """`headline`'s frame and its definitions and note as one caption."""
    frame, definitions, note = headline(summary, profile, reps=reps, seed=seed)
    return frame, " ".join([*definitions, note]).strip()


def bounds_suite(tasks: pd.Series) -> str:
    """The suite that measures the bounds of the tasks' domain: `bounds` (MetaWorld) or
    `<domain>-bounds`."""
    domain = domain_of(str(tasks.iloc[0])).name
    return "bounds" if domain == "metaworld" else f"{domain}-bounds"


def _count(values: set[int]) -> str:
    """'10', or '9-10' when the columns differ."""
    return str(min(values)) if len(values) == 1 else f"{min(values)}-{max(values)}"
