"""Reading a stored run directory: the only input of every table and figure.

    DIR/run.json                    suite, profile, command, machine, wall time, ...
    DIR/episodes.parquet            one row per rollout (docs/DESIGN.md)
    DIR/policies.parquet            one row per proposed policy (optional)
    DIR/cells/<cell_id>.json        one per finished cell, status "ok" or "failed"
    DIR/trajectories/<cell_id>.safetensors   kept trajectories for Figure 9 (optional)

Several runs (e.g. the four Figure-12 ablation suites) can be read as one with `load_runs`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import metrics
from benchmark.errors import UserError
from benchmark.store import read_cell


@dataclass
class RunData:
    """Everything stored for one run, loaded once."""

    run_dir: Path
    run: dict
    """Contents of run.json ({} when absent)."""
    episodes: pd.DataFrame
    """The episode table; empty (with its columns) when no cell produced episodes."""
    policies: pd.DataFrame | None
    """The policy table joined with the cell keys, or None when not stored."""
    cells: dict[str, dict]
    """cell_id -> the cell's JSON record."""
    parts: tuple[Path, ...] = ()
    """The run directories merged into this one (empty for a single run)."""

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per cell: metrics of ok cells, plus failed cells with NaN metrics and status."""
        summary = metrics.cell_metrics(self.episodes) if len(self.episodes) else pd.DataFrame(
            columns=list(metrics.CELL_KEYS) + list(metrics.METRIC_COLUMNS))
        summary["status"] = "ok"
        failed = [
            {**{k: cell.get("config", {}).get(k) for k in metrics.CELL_KEYS}, "cell_id": cid,
             "status": cell.get("status", "failed"), "error": str(cell.get("error", ""))[:200]}
            for cid, cell in sorted(self.cells.items())
            if cell.get("status") != "ok" and cid not in set(summary["cell_id"])
        ]
        if failed:
            summary = pd.concat([summary, pd.DataFrame(failed)], ignore_index=True)
        return summary.reset_index(drop=True)

    @cached_property
    def ok_summary(self) -> pd.DataFrame:
        return self.summary[self.summary["status"] == "ok"].reset_index(drop=True)

    @property
    def profile(self) -> str:
        return str(self.run.get("profile") or _first_config_value(self.cells, "profile") or "unknown")

    @property
    def robot(self) -> str | None:
        """The robot the cells ran on (Robosuite suites carry one; MetaWorld cells have none)."""
        return _first_config_value(self.cells, "robot")

    @property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.ok_summary["seed"].unique())

    @property
    def n_configurations(self) -> int:
        if len(self.episodes):
            return int(self.episodes["config_index"].nunique())
        return int(self.run.get("n_configurations", 0))

    @property
    def recorded_methods(self) -> dict[str, dict]:
        """Method name -> what run.json recorded of it when the run was planned (display, reads,
        changed_from_preset {field: [preset, used]}, ...), over every merged run; {} for runs
        stored before run.json recorded methods."""
        recorded = {}
        for run in self.run.get("runs", [self.run]):
            recorded.update(run.get("methods") or {})
        return recorded

    @property
    def novelty_reference(self) -> dict[str, dict]:
        """Zoo id -> the train-to-train distances of its checkpoints (run.json's
        novelty_reference: within_run_aligned, between_run_aligned, ..., medians), over every
        merged run; {} for runs stored before run.json carried it."""
        reference = {}
        for run in self.run.get("runs", [self.run]):
            found = run.get("novelty_reference")
            reference.update(found if isinstance(found, dict) else {})
        return reference

    def zoo_of(self, cell_id: str) -> str | None:
        """The zoo id a cell's policies were measured against (None when its record lacks one)."""
        return self.cells.get(cell_id, {}).get("config", {}).get("zoo_id")

    def trajectory_file(self, cell_id: str) -> Path | None:
        for run_dir in self.parts or (self.run_dir,):
            path = run_dir / "trajectories" / f"{cell_id}.safetensors"
            if path.is_file():
                return path
        return None


def _first_config_value(cells: dict[str, dict], key: str):
    for cell in cells.values():
        value = cell.get("config", {}).get(key)
        if value is not None:
            return value
    return None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise UserError(f"cannot read {path}: {exc}") from None


def load_run(run_dir) -> RunData:
    """Load a run directory; UserError when it is not one or a stored file is damaged."""
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file() and not (run_dir / "cells").is_dir():
        raise UserError(f"{run_dir} is not a run directory (it has neither run.json nor cells/)")
    run = {}
    if (run_dir / "run.json").is_file():
        try:
            run = json.loads((run_dir / "run.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"damaged {run_dir / 'run.json'} ({type(exc).__name__})") from None
        if not isinstance(run, dict):
            raise UserError(f"damaged {run_dir / 'run.json'} (not a run description)")
    cells = {}
    # cells/ may also hold files of earlier plans (another code version or suite edit): the
    # run's own cells are the ones run.json lists
    paths = sorted((run_dir / "cells").glob("*.json"))
    if run.get("cells"):
        listed = set(run["cells"])
        paths = [p for p in paths if p.stem in listed]
    for path in paths:
        cell = read_cell(path)
        cells[str(cell.get("cell_id", path.stem))] = cell
    episodes_path = run_dir / "episodes.parquet"
    episodes = _read_parquet(episodes_path) if episodes_path.is_file() else pd.DataFrame()
    if len(episodes):
        try:
            metrics.check_episodes(episodes)
        except ValueError as exc:
            raise UserError(f"{episodes_path}: {exc}") from None
    else:  # no cell produced episodes (all failed, or none finished yet)
        episodes = pd.DataFrame(columns=list(metrics.EPISODE_COLUMNS))
    empty = sorted(cid for cid, cell in cells.items()
                   if cell["status"] == "ok" and cid not in set(episodes.get("cell_id", ())))
    if empty:
        raise UserError(f"cell {empty[0]} of {run_dir} is ok but has no episodes in episodes.parquet"
                        f"{f' (and {len(empty) - 1} more)' if len(empty) > 1 else ''}; rerun the run to rebuild it")
    policies = None
    if (run_dir / "policies.parquet").is_file():
        table = _read_parquet(run_dir / "policies.parquet")
        if len(table) and "cell_id" in table:
            # add the cell keys the policy table does not already carry
            missing = [k for k in metrics.CELL_KEYS if k not in table or k == "cell_id"]
            keys = episodes[missing].drop_duplicates("cell_id")
            policies = table.merge(keys, on="cell_id", how="inner")
    return RunData(run_dir=run_dir, run=run, episodes=episodes, policies=policies, cells=cells)


def load_trajectories(path: Path) -> dict[str, np.ndarray]:
    """Arrays of a kept-trajectory file: states (K, T, 39), lengths (K,),
    condition_states (C, T, 39), condition_lengths (C,)."""
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error type for a damaged header
        raise UserError(f"cannot read trajectory file {path}: {exc}") from None


def load_runs(run_dirs) -> RunData:
    """Several runs read as one, for figures that span suites (Figure 12 from its four
    ablation suites). UserError when the runs cannot share a report: different profiles or
    evaluation configurations, or two runs holding the same (method, task, n_traj, setting,
    seed), which would count that cell twice."""
    runs = [load_run(d) for d in run_dirs]
    if len(runs) == 1:
        return runs[0]
    for key in ("profile", "n_configurations"):
        values = {str(getattr(r, key)) for r in runs}
        if len(values) > 1:
            raise UserError(f"cannot merge runs with different {key}: "
                            + ", ".join(f"{r.run_dir} ({getattr(r, key)})" for r in runs))
    keys = [k for k in metrics.CELL_KEYS if k not in ("cell_id", "suite")]
    owner: dict[tuple, Path] = {}
    for r in runs:
        for row in r.summary[keys].itertuples(index=False):
            if tuple(row) in owner:
                raise UserError(f"{owner[tuple(row)]} and {r.run_dir} both hold the cell "
                                f"{dict(zip(keys, row))}; merge runs whose cells differ")
            owner[tuple(row)] = r.run_dir
    ids = [cid for r in runs for cid in r.cells]
    if len(set(ids)) < len(ids):
        raise UserError("the runs share cell ids; merge runs whose cells differ")
    episodes = pd.concat([r.episodes for r in runs if len(r.episodes)] or [runs[0].episodes], ignore_index=True)
    tables = [r.policies for r in runs if r.policies is not None]
    suites = dict.fromkeys(str(r.run.get("suite", r.run_dir.name)) for r in runs)  # one name per suite, in order
    run = {"suite": " + ".join(suites),
           "profile": runs[0].profile, "n_configurations": runs[0].n_configurations,
           "reductions": runs[0].run.get("reductions"),
           "runs": [{k: v for k, v in r.run.items() if k != "cells"} | {"run_dir": str(r.run_dir)} for r in runs]}
    return RunData(run_dir=runs[0].run_dir, run=run, episodes=episodes,
                   policies=pd.concat(tables, ignore_index=True) if tables else None,
                   cells={cid: cell for r in runs for cid, cell in r.cells.items()},
                   parts=tuple(r.run_dir for r in runs))
