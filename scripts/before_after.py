"""Top-5 IQM of every method in several stored runs, side by side: a before/after table.

    python scripts/before_after.py before=reports/archive/unseen-mini/summary.csv \
        after=reports/unseen-standard/summary.csv [--n-traj 20] [--setting clean]

Each argument is LABEL=summary.csv (a run directory's or a committed report's). The numbers are
the reports' own headline numbers (benchmark.report.headline: IQM over seeds x tasks with its 95%
stratified-bootstrap interval), so the table agrees with the reports it names. A method missing from a run gets "-". Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from benchmark.report.headline import headline_table
from benchmark.report.style import display_name, method_order


def column_of(summary: pd.DataFrame, setting: str, n_traj: int, reps: int) -> dict[str, str]:
    """{display name: headline cell} of one (setting, count) of a summary's ok cells."""
    ok = summary[(summary["status"] == "ok") & (summary["setting"] == setting) & (summary["n_traj"] == n_traj)]
    if ok.empty:
        return {}
    frame, _ = headline_table(ok, "any", reps=reps)
    label = next(c for c in frame.columns if c != "method")
    return dict(zip(frame["method"], frame[label]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=path/to/summary.csv")
    parser.add_argument("--n-traj", type=int, default=20)
    parser.add_argument("--setting", default="clean")
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args(argv)
    columns, methods = {}, []
    for spec in args.runs:
        label, sep, path = spec.partition("=")
        if not sep or not Path(path).is_file():
            print(f"before_after: expected LABEL=summary.csv with an existing file, got {spec!r}", file=sys.stderr)
            return 2
        summary = pd.read_csv(path)
        columns[label] = column_of(summary, args.setting, args.n_traj, args.reps)
        methods += [m for m in summary["method"].dropna().unique() if m not in methods]
    names = [display_name(m) for m in method_order(methods)]
    print("| method | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name in names:
        print(f"| {name} | " + " | ".join(column.get(name, "-") for column in columns.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
