"""Method training and the one on-disk layout of a trained model.

results/models/<method>-s<seed>-<hash of what the model depends on>/ holds the method's own
files (written by its `save`) and `training.json`, written last: the resolved method, zoo id,
policy spec, seed, training statistics, provenance and a SHA-256 of every file. The harness
writes the directory under a temporary name and renames it into place, so a model is either
complete or absent; at load it checks the policy spec and the checksums, and a damaged model is
retrained (`check_model`). `losses.csv` holds any per-epoch history the method returns under
the key "history".
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

from benchmark.api import METHODS, TrainingZoo
from benchmark.errors import MethodFailure, UserError, one_line
from benchmark.policy import PolicySpec
from benchmark.provenance import atomic_write_json, code_version, config_hash, provenance

TRAINING_VERSION = 1
META = "training.json"


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


def model_identity(method, zoo_id: str, seed: int) -> dict:
    """What a trained model depends on: the method's class and resolved config (not its name, so a
    variant and a profile preset that resolve to one config share the model), the zoo, the seed,
    the method's source."""
    return dict(target=method.target, config=method.config, zoo_id=zoo_id, seed=int(seed),
                source=method_source_hash(method.target.partition(":")[0]), training_version=TRAINING_VERSION)


def model_dir(results: Path, method, zoo_id: str, seed: int) -> Path:
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in method.base)
    return Path(results) / "models" / f"{slug}-s{seed}-{config_hash(model_identity(method, zoo_id, seed))}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): _sha256(p) for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != META}


def train_unit(job) -> dict:
    """Worker: train one TrainingJob on its zoo's training split (a TrainingZoo: `fit` never
    sees a condition trajectory) and save it; returns its meta. An exception in `fit` is a
    MethodFailure naming the method and the model."""
    import torch

    from benchmark.zoo.format import load_zoo

    version = code_version()  # before fit: the checkout may change during a long training
    torch.manual_seed(job.seed)
    cls = METHODS.get(job.method.target)
    zoo = load_zoo(job.zoo_root)
    model = cls(job.method.build_config(), zoo.spec)
    start_cpu, start_wall = time.process_time(), time.time()
    try:
        stats = model.fit(TrainingZoo.of(zoo), seed=job.seed) or {}
    except Exception as exc:
        raise MethodFailure(f"method {job.method.name}, model {Path(job.directory).name}: fit raised {one_line(exc)}") from exc
    train_cpu = time.process_time() - start_cpu
    history = stats.pop("history", None)
    meta = dict(model_identity(job.method, zoo.zoo_id, job.seed), target=job.method.target,
                policy_spec=zoo.spec.to_dict(), stats=stats, train_cpu_s=round(train_cpu, 2),
                train_wall_s=round(time.time() - start_wall, 2), provenance=provenance(version))
    return save_model(model, Path(job.directory), meta, history)


def save_model(model, directory: Path, meta: dict, history: list[dict] | None = None) -> dict:
    """Write a trained model the one way: its `save` into a temporary directory, losses.csv,
    training.json (`meta` + the policy spec + a SHA-256 per file) last, then a rename."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp)
    if history:
        keys = sorted({k for row in history for k in row})
        with open(tmp / "losses.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            writer.writerows(history)
    meta = dict(meta, policy_spec=model.spec.to_dict(), files=_checksums(tmp))
    atomic_write_json(tmp / META, meta)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return meta


def check_model(directory: Path, spec: PolicySpec) -> str | None:
    """Why the model in `directory` cannot be used for `spec` (None if it can; 'missing' if
    there is none): unreadable training.json, another policy spec, a changed or missing file."""
    meta_path = Path(directory) / META
    if not meta_path.is_file():
        return "missing"
    try:
        meta = json.loads(meta_path.read_text())
        trained = PolicySpec(**meta["policy_spec"])
        files = dict(meta["files"])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return f"unreadable {META} ({type(exc).__name__})"
    if trained != spec:
        return f"trained for policy spec {trained.to_dict()}, the zoo has {spec.to_dict()}"
    for name, digest in files.items():
        path = Path(directory) / name
        if not path.is_file():
            return f"{name} is missing"
        if _sha256(path) != digest:
            return f"{name} does not match its checksum"
    return None


def load_model(method, directory: Path, spec: PolicySpec):
    """(model, meta) of a trained ResolvedMethod; a missing or damaged model is a UserError."""
    reason = check_model(directory, spec)
    if reason:
        raise UserError(f"model {Path(directory).name}: {reason}")
    meta = json.loads((Path(directory) / META).read_text())
    return METHODS.get(method.target).load(Path(directory), method.build_config(), spec), meta
