"""Are two stored runs the same, cell by cell? Episodes and proposed policies compared exactly.

    python scripts/compare_runs.py results/runs/smoke-smoke OTHER_RESULTS/runs/smoke-smoke

Cells are matched by what they are (method, task, trajectory count, setting, seed), not by their
ids, which hash the code version. Prints one line per method: cells matched, cells whose
episodes (success, first-success step, return, length of every episode) and policy table
(nearest checkpoint and cosines of every proposed policy) are identical, and the top-5 success
of each run where they differ. Exits 1 if any matched cell differs or a cell is in one run only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

KEYS = ["method", "task", "n_traj", "setting", "seed"]
EPISODE_COLUMNS = ["policy_id", "config_index", "success", "first_success_step", "return", "length"]
POLICY_COLUMNS = ["policy_id", "nearest_checkpoint", "cos_nearest_checkpoint", "cos_condition"]


def _load(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    for name in ("episodes.parquet", "policies.parquet"):
        if not (run_dir / name).is_file():
            raise SystemExit(f"error: {run_dir} has no {name} (not a finished run directory)")
    return pd.read_parquet(run_dir / "episodes.parquet"), pd.read_parquet(run_dir / "policies.parquet")


def _top5(episodes: pd.DataFrame) -> float:
    per_policy = episodes.groupby("policy_id")["success"].mean().sort_values(ascending=False)
    return float(per_policy.head(5).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    (ep_a, pol_a), (ep_b, pol_b) = _load(args.before), _load(args.after)
    cells_a = {k: g for k, g in ep_a.groupby(KEYS)}
    cells_b = {k: g for k, g in ep_b.groupby(KEYS)}
    pols_a = {k: g for k, g in pol_a.groupby(KEYS)}
    pols_b = {k: g for k, g in pol_b.groupby(KEYS)}
    differ = False
    for method in sorted({k[0] for k in cells_a} | {k[0] for k in cells_b}):
        keys = sorted({k for k in cells_a if k[0] == method} | {k for k in cells_b if k[0] == method})
        same, notes = 0, []
        for key in keys:
            if key not in cells_a or key not in cells_b:
                notes.append(f"{'/'.join(map(str, key[1:]))} in one run only")
                continue
            episodes = [c.sort_values(["policy_id", "config_index"])[EPISODE_COLUMNS].reset_index(drop=True)
                        for c in (cells_a[key], cells_b[key])]
            policies = [p.sort_values("policy_id")[POLICY_COLUMNS].reset_index(drop=True)
                        for p in (pols_a[key], pols_b[key])]
            if episodes[0].equals(episodes[1]) and policies[0].equals(policies[1]):
                same += 1
            else:
                notes.append(f"{'/'.join(map(str, key[1:]))} top-5 {_top5(cells_a[key]):.2f} -> {_top5(cells_b[key]):.2f}")
        differ |= bool(notes)
        print(f"{method}: {same} of {len(keys)} cells identical" + (f"; {'; '.join(notes)}" if notes else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
