"""Method training, cached by content: results/models/<method>-<hash of what the model depends on>.

A model directory holds the method's own files and `training.json` (written last, so a
directory without it is unfinished): method name, resolved config, zoo id, policy spec,
seed, training statistics (losses, CPU seconds) and provenance. `losses.csv` holds any
per-epoch loss history the method returns under the key "history".
"""
from __future__ import annotations

import csv
import functools
import hashlib
import importlib
import json
import shutil
import time
from pathlib import Path

import torch

from benchmark.errors import UserError
from benchmark.methods import config_to_dict, resolve_method
from benchmark.policy import PolicySpec
from benchmark.provenance import atomic_write_json, code_version, config_hash, provenance
from benchmark.zoo.format import load_zoo

TRAINING_VERSION = 1


@functools.lru_cache(maxsize=None)
def method_source_hash(module_name: str) -> str:
    """Hash of the source files of a method's module, with its package's shared modules
    (the whole package for a sub-package such as generators.make_an_agent; base.py and
    common.py beside a top-level module): a code change retrains, nothing else does."""
    path = Path(importlib.import_module(module_name).__file__)
    if path.parent.name in ("generators", "baselines"):
        files = [path] + [path.with_name(n) for n in ("base.py", "common.py") if path.with_name(n).is_file()]
    else:
        files = sorted(path.parent.glob("*.py"))
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + file.read_bytes())
    return digest.hexdigest()[:12]


def model_identity(method: str, config, zoo_id: str, seed: int) -> dict:
    return dict(method=method, config=config_to_dict(config), zoo_id=zoo_id, seed=int(seed),
                source=method_source_hash(type(config).__module__), training_version=TRAINING_VERSION)


def model_dir(results: Path, method: str, config, zoo_id: str, seed: int) -> Path:
    slug = "".join(ch if ch.isalnum() or ch in "-_=" else "_" for ch in method)
    return Path(results) / "models" / f"{slug}-s{seed}-{config_hash(model_identity(method, config, zoo_id, seed))}"


def train_unit(job: tuple) -> dict:
    """Worker: train one (method, seed) on a zoo and save it; returns its meta."""
    method, profile, zoo_root, seed, directory = job
    version = code_version()  # before fit: the checkout may change during a long training
    torch.manual_seed(seed)
    cls, config, _ = resolve_method(method, profile)
    zoo = load_zoo(zoo_root)
    model = cls(config, zoo.spec)
    start_cpu, start_wall = time.process_time(), time.time()
    stats = model.fit(zoo, seed=seed) or {}
    train_cpu = time.process_time() - start_cpu
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp)
    history = stats.pop("history", None)
    if history:
        keys = sorted({k for row in history for k in row})
        with open(tmp / "losses.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(history)
    meta = dict(model_identity(method, config, zoo.zoo_id, seed), policy_spec=zoo.spec.to_dict(),
                stats=stats, train_cpu_s=round(train_cpu, 2), train_wall_s=round(time.time() - start_wall, 2),
                provenance=provenance(version))
    atomic_write_json(tmp / "training.json", meta)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return meta


def load_model(method: str, profile, directory: Path, spec: PolicySpec):
    """Load a trained model; a model trained for another policy spec is a UserError."""
    meta_path = Path(directory) / "training.json"
    if not meta_path.is_file():
        raise UserError(f"{directory}: no trained model here (training.json missing)")
    meta = json.loads(meta_path.read_text())
    trained_spec = PolicySpec(**meta["policy_spec"])
    if trained_spec != spec:
        raise UserError(f"model {directory.name} was trained for policy spec {trained_spec}, the zoo has {spec}")
    cls, config, _ = resolve_method(method, profile)
    return cls.load(directory, config, spec), meta
