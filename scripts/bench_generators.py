"""Time Make-An-Agent's training stages and generation on this machine.

    OMP_NUM_THREADS=1 python scripts/bench_generators.py --zoo results/zoo/<id> [--preset mini]
    OMP_NUM_THREADS=1 python scripts/bench_generators.py --tasks 10 --per-task 200 --epochs-scale 0.1

With --zoo, the zoo's checkpoints are used. Without it, random arrays of the zoo's shapes
(MetaWorld policy spec, N = tasks x per-task rows) stand in: training and sampling cost
depends only on shapes, and the losses printed then mean nothing. --epochs-scale runs a
fraction of every stage's epochs and projects the full preset's time per stage linearly.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmark.policy import METAWORLD_SPEC
from benchmark.zoo.format import PolicySet, Zoo, load_zoo
from generators.make_an_agent.model import REDUCTIONS, MakeAnAgent, preset_config

EPOCH_FIELDS = {"autoencoder": "ae_epochs", "embedding": "emb_epochs", "diffusion": "diff_epochs"}


def shaped_zoo(n_tasks: int, per_task: int, horizon: int = 120, seed: int = 0) -> Zoo:
    """Random arrays with the shapes of a MetaWorld zoo (for timing only)."""
    rng = np.random.default_rng(seed)
    n, spec = n_tasks * per_task, METAWORLD_SPEC
    successes = np.zeros((n, horizon), np.uint8)
    successes[np.arange(n), rng.integers(40, horizon - 5, n)] = 1
    data = PolicySet(
        params=rng.normal(0, 0.1, (n, spec.n_params)).astype(np.float32),
        states=rng.uniform(-1, 1, (n, horizon, spec.obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (n, horizon, spec.act_dim)).astype(np.float32),
        rewards=np.zeros((n, horizon), np.float32), successes=successes,
        lengths=np.full(n, horizon, np.int32),
        records=[{"task": f"task-{i // per_task}"} for i in range(n)])
    manifest = {"zoo_id": "shapes-only", "tasks": sorted({r["task"] for r in data.records})}
    return Zoo(root=None, manifest=manifest, spec=spec, checkpoints=data, conditions=data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zoo", help="zoo directory (default: random arrays of MetaWorld shapes)")
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--per-task", type=int, default=200)
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="fraction of each stage's epochs to run")
    parser.add_argument("--n-generate", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    zoo = load_zoo(args.zoo) if args.zoo else shaped_zoo(args.tasks, args.per_task)
    full = preset_config(args.preset, device=args.device)
    scaled = dataclasses.replace(full, **{
        f: max(1, round(getattr(full, f) * args.epochs_scale)) for f in EPOCH_FIELDS.values()})
    print(f"preset {args.preset} ({REDUCTIONS[args.preset]})")
    print(f"zoo {zoo.zoo_id}: {len(zoo.checkpoints)} checkpoints, {torch.get_num_threads()} torch thread(s), "
          f"device {args.device}")
    model = MakeAnAgent(scaled, zoo.spec)
    stats = model.fit(zoo, seed=args.seed)
    total_projected = 0.0
    for stage, epochs_field in EPOCH_FIELDS.items():
        seconds, ran = stats[f"{stage}_seconds"], getattr(scaled, epochs_field)
        projected = seconds * getattr(full, epochs_field) / ran
        total_projected += projected
        losses = model.history.get(stage)
        loss = f"loss {losses[0]:.4g} -> {losses[-1]:.4g}" if losses else "not trained"
        print(f"  {stage:12s} {ran:5d} epochs {seconds:8.1f} s  ({seconds / ran:.2f} s/epoch; "
              f"full preset {getattr(full, epochs_field)} epochs ~ {projected:.0f} s)  {loss}")
    print(f"  training total, full preset: ~{total_projected / 60:.1f} min")

    conditions = zoo.conditions.subset(np.arange(args.n_generate) % len(zoo.conditions))
    model.propose(conditions.subset([0]), seed=0)  # warm-up
    start = time.perf_counter()
    proposal = model.propose(conditions, seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"generate {len(proposal.params)} policies: {seconds:.2f} s ({1000 * seconds / len(proposal.params):.1f} ms each)")


if __name__ == "__main__":
    main()
