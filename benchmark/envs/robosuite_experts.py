"""Scripted experts for the Robosuite tasks, reading nothing but the 23-dim observation.

They keep no phase memory: the phase is read from the gripper opening, distances and
object angles in the observation, so an expert can label any state a learner visits
(DAgger). The same code runs on Panda and Sawyer: the observation already normalises the
gripper opening per robot, and both robots share the world frame of the actions.

Every expert servoes the end effector to a target pose: the OSC_POSE action is the
position error / 0.05 m and the rotation error (axis-angle, world frame) / 0.5 rad,
clipped to [-1, 1]. Commanding the pose explicitly matters: OSC has no stiffness at a zero
action (its goal is reset to the achieved pose every step).
"""
from __future__ import annotations

import numpy as np

from benchmark.envs.robosuite import NUT_HANDLE_END, TOP_DOWN, mat_to_axis_angle, quat_to_mat

OPEN, CLOSE = -1.0, 1.0


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def yaw_of(quat: np.ndarray) -> float:
    """Heading of a body's x axis in the world xy-plane."""
    m = quat_to_mat(quat)
    return float(np.arctan2(m[1, 0], m[0, 0]))


def wrap(angle: float, period: float) -> float:
    """`angle` shifted by multiples of `period` into [-period/2, period/2)."""
    return float((angle + period / 2) % period - period / 2)


def ramp(x: float, start: float, end: float) -> float:
    """0 at or below `start`, 1 at or above `end`, linear between."""
    return float(np.clip((x - start) / (end - start), 0.0, 1.0))


def servo(obs: np.ndarray, pos, rot: np.ndarray, grip: float, *, max_step: float = 1.0,
          distance: float = 0.05) -> np.ndarray:
    """Action moving the end effector towards `pos` with orientation `rot` (world frame); the
    position command saturates at `distance` (m) from `pos`."""
    eef, quat = obs[0:3], obs[3:7]
    dpos = np.clip((np.asarray(pos) - eef) / distance, -max_step, max_step)
    drot = np.clip(mat_to_axis_angle(rot @ quat_to_mat(quat).T) / 0.5, -1.0, 1.0)
    return np.concatenate([dpos, drot, [grip]]).astype(np.float32)


def top_down(yaw: float) -> np.ndarray:
    """Gripper pointing down, turned by `yaw` about world z (fingers close along
    (sin yaw, -cos yaw, 0))."""
    return rot_z(yaw) @ TOP_DOWN


class _Expert:
    task: str

    def get_action(self, obs) -> np.ndarray:
        return self.act(np.asarray(obs, np.float64))

    def act(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LiftExpert(_Expert):
    """Top grasp with the fingers across two faces of the cube (yaw aligned to the cube),
    close, lift ~15 cm."""

    task = "Lift"
    HOVER = 0.06          # approach height above the cube's centre
    GRASP = 0.0           # grip site height above the cube's centre when closing
    LIFT = 0.15

    def act(self, obs):
        eef, opening, opening_vel = obs[0:3], obs[7], obs[8]
        cube, cube_quat = obs[9:12], obs[12:16]
        yaw = wrap(yaw_of(cube_quat), np.pi / 2)          # 4-fold symmetric cube
        rot = top_down(yaw)
        d = cube - eef
        dxy = np.linalg.norm(d[:2])
        at_grasp = dxy < 0.012 and abs(eef[2] - (cube[2] + self.GRASP)) < 0.012
        holding = dxy < 0.02 and abs(d[2] + self.GRASP) < 0.02 and 0.1 < opening < 0.85 and abs(opening_vel) < 0.3
        if holding:                                   # fingers closed on the cube: lift it
            return servo(obs, [cube[0], cube[1], eef[2] + 0.05], rot, CLOSE)
        if at_grasp:                                  # in place: close
            return servo(obs, cube + [0, 0, self.GRASP], rot, CLOSE)
        if dxy > 0.01:                                # above the cube, gripper open
            z = max(eef[2], cube[2] + self.HOVER) if dxy > 0.03 else cube[2] + self.HOVER
            return servo(obs, [cube[0], cube[1], z], rot, OPEN)
        return servo(obs, cube + [0, 0, self.GRASP], rot, OPEN)   # descend



def rot_axis(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation by `angle` about the unit vector `axis` (Rodrigues)."""
    x, y, z = axis / np.linalg.norm(axis)
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


class DoorExpert(_Expert):
    """Side pinch of the lever (gripper pointing into the door, fingers above and below the
    lever), turn the lever down by ~80 degrees rolling with it, then pull the door open along
    the arc about its hinge.

    The door's pose is read from the observation: in the door's frame the handle site sits
    at (-0.175 + 0.125 cos(lever), -0.10) from the panel centre (robosuite's door_lock.xml),
    so the heading of handle - door in the world gives the panel's yaw (hinge included).
    """

    task = "Door"
    LATCH = np.array([-0.175, 0.0, -0.025])   # lever axis, door frame
    HINGE = np.array([0.255, 0.0, 0.0])       # hinge axis, door frame
    RADIUS = 0.11                             # grasp point along the lever from its axis
    OUT = -0.10                               # the lever's centre line, door frame y
    TURN, UNLATCHED = 1.45, 1.2               # lever angle commanded / beyond which the latch is free
    # gripper pointing along door +y (into the door), fingers along door z, in the door frame
    GRASP_ROT = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])

    def door_frame(self, obs):
        door, handle, lever = obs[9:12], obs[12:15], obs[22]
        local = np.array([-0.175 + 0.125 * np.cos(lever), self.OUT])
        world = handle[:2] - door[:2]
        yaw = np.arctan2(world[1], world[0]) - np.arctan2(local[1], local[0])
        return door, rot_z(yaw)

    def grasp_pose(self, door, frame, lever):
        """World position and orientation of the grip site holding the lever at angle `lever`."""
        turn = rot_axis(np.array([0.0, 1.0, 0.0]), lever)      # the lever turns about door y
        local = self.LATCH + turn @ np.array([self.RADIUS, 0.0, 0.0]) + np.array([0.0, self.OUT, 0.0])
        return door + frame @ local, frame @ turn @ self.GRASP_ROT

    def act(self, obs):
        eef, opening, opening_vel = obs[0:3], obs[7], obs[8]
        lever = obs[22]
        door, frame = self.door_frame(obs)
        pos, rot = self.grasp_pose(door, frame, lever)
        err = frame.T @ (eef - pos)                             # door frame: x along lever, y out, z up
        holding = np.linalg.norm(err) < 0.03 and 0.1 < opening < 0.85 and abs(opening_vel) < 0.5
        if holding:
            target = min(lever + 0.3, self.TURN)
            pos, rot = self.grasp_pose(door, frame, target)
            if lever > self.UNLATCHED:                          # pull along the arc about the hinge
                pivot = door + frame @ self.HINGE
                swing = rot_z(0.15)
                pos, rot = pivot + swing @ (pos - pivot), swing @ rot
            return servo(obs, pos, rot, CLOSE)
        lateral = np.hypot(err[0], err[2])
        if np.linalg.norm(err) < 0.012 and opening < 1.05:      # in place: close
            return servo(obs, pos, rot, CLOSE)
        # approach in front of the lever, then move in along the door's normal
        depth = -0.08 if lateral > 0.015 else 0.0
        return servo(obs, pos + frame @ np.array([0.0, depth, 0.0]), rot, OPEN)


EXPERTS = {"Lift": LiftExpert, "Door": DoorExpert}


class NutRoundExpert(_Expert):
    """Grasp the round nut's handle near its end (top grasp, fingers across the handle),
    lift above the peg, turn the handle towards the robot's side (Panda cannot reach the
    peg with the handle on the far side), carry the ring over the round peg and lower it.
    Holding the handle's end keeps the gripper ~7 cm from the nut's centre, as the success
    test requires, so the nut is not released."""

    task = "NutAssemblyRound"
    PEG = np.array([0.23, -0.10])      # round peg (robosuite's pegs_arena.xml), world xy
    PEG_TOP = 0.95
    TABLE = 0.82
    GRASP_X = NUT_HANDLE_END           # grasp point along the handle (its end), nut frame
    GRASP_Z = 0.005                    # grip site above the handle's centre
    CARRY = 1.0                        # nut height while carrying
    HOVER = 0.06

    PHASES = ("approach", "descend", "close", "lift", "carry", "lower")
    """The stages of `act`, in task order: over the grasp point with the gripper open (more than
    8 mm off in xy), down to it, closing on it, then holding: lifting, carrying over the peg,
    lowering onto it. Nothing in the grasp switches at a threshold: the height over the grasp
    point, the gripper's command, the change from grasping to holding and the start of the carry
    are continuous in the state, so a distilled policy meets no boundary where the labels jump
    (the lowering over the peg still switches)."""

    def phase(self, obs) -> str:
        """Which of PHASES the expert is in at `obs` (a learner's error is measured by phase):
        a holding phase where it holds at least half (`holding`)."""
        obs = np.asarray(obs, np.float64)
        return self._hold(obs)[0] if self.holding(obs) >= 0.5 else self._grasp(obs)[0]

    def __init__(self, servo_distance: float = 0.02):
        self.servo_distance = servo_distance
        """Distance (m) at which the position command saturates: 2 cm, steeper than the other
        experts' 5 cm, so that a distilled policy's action error costs less distance near the
        grasp point (docs/robosuite.md)."""

    def act(self, obs):
        hold = self.holding(obs)
        actions = [servo(obs, *plan[1:], distance=self.servo_distance) for plan in (self._hold(obs), self._grasp(obs))]
        return (hold * actions[0] + (1.0 - hold) * actions[1]).astype(np.float32)

    def grasp_point(self, obs) -> tuple[np.ndarray, float, np.ndarray]:
        """(grasp point (3,), nut yaw, handle direction (3,)) at `obs`: near the handle's end."""
        alpha = yaw_of(obs[12:16])
        handle_dir = np.array([np.cos(alpha), np.sin(alpha), 0.0])
        return obs[9:12] + self.GRASP_X * handle_dir + [0.0, 0.0, self.GRASP_Z], alpha, handle_dir

    def holding(self, obs) -> float:
        """How much the gripper holds the handle, in [0, 1]: 1 with the fingers settled (opening
        speed below 0.3) on something (opening 0.06-0.75; closed on nothing is below 0.05, open
        0.9-1.0) within 2 cm of the grasp point, falling linearly to 0 at speed 0.7, opening 0.02
        or 0.9 and 3.5 cm."""
        err = np.linalg.norm(obs[0:3] - self.grasp_point(obs)[0])
        opening, speed = obs[7], abs(obs[8])
        closed_on_something = ramp(opening, 0.02, 0.06) * (1.0 - ramp(opening, 0.75, 0.9))
        return (1.0 - ramp(err, 0.02, 0.035)) * closed_on_something * (1.0 - ramp(speed, 0.3, 0.7))

    def _hold(self, obs):
        """(phase, target position, target orientation, gripper command) while holding."""
        eef, nut = obs[0:3], obs[9:12]
        _, alpha, handle_dir = self.grasp_point(obs)
        eef_yaw = wrap(yaw_of(obs[3:7]), 2 * np.pi)
        # turn the handle into the robot's half (handle pointing to -x): nearest allowed yaw
        turn = 0.0
        if handle_dir[0] > -0.1:
            goal = np.pi / 2 + 0.3 if handle_dir[1] > 0 else -np.pi / 2 - 0.3
            turn = wrap(goal - alpha, 2 * np.pi)
        rot = top_down(eef_yaw + float(np.clip(turn, -0.4, 0.4)))
        to_peg = self.PEG - nut[:2]
        around_peg = nut[2] < self.PEG_TOP and np.linalg.norm(to_peg) < 0.02
        lowering = around_peg or (np.linalg.norm(to_peg) < 0.006 and abs(turn) < 0.1)
        z = self.TABLE - 0.02 if lowering else self.CARRY   # lower the ring onto the peg
        lifted = nut[2] > self.CARRY - 0.03
        # carrying starts while the lift ends (over 3 cm of height), not at a threshold
        carry = 1.0 if around_peg else ramp(nut[2], self.CARRY - 0.06, self.CARRY - 0.03)
        target = eef + np.array([carry * to_peg[0], carry * to_peg[1], z - nut[2]])
        return ("lower" if lowering else ("carry" if lifted or around_peg else "lift")), target, rot, CLOSE

    def _grasp(self, obs):
        """(phase, target position, target orientation, gripper command) while not holding."""
        eef = obs[0:3]
        grasp, alpha, _ = self.grasp_point(obs)
        eef_yaw = wrap(yaw_of(obs[3:7]), 2 * np.pi)
        # fingers across the handle (yaw = nut yaw mod pi), turning the shorter way to it
        rot = top_down(eef_yaw + wrap(wrap(alpha, np.pi) - eef_yaw, np.pi))
        err = eef - grasp
        dxy = np.linalg.norm(err[:2])
        # The gripper closes as it reaches the grasp point (fully within 8 mm, open beyond 14 mm).
        # Gripper open, over the grasp point: the height falls continuously as the gripper centres
        # (hover height at >= 2.4 cm off in xy, the grasp's within 4 mm), and far off it never dives
        # below the current height.
        closing = 1.0 - ramp(float(np.linalg.norm(err)), 0.008, 0.014)
        grip = OPEN + (CLOSE - OPEN) * closing
        hover = grasp[2] + self.HOVER
        near = grasp[2] + self.HOVER * ramp(dxy, 0.004, 0.024)
        far = ramp(dxy, 0.03, 0.06)
        z = (1.0 - far) * near + far * max(eef[2], hover)
        phase = "close" if closing >= 0.5 else ("approach" if dxy > 0.008 else "descend")
        return phase, [grasp[0], grasp[1], z], rot, grip


EXPERTS["NutAssemblyRound"] = NutRoundExpert
