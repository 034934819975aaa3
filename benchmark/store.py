"""The result store of a run directory: one JSON per cell, written atomically, and the tables
consolidated from them.

    DIR/cells/<cell_id>.json          status "ok" (episodes, policies, timings) or "failed" (error
                                      in one line, traceback)
    DIR/trajectories/<cell_id>.safetensors   kept trajectories (Figure 9)
    DIR/episodes.parquet, policies.parquet   the ok cells of the run's plan, concatenated
    DIR/run.json                      what the run was: suite, profile, methods, cells, provenance
    DIR/failures.log                  every failed cell of the plan: its line and its traceback
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import UserError
from benchmark.provenance import atomic_write_json, provenance

RUN_FORMAT = "b2p-run"
CELL_COLUMNS = ("suite", "method", "task", "n_traj", "setting", "seed")
EPISODE_FIELDS = ("policy_id", "config_index", "configuration", "success", "first_success_step", "return", "length")


def cell_path(run_dir: Path, cell_id: str) -> Path:
    return Path(run_dir) / "cells" / f"{cell_id}.json"


def _damaged(path: Path, why: str) -> UserError:
    return UserError(f"damaged cell file {path} ({why}); move it away to recompute that cell")


def read_cell(path: Path) -> dict:
    """A cell record; UserError for anything that is not a complete cell result."""
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise _damaged(path, type(exc).__name__) from None
    if not isinstance(data, dict) or "status" not in data or not isinstance(data.get("config"), dict):
        raise _damaged(path, "not a cell result")
    return data


def cell_episodes(data: dict, path: Path) -> dict:
    """The episode table of an ok cell record; UserError when it is missing or empty."""
    episodes = data.get("episodes")
    if not isinstance(episodes, dict) or any(k not in episodes for k in EPISODE_FIELDS):
        raise _damaged(path, "no episode table")
    if len({len(v) if isinstance(v, list) else -1 for v in episodes.values()}) != 1 or not episodes["policy_id"]:
        raise _damaged(path, "no episodes")
    return episodes


def cell_status(run_dir: Path, cell_id: str) -> str | None:
    """'ok' or 'failed' for a stored cell, None when it has not run."""
    path = cell_path(run_dir, cell_id)
    return read_cell(path)["status"] if path.is_file() else None


def write_cell(run_dir: Path, cell, outcome) -> None:
    """Store one cell's outcome (an executor Outcome): its episodes, or its error."""
    record = dict(cell_id=cell.cell_id, config=cell.config, provenance=provenance(cell.config["code_version"]),
                  status="ok" if outcome.ok else "failed", error=outcome.error, traceback=outcome.traceback,
                  worker_cpu_s=round(outcome.seconds, 3))
    if outcome.ok:
        data = outcome.result
        if data["trajectories"]:
            from safetensors.numpy import save_file

            path = Path(run_dir) / "trajectories" / f"{cell.cell_id}.safetensors"
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            save_file({k: np.ascontiguousarray(v) for k, v in data["trajectories"].items()}, str(tmp))
            tmp.replace(path)
        record.update(timings=data["timings"], episodes=data["episodes"], policies=data["policies"])
    atomic_write_json(cell_path(run_dir, cell.cell_id), record)


def consolidate(run_dir: Path, cells: list) -> tuple[int, int]:
    """Write episodes.parquet and policies.parquet from the plan's ok cells; (ok, failed)."""
    episodes, policies, ok, failed = [], [], 0, 0
    for cell in cells:
        path = cell_path(run_dir, cell.cell_id)
        data = read_cell(path)
        if data["status"] != "ok":
            failed += 1
            continue
        ok += 1
        table = cell_episodes(data, path)
        keys = {k: cell.config[k] for k in CELL_COLUMNS}
        episodes.append(pd.DataFrame(table).assign(cell_id=cell.cell_id, **keys))
        policies.append(pd.DataFrame(data["policies"]).assign(cell_id=cell.cell_id, **keys))
    if episodes:
        _write_parquet(pd.concat(episodes, ignore_index=True), Path(run_dir) / "episodes.parquet")
        _write_parquet(pd.concat(policies, ignore_index=True), Path(run_dir) / "policies.parquet")
    return ok, failed


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def write_run(run_dir: Path, record: dict) -> None:
    """run.json: the run's description (suite, profile, methods, cell ids, counts, provenance)."""
    atomic_write_json(Path(run_dir) / "run.json", dict(record, format=RUN_FORMAT))


def failed_cells(run_dir: Path, cells: list) -> list[dict]:
    """The stored records of the plan's failed cells, in plan order."""
    records = []
    for cell in cells:
        path = cell_path(run_dir, cell.cell_id)
        if path.is_file():
            data = read_cell(path)
            if data["status"] != "ok":
                records.append(data)
    return records


def write_failures_log(run_dir: Path, failed: list[dict]) -> Path:
    """failures.log: each failed cell's one-line error and traceback (removed when none failed)."""
    path = Path(run_dir) / "failures.log"
    if not failed:
        path.unlink(missing_ok=True)
        return path
    parts = [f"{data['cell_id']}: {data.get('error')}\n{data.get('traceback') or ''}".rstrip() + "\n" for data in failed]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(parts))
    tmp.replace(path)
    return path
