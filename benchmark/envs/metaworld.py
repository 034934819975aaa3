"""The MetaWorld domain: MetaWorld v3 tasks by name, each built with a fixed initial
configuration per seed.

A *configuration* is the integer seed handed to the MetaWorld constructor: it fixes the
object and goal positions of every reset of that env (`reset(seed=)` is ignored by
MetaWorld, so the seed must go to the constructor). Configuration seeds live in disjoint
ranges so that no evaluation configuration is ever used by training data:

- zoo training runs use `train_configuration(run_seed)`        -> 0 .. 99_999
- condition trajectories of unseen tasks use `condition_configuration(i)` -> 100_000 + i
- evaluation uses `EVAL_CONFIGURATIONS` (5 per task)          -> 1_000_000 .. 1_000_004
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from benchmark.envs.base import Domain
from benchmark.errors import unknown

SEEN_TASKS: tuple[str, ...] = (
    "window-open", "door-open", "drawer-open", "dial-turn", "faucet-close",
    "button-press", "door-unlock", "handle-press", "plate-slide", "reach",
)
UNSEEN_TASKS: tuple[str, ...] = (
    "window-close", "door-close", "drawer-close", "faucet-open", "button-press-wall",
    "door-lock", "handle-press-side", "coffee-button", "reach-wall",
)
ALL_TASKS: tuple[str, ...] = SEEN_TASKS + UNSEEN_TASKS

OBS_DIM = 39
ACT_DIM = 4
MAX_EPISODE_STEPS = 500

TRAIN_CONFIGURATION_BASE = 0
CONDITION_CONFIGURATION_BASE = 100_000
EVAL_CONFIGURATION_BASE = 1_000_000
EVAL_CONFIGURATIONS: tuple[int, ...] = tuple(EVAL_CONFIGURATION_BASE + i for i in range(5))


def check_task(task: str) -> str:
    """Return `task` if it is one of the 19 benchmark tasks, else raise a UserError listing them."""
    if task not in ALL_TASKS:
        raise unknown("task", task, ALL_TASKS)
    return task


def train_configuration(run_seed: int) -> int:
    """Configuration of zoo training run `run_seed` (its condition trajectories share it)."""
    if not 0 <= run_seed < CONDITION_CONFIGURATION_BASE:
        raise ValueError(f"run seed {run_seed} outside [0, {CONDITION_CONFIGURATION_BASE})")
    return TRAIN_CONFIGURATION_BASE + run_seed


def condition_configuration(index: int) -> int:
    """Configuration of the `index`-th condition-trajectory run of an unseen task."""
    if not 0 <= index < EVAL_CONFIGURATION_BASE - CONDITION_CONFIGURATION_BASE:
        raise ValueError(f"condition index {index} out of range")
    return CONDITION_CONFIGURATION_BASE + index


@functools.lru_cache(maxsize=None)
def _env_class(task: str):
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

    return ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-v3-goal-observable"]


def make_env(task: str, configuration: int):
    """A MetaWorld v3 env of `task` whose every reset gives the same initial configuration.

    The env is the goal-observable MetaWorld class itself (no gymnasium wrappers, so no env
    checker). It cannot be pickled: build it inside the process that steps it.
    """
    check_task(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = _env_class(task)(seed=int(configuration))
    env.max_path_length = MAX_EPISODE_STEPS
    return env


def expert_policy(task: str):
    """MetaWorld's scripted expert for `task` (an object with `get_action(obs)`)."""
    from metaworld.policies import ENV_POLICY_MAP

    return ENV_POLICY_MAP[f"{check_task(task)}-v3"]()


def initial_observation(task: str, configuration: int) -> np.ndarray:
    """The first observation of `task` in `configuration`, shape (OBS_DIM,)."""
    obs, _ = make_env(task, configuration).reset()
    return np.asarray(obs, dtype=np.float32)


class MetaWorldDomain(Domain):
    """The paper's 19 MetaWorld v3 tasks (one robot, MetaWorld's Sawyer), horizon 500."""

    name = "metaworld"
    tasks = ALL_TASKS
    seen_tasks = SEEN_TASKS
    unseen_tasks = UNSEEN_TASKS
    robots = ("Sawyer",)
    obs_dim = OBS_DIM
    act_dim = ACT_DIM
    reward_max = 10.0           # MetaWorld v3's dense reward lies in [0, 10]
    step_cost_s = 350e-6        # measured (scripts/bench_engine.py)
    reconfigurable = False      # the configuration is the constructor seed

    def check_task(self, task: str) -> str:
        return check_task(task)

    def horizon(self, task: str) -> int:
        check_task(task)
        return MAX_EPISODE_STEPS

    def make_env(self, task: str, configuration: int, robot: str | None = None):
        self.check_robot(robot)
        return make_env(task, configuration)

    def expert_policy(self, task: str, robot: str | None = None):
        self.check_robot(robot)
        return expert_policy(task)


DOMAIN = MetaWorldDomain()
