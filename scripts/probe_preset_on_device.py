"""Make-An-Agent at any preset on a task subset of a built zoo, trained on any torch device,
measured stage by stage as `diagnose` measures it. For the `paper` preset on a GPU
machine that holds neither the zoo (660 MB) nor MetaWorld:

    # here: the tasks' checkpoints, trimmed to what Make-An-Agent reads (the first 60 steps
    # and 3 success states; features checked identical), and the diagnosis' rows and seeds
    python scripts/probe_preset_on_device.py pack --zoo results/zoo/<id> --tasks faucet-close drawer-open --out .devpack
    # there (or here): train, then generate stages (b) reconstruction, (c) own trajectories,
    # (d) the seen cells' conditions; writes <out>/stages-<task>.safetensors and <out>/fit.json
    python scripts/probe_preset_on_device.py train --pack .devpack --preset paper --device cuda --out $OUT
    # here: roll every stage's policies out in the 5 evaluation configurations
    python scripts/probe_preset_on_device.py evaluate --pack .devpack --stages $OUT/stages-*.safetensors --out results/probe/paper.csv

Rows and seeds are `diagnose`'s (the same 20 checkpoints per task, the seen suite's 20
condition trajectories of seed 0); stage (d)'s proposal seed is the diagnosis' stage seed,
not the suite cell's (which hashes the method's config). The model trains on the packed tasks
only: compare it with another model trained by this script on the same pack, and with a
10-task `diagnose` model on the same tasks to see what holding all ten costs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import lzma
import time
from pathlib import Path

import numpy as np

from benchmark.policy import PolicySpec
from benchmark.zoo.format import ARRAYS, PolicySet, Zoo

GENERATED_STAGES = ("reconstruction", "own-trajectory", "condition")
POLICIES = 20


def trim(data: PolicySet, n_steps: int, m: int) -> PolicySet:
    """Rows cut to the first `n_steps` steps (padded as the features pad them) followed by the
    `m` states Make-An-Agent's v reads (from the first success, else the last valid ones),
    marked successful at `n_steps` when the row succeeds; params and records unchanged."""
    from benchmark.zoo.features import _padded_steps

    n, obs, act = len(data), data.states.shape[2], data.actions.shape[2]
    states = np.zeros((n, n_steps + m, obs), np.float32)
    actions = np.zeros((n, n_steps + m, act), np.float32)
    successes = np.zeros((n, n_steps + m), np.uint8)
    states[:, :n_steps], actions[:, :n_steps] = _padded_steps(data.states, data.actions, data.lengths, n_steps)
    first, lengths = data.first_success_steps, data.lengths.astype(np.int64)
    start = np.where(first >= 0, first, np.maximum(lengths - m, 0))
    index = np.minimum(start[:, None] + np.arange(m)[None, :], lengths[:, None] - 1)
    states[:, n_steps:] = data.states[np.arange(n)[:, None], index]
    successes[:, n_steps] = first >= 0
    return PolicySet(params=data.params, states=states, actions=actions,
                     rewards=np.zeros((n, n_steps + m), np.float32), successes=successes,
                     lengths=np.full(n, n_steps + m, np.int32), records=data.records)


def pack(args) -> None:
    from safetensors.numpy import save

    from benchmark.diagnose import checkpoint_rows
    from benchmark.plan import condition_rows, stable_int
    from benchmark.zoo.format import load_zoo
    from generators.make_an_agent.embedding import behaviour_inputs
    from generators.make_an_agent.model import preset_config

    zoo = load_zoo(args.zoo)
    window = preset_config("paper")
    if any(getattr(preset_config(p), k) != getattr(window, k) for p in ("mini", "paper")
           for k in ("traj_steps", "traj_group", "success_states")):
        raise SystemExit("the presets read different trajectory windows; pack per preset")
    n_steps, group, m = window.traj_steps, window.traj_group, window.success_states
    train_rows = np.flatnonzero(np.isin(zoo.checkpoints.tasks, args.tasks))
    cond_rows = np.concatenate([condition_rows(zoo, t, POLICIES, 0) for t in args.tasks])
    sets = {"checkpoints": zoo.checkpoints.subset(train_rows), "conditions": zoo.conditions.subset(cond_rows)}
    trimmed = {split: trim(data, n_steps, m) for split, data in sets.items()}
    for split in sets:
        for full, cut in zip(behaviour_inputs(sets[split], n_steps, group, m),
                             behaviour_inputs(trimmed[split], n_steps, group, m)):
            if not np.array_equal(full, cut):
                raise SystemExit(f"trimmed {split} change Make-An-Agent's features")
    units = []
    for task in args.tasks:
        diag_rows = np.searchsorted(train_rows, checkpoint_rows(zoo, task, POLICIES))
        for stage in GENERATED_STAGES:
            rows = (diag_rows if stage != "condition"
                    else np.flatnonzero(trimmed["conditions"].tasks == task))
            units.append(dict(task=task, stage=stage, rows=rows.tolist(),
                              seed=stable_int("diagnose", stage, task, 0) % 2**31))
        units.append(dict(task=task, stage="checkpoint", rows=diag_rows.tolist(), seed=0))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {f"{split}.{name}": getattr(data, name) for split, data in trimmed.items() for name in ARRAYS}
    arrays["conditions.params"] = np.zeros((len(cond_rows), 0), np.float32)  # methods never see them
    # xz: the tool carries 64 MiB, and the trained weights' float32 halve under it
    (out / "pack.safetensors.xz").write_bytes(lzma.compress(save(arrays), preset=3))
    (out / "pack.json").write_text(json.dumps(dict(
        zoo_id=zoo.zoo_id, tasks=args.tasks, spec=zoo.spec.to_dict(), units=units,
        records={split: data.records for split, data in trimmed.items()}), indent=1))
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(f"packed {len(train_rows)} checkpoints and {len(cond_rows)} conditions of {args.tasks} "
          f"from {zoo.zoo_id}: {size:.1f} MiB")


def load_pack(directory: Path) -> tuple[Zoo, dict]:
    from safetensors.numpy import load

    meta = json.loads((directory / "pack.json").read_text())
    arrays = load(lzma.decompress((directory / "pack.safetensors.xz").read_bytes()))
    sets = {split: PolicySet(**{name: arrays[f"{split}.{name}"] for name in ARRAYS},
                             records=meta["records"][split]) for split in ("checkpoints", "conditions")}
    zoo = Zoo(root=directory, manifest=dict(zoo_id=meta["zoo_id"], tasks=meta["tasks"]),
              spec=PolicySpec(**meta["spec"]), **sets)
    return zoo, meta


EPOCHS = ("ae_epochs", "emb_epochs", "diff_epochs")


def fit_in_time(config, zoo: Zoo, max_seconds: float):
    """`config`, or with every stage's epochs cut by one factor when a timed fit at 1/50 of
    them projects more than `max_seconds` (a GPU job's wall time may be limited)."""
    from generators.make_an_agent.model import MakeAnAgent

    probe = dataclasses.replace(config, **{k: max(1, getattr(config, k) // 50) for k in EPOCHS})
    MakeAnAgent(probe, zoo.spec).fit(zoo, seed=0)  # warm-up: kernels, allocator
    start = time.perf_counter()
    stats = MakeAnAgent(probe, zoo.spec).fit(zoo, seed=0)
    projected = sum(stats[f"{stage}_seconds"] * getattr(config, key) / getattr(probe, key)
                    for stage, key in zip(("autoencoder", "embedding", "diffusion"), EPOCHS))
    print(f"timed 1/50 of the epochs in {time.perf_counter() - start:.1f} s: the full fit projects "
          f"{projected:.0f} s", flush=True)
    if projected <= max_seconds:
        return config
    factor = max_seconds / projected
    cut = {k: max(1, int(getattr(config, k) * factor)) for k in EPOCHS}
    print(f"epochs cut by {factor:.2f} to fit {max_seconds:.0f} s: {cut}", flush=True)
    return dataclasses.replace(config, **cut)


def train(args) -> None:
    import torch
    from safetensors.numpy import save_file

    from generators.make_an_agent.model import MakeAnAgent, config_to_dict, preset_config

    zoo, meta = load_pack(Path(args.pack))
    overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    config = preset_config(args.preset, device=args.device, **overrides)
    if args.max_seconds:
        config = fit_in_time(config, zoo, args.max_seconds)
    model = MakeAnAgent(config, zoo.spec)
    n_weights = sum(p.numel() for module in model._modules_by_name().values() for p in module.parameters())
    print(f"{args.preset} on {args.device} ({torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu'}): "
          f"{n_weights / 1e6:.1f} M weights, {len(zoo.checkpoints)} checkpoints of {meta['tasks']}", flush=True)
    start = time.perf_counter()
    stats = model.fit(zoo, seed=0)
    fit_seconds = time.perf_counter() - start
    print(f"fit {fit_seconds:.0f} s: " + ", ".join(f"{k} {v:.4g}" for k, v in stats.items()
                                                    if isinstance(v, float)), flush=True)
    arrays = {task: {} for task in meta["tasks"]}
    for unit in meta["units"]:
        rows = np.asarray(unit["rows"], np.int64)
        if unit["stage"] == "reconstruction":
            params = model.reconstruct(zoo.checkpoints.params[rows])
        elif unit["stage"] in ("own-trajectory", "condition"):
            source = zoo.checkpoints if unit["stage"] == "own-trajectory" else zoo.conditions
            prompts = dataclasses.replace(source.subset(rows), params=np.zeros((len(rows), 0), np.float32))
            torch.manual_seed(unit["seed"])
            params = model.propose(prompts, seed=unit["seed"]).params
        else:
            continue
        arrays[unit["task"]][f"{unit['task']}/{unit['stage']}"] = np.ascontiguousarray(params, np.float32)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for task, task_arrays in arrays.items():  # a file per task: the tool returns 16 MiB per file
        save_file(task_arrays, str(out / f"stages-{task}.safetensors"))
    (out / "fit.json").write_text(json.dumps(dict(
        preset=args.preset, overrides=overrides, device=args.device, config=config_to_dict(config), fit_seconds=fit_seconds,
        n_weights=n_weights, torch=torch.__version__, stats=stats, history=model.history), indent=1))
    print(f"wrote {out}/stages-*.safetensors after {time.perf_counter() - start:.0f} s", flush=True)


def evaluate_stages(args) -> None:
    import pandas as pd
    from safetensors.numpy import load_file

    from benchmark.config import load_profile
    from benchmark.diagnose import summarise
    from benchmark.engine import evaluate
    from benchmark.envs import EVAL_CONFIGURATIONS

    zoo, meta = load_pack(Path(args.pack))
    generated = {key: value for path in args.stages for key, value in load_file(path).items()}
    profile = load_profile(args.profile)
    rows_out = []
    for unit in meta["units"]:
        key = f"{unit['task']}/{unit['stage']}"
        params = zoo.checkpoints.params[unit["rows"]] if unit["stage"] == "checkpoint" else generated[key]
        start = time.perf_counter()
        result = evaluate(unit["task"], EVAL_CONFIGURATIONS, len(params), params=params, spec=zoo.spec,
                          max_steps=profile.eval.steps_for(unit["task"]), stop_at_success=True,
                          policies_per_batch=profile.eval.policies_per_batch)
        rows_out.append(dict(task=unit["task"], stage=unit["stage"], **summarise(result.success_matrix())))
        print(f"{key:32s} mean {rows_out[-1]['mean']:.2f} top-5 {rows_out[-1]['top5']:.2f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    table = pd.DataFrame(rows_out)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(table.pivot(index="stage", columns="task", values="mean").round(2).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--zoo", required=True)
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("train")
    p.add_argument("--pack", required=True)
    p.add_argument("--preset", default="paper")
    p.add_argument("--device", default="cpu")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=JSON", help="Config fields over the preset's")
    p.add_argument("--max-seconds", type=float, default=0,
                   help="cut every stage's epochs by one factor if a timed probe projects more (0: never)")
    p.add_argument("--out", required=True)
    p = sub.add_parser("evaluate")
    p.add_argument("--pack", required=True)
    p.add_argument("--stages", nargs="+", required=True, help="a train command's stages-<task>.safetensors")
    p.add_argument("--profile", default="mini", help="the evaluation's episode caps and batch")
    p.add_argument("--out", required=True, help="CSV of mean / top-5 / qualified per task and stage")
    args = parser.parse_args()
    {"pack": pack, "train": train, "evaluate": evaluate_stages}[args.command](args)


if __name__ == "__main__":
    main()
