"""The Robosuite domain on real robosuite 1.5.2: experts, the env wrapper against a plain
robosuite loop, the Sawyer joint-0 fix, and name errors. Envs are built once per
(task, robot) and reseeded in place between configurations (a build costs 1-3.5 s)."""
import functools

import numpy as np
import pytest

from benchmark.envs import (
    EVAL_CONFIGURATIONS,
    condition_configuration,
    domain_of,
    expert_policy,
    make_env,
    train_configuration,
)
from benchmark.envs.robosuite import HORIZONS, OBS_DIM, ROBOTS, TASKS, _suite, observe
from benchmark.errors import UserError
from benchmark.rollout import rollout

pytestmark = pytest.mark.slow

SETTINGS = dict(has_renderer=False, has_offscreen_renderer=False, use_camera_obs=False, use_object_obs=True,
                reward_shaping=True, hard_reset=False, ignore_done=True)


@functools.lru_cache(maxsize=None)
def env_of(task, robot):
    return make_env(task, EVAL_CONFIGURATIONS[0], robot)


def plain_env(task, robot, fix=True):
    """A robosuite env built here with the benchmark's settings, not through benchmark.envs."""
    env = _suite().make(task, robots=robot, seed=0, **SETTINGS)
    if fix and robot == "Sawyer":
        gid = env.sim.model.geom_name2id("robot0_link0_collision")
        env.sim.model.geom_contype[gid] = env.sim.model.geom_conaffinity[gid] = 0
    return env


@pytest.mark.parametrize("robot", ROBOTS)
@pytest.mark.parametrize("task", TASKS)
def test_expert_succeeds_on_two_configurations(task, robot):
    env = env_of(task, robot)
    assert env.max_path_length == HORIZONS[task] == domain_of(task).horizon(task)
    expert = expert_policy(task, robot)
    for configuration in (train_configuration(0), condition_configuration(0)):
        env.configuration = configuration
        trajectory = rollout(env, expert.get_action, max_steps=env.max_path_length, steps_after_success=0)
        assert trajectory.success, (task, robot, configuration)
        assert trajectory.states.shape[1] == OBS_DIM and trajectory.actions.shape[1] == 7


def test_rollout_through_the_wrapper_equals_a_plain_robosuite_loop():
    task, robot, configuration = "Lift", "Sawyer", EVAL_CONFIGURATIONS[1]
    env = env_of(task, robot)
    env.configuration = configuration
    expert = expert_policy(task, robot)
    obs, _ = env.reset()
    states, actions, rewards, successes = [obs], [], [], []
    for _ in range(45):
        actions.append(expert.get_action(obs))
        obs, reward, terminated, truncated, info = env.step(actions[-1])
        assert not terminated and not truncated
        states.append(obs), rewards.append(reward), successes.append(info["success"])
    assert max(successes) == 1.0                      # the episode reaches success
    plain = plain_env(task, robot)
    plain.rng.bit_generator.state = np.random.default_rng(configuration).bit_generator.state
    raw = plain.reset()
    np.testing.assert_array_equal(observe(task, robot, raw), states[0])
    for t, action in enumerate(actions):
        raw, reward, _, _ = plain.step(np.asarray(action, np.float64))
        np.testing.assert_array_equal(observe(task, robot, raw), states[t + 1])
        assert reward == rewards[t] and float(plain._check_success()) == successes[t]
    # the observation is the documented one
    np.testing.assert_allclose(states[-1][0:3], raw["robot0_eef_pos"], atol=1e-6)
    np.testing.assert_allclose(states[-1][9:12], raw["cube_pos"], atol=1e-6)
    assert states[-1][3] >= 0 and states[0].dtype == np.float32


def test_configurations_reseed_in_place_and_place_objects_alike_on_both_robots():
    panda, sawyer = env_of("Door", "Panda"), env_of("Door", "Sawyer")
    starts = {}
    for configuration in (EVAL_CONFIGURATIONS[0], EVAL_CONFIGURATIONS[2], train_configuration(3)):
        panda.configuration = sawyer.configuration = configuration
        starts[configuration] = first = panda.reset()[0]
        np.testing.assert_array_equal(panda.reset()[0], first)           # every reset restores it
        np.testing.assert_array_equal(sawyer.reset()[0][9:15], first[9:15])   # same door and handle
    assert not np.allclose(starts[EVAL_CONFIGURATIONS[0]], starts[EVAL_CONFIGURATIONS[2]])
    # Lift draws its cube's size at build time: every build uses the same seed, so a reseeded
    # env equals a fresh one and the cube is the same on both robots
    reused = env_of("Lift", "Panda")
    reused.configuration = train_configuration(3)
    fresh = make_env("Lift", train_configuration(3), "Panda")
    np.testing.assert_array_equal(fresh.reset()[0], reused.reset()[0])
    cube = [e.raw.sim.model.geom_size[e.raw.sim.model.geom_name2id("cube_g0")]
            for e in (fresh, env_of("Lift", "Sawyer"))]
    np.testing.assert_array_equal(cube[0], cube[1])


def _lateral_move(env):
    """Command a 15 cm move along -y (it needs joint 0): (joint-0 change, final position error)."""
    env.rng.bit_generator.state = np.random.default_rng(5).bit_generator.state
    obs = env.reset()
    q0, target = obs["robot0_joint_pos"][0], obs["robot0_eef_pos"] + [0.0, -0.15, 0.0]
    for _ in range(30):
        action = np.zeros(7)
        action[:3] = np.clip((target - obs["robot0_eef_pos"]) / 0.05, -1, 1)
        obs, *_ = env.step(action)
    return abs(obs["robot0_joint_pos"][0] - q0), np.linalg.norm(obs["robot0_eef_pos"] - target)


def test_sawyer_fix_is_in_force():
    raw = env_of("Lift", "Sawyer").raw
    gid = raw.sim.model.geom_name2id("robot0_link0_collision")
    assert raw.sim.model.geom_contype[gid] == 0 and raw.sim.model.geom_conaffinity[gid] == 0
    turned, error = _lateral_move(raw)
    assert turned > 0.1 and error < 0.003
    turned, error = _lateral_move(plain_env("Lift", "Sawyer", fix=False))
    assert turned < 0.01 and error > 0.005         # robosuite 1.5.2 without the fix: joint 0 locked


@pytest.mark.parametrize("call, message", [
    (lambda: make_env("Lift", 0, "UR5"), "unknown robosuite robot 'UR5'"),
    (lambda: make_env("Lfit", 0, "Panda"), "did you mean: Lift"),
    (lambda: expert_policy("Door", "sawyer"), "did you mean: Sawyer"),
    (lambda: make_env("door-open", 0, "Panda"), "unknown metaworld robot 'Panda'"),
])
def test_bad_names_raise_one_line(call, message):
    with pytest.raises(UserError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
