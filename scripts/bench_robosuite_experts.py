"""Scripted-expert success on the Robosuite tasks, and the env wrapper's speed.

    OMP_NUM_THREADS=1 python scripts/bench_robosuite_experts.py [--configurations 10] [--speed-steps 300]

Prints, each measured in this one invocation:
1. robot x task: the scripted expert's successes on configurations 1_000_000 .. (the
   evaluation range; the first 5 are the benchmark's evaluation configurations), with the
   steps to the first success (min-median-max) and the CPU seconds spent;
2. steps/s of a plain robosuite loop (`env.step` on the robosuite env built with the
   benchmark's settings) vs the same actions through `benchmark.envs` (which adds the
   23-dim observation and the success test), and their ratio. The two loops alternate
   three times on the same episode; the best of each is reported (the machine is shared).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark.envs import EVAL_CONFIGURATION_BASE, expert_policy, make_env
from benchmark.envs.robosuite import ROBOTS, TASKS, make_raw_env, reseed
from benchmark.rollout import rollout


def expert_table(configurations: int) -> list[str]:
    rows = ["| robot | task | success | steps to success (min/median/max) | CPU s |", "|---|---|---|---|---|"]
    print("\n".join(rows), flush=True)
    for robot in ROBOTS:
        for task in TASKS:
            start = time.process_time()
            env = make_env(task, EVAL_CONFIGURATION_BASE, robot)
            expert = expert_policy(task, robot)
            steps = []
            for i in range(configurations):
                env.configuration = EVAL_CONFIGURATION_BASE + i   # the same env, reseeded in place
                trajectory = rollout(env, expert.get_action, max_steps=env.max_path_length, steps_after_success=0)
                steps.append(trajectory.first_success_step + 1 if trajectory.success else -1)
            ok = [s for s in steps if s > 0]
            spread = f"{min(ok)}/{int(np.median(ok))}/{max(ok)}" if ok else "-"
            rows.append(f"| {robot} | {task} | {len(ok)}/{configurations} | {spread} | "
                        f"{time.process_time() - start:.1f} |")
            print(rows[-1], flush=True)
    return rows


def speed(task: str, robot: str, steps: int) -> tuple[float, float]:
    """(plain robosuite steps/s, wrapper steps/s) on the expert's actions of one episode."""
    env = make_env(task, EVAL_CONFIGURATION_BASE, robot)
    expert = expert_policy(task, robot)
    obs, _ = env.reset()
    actions = []
    for _ in range(steps):
        actions.append(expert.get_action(obs))
        obs, *_ = env.step(actions[-1])
    actions = [np.asarray(a, np.float64) for a in actions]
    raw = make_raw_env(task, robot)
    plain, wrapped = [], []
    for _ in range(3):
        reseed(raw, EVAL_CONFIGURATION_BASE)
        raw.reset()
        start = time.perf_counter()
        for a in actions:
            raw.step(a)
        plain.append(len(actions) / (time.perf_counter() - start))
        env.reset()
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        wrapped.append(len(actions) / (time.perf_counter() - start))
    return max(plain), max(wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configurations", type=int, default=10)
    parser.add_argument("--speed-steps", type=int, default=300)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; configurations "
          f"{EVAL_CONFIGURATION_BASE}..{EVAL_CONFIGURATION_BASE + args.configurations - 1}")
    print("\n## Scripted experts")
    expert_table(args.configurations)
    print(f"\n## Speed: the same {args.speed_steps} expert actions (episode continues past success), Panda")
    print("| task | plain robosuite steps/s | through benchmark.envs steps/s | ratio |\n|---|---|---|---|")
    for task in TASKS:
        plain, wrapped = speed(task, "Panda", args.speed_steps)
        print(f"| {task} | {plain:.0f} | {wrapped:.0f} | {wrapped / plain:.2f} |", flush=True)


if __name__ == "__main__":
    main()
