"""The README's headline table, from the committed reference reports.

    python scripts/readme_table.py            # print the table
    python scripts/readme_table.py --write    # put it into README.md between its markers

`reports/headline.yaml` names, per column, the reports whose `summary.csv` it reads, the tasks
(the domain's seen or unseen ones) and the trajectory count. A method that no report of a column
holds reads "not in these reports" there. The floor and ceiling rows (random actions, scripted
expert) read no trajectories and are taken at any count. A method that two reports both hold (the
nearest checkpoint of a suite and of its controls run) is taken from the first. Every number is
the headline's own (benchmark.report.headline.headline_cells: the top-5 IQM over seeds x tasks
with its 95% stratified-bootstrap interval, and the mean with the range of the per-seed means),
bootstrapped per report as the report does it, so the README and the reports agree to the digit.
The best IQM of a column among the methods (not the bounds) is bold.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from benchmark.envs import domain_of
from benchmark.report.headline import BOUNDS, IQM_COLUMN, MEAN_COLUMN, headline_cells, row_label
from benchmark.report.style import method_order
from benchmark.report.tables import group_aggregates, markdown_table

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "reports" / "headline.yaml"
README = ROOT / "README.md"
BEGIN, END = "<!-- headline table: scripts/readme_table.py -->", "<!-- end of headline table -->"
REPS, SEED = 2000, 0
NOT_RUN = "not in these reports"


def column_cells(column: dict, reports: Path) -> pd.DataFrame:
    """The ok cells of one column: its reports' summaries (a `report` column names each row's),
    on its tasks, at its trajectory count (any count for the bounds), clean setting."""
    frames = [pd.read_csv(reports / name / "summary.csv").assign(report=name) for name in column["reports"]]
    cells = pd.concat(frames, ignore_index=True)
    cells = cells[(cells["status"] == "ok") & (cells["setting"] == "clean")]
    domain = domain_of(str(cells["task"].iloc[0]))
    tasks = {"seen": domain.seen_tasks, "unseen": domain.unseen_tasks}[column["tasks"]]
    cells = cells[cells["task"].isin(tasks)]
    return cells[(cells["n_traj"] == column["n_traj"]) | cells["method"].isin(list(BOUNDS))]


def column_aggregates(cells: pd.DataFrame, metric: str) -> tuple[dict, dict]:
    """({method: aggregates frame}, {method: scores}) of one column. Each report's methods are
    bootstrapped in one call, as that report itself computes them (rliable's intervals depend on
    the methods sharing a call), and a method two reports hold is taken from the first."""
    aggregates, scores = {}, {}
    for _, part in cells.groupby("report", sort=False):
        found_aggregates, found_scores, _ = group_aggregates(part.assign(n_traj=0), metric, reps=REPS, seed=SEED)
        for method, found in found_scores.items():
            if method not in scores:
                aggregates[method], scores[method] = found_aggregates, found
    return aggregates, scores


def headline_markdown(spec_path: Path = SPEC, reports: Path = ROOT / "reports") -> str:
    """The table as GitHub Markdown: one row per method (bounds last), an IQM and a mean column
    per column of the spec."""
    spec = yaml.safe_load(spec_path.read_text())
    columns = [(c["label"], column_cells(c, reports)) for c in spec["columns"]]
    found = set().union(*(set(cells["method"]) for _, cells in columns))
    methods = [m for m in method_order(found) if m not in BOUNDS] + [m for m in BOUNDS if m in found]
    rows = {m: {"method": row_label(m)} for m in methods}
    for label, cells in columns:
        aggregates, scores = column_aggregates(cells, spec["metric"])
        iqm = {m: float(a.loc[(a["method"] == m) & (a["aggregate"] == "IQM"), "point"].iloc[0])
               for m, a in aggregates.items() if m not in BOUNDS}
        for method in methods:
            shown, mean = headline_cells(aggregates[method], scores, method) if method in scores else (NOT_RUN, "")
            if iqm and iqm.get(method) == max(iqm.values()):
                shown = f"**{shown}**"
            rows[method][f"{label}: {IQM_COLUMN}"] = shown
            rows[method][f"{label}: {MEAN_COLUMN}"] = mean
    return markdown_table(pd.DataFrame(list(rows.values())))


def with_table(readme: str, table: str) -> str:
    """readme with the text between its markers replaced by table."""
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {BEGIN!r} and {END!r}")
    head, rest = readme.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    table = headline_markdown()
    if args.write:
        README.write_text(with_table(README.read_text(), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
