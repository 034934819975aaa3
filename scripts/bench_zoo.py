"""How general are the zoo's checkpoints? One vs several configurations per distillation run.

For every seen task and run seed, one expert-distillation run per recipe (K configurations per
run), then every harvested checkpoint rolled out in the 5 evaluation configurations (never seen
in training). Prints, per task and recipe: checkpoints harvested, their mean success on the
evaluation configurations, and the run's CPU seconds. With --sac-steps N, a SAC run of N steps
(the paper's collector: checkpoints every 5,000 steps once an evaluation has succeeded) is a
recipe of its own, measured the same way.

    OMP_NUM_THREADS=1 python scripts/bench_zoo.py --runs 2 --recipes 1 4 --workers 2
    OMP_NUM_THREADS=1 python scripts/bench_zoo.py --runs 1 --recipes 1 3 --sac-steps 100000 --tasks reach button-press

Robosuite tasks distil on Panda and are evaluated on every robot of --robots; --set overrides
the distillation's hyperparameters (`DistillConfig` fields), and --label names the recipe so
that several settings sit side by side in one --out:

    OMP_NUM_THREADS=1 python scripts/bench_zoo.py --tasks NutAssemblyRound --robots Panda Sawyer \
        --recipes 1 --set lr=3e-4 max_updates=6000 --label lr3e-4 --out results/bench_zoo_nut.jsonl

Each finished run is appended to --out (JSON lines), so a killed measurement resumes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS, SEEN_TASKS, domain_of, train_configuration
from benchmark.executor import execute
from benchmark.policy import PolicySpec
from benchmark.zoo import distill, sac


def success_on_eval(task: str, params: np.ndarray, spec: PolicySpec, robot: str | None = None) -> np.ndarray:
    """(K,) mean success of each parameter vector over the evaluation configurations on `robot`."""
    result = evaluate(task, EVAL_CONFIGURATIONS, len(params), params=params, spec=spec, robot=robot,
                      policies_per_batch=2 if domain_of(task).name == "robosuite" else 4)
    return result.success_matrix().mean(axis=1)


def parse_overrides(pairs: list[str]) -> dict:
    """`name=value` pairs into DistillConfig overrides, values typed as the field's default."""
    fields = {f.name: f for f in dataclasses.fields(distill.DistillConfig)}
    overrides = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in fields or not value:
            raise ValueError(f"--set {pair!r}: expected name=value with name one of {sorted(fields)}")
        default = fields[name].default
        try:
            if isinstance(default, bool):
                overrides[name] = value.lower() in ("1", "true")
            elif isinstance(default, int):
                overrides[name] = int(float(value))  # 4e4 reads as 40000
            else:
                overrides[name] = float(value)  # the other fields, optional ones included, are rates
        except ValueError:
            raise ValueError(f"--set {pair!r}: {value!r} is not a number") from None
    return overrides


def pooled_mean(per_run: pd.Series) -> float:
    """Mean over the checkpoints of all runs (each a list of successes); NaN when none were harvested."""
    pooled = np.concatenate([np.asarray(x, float) for x in per_run])
    return float(pooled.mean()) if len(pooled) else float("nan")


def one_run(job: tuple[str, int, str, dict]) -> dict:
    """One collection run of `recipe` ("K=<configurations per run>" or "SAC-<steps>")."""
    task, run_seed, recipe, overrides = job
    domain = domain_of(task)
    spec = PolicySpec(domain.obs_dim, domain.act_dim)
    start = time.process_time()
    run_stats = {}
    if recipe.startswith("SAC-"):
        config = sac.make_config("paper", dict(total_steps=int(recipe[4:])))
        # the state file makes a killed SAC run resume where it was, not from step 0
        state_dir = overrides["sac_state_root"] / f"{task}-s{run_seed}"
        checkpoints, _ = sac.run_sac(task, run_seed, config, state_dir=state_dir)
        updates = max(config.total_steps - config.learning_starts, 0)
    else:
        config = dataclasses.replace(distill.DistillConfig(**overrides["distill"]),
                                     configurations_per_run=int(recipe[2:].split("-")[0]))
        checkpoints, _, stats = distill.run_distill(task, run_seed, train_configuration(run_seed), config, spec)
        updates = stats["updates"]
        run_stats = {key: stats[key] for key in ("first_success_update", "snapshots_tried")}
    run_cpu = time.process_time() - start
    row = dict(task=task, recipe=recipe, run_seed=run_seed, checkpoints=len(checkpoints), run_cpu_s=run_cpu,
               updates=updates, **run_stats)
    robots = overrides["robots"] if domain.name == "robosuite" else [None]
    for robot in robots:
        success = success_on_eval(task, checkpoints.params, spec, robot) if len(checkpoints) else np.zeros(0)
        row["eval_success" + (f"_{robot}" if robot else "")] = success.tolist()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(SEEN_TASKS))
    parser.add_argument("--runs", type=int, default=2, help="run seeds per task and recipe")
    parser.add_argument("--first-seed", type=int, default=0, help="the first run seed (runs take the next --runs)")
    parser.add_argument("--recipes", type=int, nargs="+", default=[1, 4], help="configurations per run")
    parser.add_argument("--checkpoints", type=int, default=20, help="checkpoints harvested per run")
    parser.add_argument("--sac-steps", type=int, default=0, help="add a SAC recipe of this many steps (0: none)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--robots", nargs="+", default=["Panda", "Sawyer"],
                        help="robots the checkpoints of Robosuite tasks are evaluated on (they distil on Panda)")
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="DistillConfig overrides for every distillation recipe, e.g. lr=3e-4 max_updates=6000")
    parser.add_argument("--label", default="", help="suffix naming the --set recipe in --out (K=1-<label>)")
    parser.add_argument("--out", type=Path, default=Path("results/bench_zoo.jsonl"), help="finished runs (JSON lines)")
    args = parser.parse_args()
    if args.first_seed < 0 or args.runs < 1:
        parser.error("--first-seed must be >= 0 and --runs >= 1")  # exit 2
    try:
        distill_overrides = parse_overrides(args.set)
    except ValueError as error:
        parser.error(str(error))  # exit 2
    overrides = dict(distill=dict(checkpoints_per_run=args.checkpoints, conditions_per_run=10, **distill_overrides),
                     robots=args.robots, sac_state_root=args.out.with_suffix(".sac_state").resolve())
    suffix = f"-{args.label}" if args.label else ""
    recipes = [f"K={k}{suffix}" for k in args.recipes] + ([f"SAC-{args.sac_steps}"] if args.sac_steps else [])
    done = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.is_file() else []
    finished = {(r["task"], r["recipe"], r["run_seed"]) for r in done}
    wanted = [(t, s, r) for t in args.tasks for r in recipes for s in range(args.first_seed, args.first_seed + args.runs)]
    jobs = [(t, s, r, overrides) for t, s, r in wanted if (t, r, s) not in finished]
    started = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for outcome in execute(one_run, jobs, workers=args.workers, desc="zoo recipes: runs"):
        if not outcome.ok:
            raise SystemExit(outcome.error)
        with open(args.out, "a") as handle:
            handle.write(json.dumps(outcome.result) + "\n")
    wanted = {(t, r, s) for t, s, r in wanted}
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    frame = pd.DataFrame([r for r in rows if (r["task"], r["recipe"], r["run_seed"]) in wanted])
    successes = {column: (column, pooled_mean) for column in frame.columns if column.startswith("eval_success")}
    table = frame.groupby(["task", "recipe"]).agg(
        checkpoints=("checkpoints", "sum"), **successes, run_cpu_s=("run_cpu_s", "mean")).unstack("recipe")
    print(table.round(2).to_string())
    means = frame.groupby("recipe").agg(**successes, run_cpu_s=("run_cpu_s", "mean"))
    print(means.round(3).to_string())
    print(f"{len(jobs)} runs on {args.workers} workers in {time.time() - started:.0f} s wall")


if __name__ == "__main__":
    main()
