import numpy as np
import pytest

from benchmark.envs import (
    ALL_TASKS,
    EVAL_CONFIGURATIONS,
    SEEN_TASKS,
    UNSEEN_TASKS,
    check_task,
    condition_configuration,
    expert_policy,
    initial_observation,
    make_env,
    train_configuration,
)
from benchmark.errors import UserError
from benchmark.rollout import rollout


def test_task_lists_are_the_papers():
    assert len(SEEN_TASKS) == 10 and len(UNSEEN_TASKS) == 9
    assert not set(SEEN_TASKS) & set(UNSEEN_TASKS)


def test_unknown_task_lists_valid_names():
    with pytest.raises(UserError, match="did you mean: reach") as info:
        check_task("reachh")
    assert "window-open" in str(info.value)


def test_same_configuration_same_start_and_same_rollout():
    a, b = make_env("door-open", 3), make_env("door-open", 3)
    expert = expert_policy("door-open")
    ta, tb = rollout(a, expert.get_action, max_steps=80), rollout(b, expert.get_action, max_steps=80)
    np.testing.assert_array_equal(ta.states, tb.states)
    np.testing.assert_array_equal(ta.rewards, tb.rewards)
    # every reset of one env returns to its configuration
    np.testing.assert_array_equal(np.float32(a.reset()[0]), tb.states[0])


@pytest.mark.parametrize("task", ["reach", "door-open", "window-close"])
def test_evaluation_configurations_differ_from_each_other_and_from_training(task):
    eval_starts = [initial_observation(task, c) for c in EVAL_CONFIGURATIONS]
    other = [initial_observation(task, train_configuration(s)) for s in range(10)]
    other += [initial_observation(task, condition_configuration(i)) for i in range(10)]
    for i, start in enumerate(eval_starts):
        for j, start2 in enumerate(eval_starts):
            if i != j:
                assert not np.allclose(start, start2)
        for start2 in other:
            assert not np.allclose(start, start2)


def test_all_tasks_build_and_their_experts_succeed():
    for task in ALL_TASKS[:4]:
        traj = rollout(make_env(task, EVAL_CONFIGURATIONS[0]), expert_policy(task).get_action, steps_after_success=0)
        assert traj.success, task


def test_domains_own_their_tasks():
    from benchmark.envs import DOMAINS, domain_of, get_domain

    assert set(DOMAINS) == {"metaworld", "robosuite"}
    assert domain_of("door-open") is get_domain("metaworld") and domain_of("Lift") is get_domain("robosuite")
    metaworld, robosuite = DOMAINS["metaworld"], DOMAINS["robosuite"]
    assert metaworld.tasks == ALL_TASKS and (metaworld.obs_dim, metaworld.act_dim) == (39, 4)
    assert metaworld.horizon("reach") == 500
    assert robosuite.tasks == ("Lift", "Door", "NutAssemblyRound") and (robosuite.obs_dim, robosuite.act_dim) == (23, 7)
    assert [robosuite.horizon(t) for t in robosuite.tasks] == [150, 300, 400]
    assert robosuite.robots == ("Panda", "Sawyer")
    with pytest.raises(UserError, match="unknown task 'lift' \\(did you mean: Lift"):
        domain_of("lift")
    with pytest.raises(UserError, match="unknown domain"):
        get_domain("mujoco")
