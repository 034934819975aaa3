"""The fixed-size trajectory features Make-An-Agent's embedding reads (and the release stores).

- trajectory features (for h): the first `n_steps` steps as `n_steps // group` groups of
  [state_t, action_t, ..., action_{t+group-1}]; for MetaWorld with n_steps=60, group=3:
  20 groups of 39 + 3*4 = 51 numbers -> 1,020 (the release's `traj`).
- success features (for v): `m` consecutive states starting at the first successful step
  (3*39 = 117, the release's `task`). A trajectory that never succeeds has no such states;
  it falls back to its last `m` valid states, and callers can tell from `first_success`.

Steps beyond a trajectory's length repeat its last valid state and use zero actions, so
short (early-success) trajectories still give full-size features.
"""
from __future__ import annotations

import numpy as np


def _padded_steps(states, actions, lengths, n_steps):
    """states (N, n_steps, obs) and actions (N, n_steps, act), padded past each length."""
    n, horizon = states.shape[:2]
    index = np.minimum(np.arange(n_steps)[None, :], np.asarray(lengths)[:, None] - 1)
    rows = np.arange(n)[:, None]
    valid = np.arange(n_steps)[None, :] < np.asarray(lengths)[:, None]
    index = np.minimum(index, horizon - 1)
    padded_states = states[rows, index]
    padded_actions = np.where(valid[..., None], actions[rows, index], 0.0)
    return padded_states, padded_actions


def trajectory_features(states, actions, lengths, n_steps: int = 60, group: int = 3) -> np.ndarray:
    """(N, (n_steps // group) * (obs + group * act)) float32 features of the first n_steps.

    states (N, T, obs), actions (N, T, act), lengths (N,).
    """
    if n_steps % group:
        raise ValueError(f"n_steps={n_steps} must be a multiple of group={group}")
    states = np.asarray(states, np.float32)
    actions = np.asarray(actions, np.float32)
    padded_states, padded_actions = _padded_steps(states, actions, lengths, n_steps)
    n, _, obs_dim = padded_states.shape
    groups = n_steps // group
    first_states = padded_states[:, ::group]                                   # (N, G, obs)
    grouped_actions = padded_actions.reshape(n, groups, group * actions.shape[-1])
    return np.concatenate([first_states, grouped_actions], axis=-1).reshape(n, -1).astype(np.float32)


def success_features(states, successes, lengths, m: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, m * obs) float32, first_success (N,) int, -1 where none).

    The m states from the first successful step on (clipped to the trajectory's length);
    without success, the last m valid states.
    """
    states = np.asarray(states, np.float32)
    lengths = np.asarray(lengths)
    hit = np.asarray(successes).astype(bool) & (np.arange(states.shape[1])[None, :] < lengths[:, None])
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
    start = np.where(first >= 0, first, np.maximum(lengths - m, 0))
    index = np.minimum(start[:, None] + np.arange(m)[None, :], lengths[:, None] - 1)
    picked = states[np.arange(len(states))[:, None], index]                    # (N, m, obs)
    return picked.reshape(len(states), -1), first
