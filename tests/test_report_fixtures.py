"""A small stored run written by hand, for the table and figure tests.

Analysis code reads only stored files and does not care about physics, so the episodes here
are drawn from a seeded random generator, not simulated.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.data import load_run

OBS_DIM = 39
ZOO_ID = "smoke-fixture"
ACTOR_METHODS = ("care", "dt", "expert", "random")
"""Methods whose proposals are not parameter vectors (ActorProposal): no similarity or novelty."""
NOVELTY_REFERENCE = {"within_run_raw": 0.2, "within_run_aligned": 0.1, "between_run_raw": 0.9,
                     "between_run_aligned": 0.5, "action_gap_between_runs": 0.2}


def write_fake_run(
    root: Path, *, tasks=("reach", "window-close"), methods=("make-an-agent", "mtbc"),
    n_trajs=(5, 10), settings=("clean",), seeds=(0, 1), n_policies=6, n_configs=5,
    trajectories: bool = True, failed_cells: int = 0, profile: str = "smoke", rng_seed: int = 0,
    robot: str | None = None, novelty: bool = False, novelty_reference: bool = True,
    recorded_methods: dict | None = None,
) -> Path:
    """Write run.json, cells/, episodes.parquet, policies.parquet (and trajectories/) under root;
    `robot` goes into every cell's config, as a Robosuite suite's cells carry it. With `novelty`
    the policy table carries the novelty columns (NaN for ACTOR_METHODS) and, with
    `novelty_reference`, run.json the zoo's train-to-train reference (NOVELTY_REFERENCE);
    `recorded_methods` is written as run.json's "methods" (name -> changed_from_preset, ...)."""
    rng = np.random.default_rng(rng_seed)
    novelty_rng = np.random.default_rng(rng_seed + 1000)  # apart, so the episodes do not depend on it
    root.mkdir(parents=True, exist_ok=True)
    (root / "cells").mkdir(exist_ok=True)
    episodes, policies = [], []
    grid = list(itertools.product(methods, tasks, n_trajs, settings, seeds))
    for index, (method, task, n_traj, setting, seed) in enumerate(grid):
        cell_id = f"{root.name}-{index:03d}"
        config = {"suite": "fixture", "method": method, "task": task, "n_traj": n_traj,
                  "setting": setting, "seed": seed, "profile": profile}
        if robot is not None:
            config["robot"] = robot
        failed = index < failed_cells
        (root / "cells" / f"{cell_id}.json").write_text(json.dumps({
            "cell_id": cell_id, "status": "failed" if failed else "ok",
            "error": "Traceback: boom" if failed else None, "config": {**config, "zoo_id": ZOO_ID},
            "timings": {"train_cpu_s": 100.0 * (1 + len(method)), "propose_s": 2.0,
                        "eval_cpu_s": 30.0 + rng.random(), "env_steps": 10_000},
            "provenance": {},
        }))
        if failed:
            continue
        skill = rng.random(n_policies)
        for pid in range(n_policies):
            for ci in range(n_configs):
                success = bool(rng.random() < skill[pid])
                step = int(rng.integers(30, 400)) if success else -1
                episodes.append({**config, "cell_id": cell_id, "policy_id": pid,
                                 "configuration": 1_000_000 + ci, "config_index": ci,
                                 "success": success, "first_success_step": step,
                                 "return": float(rng.random() * 100), "length": step + 1 if success else 500})
            actor = method.split("[")[0] in ACTOR_METHODS
            policy = {**config, "cell_id": cell_id, "policy_id": pid, "condition_row": pid % n_traj,
                      "cos_condition": float(rng.uniform(0.5, 1.0)),
                      "cos_nearest_checkpoint": float(rng.uniform(0.7, 1.0)),
                      "nearest_checkpoint": int(rng.integers(0, 50)),
                      "condition_first_success_step": int(rng.choice([-1, 80, 150, 300]))}
            if actor:
                policy.update(cos_condition=np.nan, cos_nearest_checkpoint=np.nan, nearest_checkpoint=-1)
            if novelty:
                raw = float(novelty_rng.uniform(0.3, 1.2))
                policy.update(l2_nearest_checkpoint=np.nan if actor else raw,
                              aligned_l2_nearest_checkpoint=np.nan if actor else raw * float(novelty_rng.uniform(0.4, 0.9)),
                              aligned_nearest_checkpoint=-1 if actor else int(novelty_rng.integers(0, 50)),
                              action_gap_nearest_checkpoint=np.nan if actor else float(novelty_rng.uniform(0.01, 0.3)))
            policies.append(policy)
        if trajectories:
            _write_trajectories(root / "trajectories" / f"{cell_id}.safetensors", rng, n_policies)
    for frame, name in ((episodes, "episodes"), (policies, "policies")):
        pd.DataFrame(frame).to_parquet(root / f"{name}.parquet", index=False)
    (root / "run.json").write_text(json.dumps({
        "suite": "fixture", "profile": profile, "command": "python -m benchmark run --suite fixture",
        "machine": "test", "wall_s_last_invocation": 1.0, "n_configurations": n_configs,
        "reductions": ["fewer tasks", "fewer policies per cell"],
        "zoos": {ZOO_ID: {"code_version": "abc123", "machine": "zoo-machine", "created": "2026-01-01"}},
        **({"novelty_reference": {ZOO_ID: NOVELTY_REFERENCE}} if novelty and novelty_reference else {}),
        **({"methods": recorded_methods} if recorded_methods is not None else {})}))
    return root


def _write_trajectories(path: Path, rng, k: int) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(exist_ok=True)
    t = 60

    def paths(n):
        start = rng.normal(0, 0.05, (n, 1, OBS_DIM))
        drift = rng.normal(0, 0.01, (n, t, OBS_DIM)).cumsum(axis=1)
        return (start + drift).astype(np.float32)

    save_file({"states": paths(k), "lengths": rng.integers(20, t + 1, k).astype(np.int64),
               "condition_states": paths(2), "condition_lengths": np.array([t, t - 10], dtype=np.int64)},
              str(path))


def write_fake_diagnosis(root: Path, *, tasks=("reach", "door-open"), seeds=(0, 1), rng_seed: int = 0) -> Path:
    """Write run.json, diagnosis.csv and models.json of a `diagnose` run under root: every stage
    per task and seed, the checkpoints once (they do not depend on the training seed)."""
    from benchmark.diagnose import DIAGNOSIS_FORMAT, STAGES

    rng = np.random.default_rng(rng_seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = [{"task": task, "stage": stage, "seed": seed, "n_policies": 20, "mean": float(rng.random()),
             "top5": float(rng.random()), "qualified": 0.0,
             "relative_error": float(rng.random() / 10) if stage == "reconstruction" else np.nan}
            for task in tasks for stage in STAGES for seed in (seeds[:1] if stage == "checkpoint" else seeds)]
    pd.DataFrame(rows).to_csv(root / "diagnosis.csv", index=False)
    history = {"autoencoder": [0.1, 0.05], "autoencoder_heldout": [0.12, 0.06], "diffusion": [0.3, 0.1]}
    (root / "models.json").write_text(json.dumps({str(seed): {
        "model": f"make-an-agent-{seed}", "train_cpu_s": 10.0,
        "diagnostics": {"n_checkpoints": 40, "reconstruction_rel_error": 0.06, "history": history}}
        for seed in seeds}))
    (root / "run.json").write_text(json.dumps({
        "format": DIAGNOSIS_FORMAT, "command": "python -m benchmark diagnose --profile smoke",
        "method": "make-an-agent", "profile": "smoke", "profile_description": "CI", "zoo_id": "smoke-0",
        "policies": 20, "n_configurations": 5, "seeds": len(seeds), "wall_s_last_invocation": 1.0,
        "provenance": {"code_version": "tests", "machine": "test"}}))
    return root


def test_fixture_is_a_loadable_run(tmp_path):
    data = load_run(write_fake_run(tmp_path / "run", failed_cells=1))
    assert len(data.summary) == 2 * 2 * 2 * 1 * 2
    assert (data.summary["status"] == "failed").sum() == 1
    assert data.seeds == [0, 1] and data.n_configurations == 5
    assert data.policies is not None and set(data.policies["method"]) == {"make-an-agent", "mtbc"}
