"""A small synthetic zoo for the baselines' unit tests (no physics needed there).

Each task has its own fixed linear expert a = tanh(W_task s) and a dense reward that is high
when the action matches the expert; trajectories are random walks of states. Real MetaWorld
data is used by tests/test_baselines_metaworld.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.policy import METAWORLD_SPEC, GaussianActor
from benchmark.zoo.format import PolicySet, Zoo


def synthetic_set(tasks, per_task: int, horizon: int, seed: int, success_rate: float = 1.0) -> PolicySet:
    rng = np.random.default_rng(seed)
    spec = METAWORLD_SPEC
    experts = {t: np.random.default_rng(1000 + i).normal(0, 0.3, (spec.act_dim, spec.obs_dim))
               for i, t in enumerate(sorted(tasks))}
    n = len(tasks) * per_task
    states = np.zeros((n, horizon, spec.obs_dim), np.float32)
    actions = np.zeros((n, horizon, spec.act_dim), np.float32)
    rewards = np.zeros((n, horizon), np.float32)
    successes = np.zeros((n, horizon), np.uint8)
    lengths = rng.integers(horizon // 2, horizon + 1, size=n).astype(np.int32)
    params, records = [], []
    for row in range(n):
        task = tasks[row // per_task]
        s = rng.normal(0, 1, spec.obs_dim)
        for t in range(lengths[row]):
            a = np.tanh(experts[task] @ s) + rng.normal(0, 0.05, spec.act_dim)
            states[row, t] = s
            actions[row, t] = np.clip(a, -1, 1)
            rewards[row, t] = 10 - np.abs(a - np.tanh(experts[task] @ s)).sum()
            s = 0.9 * s + rng.normal(0, 0.3, spec.obs_dim)
        succeeded = rng.random() < success_rate
        if succeeded:
            successes[row, lengths[row] - 2:lengths[row]] = 1
        params.append(GaussianActor(spec).flat_parameters())
        records.append({"task": task, "source": "synthetic", "run_seed": row, "configuration": row, "step": 0,
                        "success": float(succeeded), "first_success_step": int(lengths[row] - 2) if succeeded else None})
    return PolicySet(np.stack(params), states, actions, rewards, successes, lengths, records)


def synthetic_zoo(seed: int = 0, per_task: int = 12, horizon: int = 30) -> Zoo:
    tasks = ["reach", "button-press"]
    checkpoints = synthetic_set(tasks, per_task, horizon, seed)
    conditions = synthetic_set(tasks + ["reach-wall"], 4, horizon, seed + 1, success_rate=0.5)
    manifest = {"zoo_id": "synthetic", "tasks": tasks, "policy_spec": METAWORLD_SPEC.to_dict()}
    return Zoo(root=Path("."), manifest=manifest, spec=METAWORLD_SPEC, checkpoints=checkpoints, conditions=conditions)
