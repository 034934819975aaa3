"""How far apart are a zoo's checkpoints? Nearest-neighbour relative L2, raw and permutation-aligned.

The train-to-train reference of the memorisation critique (Zeng et al. 2025): per seen task,
each checkpoint's nearest other checkpoint of its own training run (`within`) and of any other
run of the task (`between`), as relative L2 ||x - y|| / ||y|| of the flat parameter vectors,
raw and after aligning x's hidden units to y's (benchmark.align). Prints one markdown row per
task with the medians over its checkpoints and the seconds the task took; --out writes the
same table as CSV. Runs are the records' run_seed; rows without one (imported author data)
count as runs of their own, so they have no within-run neighbour.

    OMP_NUM_THREADS=1 python scripts/zoo_distances.py --zoo results/zoo/<zoo id> --out distances.csv

--candidates k aligns each checkpoint to its k nearest by the --prefilter ranking (plus the raw
nearest); --candidates 0 aligns to every checkpoint (exact, O(N^2) alignments of ~2-5 ms each).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.align import DEFAULT_CANDIDATES, DEFAULT_PASSES, PREFILTERS, nearest_neighbour_reference
from benchmark.errors import UserError
from benchmark.zoo.format import load_zoo

COLUMNS = ("within_raw", "within_aligned", "between_raw", "between_aligned")


def run_ids(records: list[dict]) -> np.ndarray:
    """(N,) run id per record: its run_seed, or a per-row id where the record has none."""
    return np.array([f"seed{r['run_seed']}" if r.get("run_seed") is not None else f"row{i}"
                     for i, r in enumerate(records)], dtype=object)


def task_row(task: str, params: np.ndarray, groups: np.ndarray, spec, candidates, passes: int, prefilter: str) -> dict:
    started = time.perf_counter()
    ref = nearest_neighbour_reference(params, groups, spec, candidates=candidates, passes=passes, prefilter=prefilter)
    row = dict(task=task, checkpoints=len(params), runs=len(set(groups)))
    for column in COLUMNS:
        values = ref[column][np.isfinite(ref[column])]
        row[f"{column}_median"] = float(np.median(values)) if len(values) else float("nan")
    row["seconds"] = time.perf_counter() - started
    return row


def markdown(table: pd.DataFrame) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            return "-" if np.isnan(value) else f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, required=True, help="a built zoo directory (results/zoo/<zoo id>)")
    parser.add_argument("--out", type=Path, help="also write the table as CSV here")
    parser.add_argument("--tasks", nargs="+", help="only these seen tasks (default: all the zoo's seen tasks)")
    parser.add_argument("--candidates", type=int, default=DEFAULT_CANDIDATES,
                        help="neighbours aligned per checkpoint, 0 for all (default: %(default)s)")
    parser.add_argument("--prefilter", choices=PREFILTERS, default="raw", help="ranking that picks them (default: %(default)s)")
    parser.add_argument("--passes", type=int, default=DEFAULT_PASSES, help="coordinate-descent rounds (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.candidates < 0:
            raise UserError(f"--candidates must be >= 0, got {args.candidates}")
        zoo = load_zoo(args.zoo)
        tasks_of_rows = zoo.checkpoints.tasks
        seen = list(zoo.manifest.get("seen_tasks") or dict.fromkeys(tasks_of_rows))
        if args.tasks:
            unknown = [t for t in args.tasks if t not in seen]
            if unknown:
                raise UserError(f"task(s) {', '.join(unknown)} not among the zoo's seen tasks: {', '.join(seen)}")
            seen = args.tasks
        rows = []
        for task in seen:
            mask = tasks_of_rows == task
            if not mask.any():
                continue
            records = [r for r, keep in zip(zoo.checkpoints.records, mask) if keep]
            rows.append(task_row(task, zoo.checkpoints.params[mask], run_ids(records), zoo.spec,
                                 args.candidates or None, args.passes, args.prefilter))
        if not rows:
            raise UserError(f"{args.zoo}: no checkpoints of its seen tasks")
        table = pd.DataFrame(rows)
        if args.out:
            try:
                table.to_csv(args.out, index=False)
            except OSError as exc:
                raise UserError(f"cannot write --out {args.out} ({exc.strerror or exc})") from None
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(table))
    print(f"\nzoo {zoo.zoo_id}: {int(table.checkpoints.sum())} checkpoints, relative L2 to the nearest "
          f"neighbour (medians), candidates={args.candidates or 'all'} prefilter={args.prefilter} "
          f"passes={args.passes}; {table.seconds.sum():.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
