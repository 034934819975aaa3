"""The pieces of the NutAssemblyRound distillation measurements: the expert's phases and the
warm-start demonstration configurations (no simulation)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.envs import EVAL_CONFIGURATIONS, train_configuration
from benchmark.envs.robosuite_experts import CLOSE, OPEN, NutRoundExpert
from benchmark.zoo.distill import demo_configurations, extra_configurations

IDENTITY = [0.0, 0.0, 0.0, 1.0]  # (x, y, z, w)


def observation(eef, nut, opening=1.0) -> np.ndarray:
    """A 23-dim Nut observation: end effector (pointing down is not needed for the phase),
    gripper opening and its velocity, the nut's position and orientation (yaw 0: handle along +x)."""
    obs = np.zeros(23)
    obs[0:3], obs[3:7], obs[7], obs[8] = eef, IDENTITY, opening, 0.0
    obs[9:12], obs[12:16] = nut, IDENTITY
    return obs


def grasp_point(nut) -> np.ndarray:
    return np.asarray(nut) + [NutRoundExpert.GRASP_X, 0.0, NutRoundExpert.GRASP_Z]


ON_TABLE = np.array([0.0, 0.0, 0.83])
LIFTED = np.array([0.0, 0.0, NutRoundExpert.CARRY - 0.01])
AROUND_PEG = np.array([*NutRoundExpert.PEG, NutRoundExpert.PEG_TOP - 0.05])


@pytest.mark.parametrize("phase,obs", [
    ("approach", observation([0.2, 0.2, 1.0], ON_TABLE)),
    ("descend", observation(grasp_point(ON_TABLE) + [0.0, 0.0, 0.05], ON_TABLE)),
    ("close", observation(grasp_point(ON_TABLE) + [0.0, 0.0, 0.005], ON_TABLE)),
    ("lift", observation(grasp_point(ON_TABLE), ON_TABLE, opening=0.3)),
    ("carry", observation(grasp_point(LIFTED), LIFTED, opening=0.3)),
    ("lower", observation(grasp_point(AROUND_PEG), AROUND_PEG, opening=0.3)),
])
def test_every_phase_is_named_and_its_gripper_command_agrees(phase, obs):
    expert = NutRoundExpert()
    assert expert.phase(obs) == phase
    assert expert.act(obs)[6] == (OPEN if phase in ("approach", "descend") else CLOSE)


def with_gripper(obs: np.ndarray, opening: float, speed: float) -> np.ndarray:
    out = obs.copy()
    out[7], out[8] = opening, speed
    return out


@pytest.mark.parametrize("sweep", ["distance", "opening", "speed"])
def test_the_experts_action_has_no_jump_across_the_grasp(sweep):
    """Nothing between grasping and holding switches at a threshold: along each of the three
    quantities the holding test reads (distance to the grasp point 0-5 cm, gripper opening 0-1,
    its speed 0-2), neighbouring states get neighbouring actions (the expert's labels were the
    learner's conflicts where they jumped)."""
    expert = NutRoundExpert()
    grasp = grasp_point(ON_TABLE)
    if sweep == "distance":
        states = [with_gripper(observation(grasp + [0.0, d, 0.0], ON_TABLE), 0.4, 0.0)
                  for d in np.arange(0.0, 0.05, 1e-4)]
    elif sweep == "opening":
        states = [with_gripper(observation(grasp + [0.0, 0.012, 0.0], ON_TABLE), o, 0.0)
                  for o in np.arange(0.0, 1.0, 5e-4)]
    else:
        states = [with_gripper(observation(grasp + [0.0, 0.012, 0.0], ON_TABLE), 0.4, v)
                  for v in np.arange(0.0, 2.0, 1e-3)]
    actions = np.array([expert.act(obs) for obs in states])
    assert np.abs(np.diff(actions, axis=0)).max() < 0.05
    assert np.ptp(actions[:, 6]) > 1.0  # the sweep does cross from holding to not (the test can fail)


def test_demonstration_configurations_are_disjoint_from_every_other_configuration():
    runs = range(12)
    own = {train_configuration(r) for r in runs}
    extra = {c for r in runs for c in extra_configurations(r, 9)}
    demos = [demo_configurations(r, 100) for r in runs]
    flat = [c for d in demos for c in d]
    assert len(set(flat)) == len(flat) == 1200
    assert not set(flat) & (own | extra | set(EVAL_CONFIGURATIONS))
    assert demo_configurations(3, 0) == []
    with pytest.raises(ValueError, match="run seed 99"):
        demo_configurations(99, 1)


def test_the_nut_in_gripper_quaternion_is_continuous_over_a_top_down_grasp():
    """A top-down gripper tilted by 0.01 rad either way over a flat nut: the plain w >= 0
    quaternion of the old observation flips sign between the two, the observation's does not."""
    from benchmark.envs.robosuite import TOP_DOWN, mat_to_quat, observe
    from benchmark.envs.robosuite_experts import rot_axis, rot_z

    nut = rot_z(0.4)

    def observed(eef: np.ndarray) -> np.ndarray:
        """Dims 19-22 of the observation of this gripper over the nut (a robosuite dict built here)."""
        raw = {"robot0_eef_pos": np.zeros(3), "robot0_eef_quat": mat_to_quat(eef),
               "robot0_gripper_qpos": np.zeros(2), "robot0_gripper_qvel": np.zeros(2),
               "RoundNut_pos": np.array([0.0, 0.0, 0.83]), "RoundNut_quat": mat_to_quat(nut)}
        return observe("NutAssemblyRound", "Panda", raw)[19:23]

    for yaw in (0.4, 0.4 + np.pi, 1.0):        # grasps at d = 0 and d = pi, and a turn on the way
        tilted = [rot_axis(np.array([1.0, 0.0, 0.0]), eps) @ rot_z(yaw) @ TOP_DOWN for eps in (-0.01, 0.01)]
        new = [observed(eef) for eef in tilted]
        old = [mat_to_quat(eef.T @ nut) for eef in tilted]
        assert np.abs(new[0] - new[1]).max() < 0.02
        if yaw != 1.0:
            assert np.abs(old[0] - old[1]).max() > 1.0


def test_only_the_nut_zoo_changes_id_with_its_observation():
    from benchmark.config import load_profile
    from benchmark.zoo.collect import ZooSettings, zoo_dir

    def zoo_id(profile_name, domain):
        profile = load_profile(profile_name).for_domain(domain)
        return zoo_dir("r", profile.zoo_profile, ZooSettings.from_profile(profile.zoo)).name

    assert zoo_id("mini", "robosuite") == "mini-526ac88715fc"          # Lift and Door: as built before
    assert zoo_id("mini", "metaworld") == "mini-03fd25334c53"
    assert zoo_id("mini-nut", "robosuite") != "mini-nut-3ee6817ceea7"  # the sign-flipping observation's zoo


def test_the_observation_holds_the_handle_end_where_the_expert_grasps():
    """Dims 16-18: the handle's end in the end-effector frame, the point the expert grasps (less
    its 5 mm above the handle), for any nut yaw and gripper pose; the nut's centre (the earlier
    observation) is 7 cm off it."""
    from benchmark.envs.robosuite import TOP_DOWN, mat_to_quat, observe, quat_to_mat
    from benchmark.envs.robosuite_experts import rot_z

    for yaw, eef_yaw, eef_pos in ((0.3, 0.0, [0.1, -0.05, 0.95]), (2.5, 1.0, [-0.1, 0.2, 0.9])):
        raw = {"robot0_eef_pos": np.array(eef_pos), "robot0_eef_quat": mat_to_quat(rot_z(eef_yaw) @ TOP_DOWN),
               "robot0_gripper_qpos": np.zeros(2), "robot0_gripper_qvel": np.zeros(2),
               "RoundNut_pos": np.array([0.05, 0.1, 0.83]), "RoundNut_quat": mat_to_quat(rot_z(yaw))}
        obs = observe("NutAssemblyRound", "Panda", raw).astype(np.float64)
        handle_end = obs[0:3] + quat_to_mat(obs[3:7]) @ obs[16:19]
        grasp = NutRoundExpert().grasp_point(obs)[0] - [0.0, 0.0, NutRoundExpert.GRASP_Z]
        assert np.abs(handle_end - grasp).max() < 1e-5
