"""The interface every domain implements: a set of tasks, each with an env per
(task, configuration, robot), a scripted expert, an observation/action spec, a horizon and
a success test.

An env of any domain presents the interface `benchmark.rollout` and `benchmark.engine`
use: `reset() -> (obs, info)` restores the env's configuration exactly;
`step(action) -> (obs, reward, terminated, truncated, info)` with `info["success"]`
(0.0/1.0, not latched) and `truncated` true at the task's horizon; `max_path_length` is the
horizon. Observations are float vectors of `obs_dim`, actions lie in [-1, 1]^act_dim.
A scripted expert has `get_action(obs) -> action` and reads nothing but `obs`, so it can
relabel any visited state (DAgger).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from benchmark.errors import UserError, unknown


class Domain(ABC):
    """One simulator family (MetaWorld, Robosuite, ...) and its tasks."""

    name: str
    tasks: tuple[str, ...]
    seen_tasks: tuple[str, ...]
    """Tasks with zoo checkpoints in the paper's split (what a zoo's `seen_tasks: all` means)."""
    unseen_tasks: tuple[str, ...]
    """Tasks with condition trajectories only in the paper's split."""
    robots: tuple[str, ...]      # robots an env can be built for; robots[0] is the default
    obs_dim: int
    act_dim: int
    reward_max: float
    """Largest dense reward of one step (methods scale rewards and success values by it)."""
    step_cost_s: float
    """Measured CPU seconds of one env step with a policy (plan's cost estimates)."""
    reconfigurable: bool
    """Whether an env's `configuration` attribute may be reassigned between episodes (the next
    reset then gives that configuration exactly): the engine then reuses envs across
    configurations instead of building one per configuration."""
    task_versions: dict[str, int] = {}
    """Tasks whose observation or scripted expert changed after their first zoos were built ->
    its version; a zoo's id includes the versions of its tasks, so an older zoo is never reused."""

    @property
    def default_robot(self) -> str:
        return self.robots[0]

    def check_task(self, task: str) -> str:
        if task not in self.tasks:
            raise unknown(f"{self.name} task", task, self.tasks)
        return task

    def check_robot(self, robot: str | None) -> str:
        """`robot` (None means the default) if this domain has it, else a one-line UserError."""
        if robot is None:
            return self.default_robot
        if robot not in self.robots:
            raise unknown(f"{self.name} robot", robot, self.robots)
        return robot

    @abstractmethod
    def horizon(self, task: str) -> int:
        """Episode length limit of `task` (its envs truncate there)."""

    @abstractmethod
    def make_env(self, task: str, configuration: int, robot: str | None = None):
        """An env of `task` whose every reset gives the initial state of `configuration`."""

    @abstractmethod
    def expert_policy(self, task: str, robot: str | None = None):
        """The scripted expert of `task`: an object with `get_action(obs)`."""

    def success(self, info: dict) -> bool:
        """Whether the step that returned `info` is a success."""
        return bool(info["success"])

    def __repr__(self) -> str:
        return f"<domain {self.name}: {len(self.tasks)} tasks, robots {', '.join(self.robots)}>"


__all__ = ["Domain", "UserError"]
