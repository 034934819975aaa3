"""The report of a stored run: Markdown and static HTML with the same content, opening with the
headline table (top-5 IQM with its interval and the mean per method, floor and ceiling below),
then the success-novelty leaderboard (runs with parameter-vector proposals), figures as PNG and
SVG, a line for every paper figure the run holds no data for (or too few seeds x tasks), the
tables, and last the run's provenance (command, code version, machine, packages), with the
run's summary.csv beside them.

    build_report(run_dir, out_dir=None, reps=2000) -> list of written files
    build_report([run_a, run_b, ...], out_dir) -> one report over several runs (Figure 12)

Everything is a pure function of the files under the run directories (see benchmark.report.data).
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from benchmark.errors import UserError
from benchmark.provenance import atomic_write_text
from benchmark.report.data import RunData, load_run, load_runs
from benchmark.report.figures import FIGURES, fig_improvement
from benchmark.report.headline import headline
from benchmark.report.leaderboard import leaderboard_blocks
from benchmark.report.render import to_html, to_markdown
from benchmark.report.style import save_figure
from benchmark.report.tables import run_header, suite_tables, table4, write_summary, write_tables

__all__ = ["build_report", "write_tables", "write_summary", "load_run", "load_runs"]


def headline_blocks(data: RunData, reps: int, seed: int) -> list:
    """The section that opens the report: the headline table, a line defining each quantity, and
    where the bounds come from when the run lacks them."""
    if data.ok_summary.empty:
        return [("h2", "Headline"), ("p", "No cell finished; nothing to report yet.")]
    frame, definitions, note = headline(data.ok_summary, data.profile, reps=reps, seed=seed)
    return [("h2", "Headline: top-5 success"), ("table", frame), ("list", definitions)] + ([("p", note)] if note else [])


def save_figures(figures: dict, out_dir: Path) -> list[Path]:
    """Each figure (file stem -> Figure) as PNG and SVG under out_dir; the written paths."""
    written = []
    for key, figure in figures.items():
        for suffix in ("png", "svg"):
            save_figure(figure, out_dir / f"{key}.{suffix}")
            written.append(out_dir / f"{key}.{suffix}")
    return written


def figure_blocks(data: RunData, out_dir: Path, reps: int, poi_reps: int, seed: int) -> tuple[list, list[Path]]:
    """The Figures section (each built figure with its caption, then one line per figure left
    out and why) and the figure files written."""
    blocks, written, skipped = [("h2", "Figures")], [], []
    for spec in FIGURES:
        build = partial(fig_improvement, poi_reps=poi_reps) if spec.build is fig_improvement else spec.build
        built = build(data, reps, seed)
        if built is None:
            skipped.append(f"{spec.title}: skipped, this run holds no data for it; {spec.produced_by} would produce it.")
            continue
        if isinstance(built, str):
            skipped.append(f"{spec.title}: {built}")
            continue
        figure, caption = built
        written += save_figures({spec.key: figure}, out_dir)
        blocks += [("h3", spec.title), ("figure", (f"{spec.key}.png", caption))]
    if skipped:
        blocks += [("h3", "Figures not built"), ("list", skipped)]
    return blocks, written


def table_blocks(data: RunData, reps: int, seed: int) -> list:
    """Table 4 and the per-suite tables."""
    summary = data.ok_summary
    if summary.empty:
        return []
    frame, caption = table4(summary)
    blocks = [("h2", "Table 4"), ("p", caption), ("table", frame), ("h2", "Per-suite tables")]
    for caption, frame in suite_tables(summary, reps=reps, seed=seed):
        blocks += [("h3", caption), ("table", frame)]
    return blocks


def condition_blocks(data: RunData) -> list:
    """What the run's prompts were drawn from: per zoo and task of the run, the condition
    trajectories, the share that succeed and the training updates they were drawn at (run.json's
    zoo_conditions; nothing for runs that predate it)."""
    tasks = set(data.ok_summary["task"]) if not data.ok_summary.empty else set()
    rows = [dict(zoo=zoo_id, task=task, conditions=entry["conditions"],
                 succeeding="-" if entry["succeeding"] is None else f"{entry['succeeding']:.0%}",
                 updates="-" if not entry["updates"] else f"{entry['updates'][0]}-{entry['updates'][1]}")
            for zoo_id, per_task in sorted((data.run.get("zoo_conditions") or {}).items())
            for task, entry in per_task.items() if task in tasks]
    if not rows:
        return []
    caption = ("The zoo's condition trajectories of each task of the run: every cell's prompts are drawn from "
               "them; 'updates' is the stretch of training they were recorded in.")
    return [("h2", "Condition trajectories"), ("p", caption), ("table", pd.DataFrame(rows))]


def _blocks(data: RunData, out_dir: Path, reps: int, poi_reps: int, seed: int) -> tuple[list, list[Path]]:
    """Report content as (kind, payload) blocks (benchmark.report.render), and the figure files
    written: headline, leaderboard, figures, tables, provenance."""
    title = f"Report: {data.run.get('suite', data.run_dir.name)} ({data.profile})"
    board, board_figures = leaderboard_blocks(data, reps, seed)
    board_files = save_figures(board_figures, out_dir)
    figures, figure_files = figure_blocks(data, out_dir, reps, poi_reps, seed)
    blocks = [("h1", title), *headline_blocks(data, reps, seed), *board, *figures, *table_blocks(data, reps, seed),
              *condition_blocks(data), ("h2", "Run"), ("list", run_header(data))]
    return blocks, board_files + figure_files


def build_report(run_dir, out_dir=None, reps: int = 2000, poi_reps: int = 500, seed: int = 0) -> list[Path]:
    """Write report.md, report.html and the figures (PNG and SVG) of a stored run.

    Args:
      run_dir: a run directory (run.json and/or cells/, episodes.parquet, ...), or a list of
        them to report as one (their cells must differ).
      out_dir: where to write; default run_dir/report (required for several runs).
      reps: bootstrap repetitions of the intervals.
      poi_reps: bootstrap repetitions of the probability of improvement (slow: ~1 s per pair
        per 300 reps).
      seed: bootstrap seed; the same run, reps and seed give the same report.
    Returns:
      The written files: report.md, report.html, summary.csv, then the figure files.
    Raises:
      UserError: run_dir is not a run directory, a stored file is damaged, or the runs
        cannot be merged.
    """
    run_dirs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    if len(run_dirs) > 1 and out_dir is None:
        raise UserError("a report over several runs needs --out (it belongs to none of them)")
    data = load_runs(run_dirs)
    out_dir = Path(out_dir) if out_dir is not None else data.run_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    blocks, figures = _blocks(data, out_dir, reps, poi_reps, seed)
    atomic_write_text(out_dir / "report.md", to_markdown(blocks))
    atomic_write_text(out_dir / "report.html", to_html(blocks))
    # the per-cell numbers behind every table, so a report folder can be checked on its own
    atomic_write_text(out_dir / "summary.csv", data.summary.to_csv(index=False))
    return [out_dir / "report.md", out_dir / "report.html", out_dir / "summary.csv", *figures]
