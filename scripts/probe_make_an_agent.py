"""Probes of a trained Make-An-Agent model behind the diagnosis reading of docs/findings.md.

    python scripts/probe_make_an_agent.py --zoo results/zoo/<id> --model results/models/<dir> [--steps 10 50] [--tasks ...]

1. For the diagnosis' 20 checkpoints of every seen task, the policies generated from their own
   trajectories: does the nearest zoo checkpoint belong to the prompted task, and to the
   prompting checkpoint's distillation run (each run is a mode of its own; see
   scripts/probe_zoo_modes.py), their cosine to it, and their relative L2 distance to the
   checkpoint that prompted them and to the nearest checkpoint of its run.
2. With --tasks: stage (c) success (diagnosis seeds) for each number of DDIM steps in --steps.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch

from benchmark.cells import method_view
from benchmark.config import load_profile
from benchmark.diagnose import checkpoint_rows, stage_policies, summarise
from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.plan import resolve_method, stable_int
from benchmark.training import load_model
from benchmark.zoo.format import load_zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", required=True)
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", required=True, help="a trained make-an-agent model directory")
    parser.add_argument("--method", default="make-an-agent", help="the model's method name, with its variant")
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 50], help="DDIM steps to compare")
    parser.add_argument("--tasks", nargs="*", default=[], help="tasks for the DDIM-steps comparison")
    args = parser.parse_args()
    torch.set_num_threads(1)
    zoo = load_zoo(args.zoo)
    method = resolve_method(args.method, load_profile(args.profile))
    model, _ = load_model(method, Path(args.model), zoo.spec)
    params, tasks = zoo.checkpoints.params, zoo.checkpoints.tasks
    runs = np.array([f"{r['task']}/{r['run_seed']}" for r in zoo.checkpoints.records])
    unit = params / np.linalg.norm(params, axis=1, keepdims=True)
    for task in sorted(set(tasks)):
        rows = checkpoint_rows(zoo, task, 20)
        generated = model.propose(method_view(model, args.method, zoo.checkpoints.subset(rows)), seed=1).params
        cos = (generated / np.linalg.norm(generated, axis=1, keepdims=True)) @ unit.T
        same_task = (tasks[cos.argmax(1)] == task).mean()
        same_run = (runs[cos.argmax(1)] == runs[rows]).mean()
        norms = np.linalg.norm(params[rows], axis=1)
        distance = np.linalg.norm(generated - params[rows], axis=1) / norms
        to_run = [np.linalg.norm(params[runs == runs[row]] - g, axis=1).min() / n
                  for row, g, n in zip(rows, generated, norms)]
        print(f"{task:14s} nearest checkpoint of the prompted task {same_task:.2f}, of its run {same_run:.2f}; "
              f"cosine to it {cos.max(1).mean():.3f}; relative L2 to the prompting checkpoint "
              f"{distance.mean():.3f}, to its run's nearest {np.mean(to_run):.3f}")
    for steps in args.steps if args.tasks else []:
        model.config = dataclasses.replace(model.config, diff_inference_steps=steps)
        for task in args.tasks:
            rows = checkpoint_rows(zoo, task, 20)
            seed = stable_int("diagnose", "own-trajectory", task, 0) % 2**31
            torch.manual_seed(seed)
            kwargs, _ = stage_policies("own-trajectory", model, zoo, rows, seed)
            result = evaluate(task, EVAL_CONFIGURATIONS, len(rows), **kwargs)
            print(f"{steps} DDIM steps, {task}: {summarise(result.success_matrix())}")


if __name__ == "__main__":
    main()
