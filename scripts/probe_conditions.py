"""What a diagnosis' stage (d) generates from the cells' condition trajectories, and why it falls
short of the nearest-checkpoint control on the same conditions.

    python scripts/probe_conditions.py --run results/runs/diagnose-<method>-mini[-tag] [--profile mini]

From the run's stored units (no rollouts): per seen task, the stage (d) policies are generated
again with their unit's rows and proposal seed (so they are the rolled-out ones), and compared
with the zoo: the share whose nearest checkpoint (cosine) belongs to the prompted task (and the
same share for stage (c), prompted by the checkpoints' own trajectories), that
checkpoint's position in its distillation run (0 = first snapshot, 1 = last), and the success
of stage (d) and of the control split by whether the prompting condition trajectory succeeded.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.config import load_profile
from benchmark.diagnose import stage_policies
from benchmark.plan import resolve_method
from benchmark.training import load_model
from benchmark.zoo.format import load_zoo


def run_positions(records: list[dict]) -> np.ndarray:
    """(N,) position of each checkpoint in its run, 0 for the first snapshot and 1 for the last."""
    frame = pd.DataFrame([dict(run=(r["task"], r["run_seed"]), step=r["step"]) for r in records])
    rank = frame.groupby("run")["step"].rank(method="first") - 1
    size = frame.groupby("run")["step"].transform("size") - 1
    return (rank / size.clip(lower=1)).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a diagnose run directory")
    parser.add_argument("--profile", default="mini")
    args = parser.parse_args()
    torch.set_num_threads(1)
    run_dir = Path(args.run)
    run = json.loads((run_dir / "run.json").read_text())
    units = [json.loads(p.read_text()) for p in sorted((run_dir / "units").glob("*.json"))]
    by_stage = {(u["unit"]["task"], u["unit"]["stage"]): u for u in units if u["unit"]["seed"] == 0}
    zoo = load_zoo(by_stage[next(iter(by_stage))]["unit"]["zoo_root"])
    method = resolve_method(run["method"], load_profile(args.profile))
    model_dir = by_stage[(run["tasks"][0], "condition")]["unit"]["model_dir"]
    model, _ = load_model(method, Path(model_dir), zoo.spec)
    params, tasks = zoo.checkpoints.params, zoo.checkpoints.tasks
    unit_params = params / np.linalg.norm(params, axis=1, keepdims=True)
    position = run_positions(zoo.checkpoints.records)
    ckpt_success = np.array([r["success"] for r in zoo.checkpoints.records], float)

    def nearest_checkpoints(task: str, stage: str) -> tuple[np.ndarray, dict]:
        """Zoo rows nearest (cosine) to the stage's policies, regenerated from its unit."""
        unit = by_stage[(task, stage)]["unit"]
        torch.manual_seed(unit["proposal_seed"])
        generated = stage_policies(stage, model, zoo, np.asarray(unit["rows"], np.int64),
                                   unit["proposal_seed"])[0]["params"]
        return ((generated / np.linalg.norm(generated, axis=1, keepdims=True)) @ unit_params.T).argmax(1), unit

    rows_out = []
    for task in run["tasks"]:
        nearest, unit = nearest_checkpoints(task, "condition")
        rows = np.asarray(unit["rows"], np.int64)
        own_nearest, _ = nearest_checkpoints(task, "own-trajectory")
        cond_success = np.array([zoo.conditions.records[r]["success"] for r in rows], float) > 0
        generated_success = np.asarray(by_stage[(task, "condition")]["result"]["success"], float).mean(1)
        control_success = np.asarray(by_stage[(task, "nearest-checkpoint")]["result"]["success"], float).mean(1)
        rows_out.append(dict(
            task=task, conditions_succeeding=cond_success.mean(),
            nearest_of_task=(tasks[nearest] == task).mean(), own_nearest_of_task=(tasks[own_nearest] == task).mean(), nearest_run_position=position[nearest].mean(),
            nearest_own_success=ckpt_success[nearest].mean(),
            generated_after_success=generated_success[cond_success].mean() if cond_success.any() else np.nan,
            generated_after_failure=generated_success[~cond_success].mean() if (~cond_success).any() else np.nan,
            control_after_success=control_success[cond_success].mean() if cond_success.any() else np.nan,
            control_after_failure=control_success[~cond_success].mean() if (~cond_success).any() else np.nan))
    table = pd.DataFrame(rows_out).set_index("task")
    table.loc["mean over tasks"] = table.mean()
    print(table.round(2).to_string())


if __name__ == "__main__":
    main()
