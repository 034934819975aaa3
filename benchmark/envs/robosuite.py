"""The Robosuite domain: Lift, Door and NutAssemblyRound with robosuite 1.5.2, for the
paper's Panda -> Sawyer experiment (train on Panda, evaluate on Sawyer).

Settings (measured with robosuite 1.5.2; docs/robosuite.md):
- `suite.make(task, robots=R, has_renderer=False, has_offscreen_renderer=False,
  use_camera_obs=False, use_object_obs=True, reward_shaping=True, hard_reset=False,
  ignore_done=True)`; default controller OSC_POSE + gripper, so actions are 7-dim on both
  robots: position delta (x 0.05 m), axis-angle delta (x 0.5 rad), both in the base frame
  (= world axes: both robots' bases sit at (-0.56, 0, 0.912) with identity orientation),
  gripper -1 open .. +1 close. The paper's 8-dim joint action is not used: JOINT_VELOCITY
  crashes in 1.5.2, and joint-space actions do not carry across robots.
- Observation: the 23-dim robot-agnostic vector of `observe()` (the paper's 41 dims hold
  joint angles that mean nothing on another robot).
- Horizons 150 / 300 / 400 (>= 1.5x the slowest expert success measured); success is
  `env._check_success()`, reported as `info["success"]` each step (not latched); the callers
  stop at the first success (the engine's `stop_at_success`, rollout's `steps_after_success`).
- Configurations: the integer `k` reseeds the env's generator in place before every reset
  (`env.rng.bit_generator.state = default_rng(k)...`), which fixes the object placement
  and the joint-initialisation noise; the same `k` gives the same placement on both robots.
  The ranges are MetaWorld's (zoo 0..99_999, conditions 100_000+i, evaluation 1_000_000+).
  Every env is built with the same seed (`BUILD_SEED`): Lift draws its cube's size from the
  build seed, once per build, so the cube is the same in every configuration and on both
  robots, and an env reseeded to another configuration equals a fresh one.
- Sawyer fix: in 1.5.2 Sawyer's `robot0_link0_collision` touches `robot0_base_col` and locks
  joint 0; its contacts are switched off after every `make` (`_fix_sawyer`).
"""
from __future__ import annotations

import contextlib
import io
import logging

import numpy as np

from benchmark.envs.base import Domain

TASKS: tuple[str, ...] = ("Lift", "Door", "NutAssemblyRound")
ROBOTS: tuple[str, ...] = ("Panda", "Sawyer")
TRAIN_ROBOT, EVAL_ROBOT = "Panda", "Sawyer"
HORIZONS: dict[str, int] = {"Lift": 150, "Door": 300, "NutAssemblyRound": 400}
OBS_DIM = 23
NUT_HANDLE_END = 0.07
"""Distance (m) from the round nut's centre to its handle's end along the nut's x axis."""
ACT_DIM = 7
OBJECT_DIM = 14  # the task's object state, zero-padded
BUILD_SEED = 0   # seed of every build (fixes Lift's cube size); configurations reseed in place

# Mean finger joint opening (q0 - q1) / 2, fully closed .. fully open (measured, empty hand).
GRIPPER_RANGE: dict[str, tuple[float, float]] = {"Panda": (0.0013, 0.0390), "Sawyer": (-0.0118, 0.0106)}

# The observation vector: name -> slice
OBS_LAYOUT = {
    "eef_pos": slice(0, 3), "eef_quat": slice(3, 7), "gripper_opening": slice(7, 8),
    "gripper_opening_velocity": slice(8, 9), "object": slice(9, 23),
}
# object-state layout per task (offsets inside OBS_LAYOUT["object"]); the rest is zeros
OBJECT_LAYOUT = {
    "Lift": {"cube_pos": slice(0, 3), "cube_quat": slice(3, 7), "gripper_to_cube_pos": slice(7, 10)},
    "Door": {"door_pos": slice(0, 3), "handle_pos": slice(3, 6), "door_to_eef_pos": slice(6, 9),
             "handle_to_eef_pos": slice(9, 12), "hinge_qpos": slice(12, 13), "handle_qpos": slice(13, 14)},
    "NutAssemblyRound": {"nut_pos": slice(0, 3), "nut_quat": slice(3, 7), "nut_in_eef_pos": slice(7, 10),
                         "nut_in_top_down_quat": slice(10, 14)},
}
TOP_DOWN = np.diag([1.0, -1.0, -1.0])
"""The end effector pointing down, fingers along world y (yaw 0)."""


class _Quiet(logging.Filter):
    """Drops robosuite's INFO/WARNING lines (macro file, controller loading on every make)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


_quiet = _Quiet()


def _suite():
    logging.getLogger("robosuite_logs").addFilter(_quiet)
    with contextlib.redirect_stdout(io.StringIO()):
        import robosuite

    return robosuite


def _fix_sawyer(env) -> None:
    """Switch off the contacts of Sawyer's link-0 collision geom (it locks joint 0 in 1.5.2)."""
    model = env.sim.model
    gid = model.geom_name2id("robot0_link0_collision")
    model.geom_contype[gid] = 0
    model.geom_conaffinity[gid] = 0


def make_raw_env(task: str, robot: str, seed: int = BUILD_SEED):
    """The plain robosuite env with the benchmark's settings and the Sawyer fix (no wrapper)."""
    suite = _suite()
    env = suite.make(task, robots=robot, has_renderer=False, has_offscreen_renderer=False,
                     use_camera_obs=False, use_object_obs=True, reward_shaping=True, seed=int(seed),
                     hard_reset=False, ignore_done=True, horizon=HORIZONS[task])
    if robot == "Sawyer":
        _fix_sawyer(env)
    return env


def reseed(env, configuration: int) -> None:
    """Put the env's generator in the state of `configuration` (call right before reset)."""
    env.rng.bit_generator.state = np.random.default_rng(int(configuration)).bit_generator.state


# ---- small rotation helpers (quaternions xyzw, as robosuite's observations) ----

def quat_to_mat(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.asarray(q, np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """xyzw quaternion of rotation matrix `m` (w >= 0)."""
    m = np.asarray(m, np.float64)
    t = np.trace(m)
    if t > 0:
        s = 2.0 * np.sqrt(t + 1.0)
        q = np.array([(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s])
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(max(1.0 + m[i, i] - m[j, j] - m[k, k], 1e-12))
        q = np.zeros(4)
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
        q[3] = (m[k, j] - m[j, k]) / s
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def mat_to_axis_angle(m: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, angle in [0, pi]) of rotation matrix `m`."""
    x, y, z, w = mat_to_quat(m)
    s = np.sqrt(x * x + y * y + z * z)
    if s < 1e-9:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(s, w)
    return np.array([x, y, z]) / s * angle


def nut_in_top_down_quat(eef: np.ndarray, nut: np.ndarray) -> np.ndarray:
    """The nut's orientation relative to the gripper (rotation matrices), continuous over a grasp.

    The plain relative quaternion of a top-down gripper over a flat nut is a half-turn (w ~ 0),
    so with w >= 0 its sign flipped at every small tilt: an input jumping by 2 between
    neighbouring states, which a policy network cannot fit (NutAssemblyRound's distillation
    failed on it, docs/robosuite.md). Composed with the top-down half-turn it is the yaw
    difference d between nut and gripper, signed so that z + w >= 0: its one cut is at
    d = -pi/2, away from the top-down grasps at d = 0 and d = pi."""
    q = mat_to_quat(TOP_DOWN @ eef.T @ nut)
    return q if q[2] + q[3] >= 0 else -q


def observe(task: str, robot: str, raw: dict) -> np.ndarray:
    """The 23-dim robot-agnostic observation from robosuite's observation dict:
    eef position (3), eef quaternion (4, xyzw, sign with x >= 0), gripper opening (1, 0 closed
    .. 1 open, per-robot range), its velocity (1, opening per second), object state (14)."""
    out = np.zeros(OBS_DIM, np.float64)
    out[0:3] = raw["robot0_eef_pos"]
    quat = np.asarray(raw["robot0_eef_quat"], np.float64)
    out[3:7] = -quat if quat[0] < 0 else quat
    closed, opened = GRIPPER_RANGE[robot]
    qpos, qvel = raw["robot0_gripper_qpos"], raw["robot0_gripper_qvel"]
    out[7] = (0.5 * (qpos[0] - qpos[1]) - closed) / (opened - closed)
    out[8] = 0.5 * (qvel[0] - qvel[1]) / (opened - closed)
    obj = out[9:23]
    if task == "Lift":
        obj[0:3], obj[3:7], obj[7:10] = raw["cube_pos"], raw["cube_quat"], raw["gripper_to_cube_pos"]
    elif task == "Door":
        obj[0:3], obj[3:6] = raw["door_pos"], raw["handle_pos"]
        obj[6:9], obj[9:12] = raw["door_to_eef_pos"], raw["handle_to_eef_pos"]
        obj[12], obj[13] = np.ravel(raw["hinge_qpos"])[0], np.ravel(raw["handle_qpos"])[0]
    elif task == "NutAssemblyRound":
        # The handle's end and the nut's orientation in the end-effector frame, computed here:
        # robosuite's own RoundNut_to_robot0_eef_* observations are zeros in the reset observation.
        # The handle's end, not the nut's centre: a policy then reads where to grasp directly
        # instead of composing it from the nut's position and yaw (docs/robosuite.md).
        eef, nut = quat_to_mat(raw["robot0_eef_quat"]), quat_to_mat(raw["RoundNut_quat"])
        obj[0:3], obj[3:7] = raw["RoundNut_pos"], raw["RoundNut_quat"]
        handle_end = np.asarray(raw["RoundNut_pos"]) + nut @ [NUT_HANDLE_END, 0.0, 0.0]
        obj[7:10] = eef.T @ (handle_end - np.asarray(raw["robot0_eef_pos"]))
        obj[10:14] = nut_in_top_down_quat(eef, nut)
    return out.astype(np.float32)


class RobosuiteEnv:
    """A robosuite env of (task, configuration, robot) with the interface of a MetaWorld env
    as the engine and `benchmark.rollout` use it: `reset() -> (obs, {})` restores the
    configuration exactly; `step(a) -> (obs, reward, terminated, truncated, info)` with
    `info["success"]` (0.0/1.0) and `truncated` at the horizon. `terminated` is always False
    (as in MetaWorld): the callers stop at the first success. `raw` is the robosuite env.
    `configuration` may be reassigned between episodes: the next reset reseeds in place and
    gives that configuration exactly as a new env would, without the 1-3.5 s of a build.
    Cannot be pickled: build it inside the process that steps it."""

    def __init__(self, task: str, configuration: int, robot: str):
        self.task, self.configuration, self.robot = task, int(configuration), robot
        self.max_path_length = HORIZONS[task]
        self.raw = make_raw_env(task, robot)
        self.curr_path_length = 0

    def reset(self, *, seed=None, options=None):
        """`seed` is ignored (as in MetaWorld): the configuration was fixed at construction."""
        reseed(self.raw, self.configuration)
        raw_obs = self.raw.reset()
        self.curr_path_length = 0
        return observe(self.task, self.robot, raw_obs), {}

    def step(self, action):
        raw_obs, reward, _, _ = self.raw.step(np.asarray(action, np.float64))
        self.curr_path_length += 1
        success = float(self.raw._check_success())
        truncated = self.curr_path_length >= self.max_path_length
        return observe(self.task, self.robot, raw_obs), float(reward), False, truncated, {"success": success}

    def close(self) -> None:
        self.raw.close()


class RobosuiteDomain(Domain):
    """Lift, Door and NutAssemblyRound on Panda (default: the zoo's robot) and Sawyer; all
    three are seen tasks (the paper's experiment changes the robot, not the task)."""

    name = "robosuite"
    tasks = TASKS
    seen_tasks = TASKS
    unseen_tasks = ()
    robots = ROBOTS
    obs_dim = OBS_DIM
    act_dim = ACT_DIM
    reward_max = 1.0            # robosuite normalises the shaped reward to [0, reward_scale=1]
    step_cost_s = 1 / 75        # 64-102 steps per CPU-second measured here (docs/robosuite.md); the reference's 100-155 undercounted the mini run 1.6x
    reconfigurable = True       # RobosuiteEnv reseeds in place (a build costs 1-3.5 s)
    task_versions = {"NutAssemblyRound": 4}  # 2: nut_in_top_down_quat, no xy thresholds, 2 cm servo;
    # 3: continuous grasp-to-hold; 4: the handle's end in the gripper frame instead of the nut's centre

    def horizon(self, task: str) -> int:
        return HORIZONS[self.check_task(task)]

    def make_env(self, task: str, configuration: int, robot: str | None = None) -> RobosuiteEnv:
        self.check_task(task)
        return RobosuiteEnv(task, configuration, self.check_robot(robot))

    def expert_policy(self, task: str, robot: str | None = None):
        from benchmark.envs.robosuite_experts import EXPERTS

        self.check_task(task)
        self.check_robot(robot)
        return EXPERTS[task]()


DOMAIN = RobosuiteDomain()
