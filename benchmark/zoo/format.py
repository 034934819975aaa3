"""The on-disk policy zoo: parameters, trajectories and a manifest with provenance.

A zoo is one directory:

    manifest.json              format, zoo id, settings, policy spec, provenance and one
                               record per checkpoint and per condition trajectory
    checkpoints.safetensors    the zoo's trained policies and the trajectory each produces
    conditions.safetensors     the sub-optimal condition ("test") trajectories and the
                               policies that produced them

Both safetensors files hold the same arrays for N rows (never pickle):

    params     (N, n_params)        float32  flat policy vectors (see benchmark.policy)
    states     (N, T, obs_dim)      float32  observations; states[i, 0] is the initial one
    actions    (N, T, act_dim)      float32  actions taken (in [-1, 1])
    rewards    (N, T)               float32  MetaWorld's dense reward
    successes  (N, T)               uint8    info['success'] per step
    lengths    (N,)                 int32    valid steps of each row; later steps are zero

Each record says where its row came from: task, source (collector), run_seed,
configuration (the MetaWorld constructor seed), step (training step of the snapshot),
success (1.0 if the trajectory succeeds), first_success_step (null if none), and for
conditions a quality label. Trajectories are stored up to a few steps after the first
success (or the full episode when there is none), which is all the methods read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from benchmark.provenance import atomic_write_json

FORMAT = "b2p-zoo"
FORMAT_VERSION = 1
SPLITS = ("checkpoints", "conditions")
ARRAYS = ("params", "states", "actions", "rewards", "successes", "lengths")
RECORD_KEYS = ("task", "source", "run_seed", "configuration", "step", "success", "first_success_step")


@dataclass
class PolicySet:
    """N policies with one trajectory each, and a record per row (see module docstring)."""

    params: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    successes: np.ndarray
    lengths: np.ndarray
    records: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def tasks(self) -> np.ndarray:
        """(N,) task name of each row."""
        return np.array([r["task"] for r in self.records], dtype=object)

    @property
    def first_success_steps(self) -> np.ndarray:
        """(N,) index of the first successful step, -1 where the trajectory never succeeds."""
        hit = self.successes.astype(bool)
        first = hit.argmax(axis=1)
        return np.where(hit.any(axis=1), first, -1)

    def subset(self, rows) -> "PolicySet":
        rows = np.asarray(rows, dtype=np.int64)
        return PolicySet(
            params=self.params[rows], states=self.states[rows], actions=self.actions[rows],
            rewards=self.rewards[rows], successes=self.successes[rows], lengths=self.lengths[rows],
            records=[self.records[i] for i in rows],
        )

    def for_task(self, task: str) -> "PolicySet":
        return self.subset(np.flatnonzero(self.tasks == task))

    @staticmethod
    def concatenate(sets: list["PolicySet"], spec: PolicySpec) -> "PolicySet":
        """Stack sets row-wise, padding trajectories to the longest."""
        sets = [s for s in sets if len(s)]
        if not sets:
            return empty_policy_set(spec)
        horizon = max(s.states.shape[1] for s in sets)

        def pad(array):
            width = [(0, 0), (0, horizon - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
            return np.pad(array, width)

        return PolicySet(
            params=np.concatenate([s.params for s in sets]),
            states=np.concatenate([pad(s.states) for s in sets]),
            actions=np.concatenate([pad(s.actions) for s in sets]),
            rewards=np.concatenate([pad(s.rewards) for s in sets]),
            successes=np.concatenate([pad(s.successes) for s in sets]),
            lengths=np.concatenate([s.lengths for s in sets]),
            records=[r for s in sets for r in s.records],
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}


def empty_policy_set(spec: PolicySpec, horizon: int = 1) -> PolicySet:
    return PolicySet(
        params=np.zeros((0, spec.n_params), np.float32),
        states=np.zeros((0, horizon, spec.obs_dim), np.float32),
        actions=np.zeros((0, horizon, spec.act_dim), np.float32),
        rewards=np.zeros((0, horizon), np.float32),
        successes=np.zeros((0, horizon), np.uint8),
        lengths=np.zeros((0,), np.int32),
    )


@dataclass
class Zoo:
    """A loaded, validated zoo. `checkpoints` are the training policies; `conditions` the
    condition trajectories methods are prompted with."""

    root: Path
    manifest: dict
    spec: PolicySpec
    checkpoints: PolicySet
    conditions: PolicySet

    @property
    def zoo_id(self) -> str:
        return self.manifest["zoo_id"]

    @property
    def tasks(self) -> list[str]:
        return list(self.manifest["tasks"])


def update_range(records: list[dict]) -> list[int] | None:
    """[min, max] of the training updates (`step`) rows were recorded at; None for none."""
    steps = [r["step"] for r in records if r.get("step") is not None]
    return [min(steps), max(steps)] if steps else None


def condition_summary(zoo: Zoo) -> dict:
    """{task: conditions, share that succeed, training updates they were drawn at [min, max]}:
    what a run's prompts are drawn from (check-zoo and every report print it per task)."""
    out = {}
    for task in zoo.tasks:
        conds = zoo.conditions.for_task(task)
        out[task] = dict(conditions=len(conds), updates=update_range(conds.records),
                         succeeding=round(float(conds.successes.any(axis=1).mean()), 3) if len(conds) else None)
    return out


def _expected_shapes(spec: PolicySpec, n: int, horizon: int) -> dict[str, tuple]:
    return {
        "params": (n, spec.n_params), "states": (n, horizon, spec.obs_dim),
        "actions": (n, horizon, spec.act_dim), "rewards": (n, horizon),
        "successes": (n, horizon), "lengths": (n,),
    }


EXPECTED_DTYPES = {
    "params": np.float32, "states": np.float32, "actions": np.float32,
    "rewards": np.float32, "successes": np.uint8, "lengths": np.int32,
}


def validate_policy_set(arrays: dict, records: list, spec: PolicySpec, where: str) -> None:
    """Raise UserError naming the first problem: missing array, dtype, shape, NaN, lengths."""
    for name in ARRAYS:
        if name not in arrays:
            raise UserError(f"{where}: array {name!r} is missing")
        if arrays[name].dtype != EXPECTED_DTYPES[name]:
            raise UserError(f"{where}: array {name!r} has dtype {arrays[name].dtype}, expected {np.dtype(EXPECTED_DTYPES[name])}")
    n = len(records)
    horizon = arrays["states"].shape[1] if arrays["states"].ndim == 3 else -1
    for name, shape in _expected_shapes(spec, n, horizon).items():
        if arrays[name].shape != shape:
            raise UserError(f"{where}: array {name!r} has shape {tuple(arrays[name].shape)}, expected {shape} "
                            f"({n} records, policy spec {spec.obs_dim}/{spec.act_dim}/{spec.hidden})")
    for name in ("params", "states", "actions", "rewards"):
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise UserError(f"{where}: array {name!r} has {int(bad.sum())} non-finite values (first in row {row})")
    lengths = arrays["lengths"]
    if n and (lengths.min() < 1 or lengths.max() > horizon):
        raise UserError(f"{where}: lengths must lie in [1, {horizon}], found [{lengths.min()}, {lengths.max()}]")
    for i, record in enumerate(records):
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise UserError(f"{where}: record {i} lacks {', '.join(missing)}")


def write_zoo(root: Path, manifest: dict, checkpoints: PolicySet, conditions: PolicySet) -> None:
    """Write a zoo directory; the manifest is written last, so a zoo without one is unfinished."""
    from safetensors.numpy import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    spec = PolicySpec(**manifest["policy_spec"])
    for split, data in zip(SPLITS, (checkpoints, conditions)):
        arrays = {k: np.ascontiguousarray(v) for k, v in data.arrays().items()}
        validate_policy_set(arrays, data.records, spec, f"{split} to write")
        tmp = root / f".{split}.safetensors.tmp"
        save_file(arrays, str(tmp))
        tmp.replace(root / f"{split}.safetensors")
    manifest = dict(manifest, format=FORMAT, format_version=FORMAT_VERSION,
                    checkpoints=checkpoints.records, conditions=conditions.records)
    atomic_write_json(root / "manifest.json", manifest)


def _read_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not path.is_file():
        raise UserError(f"{root} is not a zoo: no manifest.json")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{path}: format version {manifest.get('format_version')}, this code reads {FORMAT_VERSION}")
    return manifest


def load_zoo(root) -> Zoo:
    """Load and validate a zoo directory; any defect raises a one-line UserError."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    root = Path(root)
    manifest = _read_manifest(root)
    try:
        spec = PolicySpec(**manifest["policy_spec"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{root / 'manifest.json'}: bad policy_spec ({exc})") from None
    sets = {}
    for split in SPLITS:
        path = root / f"{split}.safetensors"
        if not path.is_file():
            raise UserError(f"{path}: missing")
        try:
            arrays = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise UserError(f"{path}: unreadable or truncated ({str(exc).splitlines()[0]})") from None
        records = manifest.get(split)
        if not isinstance(records, list):
            raise UserError(f"{root / 'manifest.json'}: {split!r} records missing")
        validate_policy_set(arrays, records, spec, str(path))
        sets[split] = PolicySet(**{k: arrays[k] for k in ARRAYS}, records=records)
    return Zoo(root=root, manifest=manifest, spec=spec, **sets)
