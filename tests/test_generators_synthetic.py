"""Synthetic zoos for the generators' unit tests (no physics: code under test here does not
step an environment), and a check that the synthetic tasks are what the tests assume.

Task k has its own goal in observation space and its own mean parameter vector; each row's
trajectory moves from a random start towards its task's goal (success once close), and its
parameters are the task mean plus row noise. So behaviour identifies the task, which is
what the embedding and nearest-checkpoint tests need.
"""
from __future__ import annotations

import numpy as np

from benchmark.policy import PolicySpec
from benchmark.zoo.format import PolicySet, Zoo

SMALL_SPEC = PolicySpec(obs_dim=39, act_dim=4, hidden=16)


def synthetic_policy_set(tasks, per_task: int, spec: PolicySpec = SMALL_SPEC, horizon: int = 80,
                         seed: int = 0, task_seed: int = 1234) -> PolicySet:
    """`per_task` rows for each task name; task identities come from `task_seed` only, so
    sets drawn with different `seed`s share their tasks."""
    task_rng = np.random.default_rng(task_seed)
    goals = {t: task_rng.uniform(-1, 1, spec.obs_dim) for t in sorted(tasks)}
    means = {t: task_rng.normal(0, 0.3, spec.n_params) for t in sorted(tasks)}
    rng = np.random.default_rng(seed)
    rows = []
    for task in tasks:
        for i in range(per_task):
            start = goals[task] + rng.normal(0, 0.6, spec.obs_dim)
            alpha = 1 - np.exp(-np.arange(horizon) / rng.uniform(8, 20))
            states = start + alpha[:, None] * (goals[task] - start) + rng.normal(0, 0.02, (horizon, spec.obs_dim))
            actions = np.tanh(np.diff(states[:, :spec.act_dim], axis=0, append=states[-1:, :spec.act_dim]) * 20)
            success = (np.linalg.norm(states - goals[task], axis=1) < 0.3 * np.sqrt(spec.obs_dim) * 0.6).astype(np.uint8)
            length = horizon if not success.any() else min(horizon, int(success.argmax()) + 5)
            rows.append(dict(params=means[task] + rng.normal(0, 0.05, spec.n_params), states=states,
                             actions=actions, successes=success, length=length, task=task, i=i))
    n = len(rows)
    out = PolicySet(
        params=np.stack([r["params"] for r in rows]).astype(np.float32),
        states=np.stack([r["states"] for r in rows]).astype(np.float32),
        actions=np.stack([r["actions"] for r in rows]).astype(np.float32),
        rewards=np.zeros((n, horizon), np.float32),
        successes=np.stack([r["successes"] for r in rows]),
        lengths=np.array([r["length"] for r in rows], np.int32),
        records=[dict(task=r["task"], source="synthetic", run_seed=r["i"], configuration=r["i"], step=0,
                      success=float(r["successes"].any()), first_success_step=None) for r in rows],
    )
    for k in range(n):  # zero the steps past each length, as the zoo format stores them
        out.states[k, out.lengths[k]:] = 0
        out.actions[k, out.lengths[k]:] = 0
        out.successes[k, out.lengths[k]:] = 0
    return out


def synthetic_zoo(tasks=("task-a", "task-b", "task-c"), per_task: int = 24, spec: PolicySpec = SMALL_SPEC,
                  seed: int = 0) -> Zoo:
    checkpoints = synthetic_policy_set(tasks, per_task, spec, seed=seed)
    conditions = synthetic_policy_set(tasks, 4, spec, seed=seed + 1)
    manifest = {"zoo_id": f"synthetic-{seed}", "tasks": list(tasks), "policy_spec": spec.to_dict()}
    return Zoo(root=None, manifest=manifest, spec=spec, checkpoints=checkpoints, conditions=conditions)


def test_synthetic_tasks_are_separable_and_valid():
    from benchmark.zoo.format import validate_policy_set

    zoo = synthetic_zoo()
    data = zoo.checkpoints
    validate_policy_set(data.arrays(), data.records, zoo.spec, "synthetic")
    assert (data.first_success_steps >= 0).mean() > 0.5
    tasks = data.tasks
    # parameters of one task are closer to each other than to another task's
    a, b = data.params[tasks == "task-a"], data.params[tasks == "task-b"]
    assert np.linalg.norm(a[0] - a[1]) < np.linalg.norm(a[0] - b[0])
