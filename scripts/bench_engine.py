"""Speed of the evaluation engine and of the zoo collector on this machine.

    OMP_NUM_THREADS=1 python scripts/bench_engine.py [--policies 20] [--cells 8]
    OMP_NUM_THREADS=1 python scripts/bench_engine.py --domain robosuite [--robot Sawyer] [--tasks Lift]

Prints, each measured in this one invocation (MetaWorld, the default):
1. raw MetaWorld steps/s with random actions (one core), for reference;
2. the engine's steps/s rolling out zoo checkpoints (K envs in lockstep, one batched
   numpy forward per step) and the share of its time spent inside the simulator
   (env.step and env.reset, which every episode needs): the engine runs at that share of
   the raw simulator's speed on the very same episodes;
3. expert-distillation checkpoints harvested per CPU-minute;
4. the wall time of one evaluation workload on 1 vs 2 Ray workers, and their ratio.

With `--domain robosuite`, per task: a plain robosuite loop (the raw env, random actions, no
wrapper) against the engine rolling out `--policies` randomly initialised policies of the
family over full horizons in the 5 evaluation configurations, as steps/s and their ratio, and
the share of the engine's time inside the raw env's step and reset. (Randomly initialised
policies, because distilling robosuite checkpoints costs minutes; robosuite's step cost is
its controller code over 25 physics substeps, not the action.)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmark import engine
from benchmark.envs import EVAL_CONFIGURATIONS, get_domain, make_env
from benchmark.executor import execute, shutdown
from benchmark.policy import GaussianActor, PolicySpec
from benchmark.zoo.distill import DistillConfig, run_distill

TASKS = ("reach", "button-press", "door-open", "drawer-open")
BATCH = 2  # the harness default (EvalSettings.policies_per_batch)


def raw_steps_per_second(task: str, steps: int = 3000) -> float:
    env = make_env(task, EVAL_CONFIGURATIONS[0])
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, 4)).astype(np.float32)
    env.reset()
    start = time.perf_counter()
    for t in range(steps):
        _, _, _, truncated, _ = env.step(actions[t])
        if truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def plain_robosuite_steps_per_second(task: str, robot: str, steps: int) -> float:
    """Steps/s of the raw robosuite env (the benchmark's settings, no wrapper), random actions."""
    from benchmark.envs.robosuite import HORIZONS, make_raw_env, reseed

    env = make_raw_env(task, robot)
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, env.action_dim))
    reseed(env, EVAL_CONFIGURATIONS[0])
    env.reset()
    start = time.perf_counter()
    for t in range(steps):
        env.step(actions[t])
        if (t + 1) % HORIZONS[task] == 0:
            reseed(env, EVAL_CONFIGURATIONS[0])
            env.reset()
    return steps / (time.perf_counter() - start)


def engine_share(task: str, params: np.ndarray, spec: PolicySpec, robot: str | None = None,
                 timed_class=None) -> tuple[float, float]:
    """(engine steps/s over full horizons, share of engine time inside `timed_class`'s step and
    reset; default the class of the task's env)."""
    inside = [0.0]
    env_class = timed_class or type(make_env(task, EVAL_CONFIGURATIONS[0]))
    originals = {name: getattr(env_class, name) for name in ("step", "reset")}

    def timed(original):
        def call(self, *args, **kwargs):
            start = time.perf_counter()
            out = original(self, *args, **kwargs)
            inside[0] += time.perf_counter() - start
            return out
        return call

    engine.env_rows(task, robot, EVAL_CONFIGURATIONS, BATCH)  # build outside the timing (envs are reused)
    for name, original in originals.items():
        setattr(env_class, name, timed(original))
    try:
        start = time.perf_counter()
        result = engine.evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=spec, robot=robot,
                                 stop_at_success=False, policies_per_batch=BATCH)
        total = time.perf_counter() - start
    finally:
        for name, original in originals.items():
            setattr(env_class, name, original)
    return result.length.sum() / total, inside[0] / total


def workload_unit(job):
    task, params, spec = job
    result = engine.evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=spec,
                             stop_at_success=False, policies_per_batch=BATCH)
    return int(result.length.sum())


def bench_robosuite(tasks: list[str], robot: str, n_policies: int) -> None:
    """Plain robosuite loop vs engine, steps/s and their ratio, per task."""
    import torch

    from benchmark.envs.robosuite import make_raw_env

    domain = get_domain("robosuite")
    spec = PolicySpec(domain.obs_dim, domain.act_dim)
    torch.manual_seed(0)
    params = np.stack([GaussianActor(spec).flat_parameters() for _ in range(n_policies)])
    print(f"robosuite on {robot}: plain robosuite loop vs engine ({n_policies} policies x "
          f"{len(EVAL_CONFIGURATIONS)} configurations, full horizons, {BATCH} policies in lockstep)")
    for task in tasks:
        domain.check_task(task)
        steps_per_s, share = engine_share(task, params, spec, robot, type(make_raw_env(task, robot)))
        plain = plain_robosuite_steps_per_second(task, robot, n_policies * len(EVAL_CONFIGURATIONS) * domain.horizon(task))
        print(f"  {task:16s} plain {plain:6.1f} steps/s | engine {steps_per_s:6.1f} steps/s, {share:5.1%} of its "
              f"time inside the raw env's step/reset -> engine / plain = {steps_per_s / plain:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=8, help="policies per engine measurement")
    parser.add_argument("--cells", type=int, default=12, help="units (~10 s each) of the 1-vs-2-worker workload")
    parser.add_argument("--domain", default="metaworld", choices=("metaworld", "robosuite"))
    parser.add_argument("--robot", default="Sawyer", help="robosuite robot (default: %(default)s)")
    parser.add_argument("--tasks", nargs="+", default=["Lift", "Door", "NutAssemblyRound"], help="robosuite tasks")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"machine: {os.cpu_count()} CPUs; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    if args.domain == "robosuite":
        bench_robosuite(args.tasks, get_domain("robosuite").check_robot(args.robot), args.policies)
        return
    spec = PolicySpec()

    print("\n1-2. raw simulator vs engine (one core, the same process)")
    zoo_params = {}
    for task in TASKS:
        checkpoints, _, _ = run_distill(task, 0, 0, DistillConfig(checkpoints_per_run=args.policies, conditions_per_run=0), spec)
        zoo_params[task] = checkpoints.params
        raw = raw_steps_per_second(task)
        steps_per_s, share = engine_share(task, checkpoints.params, spec)
        print(f"  {task:14s} raw (random actions) {raw:7.0f} steps/s | engine {steps_per_s:7.0f} steps/s, "
              f"{share:5.1%} of its time inside env.step/reset -> engine at {share:5.1%} of raw on the same episodes")

    print("\n3. zoo checkpoints harvested per CPU-minute (expert distillation, 20 per run)")
    for task in TASKS[:2]:
        start = time.process_time()
        checkpoints, conditions, stats = run_distill(task, 1, 1, DistillConfig(checkpoints_per_run=20, conditions_per_run=10), spec)
        cpu = time.process_time() - start
        print(f"  {task:14s} {len(checkpoints)} checkpoints + {len(conditions)} conditions in {cpu:5.1f} CPU-s "
              f"-> {60 * len(checkpoints) / cpu:5.1f} checkpoints/CPU-min")

    print("\n4. one workload on 1 vs 2 Ray workers (wall time, Ray start included)")
    jobs = [(TASKS[i % len(TASKS)], zoo_params[TASKS[i % len(TASKS)]][:8], spec) for i in range(args.cells)]
    walls = {}
    for workers in (1, 2):
        start = time.perf_counter()
        steps = sum(o.result for o in execute(workload_unit, jobs, workers=workers, desc="bench units"))
        shutdown()  # the Ray session lives for a command; each worker count gets its own
        walls[workers] = time.perf_counter() - start
        print(f"  {workers} worker(s): {walls[workers]:6.1f} s for {steps} env steps")
    print(f"  speed-up 2 vs 1 workers: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
