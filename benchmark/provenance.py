"""What produced a result: code version, package versions, machine, time."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "numpy", "mujoco", "metaworld", "gymnasium", "ray", "rliable", "diffusers", "pandas")
REPO_ROOT = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """Git commit of the checkout, with '+dirty' when tracked files differ; 'unknown' outside git.

    B2P_CODE_VERSION overrides it: cell ids include the code version, so pinning it keeps
    finished cells across commits that do not change results (the tests pin it too).
    """
    if os.environ.get("B2P_CODE_VERSION"):
        return os.environ["B2P_CODE_VERSION"]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@functools.lru_cache(maxsize=None)
def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(version: str | None = None) -> dict:
    """Code version, package versions, machine and UTC time, for a result's metadata.

    version: the code version the result was computed with, when it was read before the work
    started (the checkout may change during a long run); default: the current one.
    """
    return {
        "code_version": version or code_version(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def config_hash(config, length: int = 12) -> str:
    """Stable hash of a JSON-serialisable config (keys sorted)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n")
