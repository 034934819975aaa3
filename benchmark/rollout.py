"""Single-env rollouts that record what the zoo stores (states, actions, rewards, successes)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Trajectory:
    """One episode. states (L, obs), actions (L, act), rewards (L,), successes (L,) uint8;
    states[t] is the observation the action at t was taken in."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    successes: np.ndarray

    @property
    def length(self) -> int:
        return len(self.states)

    @property
    def first_success_step(self) -> int:
        """Index of the first successful step, -1 if none."""
        hit = np.flatnonzero(self.successes)
        return int(hit[0]) if len(hit) else -1

    @property
    def success(self) -> bool:
        return self.first_success_step >= 0


def rollout(env, act, max_steps: int | None = None, steps_after_success: int | None = None,
            min_steps: int = 0) -> Trajectory:
    """Run `act(obs) -> action` from a reset of `env`.

    Stops after `max_steps` (default: the env's horizon, `env.max_path_length`), or `steps_after_success` steps after the first success when
    given (the zoo keeps only that much: the methods read the first steps and the states
    right after success), but never before `min_steps` steps (so a window of that many steps
    is never padding).
    """
    max_steps = env.max_path_length if max_steps is None else max_steps
    obs, _ = env.reset()
    states, actions, rewards, successes = [], [], [], []
    stop_at = max_steps
    for t in range(max_steps):
        states.append(np.array(obs, dtype=np.float32))  # a copy: some experts edit obs in place
        action = np.clip(np.asarray(act(obs), dtype=np.float32), -1.0, 1.0)
        next_obs, reward, _, truncated, info = env.step(action)
        actions.append(action)
        rewards.append(reward)
        success = bool(info["success"])
        successes.append(success)
        if success and steps_after_success is not None and stop_at == max_steps:
            stop_at = min(max_steps, max(min_steps, t + 1 + steps_after_success))
        obs = next_obs
        if t + 1 >= stop_at or truncated:
            break
    return Trajectory(
        states=np.asarray(states, np.float32), actions=np.asarray(actions, np.float32),
        rewards=np.asarray(rewards, np.float32), successes=np.asarray(successes, np.uint8),
    )


def trajectories_to_arrays(trajectories: list[Trajectory], spec) -> dict[str, np.ndarray]:
    """Stack trajectories into the zoo's padded arrays (see benchmark.zoo.format)."""
    horizon = max((t.length for t in trajectories), default=1)
    n = len(trajectories)
    out = {
        "states": np.zeros((n, horizon, spec.obs_dim), np.float32),
        "actions": np.zeros((n, horizon, spec.act_dim), np.float32),
        "rewards": np.zeros((n, horizon), np.float32),
        "successes": np.zeros((n, horizon), np.uint8),
        "lengths": np.array([t.length for t in trajectories], np.int32).reshape(n),
    }
    for i, t in enumerate(trajectories):
        out["states"][i, :t.length] = t.states
        out["actions"][i, :t.length] = t.actions
        out["rewards"][i, :t.length] = t.rewards
        out["successes"][i, :t.length] = t.successes
    return out
