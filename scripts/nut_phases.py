"""Why NutAssemblyRound's distillation fails where its expert succeeds: the learner's error by phase.

One learner per recipe, trained as the zoo's distillation trains it (`distill.fit_actor`, the
same loss and optimiser): first on expert demonstrations in `--demos` configurations
(`distill.demo_configurations`; 0 keeps the zoo's single demonstration per configuration) for
`--bc-updates` updates, then by DAgger on the run's K configurations (`--configurations`):
`--updates-per-iteration` updates, then the deterministic learner is rolled out on each of the K,
its states relabelled by the expert and aggregated (the zoo rolls out the extra K - 1 only once the
learner succeeds on its own configuration). After the warm start and every `--eval-every` DAgger iterations
the learner is rolled out in the 5 evaluation configurations on each robot, and every visited state
is labelled with the expert's phase (`NutRoundExpert.PHASES`). Per evaluation it records:

- success, and the phase each failing episode ends in (where the learner gets stuck) with its
  geometry (`end_geometry`);
- the share of visited steps per phase, and the learner's action error per phase (mean squared
  error against the expert's action on the same state, position and rotation dims apart);
- the gripper's timing: the share of steps per phase whose gripper command has the other sign
  than the expert's (closing too early, opening while holding);
- the training set's share per phase (the DAgger set's balance);
- with `--fit-report`, whether the updates fit the states DAgger adds: the position error on each
  iteration's new states before and after the next iteration's updates.

`--relative-quat w-positive` gives the learner the nut-in-gripper quaternion as the observation
had it before `benchmark.envs.robosuite.nut_in_top_down_quat` (the A/B of docs/robosuite.md).

    OMP_NUM_THREADS=1 python scripts/nut_phases.py --label zoo --demos 0 --configurations 3 \
        --updates-per-iteration 500 --iterations 40 --eval-every 10
    OMP_NUM_THREADS=1 python scripts/nut_phases.py --label bc30 --demos 30 --bc-updates 20000 ...

Each evaluation is appended to --out (JSON lines); the script prints one table row per evaluation.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmark.envs import EVAL_CONFIGURATIONS, domain_of, make_env, train_configuration
from benchmark.envs.robosuite import mat_to_quat, quat_to_mat
from benchmark.envs.robosuite_experts import NutRoundExpert
from benchmark.policy import GaussianActor, PolicySpec
from benchmark.rollout import rollout
from benchmark.zoo.distill import DistillConfig, demo_configurations, expert_actions, extra_configurations, fit_actor

TASK = "NutAssemblyRound"
PHASES = NutRoundExpert.PHASES


def w_positive_relative_quat(states: np.ndarray) -> np.ndarray:
    """states with dims 19-22 as the observation had them before `nut_in_top_down_quat`: the
    plain nut-in-gripper quaternion with w >= 0, whose sign flips at every small tilt of a
    top-down gripper (the A/B of the docs' recipe table)."""
    out = np.array(states, np.float32, copy=True)
    for row in out.reshape(-1, out.shape[-1]):
        row[19:23] = mat_to_quat(quat_to_mat(row[3:7]).T @ quat_to_mat(row[12:16]))
    return out


def labelled(expert: NutRoundExpert, states: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(expert actions (L, 7) as the zoo labels them, expert phase per state)."""
    return expert_actions(expert, states), [expert.phase(s) for s in states]


def phase_shares(phases: list[str]) -> dict[str, float]:
    return {p: round(phases.count(p) / max(len(phases), 1), 3) for p in PHASES}


def end_geometry(expert: NutRoundExpert, first: np.ndarray, last: np.ndarray, last_actions: np.ndarray) -> dict:
    """Where a failing episode ends: the gripper's distance to the grasp point (xy and z, m), how
    far the nut moved from its start (m), its height, and how much the arm still moves (the mean
    position command over the last steps: near 0 means the learner holds still)."""
    err = last[0:3] - expert.grasp_point(np.asarray(last, np.float64))[0]
    return dict(dxy=round(float(np.linalg.norm(err[:2])), 3), dz=round(float(err[2]), 3),
                nut_moved=round(float(np.linalg.norm(last[9:11] - first[9:11])), 3), nut_z=round(float(last[11]), 3),
                opening=round(float(last[7]), 2), command=round(float(np.abs(last_actions[:, :3]).mean()), 2))


def deterministic(actor: GaussianActor, policy_input):
    """The learner's act(obs): its deterministic action on policy_input of the observation."""
    def act(obs):
        with torch.no_grad():
            return actor.act(torch.as_tensor(policy_input(np.asarray(obs)[None])[0], dtype=torch.float32)).numpy()
    return act


ENVS: dict[str, object] = {}
"""One env per robot, moved from configuration to configuration (each robosuite env holds
~150 MB; building one per rollout grew the script to 7 GB)."""


def env_at(configuration: int, robot: str):
    """The robot's env, reset next into `configuration` (as a new env would be)."""
    if robot not in ENVS:
        ENVS[robot] = make_env(TASK, configuration, robot)
    ENVS[robot].configuration = configuration
    return ENVS[robot]


def evaluate(actor: GaussianActor, robot: str, expert: NutRoundExpert, policy_input) -> dict:
    """Success, stuck phases, per-phase occupancy, action error and gripper disagreement of the
    deterministic learner in the evaluation configurations on `robot` (the expert reads the same
    observation on every robot)."""
    successes, stuck, ends, phases, pos_err, rot_err, grip_flip = [], [], [], [], [], [], []
    for configuration in EVAL_CONFIGURATIONS:
        trajectory = rollout(env_at(configuration, robot), deterministic(actor, policy_input), steps_after_success=10)
        labels, episode_phases = labelled(expert, trajectory.states)
        successes.append(trajectory.success)
        if not trajectory.success:
            stuck.append(episode_phases[-1])
            ends.append(end_geometry(expert, trajectory.states[0], trajectory.states[-1], trajectory.actions[-20:]))
        phases += episode_phases
        pos_err += list(((trajectory.actions[:, :3] - labels[:, :3]) ** 2).mean(axis=1))
        rot_err += list(((trajectory.actions[:, 3:6] - labels[:, 3:6]) ** 2).mean(axis=1))
        grip_flip += list(np.sign(trajectory.actions[:, 6]) != np.sign(labels[:, 6]))
    phases_arr, grip_flip = np.array(phases), np.array(grip_flip)

    def by_phase(values):
        return {p: round(float(values[phases_arr == p].mean()), 4) for p in PHASES if (phases_arr == p).any()}

    return dict(robot=robot, success=float(np.mean(successes)), stuck={p: stuck.count(p) for p in set(stuck)},
                ends=ends,
                visited=phase_shares(phases), position_mse=by_phase(np.array(pos_err)),
                rotation_mse=by_phase(np.array(rot_err)), gripper_flips=by_phase(grip_flip.astype(float)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="names the recipe in --out")
    parser.add_argument("--seed", type=int, default=0, help="run seed (its configuration, demonstrations, RNG)")
    parser.add_argument("--demos", type=int, default=0, help="warm-start demonstration configurations")
    parser.add_argument("--bc-updates", type=int, default=0, help="updates on the demonstrations before DAgger")
    parser.add_argument("--configurations", type=int, default=3, help="K: DAgger configurations (the run's own first)")
    parser.add_argument("--updates-per-iteration", type=int, default=500)
    parser.add_argument("--iterations", type=int, default=40, help="DAgger iterations")
    parser.add_argument("--eval-every", type=int, default=10, help="DAgger iterations between evaluations")
    parser.add_argument("--robots", nargs="+", default=["Panda", "Sawyer"])
    parser.add_argument("--relative-quat", choices=["top-down", "w-positive"], default="top-down",
                        help="the learner's nut-in-gripper quaternion: as observed (nut_in_top_down_quat), "
                             "or the earlier sign-flipping one (w_positive_relative_quat)")
    parser.add_argument("--servo-distance", type=float, default=0.02,
                        help="the expert's servo saturation distance in m (NutRoundExpert; smaller: steeper)")
    parser.add_argument("--fit-report", action="store_true",
                        help="print the learner's error on each iteration's new DAgger states before and after "
                             "the next iteration's updates")
    parser.add_argument("--out", type=Path, default=Path("results/nut_phases.jsonl"))
    args = parser.parse_args()

    config = DistillConfig()
    policy_input = w_positive_relative_quat if args.relative_quat == "w-positive" else (lambda s: np.asarray(s, np.float32))
    spec = PolicySpec(domain_of(TASK).obs_dim, domain_of(TASK).act_dim, 128)
    rng = np.random.default_rng([args.seed, 11])
    torch.manual_seed(int(rng.integers(2**31)))
    actor = GaussianActor(spec)
    optimizer = torch.optim.Adam(actor.parameters(), lr=config.lr)
    expert = NutRoundExpert(servo_distance=args.servo_distance)
    dagger_envs = [make_env(TASK, c, "Panda") for c in
                   [train_configuration(args.seed)] + extra_configurations(args.seed, args.configurations - 1)]
    states, actions, phases = [], [], []

    def add(trajectory_states):
        labels, trajectory_phases = labelled(expert, trajectory_states)
        states.append(policy_input(trajectory_states))
        actions.append(labels)
        phases.extend(trajectory_phases)

    def act_expert(obs):
        return expert_actions(expert, np.asarray(obs, np.float32)[None])[0]

    start = time.time()
    for env in dagger_envs:
        add(rollout(env, act_expert, steps_after_success=config.steps_after_success).states)
    for configuration in demo_configurations(args.seed, args.demos):
        add(rollout(env_at(configuration, "Panda"), act_expert, steps_after_success=config.steps_after_success).states)

    def train(n):
        return fit_actor(actor, optimizer, np.concatenate(states), np.concatenate(actions), n, rng, config)

    def report(iteration, updates, loss):
        for robot in args.robots:
            row = dict(label=args.label, seed=args.seed, servo_distance=args.servo_distance, demos=args.demos,
                       bc_updates=args.bc_updates, configurations=args.configurations,
                       updates_per_iteration=args.updates_per_iteration,
                       iteration=iteration, updates=updates, loss=round(loss, 4), dataset=len(phases),
                       dataset_phases=phase_shares(phases), wall_s=round(time.time() - start, 1),
                       relative_quat=args.relative_quat, **evaluate(actor, robot, expert, policy_input))
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            per_phase = " ".join(f"{p}:{row['visited'][p]:.2f}/{row['position_mse'].get(p, 0):.3f}/"
                                 f"{row['rotation_mse'].get(p, 0):.3f}/{row['gripper_flips'].get(p, 0):.2f}"
                                 for p in PHASES if row['visited'][p])
            print(f"{args.label} it {iteration:3d} upd {updates:6d} {robot:6s} success {row['success']:.2f} "
                  f"stuck {row['stuck']} ends {row['ends']} visited/position-mse/rotation-mse/gripper-flips "
                  f"{per_phase} ({row['wall_s']:.0f} s)", flush=True)

    def fit_error(first: int) -> tuple[float, float]:
        """(all, approaching) position MSE of the learner on the training set's chunks from `first` on."""
        chunk_states, chunk_labels = np.concatenate(states[first:]), np.concatenate(actions[first:])
        with torch.no_grad():
            predicted = actor.act(torch.as_tensor(chunk_states)).numpy()
        errors = ((predicted[:, :3] - chunk_labels[:, :3]) ** 2).mean(axis=1)
        approaching = np.array(phases[len(phases) - len(errors):]) == "approach"
        return float(errors.mean()), float(errors[approaching].mean()) if approaching.any() else float("nan")

    updates = args.bc_updates
    loss = train(args.bc_updates) if args.bc_updates else float("nan")
    report(0, updates, loss)
    fresh = before = None  # the last iteration's new states (their first chunk) and the fit on them
    for iteration in range(1, args.iterations + 1):
        loss = train(args.updates_per_iteration)
        updates += args.updates_per_iteration
        if before is not None:
            print(f"{args.label} it {iteration:3d} fit on the previous iteration's DAgger states (position MSE, all / "
                  f"approaching): before its updates {before[0]:.3f} / {before[1]:.3f}, after "
                  "{:.3f} / {:.3f}".format(*fit_error(fresh)), flush=True)
        fresh = len(states)
        for env in dagger_envs:
            add(rollout(env, deterministic(actor, policy_input), steps_after_success=config.steps_after_success).states)
        if args.fit_report:
            before = fit_error(fresh)
        if iteration % args.eval_every == 0:
            report(iteration, updates, loss)


if __name__ == "__main__":
    main()
