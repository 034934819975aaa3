"""The snap test: a generator's proposals replaced by their nearest zoo checkpoint, rolled out in
the same configurations, beside the generated policies themselves.

    python scripts/snap_test.py results/runs/unseen-standard --method make-an-agent [--workers 2]

For every ok cell of the method in the stored run, each proposed policy is replaced by the zoo
checkpoint its cell stored as nearest: by cosine (`nearest_checkpoint`) and after aligning hidden
units (`aligned_nearest_checkpoint`, when the run stored it). Both sets are rolled out in the
cell's own evaluation configurations (benchmark.engine.evaluate), so the snapped policies face
exactly the episodes the generated ones did. If snapping to the nearest checkpoint keeps or raises
the success, the generator points at the right zoo behaviour and loses by landing off it; if the
snapped policies fail too, it points at the wrong behaviour. Prints a Markdown table per task
(top-5 and mean success: generated, snapped by cosine, snapped after alignment) and writes
snap_test.csv (one row per cell and kind) into the run directory. Finished cells are kept in
snap_test.csv, so a killed test resumes.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.executor import execute, shutdown
from benchmark.metrics import top_k_mean
from benchmark.report.tables import markdown_table
from benchmark.zoo.format import load_zoo

KINDS = {"snapped": "nearest_checkpoint", "snapped-aligned": "aligned_nearest_checkpoint"}


@dataclass(frozen=True)
class SnapUnit:
    cell_id: str
    task: str
    seed: int
    n_traj: int
    setting: str
    configurations: tuple[int, ...]
    max_steps: int
    robot: str | None
    zoo_root: str
    kind: str
    rows: tuple[int, ...]


def roll_out(unit: SnapUnit) -> dict:
    """Worker: per-policy success rates of the snapped checkpoints of one cell."""
    from benchmark.engine import evaluate

    zoo = load_zoo(unit.zoo_root)
    result = evaluate(unit.task, unit.configurations, len(unit.rows), params=zoo.checkpoints.params[list(unit.rows)],
                      spec=zoo.spec, robot=unit.robot, max_steps=unit.max_steps)
    rates = pd.Series(result.success.astype(float)).groupby(result.policy_id).mean()
    return dict(success_rate=rates.sort_index().tolist())


def _row(unit_or_cell: dict, kind: str, rates) -> dict:
    rates = np.asarray(rates, float)
    return dict(unit_or_cell, kind=kind, top5=top_k_mean(rates, 5), mean=float(rates.mean()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--method", default="make-an-agent")
    parser.add_argument("--results", type=Path, default=None, help="results root holding zoo/ (default: two levels up)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        return _snap(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutdown()


def _snap(args) -> int:
    run_dir = args.run_dir
    for name in ("episodes.parquet", "policies.parquet"):
        if not (run_dir / name).is_file():
            raise UserError(f"{run_dir} has no {name}: not a finished run directory")
    results = args.results or run_dir.parent.parent
    episodes = pd.read_parquet(run_dir / "episodes.parquet")
    policies = pd.read_parquet(run_dir / "policies.parquet")
    episodes, policies = episodes[episodes["method"] == args.method], policies[policies["method"] == args.method]
    if policies.empty:
        raise UserError(f"{run_dir}: no cell of method {args.method!r}")
    out_path = run_dir / "snap_test.csv"
    done = pd.read_csv(out_path) if out_path.is_file() else pd.DataFrame(columns=["cell_id", "kind"])
    finished = set(zip(done["cell_id"], done["kind"]))
    rows, units = done.to_dict("records"), []
    for cell_id, cell_policies in policies.groupby("cell_id"):
        config = json.loads((run_dir / "cells" / f"{cell_id}.json").read_text())["config"]
        keys = dict(cell_id=cell_id, task=config["task"], n_traj=config["n_traj"], setting=config["setting"],
                    seed=config["seed"])
        rates = episodes[episodes["cell_id"] == cell_id].groupby("policy_id")["success"].mean().sort_index()
        if (cell_id, "generated") not in finished:
            rows.append(_row(keys, "generated", rates.to_numpy()))
        zoo_root = results / "zoo" / config["zoo_id"]
        if not (zoo_root / "manifest.json").is_file():
            raise UserError(f"zoo {config['zoo_id']} is not under {results / 'zoo'} (pass --results)")
        for kind, column in KINDS.items():
            if column not in cell_policies or (cell_id, kind) in finished:
                continue
            snapped = cell_policies.sort_values("policy_id")[column].astype(int).tolist()
            units.append(SnapUnit(cell_id, config["task"], config["seed"], config["n_traj"], config["setting"],
                                  tuple(config["configurations"]), config["eval"]["max_steps"], config.get("robot"),
                                  str(zoo_root), kind, tuple(snapped)))
    for outcome in execute(roll_out, units, workers=args.workers, desc="snap: cells"):
        if not outcome.ok:
            raise UserError(f"snap of {outcome.unit.cell_id} failed: {outcome.error}")
        unit = outcome.unit
        keys = dict(cell_id=unit.cell_id, task=unit.task, n_traj=unit.n_traj, setting=unit.setting, seed=unit.seed)
        rows.append(_row(keys, unit.kind, outcome.result["success_rate"]))
        pd.DataFrame(rows).to_csv(out_path, index=False)  # after every cell: a killed test resumes
    table = pd.DataFrame(rows)
    table.to_csv(out_path, index=False)
    summary = table.pivot_table(index=["task", "n_traj", "setting"], columns="kind", values=["top5", "mean"],
                                aggfunc="mean").round(2)
    summary.columns = [f"{kind} {metric}" for metric, kind in summary.columns]
    print(markdown_table(summary.reset_index()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
