"""Importer of the Make-An-Agent authors' released dataset files (torch `.pt` dicts).

The release ships two kinds of file, both a dict of three tensors with N rows:

    raw        param (N, 22664)    flat SAC actor parameters, in this suite's order
               traj  (N, 1020)     first 60 steps as 20 groups of [state_t (39), a_t, a_t+1, a_t+2 (3x4)]
               task  (N, 117)      3 consecutive states from the first success (3x39)
    processed  param (N, 2, 1024)  autoencoder latents of the parameters (2 tokens)
               traj  (N, 128)      behaviour embedding h of the trajectory
               task  (N, 128)      behaviour embedding v of the success states

Only the raw kind holds policies; the processed kind holds outputs of the authors' trained
networks and is readable as arrays (`read_authors_file`) but refused by `import_authors`.
The multi-task file has no task labels: import a per-task file and name its task.

Files are read with `torch.load(weights_only=True)`, which refuses anything but tensors and
plain containers, so a file can never run code on import.

What a raw row gives back (see `authors_policy_set`):
- the policy: exactly (the parameter order is the state_dict order, as in benchmark.policy);
- the first 60 actions: exactly (all three actions of each group);
- states: only at steps 0, 3, ..., 57 and the 3 states from the first success;
- not recoverable: the states at steps 1 and 2 mod 3, every state after step 59 (except the
  3 success states, whose step index is not stored), rewards, per-step success flags, the
  episode's length and first-success step. A trajectory that ended before step 60 is
  indistinguishable from one that stood still with zero actions (the feature padding).
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.envs import check_task
from benchmark.errors import UserError
from benchmark.policy import METAWORLD_SPEC, PolicySpec
from benchmark.zoo.features import success_features, trajectory_features
from benchmark.zoo.format import PolicySet

N_STEPS, GROUP, SUCCESS_STATES = 60, 3, 3   # the release's feature layout
KEYS = ("param", "traj", "task")
LATENT_TOKENS, LATENT_DIM, EMBED_DIM = 2, 1024, 128


def feature_sizes(spec: PolicySpec = METAWORLD_SPEC) -> tuple[int, int]:
    """(trajectory feature size, success feature size): (1020, 117) for MetaWorld."""
    return (N_STEPS // GROUP) * (spec.obs_dim + GROUP * spec.act_dim), SUCCESS_STATES * spec.obs_dim


@dataclass
class AuthorsDataset:
    """A raw release file as arrays, all float32 with N rows."""

    params: np.ndarray
    """(N, n_params) flat actor parameters (benchmark.policy order)."""
    traj_features: np.ndarray
    """(N, 1020) 20 groups of [state (39), next 3 actions (3x4)] over the first 60 steps."""
    success_features: np.ndarray
    """(N, 117) 3 consecutive states from the first success (3x39)."""
    task: str
    """Benchmark task name of every row (the file itself carries no label)."""

    def __len__(self) -> int:
        return len(self.params)


def _first_line(exc: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()   # torch colours part of its messages
    return text.splitlines()[0] if text else type(exc).__name__


def _pickled_type(exc: Exception) -> str:
    """The global a refused pickle asked for ('builtins.getattr'), from torch's message."""
    match = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
    return match.group(1) if match else "object"


def read_authors_file(path) -> tuple[str, dict[str, np.ndarray]]:
    """(kind, arrays) of a release file: kind 'raw' or 'processed', arrays param/traj/task as
    float32 numpy, shapes checked against the module docstring and values finite."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UserError(f"{path}: refused, holds objects other than tensors (a pickled {_pickled_type(exc)}; "
                        "torch.load(weights_only=True) reads tensors and plain containers only)") from None
    except Exception as exc:  # truncated zip, not a torch file, ...: torch raises several types
        raise UserError(f"{path}: unreadable or truncated torch file ({_first_line(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a dict with keys {', '.join(KEYS)}, found {type(data).__name__}")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise UserError(f"{path}: missing key(s) {', '.join(missing)} (found: {', '.join(map(str, data)) or 'none'})")
    arrays = {}
    for key in KEYS:
        value = data[key]
        if not isinstance(value, torch.Tensor):
            raise UserError(f"{path}: {key!r} is a {type(value).__name__}, expected a tensor")
        if not value.is_floating_point():
            raise UserError(f"{path}: {key!r} has dtype {value.dtype}, expected a floating-point tensor")
        arrays[key] = value.detach().to(torch.float32).numpy()
    shapes = {k: tuple(v.shape) for k, v in arrays.items()}
    n = shapes["param"][0] if shapes["param"] else 0
    traj_size, success_size = feature_sizes()
    raw = {"param": (n, METAWORLD_SPEC.n_params), "traj": (n, traj_size), "task": (n, success_size)}
    processed = {"param": (n, LATENT_TOKENS, LATENT_DIM), "traj": (n, EMBED_DIM), "task": (n, EMBED_DIM)}
    if shapes == raw:
        kind = "raw"
    elif shapes == processed:
        kind = "processed"
    else:
        found = ", ".join(f"{k} {list(s)}" for k, s in shapes.items())
        raise UserError(f"{path}: shapes {found} match neither the raw release (param [N, 22664], traj [N, 1020], "
                        f"task [N, 117]) nor the processed one (param [N, 2, 1024], traj [N, 128], task [N, 128])")
    if n == 0:
        raise UserError(f"{path}: holds no rows")
    for key, array in arrays.items():
        bad = ~np.isfinite(array)
        if bad.any():
            raise UserError(f"{path}: {key!r} has {int(bad.sum())} non-finite values (first in row {int(np.argwhere(bad)[0][0])})")
    return kind, arrays


def import_authors(path, task: str) -> AuthorsDataset:
    """Import a raw release file of `task`; a processed (latent) file raises UserError."""
    check_task(task)
    kind, arrays = read_authors_file(path)
    if kind == "processed":
        raise UserError(f"{path}: this is the release's processed file (autoencoder latents and embeddings, "
                        f"not policies); import the raw file, or read these arrays with read_authors_file")
    return AuthorsDataset(params=arrays["param"], traj_features=arrays["traj"],
                          success_features=arrays["task"], task=task)


def unpack_trajectory_features(traj_features: np.ndarray, spec: PolicySpec = METAWORLD_SPEC) -> tuple[np.ndarray, np.ndarray]:
    """(states (N, 20, obs) at steps 0, 3, ..., 57; actions (N, 60, act) of steps 0..59)."""
    n = len(traj_features)
    groups = traj_features.reshape(n, N_STEPS // GROUP, spec.obs_dim + GROUP * spec.act_dim)
    states = groups[:, :, :spec.obs_dim]
    actions = groups[:, :, spec.obs_dim:].reshape(n, N_STEPS, spec.act_dim)
    return states, actions


def authors_policy_set(dataset: AuthorsDataset, spec: PolicySpec = METAWORLD_SPEC) -> PolicySet:
    """The dataset as a zoo-compatible PolicySet with partial, reconstructed trajectories.

    Each row is 60 steps long: actions are the stored ones; states at steps 1 and 2 mod 3 are
    copies of the preceding stored state (so `trajectory_features` of the result equals
    `dataset.traj_features` exactly); rewards and successes are zero because they are unknown,
    and records say so with success / first_success_step None and reconstructed True.
    The success features are not placed in the trajectory (their step is unknown).
    """
    if dataset.params.shape[1] != spec.n_params:
        raise UserError(f"authors params have {dataset.params.shape[1]} numbers per policy, spec {spec} needs {spec.n_params}")
    stored_states, actions = unpack_trajectory_features(dataset.traj_features, spec)
    states = np.repeat(stored_states, GROUP, axis=1)   # (N, 60, obs): hold each stored state for its group
    n = len(dataset)
    records = [{"task": dataset.task, "source": "authors", "run_seed": None, "configuration": None,
                "step": None, "success": None, "first_success_step": None, "reconstructed": True, "row": i}
               for i in range(n)]
    return PolicySet(
        params=np.ascontiguousarray(dataset.params, np.float32),
        states=np.ascontiguousarray(states, np.float32), actions=np.ascontiguousarray(actions, np.float32),
        rewards=np.zeros((n, N_STEPS), np.float32), successes=np.zeros((n, N_STEPS), np.uint8),
        lengths=np.full(n, N_STEPS, np.int32), records=records,
    )


def dataset_from_policy_set(policies: PolicySet, task: str) -> AuthorsDataset:
    """This suite's policies in the release's raw layout (features from benchmark.zoo.features),
    for side-by-side comparison with an imported file; rows of other tasks are dropped."""
    rows = policies.for_task(check_task(task))
    success, _ = success_features(rows.states, rows.successes, rows.lengths, m=SUCCESS_STATES)
    return AuthorsDataset(
        params=rows.params.astype(np.float32),
        traj_features=trajectory_features(rows.states, rows.actions, rows.lengths, n_steps=N_STEPS, group=GROUP),
        success_features=success.astype(np.float32), task=task,
    )


def write_imported(path, task: str, out_dir) -> Path:
    """Import a raw release file of `task` into `out_dir`: <task>.safetensors (the release's
    arrays param/traj/task and the reconstructed PolicySet arrays) and <task>.json (records,
    source file and its SHA-256, provenance). Returns the JSON's path."""
    import hashlib

    from safetensors.numpy import save_file

    from benchmark.provenance import atomic_write_json, provenance

    dataset = import_authors(path, task)
    policies = authors_policy_set(dataset)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"param": dataset.params, "traj": dataset.traj_features, "task": dataset.success_features,
              **{f"policies/{k}": v for k, v in policies.arrays().items()}}
    tmp = out_dir / f".{task}.safetensors.tmp"
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp))
    tmp.replace(out_dir / f"{task}.safetensors")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    meta = out_dir / f"{task}.json"
    atomic_write_json(meta, dict(task=task, rows=len(dataset), source=str(path), source_sha256=digest,
                                 records=policies.records, provenance=provenance()))
    return meta
