"""Markdown tables and summary.csv, built from a stored run alone.

- Table 4 (the paper's): qualified rate, top-5 and top-10 success per task and method at the
  largest condition-trajectory count of the clean setting, mean over seeds.
- Per-suite tables: tasks x methods for each setting and trajectory count, with the best
  policy, the optimistic top-5 and the honest (held-out) top-5, each the mean over seeds with a
  95% bootstrap interval over seeds, and rliable's Mean and IQM over seeds x tasks below.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import stats
from benchmark.errors import UserError
from benchmark.provenance import atomic_write_text
from benchmark.report.data import RunData, load_run
from benchmark.report.style import display_name, method_order

TABLE_METRICS: dict[str, str] = {
    "best": "best policy",
    "top5": "top-5 mean (optimistic: chosen and reported on the same rollouts)",
    "honest_top5": "top-5 mean (honest: chosen on configurations 0-2, reported on 3-4)",
}


def fmt(value: float, lo: float | None = None, hi: float | None = None) -> str:
    """'0.80 [0.60, 1.00]', or '0.80' without a proper interval, or '-' for NaN."""
    if value is None or np.isnan(value):
        return "-"
    if lo is None or np.isnan(lo) or lo == hi:
        return f"{value:.2f}"
    return f"{value:.2f} [{lo:.2f}, {hi:.2f}]"


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of `frame` (index dropped, values as strings)."""
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def main_setting(summary: pd.DataFrame) -> str:
    """'clean' when present (the paper's main setting), else the first setting."""
    settings = sorted(summary["setting"].unique())
    return "clean" if "clean" in settings else settings[0]


def table4(summary: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Table 4 rows (task, method, qualified rate, top-5, top-10, seeds) and its caption.

    Args:
      summary: ok cells (RunData.ok_summary).
    """
    setting = main_setting(summary)
    rows = summary[summary["setting"] == setting]
    n_traj = rows.groupby("task")["n_traj"].transform("max")
    rows = rows[rows["n_traj"] == n_traj]
    table = []
    for (task, method), group in rows.groupby(["task", "method"], sort=True):
        table.append({
            "task": task, "method": method, "condition trajectories": int(group["n_traj"].iloc[0]),
            "qualified rate": fmt(group["qualified_rate"].mean()),
            "top-5": fmt(group["top5"].mean()), "top-10": fmt(group["top10"].mean()),
            "seeds": int(group["seed"].nunique()),
        })
    frame = pd.DataFrame(table)
    if len(frame):
        rank = frame["method"].map({m: i for i, m in enumerate(method_order(frame["method"]))})
        frame = frame.assign(rank=rank).sort_values(["task", "rank"]).drop(columns="rank")
        frame["method"] = frame["method"].map(display_name)
    caption = (f"Table 4: qualified rate (share of policies succeeding in every evaluation "
               f"configuration), top-5 and top-10 success; setting {setting}, the largest "
               f"condition-trajectory count per task, mean over seeds.")
    return frame.reset_index(drop=True), caption


def group_aggregates(group: pd.DataFrame, metric: str, reps: int, seed: int
                     ) -> tuple[pd.DataFrame, dict[str, np.ndarray], list[str]]:
    """rliable IQM and Mean of `metric` for every method of one (setting, trajectory count).

    Every table calls this with the group's full method list, so the headline and the
    per-suite tables agree to the digit: rliable's bootstrap draws from one global random
    stream, so a method's interval depends on which methods share the call.

    Args:
      group: ok cells of one setting and trajectory count (columns method, task, seed, metric).
    Returns:
      (aggregates, scores, tasks): stats.aggregate_intervals' frame (method, aggregate, point,
      lo, hi, bootstrap); scores maps method -> (num_seeds x num_tasks) array; tasks, the
      columns of those arrays.
    """
    scores, tasks = stats.score_matrices(group, metric, method_order(group["method"].unique()))
    return stats.aggregate_intervals(scores, reps=reps, seed=seed), scores, tasks


def suite_table(group: pd.DataFrame, metric: str, reps: int, seed: int) -> pd.DataFrame:
    """Tasks x methods table of one metric: per task the mean over seeds [95% interval over
    seeds], then rliable's IQM and Mean rows over seeds x tasks.

    Args:
      group: ok cells of one setting and trajectory count.
    Returns:
      A 'task' column (the tasks, then the two aggregate rows) and one column per method
      (display names, in report order).
    """
    methods = method_order(group["method"].unique())
    rows = []
    for task, by_task in group.groupby("task", sort=True):
        row = {"task": task}
        for method in methods:
            values = by_task.loc[by_task["method"] == method, metric].to_numpy(dtype=float)
            row[display_name(method)] = fmt(*stats.mean_interval(values, reps=reps, seed=seed))
        rows.append(row)
    aggregates, _, tasks = group_aggregates(group, metric, reps=reps, seed=seed)
    for name in stats.AGGREGATES:
        row = {"task": f"**{name}** (rliable, {len(tasks)} shared tasks)"}
        for method in methods:
            hit = aggregates[(aggregates["method"] == method) & (aggregates["aggregate"] == name)]
            row[display_name(method)] = fmt(*hit[["point", "lo", "hi"]].iloc[0]) if len(hit) else "-"
        rows.append(row)
    return pd.DataFrame(rows)


MAX_COLUMNS = 8
"""Value columns of a table that fit the report's page width; a wider table is cut into parts."""


def fit_page(frame: pd.DataFrame, corner: str = "method") -> list[pd.DataFrame]:
    """A table whose first column labels its rows, laid out to fit the page: transposed (first
    column `corner`) when it has more value columns than rows, so the longer dimension runs down
    the page; then, when still more than MAX_COLUMNS value columns, cut into parts of about equal
    width, each with the first column.

    Returns:
      The parts, left to right (one for a table that fits).
    """
    if frame.shape[1] - 1 > len(frame):
        frame = frame.set_index(frame.columns[0]).T
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.rename_axis(corner).reset_index()
    n = frame.shape[1] - 1
    parts = max(1, -(-n // MAX_COLUMNS))
    size = -(-n // parts)
    return [frame.iloc[:, [0, *range(1 + i * size, min(1 + (i + 1) * size, n + 1))]].reset_index(drop=True)
            for i in range(parts)]


def suite_tables(summary: pd.DataFrame, reps: int = 2000, seed: int = 0) -> list[tuple[str, pd.DataFrame]]:
    """(caption, table) per setting, trajectory count and metric of TABLE_METRICS: tasks x
    methods (suite_table), methods x tasks when there are more methods than rows, in parts when
    still too wide for the page (fit_page).

    Args:
      summary: ok cells (RunData.ok_summary).
      reps: bootstrap repetitions of every interval.
      seed: bootstrap seed.
    """
    out = []
    for (setting, n_traj), group in summary.groupby(["setting", "n_traj"], sort=True):
        for metric, label in TABLE_METRICS.items():
            caption = (f"{label}; setting {setting}, {n_traj} condition trajectories; "
                       f"mean over seeds [95% bootstrap interval, {reps} reps; per task: over "
                       f"seeds (none with one seed); IQM/Mean: over seeds x tasks, or over tasks "
                       f"with one seed]")
            parts = fit_page(suite_table(group, metric, reps, seed))
            out += [(caption + (f" (part {i} of {len(parts)})" if len(parts) > 1 else ""), part)
                    for i, part in enumerate(parts, 1)]
    return out


def _run_json_lines(run: dict) -> list[str]:
    """'key: value' for the scalars of a run.json and its provenance's machine and version."""
    lines = [f"{key}: {value}" for key, value in sorted(run.items()) if isinstance(value, (str, int, float, bool))]
    prov = run.get("provenance") if isinstance(run.get("provenance"), dict) else {}
    lines += [f"{key}: {prov[key]}" for key in ("machine", "code_version", "created", "python") if key in prov]
    packages = prov.get("packages") if isinstance(prov.get("packages"), dict) else {}
    if packages:
        lines.append("packages: " + ", ".join(f"{name} {version}" for name, version in sorted(packages.items())))
    zoos = run.get("zoos") if isinstance(run.get("zoos"), dict) else {}
    return lines + [f"zoo {zoo_id}: built by code {built.get('code_version', '?')} on {built.get('machine', '?')}, "
                    f"{built.get('created', '?')}" for zoo_id, built in sorted(zoos.items()) if isinstance(built, dict)]


def _described(name: str, profile: str) -> dict:
    """A method as the registry describes it now (for runs stored before run.json recorded it)."""
    from benchmark.api import METHODS, reductions_of

    try:
        cls = METHODS.get(name.split("[")[0])
    except UserError:
        return {}
    return dict(reads=list(getattr(cls, "reads", ())), reductions=reductions_of(cls, profile))


def method_lines(data: RunData) -> list[str]:
    """One line per method of the run: display name, the condition fields it reads and what its
    preset of the profile reduces (recorded from the registry when the run was planned)."""
    recorded = data.recorded_methods
    lines = []
    for name in method_order(data.summary["method"].dropna().unique()):
        info = recorded.get(name) or _described(name, data.profile)
        reads = ", ".join(info.get("reads", [])) or "unknown"
        reductions = info.get("reductions") if data.profile != "paper" else ""
        changed = "; ".join(f"{k} {used} (preset {preset})" for k, (preset, used) in
                            (info.get("changed_from_preset") or {}).items())
        lines.append(f"method {display_name(name)} (`{name}`): reads {reads}"
                     + (f"; reduced: {reductions}" if reductions else "")
                     + (f"; set by the profile or variant: {changed}" if changed else ""))
    return lines


def run_header(data: RunData) -> list[str]:
    """Lines describing the run: its run.json scalars and what the tables were made from."""
    lines = [f"- {line}" for line in _run_json_lines(data.run)]
    for part in data.run.get("runs", []):  # a report merging several runs: each one's own lines
        lines.append(f"- merged run {part['run_dir']}: " + "; ".join(
            line for line in _run_json_lines(part) if not line.startswith(("run_dir:", "profile")))
        )
    summary = data.summary
    failed = int((summary["status"] != "ok").sum())
    lines.append(f"- cells: {len(summary)} ({failed} failed); seeds: {data.seeds}; "
                 f"evaluation configurations per policy: {data.n_configurations}")
    lines += [f"- {line}" for line in method_lines(data)]
    if data.profile != "paper":
        reductions = data.run.get("reductions")
        detail = "; ".join(map(str, reductions)) if isinstance(reductions, list) and reductions else (
            f"see the 'reductions' list of benchmark/profiles/{data.profile}.yaml")
        lines.append(f"- **Reduced protocol**: profile '{data.profile}' is smaller than the paper's "
                     f"({detail}); numbers are not comparable to the paper's one for one.")
    return lines


def tables_markdown(data: RunData, reps: int = 2000, seed: int = 0) -> str:
    """The whole tables document of a run, in Markdown."""
    parts = [f"# Tables: {data.run.get('suite', data.run_dir.name)}", "", *run_header(data), ""]
    summary = data.ok_summary
    if summary.empty:
        return "\n".join(parts + ["No cell finished; nothing to tabulate.", ""])
    frame, caption = table4(summary)
    parts += ["## Table 4", "", caption, "", markdown_table(frame), ""]
    parts += ["## Per-suite tables", ""]
    for caption, frame in suite_tables(summary, reps=reps, seed=seed):
        parts += [f"### {caption}", "", markdown_table(frame), ""]
    failed = data.summary[data.summary["status"] != "ok"]
    if len(failed):
        parts += ["## Failed cells", "",
                  markdown_table(failed[["cell_id", "method", "task", "n_traj", "setting", "seed", "error"]].fillna("")), ""]
    return "\n".join(parts)


def write_tables(run_dir, reps: int = 2000, seed: int = 0) -> Path:
    """Write DIR/tables.md from the stored results; returns its path."""
    data = load_run(run_dir)
    path = data.run_dir / "tables.md"
    atomic_write_text(path, tables_markdown(data, reps=reps, seed=seed))
    return path


def write_summary(run_dir) -> Path:
    """Write DIR/summary.csv, one row per cell with its keys, status and every metric."""
    data = load_run(run_dir)
    path = data.run_dir / "summary.csv"
    atomic_write_text(path, data.summary.to_csv(index=False))
    return path
