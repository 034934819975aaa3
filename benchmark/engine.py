"""The evaluation engine: every proposed policy rolled out in the task's evaluation configurations.

Policies of the shared family are stepped in lockstep: a batch of B policies x C
configurations runs as B*C envs whose actions come from one batched numpy forward
(`BatchedPolicies`). Other policies go through the generic path: an actor built for the
batch maps the (B*C, obs_dim) observations to actions. Envs are built once per
(task, robot, configuration) in each process and reused (a MetaWorld reset restores the
configuration exactly), so a worker pays the 0.1-0.2 s construction only once; a domain whose
envs are `reconfigurable` (Robosuite, 1-3.5 s a build) keeps one pool per (task, robot) and
reassigns the envs' configurations instead.

Success is `info['success']` at any step; an episode stops at its first success when
`stop_at_success` (the outcome is the same) or after `max_steps` (default: the task's
horizon, from its domain). The engine computes no metric: it returns one record per episode
and, for a few policies, the full trajectory.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from benchmark.envs import domain_of, make_env
from benchmark.policy import BatchedPolicies

_ENV_POOL: dict[tuple[str, str | None, int | None], list] = defaultdict(list)
"""Envs by (task, robot, configuration); configuration None for a reconfigurable domain."""


def _pooled(task: str, robot: str | None, configuration: int, count: int, key: int | None) -> list:
    pool = _ENV_POOL[(task, robot, key)]
    while len(pool) < count:
        pool.append(make_env(task, configuration, robot))
    return pool[:count]


def env_rows(task: str, robot: str | None, configurations: tuple[int, ...], count: int) -> list:
    """count x len(configurations) distinct envs grouped by configuration
    ([count of configurations[0], count of configurations[1], ...]), each set to its own."""
    if domain_of(task).reconfigurable:
        envs = _pooled(task, robot, configurations[0], count * len(configurations), None)
        for i, env in enumerate(envs):
            env.configuration = configurations[i // count]
        return envs
    return [env for c in configurations for env in _pooled(task, robot, c, count, c)]


@dataclass
class EpisodeBatchResult:
    """Outcomes of E episodes: arrays of shape (E,) and, for kept rows, states (T, obs)."""

    policy_id: np.ndarray
    config_index: np.ndarray
    success: np.ndarray
    first_success_step: np.ndarray
    episode_return: np.ndarray
    length: np.ndarray
    kept_states: dict

    def success_matrix(self) -> np.ndarray:
        """(n_policies, n_configurations) bool: each policy's success in each configuration
        (every policy runs once in every configuration, so the indices fill the matrix)."""
        success = np.zeros((self.policy_id.max() + 1, self.config_index.max() + 1), bool)
        success[self.policy_id, self.config_index] = self.success
        return success


def evaluate(task: str, configurations: tuple[int, ...], n_policies: int, *, params=None, spec=None,
             make_actor=None, robot: str | None = None, max_steps: int | None = None,
             stop_at_success: bool = True, policies_per_batch: int = 2,
             keep_trajectories_of: tuple[int, ...] = ()) -> EpisodeBatchResult:
    """Roll out `n_policies` policies in every configuration, on `robot` (None: the domain's
    default) for at most `max_steps` (None: the task's horizon).

    Either `params` (n_policies, spec.n_params) of the shared family, or `make_actor(ids)`
    returning an object with `act(obs (B, obs_dim)) -> (B, act_dim)` for rows of policy ids.
    `keep_trajectories_of`: policy ids whose episode in configurations[0] is kept in full.
    `policies_per_batch`: policies stepped in lockstep, each in every configuration (the
    profiles' default, 2 x 5 envs; a Robosuite env holds ~250 MB, and 8 x 5 ran a worker out of memory).
    """
    if (params is None) == (make_actor is None):
        raise ValueError("give exactly one of params or make_actor")
    if max_steps is None:
        max_steps = domain_of(task).horizon(task)
    n_configs = len(configurations)
    out = defaultdict(list)
    kept = {}
    for start in range(0, n_policies, policies_per_batch):
        ids = np.arange(start, min(start + policies_per_batch, n_policies))
        row_policy = np.repeat(ids, n_configs)                    # (E,) policy of each env row
        row_config = np.tile(np.arange(n_configs), len(ids))      # (E,) configuration index
        if params is not None:
            actor = BatchedPolicies(np.asarray(params)[row_policy], spec)
        else:
            actor = make_actor(row_policy)
        envs = env_rows(task, robot, tuple(configurations), len(ids))
        # envs are grouped by configuration; reorder to match the (policy, config) rows
        env_of_row = [envs[c * len(ids) + i] for i in range(len(ids)) for c in range(n_configs)]
        result = _run_lockstep(env_of_row, actor, params is not None, max_steps, stop_at_success,
                               keep_rows=[r for r in range(len(row_policy))
                                          if row_config[r] == 0 and row_policy[r] in keep_trajectories_of])
        for key, values in result[0].items():
            out[key].append(values)
        for row, states in result[1].items():
            kept[int(row_policy[row])] = states
        out["policy_id"].append(row_policy)
        out["config_index"].append(row_config)
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    return EpisodeBatchResult(policy_id=arrays["policy_id"], config_index=arrays["config_index"],
                              success=arrays["success"], first_success_step=arrays["first_success_step"],
                              episode_return=arrays["return"], length=arrays["length"], kept_states=kept)


def _run_lockstep(envs, actor, droppable: bool, max_steps, stop_at_success, keep_rows):
    """Step E envs together. Family policies drop finished rows from the forward; generic
    actors always see all E rows (finished rows repeat their last observation)."""
    n = len(envs)
    obs = np.stack([env.reset()[0] for env in envs]).astype(np.float32)
    active = np.ones(n, bool)
    first_success = np.full(n, -1, np.int64)
    returns = np.zeros(n)
    lengths = np.zeros(n, np.int64)
    trajectories = {r: [obs[r].copy()] for r in keep_rows}
    policy = actor
    policy_rows = np.arange(n)
    for t in range(max_steps):
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        if droppable:
            if len(rows) != len(policy_rows):
                policy = actor.select(rows)
                policy_rows = rows
            actions = np.clip(policy.act(obs[rows]), -1.0, 1.0)
        else:
            actions = np.clip(np.asarray(actor.act(obs), dtype=np.float32), -1.0, 1.0)[rows]
        for action, r in zip(actions, rows):
            next_obs, reward, _, truncated, info = envs[r].step(action)
            obs[r] = next_obs
            returns[r] += reward
            lengths[r] = t + 1
            if info["success"] and first_success[r] < 0:
                first_success[r] = t
            if r in trajectories:
                trajectories[r].append(obs[r].copy())
            if (stop_at_success and first_success[r] >= 0) or truncated:
                active[r] = False
    results = dict(success=first_success >= 0, first_success_step=first_success, **{"return": returns},
                   length=lengths)
    return results, {r: np.stack(s[:-1] if len(s) > lengths[r] else s) for r, s in trajectories.items()}
