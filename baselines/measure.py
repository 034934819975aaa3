"""Train one baseline on a zoo and measure its success in MetaWorld on the zoo's tasks.

    python -m baselines.measure ZOO_DIR METHOD PRESET [--n-conditions 5] [--configs 3] [--seed 0]
                                [--set key=json_value ...]

For each task with condition trajectories, the method proposes from the first n conditions
and every proposal is rolled out (benchmark.engine.evaluate) in two sets of configurations:
the first `configs` evaluation configurations ("eval") and the configurations the zoo's
checkpoints of that task were collected in ("train"; seen tasks only: a sanity check that a
method reproduces the behaviour it was trained on). Prints one JSON line per task: success
rate over all episodes and the best policy's success rate in each set, and the CPU seconds
spent adapting.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmark.api import METHODS, ParameterProposal
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.zoo.format import load_zoo


def success_of(proposal, task: str, configurations: tuple[int, ...]) -> dict:
    """Success rate over all episodes and of the best policy, in `configurations`."""
    from benchmark.engine import evaluate

    if isinstance(proposal, ParameterProposal):
        outcome = evaluate(task, configurations, len(proposal.params), params=proposal.params, spec=proposal.spec)
    else:
        outcome = evaluate(task, configurations, proposal.n_policies, make_actor=proposal.make_actor)
    per_policy = [outcome.success[outcome.policy_id == k].mean() for k in np.unique(outcome.policy_id)]
    return {"success": round(float(outcome.success.mean()), 3), "best_policy": round(float(max(per_policy)), 3),
            "configurations": list(configurations)}


def measure(zoo, method_name: str, preset: str, n_conditions: int, n_configs: int, seed: int,
            overrides: dict | None = None) -> list[dict]:
    """Fit `method_name` with `preset` (plus overrides) on `zoo`; one result dict per task."""
    cls = METHODS.get(method_name)
    presets = __import__(cls.__module__, fromlist=["PRESETS"]).PRESETS
    method = cls(cls.Config(**{**presets[preset], **(overrides or {})}), zoo.spec)
    fit_stats = method.fit(zoo, seed)
    print(json.dumps({"method": method_name, "preset": preset, "fit": fit_stats}), flush=True)
    results = []
    for task in sorted(set(zoo.conditions.tasks.tolist())):
        conditions = zoo.conditions.for_task(task)
        conditions = conditions.subset(np.arange(min(n_conditions, len(conditions))))
        start = time.process_time()
        proposal = method.propose(conditions, seed)
        result = {"method": method_name, "task": task, "adapt_cpu_s": round(time.process_time() - start, 2),
                  "eval": success_of(proposal, task, EVAL_CONFIGURATIONS[:n_configs])}
        train = sorted({r["configuration"] for r in zoo.checkpoints.for_task(task).records})
        if train:
            result["train"] = success_of(proposal, task, tuple(train[:n_configs]))
        results.append(result)
        print(json.dumps(result), flush=True)
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
