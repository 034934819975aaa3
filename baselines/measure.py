"""Train one baseline on a zoo and measure its success in MetaWorld on the zoo's tasks.

    python -m baselines.measure ZOO_DIR METHOD PRESET [--n-conditions 5] [--configs 3] [--seed 0]

For each task with condition trajectories, the method proposes from the first n conditions
and every proposal is rolled out (benchmark.engine.evaluate) in the first `configs` evaluation
configurations. Prints one JSON line per task: success rate over all episodes, the best
policy's success rate and the seconds spent adapting.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.zoo.format import load_zoo
from generators.base import METHODS, ParameterProposal
import baselines.registry_entries  # noqa: F401  (registers the names)


def measure(zoo, method_name: str, preset: str, n_conditions: int, n_configs: int, seed: int,
            overrides: dict | None = None) -> list[dict]:
    """Fit `method_name` with `preset` (plus overrides) on `zoo`; one result dict per task."""
    cls = METHODS.get(method_name)
    module = __import__(cls.__module__, fromlist=["PRESETS"])
    method = cls(cls.Config(**{**module.PRESETS[preset], **(overrides or {})}), zoo.spec)
    fit_stats = method.fit(zoo, seed)
    print(json.dumps({"method": method_name, "preset": preset, "fit": fit_stats}), flush=True)
    from benchmark.engine import evaluate

    results = []
    for task in sorted(set(zoo.conditions.tasks.tolist())):
        conditions = zoo.conditions.for_task(task).subset(np.arange(n_conditions))
        start = time.process_time()
        proposal = method.propose(conditions, seed)
        adapt = time.process_time() - start
        configurations = EVAL_CONFIGURATIONS[:n_configs]
        if isinstance(proposal, ParameterProposal):
            outcome = evaluate(task, configurations, len(proposal.params), params=proposal.params, spec=proposal.spec)
        else:
            outcome = evaluate(task, configurations, proposal.n_policies, make_actor=proposal.make_actor)
        per_policy = [outcome.success[outcome.policy_id == k].mean() for k in np.unique(outcome.policy_id)]
        results.append({"method": method_name, "task": task, "seen": task in zoo.checkpoints.tasks,
                        "success": float(outcome.success.mean()), "best_policy": float(max(per_policy)),
                        "policies": len(per_policy), "adapt_cpu_s": round(adapt, 2)})
        print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zoo")
    parser.add_argument("method", choices=["mtbc", "care", "hypernet", "dt"])
    parser.add_argument("preset", choices=["paper", "mini", "smoke"])
    parser.add_argument("--n-conditions", type=int, default=5)
    parser.add_argument("--configs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="Config override key=value (JSON value)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    measure(load_zoo(args.zoo), args.method, args.preset, args.n_conditions, args.configs, args.seed, overrides)


if __name__ == "__main__":
    main()
