"""Tasks by domain. Each domain (`benchmark.envs.metaworld`, `benchmark.envs.robosuite`)
implements `benchmark.envs.base.Domain`: envs per (task, configuration, robot), the scripted
expert, the observation/action spec, the horizon and success. A task name belongs to exactly
one domain (`domain_of`).

The names below the MetaWorld import are the MetaWorld domain's, as before the split
(SEEN_TASKS, UNSEEN_TASKS, ALL_TASKS, OBS_DIM, ACT_DIM, MAX_EPISODE_STEPS, check_task, the
configuration ranges, ...): the suites, zoo and methods that use them see MetaWorld exactly
as they did. `make_env`, `expert_policy` and `initial_observation` take any domain's task
and behave as before for MetaWorld tasks.

Configuration seeds live in the same disjoint ranges in every domain (see
`benchmark.envs.metaworld`): zoo training 0 .. 99_999, condition trajectories 100_000 + i,
evaluation 1_000_000 .. 1_000_004.
"""
from __future__ import annotations

import numpy as np

from benchmark.envs import metaworld as _metaworld
from benchmark.envs import robosuite as _robosuite
from benchmark.envs.base import Domain
from benchmark.envs.metaworld import (  # noqa: F401
    ACT_DIM,
    ALL_TASKS,
    CONDITION_CONFIGURATION_BASE,
    EVAL_CONFIGURATION_BASE,
    EVAL_CONFIGURATIONS,
    MAX_EPISODE_STEPS,
    OBS_DIM,
    SEEN_TASKS,
    TRAIN_CONFIGURATION_BASE,
    UNSEEN_TASKS,
    check_task,
    condition_configuration,
    train_configuration,
)
from benchmark.errors import unknown

DOMAINS: dict[str, Domain] = {d.name: d for d in (_metaworld.DOMAIN, _robosuite.DOMAIN)}
_TASK_DOMAIN: dict[str, Domain] = {task: d for d in DOMAINS.values() for task in d.tasks}
assert len(_TASK_DOMAIN) == sum(len(d.tasks) for d in DOMAINS.values()), "a task name in two domains"


def get_domain(name: str) -> Domain:
    """The domain called `name`, else a one-line UserError listing the domains."""
    if name not in DOMAINS:
        raise unknown("domain", name, DOMAINS)
    return DOMAINS[name]


def domain_of(task: str) -> Domain:
    """The domain `task` belongs to, else a one-line UserError listing every domain's tasks."""
    if task not in _TASK_DOMAIN:
        raise unknown("task", task, _TASK_DOMAIN)
    return _TASK_DOMAIN[task]


def make_env(task: str, configuration: int, robot: str | None = None):
    """An env of `task` (any domain) whose every reset gives `configuration`'s initial state.
    `robot` None is the domain's default robot (MetaWorld: its Sawyer; Robosuite: Panda)."""
    return domain_of(task).make_env(task, configuration, robot)


def expert_policy(task: str, robot: str | None = None):
    """The scripted expert of `task` (an object with `get_action(obs)`)."""
    return domain_of(task).expert_policy(task, robot)


def initial_observation(task: str, configuration: int, robot: str | None = None) -> np.ndarray:
    """The first observation of `task` in `configuration`, shape (obs_dim,)."""
    obs, _ = make_env(task, configuration, robot).reset()
    return np.asarray(obs, dtype=np.float32)
