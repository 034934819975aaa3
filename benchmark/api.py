"""The contract between the harness and every method (generators and baselines alike).

A method is trained once on a zoo (`fit`), saved and loaded, and then asked, per cell, to
propose policies from condition trajectories (`propose`). What each receives is enforced by
the harness, which passes views holding nothing else:

- `fit` gets a `TrainingZoo`: the seen tasks' checkpoints with their own trajectories and
  records, the policy spec, zoo id and settings; no condition trajectory of any task.
- `propose` gets a `ConditionView`: the fields the method declares in `reads` (among
  CONDITION_FIELDS), records with the task name only when "task" is declared, no parameters.
  Reading anything else raises `UndeclaredRead`, one line naming the field.
- Every proposal is checked before rollout (kind, shape, float32, finite values, and
  `Method.n_policies` policies); a refused proposal or an exception in `fit` or `propose` fails
  that cell or model with one line naming the method and the cell, and the run goes on.
 A method hands its trained state to
the harness as (tensors, meta) (`state`) and is rebuilt from it (`from_state`); `Method.save` /
`Method.load` write and read that state in the one layout, state.safetensors + state.json
(`save_state` / `load_state`). Proposals come in two kinds:

- `ParameterProposal`: K parameter vectors of the shared policy family. The engine evaluates
  them K at a time with one batched numpy forward. Every weight generator returns this.
- `ActorProposal`: policies that are not of the family (e.g. a Decision Transformer). The
  engine asks `make_actor(policy_ids)` for an object whose `act(obs)` maps a batch of
  observations (B, obs_dim) to actions (B, act_dim); row b is an episode of policy
  policy_ids[b]. One actor object lives for one batch of episodes, so it may keep history.

Methods are found by name in `METHODS`: every name, in-repo ones included, comes from the
entry-point group "benchmark.generators" (an entry is a `Method` subclass or a `MethodEntry`
that adds display metadata), or a direct "package.module:Class" path. A method name may carry
a variant, "NAME[key=value,...]" (`parse_method_name`, the one grammar for it): Config fields
overridden, with values typed and checked against the Config (`config_from_dict`).

This module imports only the shared data types (policy family, zoo format): `generators/`,
`baselines/` and plug-ins import it and nothing else from the harness but those types.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import re
import types
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ClassVar, Protocol

import numpy as np
import yaml

from benchmark.errors import UserError, unknown
from benchmark.policy import PolicySpec
from benchmark.provenance import atomic_write_json
from benchmark.zoo.format import PolicySet, Zoo

if TYPE_CHECKING:
    import torch

ENTRY_POINT_GROUP = "benchmark.generators"
CONDITION_FIELDS = ("states", "actions", "rewards", "successes", "task")
"""What a method may read from its condition trajectories (`Method.reads`); never parameters,
run seeds, configurations, training steps, success labels or sources."""
STATE_TENSORS = "state.safetensors"
STATE_META = "state.json"
"""The two files of a saved method state (`save_state`): its tensors and its JSON meta."""


@dataclass
class ParameterProposal:
    """K policies of the shared family."""

    params: np.ndarray
    """(K, spec.n_params) float32 flat parameter vectors."""
    spec: PolicySpec
    """The policy family the vectors belong to; must equal the zoo's."""


class Actor(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions (B, act_dim) in [-1, 1] for observations (B, obs_dim)."""


@dataclass
class ActorProposal:
    """K policies evaluated through the generic `act` path."""

    n_policies: int
    make_actor: Callable[[np.ndarray], Actor]
    """policy_ids (B,) -> an Actor for B lockstep episodes of those policies."""


Proposal = ParameterProposal | ActorProposal


class Method(ABC):
    """A behaviour-to-policy method.

    Subclasses set `name`, `Config` (a dataclass whose fields are the method's
    hyperparameters, each with a docstring; profiles fill it from YAML) and implement `fit`,
    `propose`, and `state` / `from_state` (what `save` / `load` write and read; a method may
    override `save` and `load` instead). For a cell with n condition trajectories a method
    proposes n policies (one per trajectory) unless it says otherwise in `propose`'s docstring.
    The module of a method may define `PRESETS` ({profile name: Config overrides}) and
    `REDUCTIONS` (what the non-paper presets reduce: a string, or {profile name: string}).
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    reads: ClassVar[tuple[str, ...]] = ("states", "actions")
    """Condition fields `propose` reads, among CONDITION_FIELDS; printed in every report. The
    harness enforces it: `propose` receives a ConditionView holding these fields only."""

    def __init__(self, config, spec: PolicySpec):
        self.config = config
        self.spec = spec

    @classmethod
    def reads_for(cls, config) -> tuple[str, ...]:
        """What `propose` reads under `config` (a variant may read more or less): `reads` unless
        the method overrides this."""
        return cls.reads

    def n_policies(self, n_conditions: int) -> int:
        """How many policies `propose` returns for `n_conditions` condition trajectories: one
        per trajectory unless a method overrides this. The harness checks every proposal
        against it."""
        return n_conditions

    @abstractmethod
    def fit(self, zoo: "TrainingZoo", seed: int) -> dict:
        """Train on the zoo's training split (a TrainingZoo: the seen tasks' checkpoints with
        their own trajectories and records; no condition trajectories of any task); returns a
        dict of scalar training statistics (final losses, seconds) to store with the model."""

    def state(self) -> tuple[dict[str, "torch.Tensor | np.ndarray"], dict]:
        """The trained model as (tensors, meta): every array it needs by name (torch tensors on
        any device, or numpy arrays), and a JSON-able dict of everything else (config, task
        names, statistics). `from_state` rebuilds the model from exactly this."""
        raise NotImplementedError(f"{type(self).__name__} implements neither state() nor save()")

    @classmethod
    def from_state(cls, tensors: dict[str, "torch.Tensor"], meta: dict, config, spec: PolicySpec) -> "Method":
        """Inverse of `state`. `tensors` are CPU torch tensors (a numpy array of `state` comes
        back as a tensor of the same dtype and shape: `.numpy()` converts it at no cost); `meta`
        is the dict as JSON gives it back (tuples become lists). `config` is the Config to run
        with, or None for the saved one. A UserError raised here is reported with the directory."""
        raise NotImplementedError(f"{cls.__name__} implements neither from_state() nor load()")

    def save(self, directory: Path) -> None:
        """Write the model into `directory`: `state()` as state.safetensors + state.json
        (`save_state`). The harness writes into a temporary directory, records a checksum of
        every file and renames it into place. A method that overrides this (and `load`) writes
        its own files (safetensors / JSON, never pickle)."""
        save_state(directory, *self.state())

    @classmethod
    def load(cls, directory: Path, config, spec: PolicySpec) -> "Method":
        """Inverse of `save`: `from_state` of the files `load_state` reads; a missing or damaged
        file, or state that `from_state` refuses, is a one-line UserError."""
        tensors, meta = load_state(directory)
        try:
            return cls.from_state(tensors, meta, config, spec)
        except UserError as exc:
            raise UserError(f"{directory}: {exc}") from None
        except NotImplementedError:
            raise
        except (KeyError, RuntimeError) as exc:  # e.g. another method's state: a meta key or tensors missing
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise UserError(
                f"{directory}: cannot rebuild a {cls.name} model from its state ({type(exc).__name__}: {reason})"
            ) from None

    @abstractmethod
    def propose(self, conditions: "ConditionView", seed: int) -> Proposal:
        """`n_policies(n)` policies for one cell, prompted or adapted with `conditions` (a
        ConditionView of the cell's n condition trajectories of one task, possibly with noisy
        actions: the declared `reads` only, no parameters). The harness checks the proposal
        (kind, shape (K, n_params), float32, finite, K) before any rollout."""

    def reconstruct(self, params: np.ndarray) -> np.ndarray | None:
        """(N, P) parameter vectors passed through the method's encoder and decoder, for the
        diagnosis; None if the method has no encoder."""
        return None

    def diagnostics(self) -> dict:
        """Scalar diagnostics of the trained model, e.g. reconstruction error, share of clamped latents."""
        return {}


# ----------------------------------------------------------------------------- what a method sees

class UndeclaredRead(UserError):
    """A method read a condition field it does not declare, or data `fit` never receives."""


_ARRAY_FIELDS = ("states", "actions", "rewards", "successes")
"""The condition fields that are arrays (the fifth, "task", is a name per row)."""


class ConditionView:
    """A cell's condition trajectories as `propose` receives them: the fields the method
    declares in `reads` (`Method.reads_for`) and nothing else. The harness builds it; the
    undeclared arrays are not in it, so no attribute, copy or pickle of it can reveal them.

    Like a PolicySet of n rows: `states` (n, T, obs), `actions` (n, T, act), `rewards` (n, T),
    `successes` (n, T) when declared; `lengths` (n,) valid steps (they come with the
    trajectories); `params` (n, 0); `records` [{"task": name}] when "task" is declared, else
    [{}]; `tasks` (n,) and `first_success_steps` (n,) as PolicySet's, from "task" and
    "successes". Reading an undeclared field raises UndeclaredRead, one line naming it.
    """

    __slots__ = ("_method", "_reads", "_arrays", "_tasks", "lengths")

    def __init__(self, method: str, reads: tuple[str, ...], lengths: np.ndarray, arrays: dict[str, np.ndarray],
                 tasks: list[str] | None):
        self._method, self._reads = method, tuple(reads)
        self._arrays, self._tasks, self.lengths = arrays, tasks, lengths

    @classmethod
    def of(cls, conditions: PolicySet, method: str, reads: tuple[str, ...]) -> "ConditionView":
        """The view of `conditions` (a PolicySet) for a method named `method` that declares `reads`."""
        arrays = {name: getattr(conditions, name).copy() for name in _ARRAY_FIELDS if name in reads}
        tasks = [str(r["task"]) for r in conditions.records] if "task" in reads else None
        return cls(method, reads, conditions.lengths.copy(), arrays, tasks)

    def _read(self, name: str):
        if name not in self._reads:
            raise UndeclaredRead(f"method {self._method} read the conditions' {name!r}, which it does not declare; "
                                 f"add {name!r} to its `reads` (one of {', '.join(CONDITION_FIELDS)})")
        return self._tasks if name == "task" else self._arrays[name]

    states = property(lambda self: self._read("states"), doc="(n, T, obs_dim) float32, if declared.")
    actions = property(lambda self: self._read("actions"), doc="(n, T, act_dim) float32, if declared.")
    rewards = property(lambda self: self._read("rewards"), doc="(n, T) float32 dense reward, if declared.")
    successes = property(lambda self: self._read("successes"), doc="(n, T) uint8 success per step, if declared.")

    @property
    def params(self) -> np.ndarray:
        """(n, 0): the policies that produced the trajectories are never given."""
        return np.zeros((len(self), 0), np.float32)

    @property
    def records(self) -> list[dict]:
        """[{"task": name}] per row when "task" is declared, else [{}]."""
        return [{"task": t} for t in self._tasks] if self._tasks is not None else [{} for _ in range(len(self))]

    @property
    def tasks(self) -> np.ndarray:
        """(n,) task name of each row (needs "task")."""
        return np.array(self._read("task"), dtype=object)

    @property
    def first_success_steps(self) -> np.ndarray:
        """(n,) first successful step, -1 where none (needs "successes")."""
        hit = self._read("successes").astype(bool)
        return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)

    def __len__(self) -> int:
        return len(self.lengths)

    def subset(self, rows) -> "ConditionView":
        rows = np.asarray(rows, dtype=np.int64)
        tasks = [self._tasks[i] for i in rows] if self._tasks is not None else None
        return ConditionView(self._method, self._reads, self.lengths[rows],
                             {k: v[rows] for k, v in self._arrays.items()}, tasks)

    def for_task(self, task: str) -> "ConditionView":
        return self.subset(np.flatnonzero(self.tasks == task))

    def __repr__(self) -> str:
        return f"ConditionView({len(self)} trajectories of method {self._method}; reads {', '.join(self._reads) or 'nothing'})"


class TrainingZoo:
    """The zoo as `fit` receives it: the training split and nothing else.

    `checkpoints` (a PolicySet: the seen tasks' checkpoints, each with its own trajectory and
    record: task, source, run_seed, configuration, step, success, first_success_step), `spec`,
    `zoo_id`, `tasks` (the seen tasks), `settings` (the zoo's build settings) and `manifest` (those
    four as a dict). The condition trajectories of every task, and the zoo's place on disk, stay
    with the harness: `conditions` and `root` raise UndeclaredRead.
    """

    __slots__ = ("checkpoints", "spec", "zoo_id", "tasks", "settings")

    def __init__(self, checkpoints: PolicySet, spec: PolicySpec, zoo_id: str, tasks: list[str], settings: dict):
        self.checkpoints, self.spec, self.zoo_id, self.tasks, self.settings = checkpoints, spec, zoo_id, tasks, settings

    @classmethod
    def of(cls, zoo: Zoo) -> "TrainingZoo":
        seen = list(zoo.manifest.get("seen_tasks", zoo.tasks))
        rows = np.flatnonzero(np.isin(zoo.checkpoints.tasks, seen))
        return cls(zoo.checkpoints.subset(rows), zoo.spec, zoo.zoo_id, seen,
                   json.loads(json.dumps(zoo.manifest.get("settings", {}))))

    @property
    def manifest(self) -> dict:
        return dict(zoo_id=self.zoo_id, seen_tasks=list(self.tasks), settings=self.settings,
                    policy_spec=self.spec.to_dict())

    @property
    def conditions(self):
        raise UndeclaredRead("fit receives the training split only (the seen tasks' checkpoints); "
                             "the condition trajectories stay with the harness")

    @property
    def root(self):
        raise UndeclaredRead("fit receives the zoo's training split, not its place on disk")

    def __repr__(self) -> str:
        return f"TrainingZoo({self.zoo_id}: {len(self.checkpoints)} checkpoints of {len(self.tasks)} seen tasks)"


# ----------------------------------------------------------------------------- training progress

_progress_sink: Callable[[str, int, int], None] | None = None


def report_progress(stage: str, done: int, total: int) -> None:
    """How far a long `fit` is, e.g. ("diffusion", steps done, steps in all). Under the harness
    it appears beside the training progress bar with the stage's ETA (`run`, `train`,
    `diagnose`); elsewhere it does nothing. Optional: a method that never calls it shows
    progress per model only. Cheap enough to call once per epoch or every few hundred updates."""
    if _progress_sink is not None:
        _progress_sink(stage, int(done), int(total))


def set_progress_sink(sink: Callable[[str, int, int], None] | None) -> None:
    """Where `report_progress` goes (the harness's executor sets it around each unit of work)."""
    global _progress_sink
    _progress_sink = sink


# ----------------------------------------------------------------------------- state files

def save_state(directory: Path, tensors: dict, meta: dict) -> None:
    """Write `tensors` (torch tensors or numpy arrays, any device) to state.safetensors and the
    JSON-able `meta` to state.json in `directory`. Numpy arrays are stored as torch tensors of
    the same dtype and shape (one representation on disk); no pickle."""
    import torch
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    flat, storages = {}, set()
    for key, value in tensors.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        elif not isinstance(value, torch.Tensor):
            raise TypeError(f"state tensor {key!r} is a {type(value).__name__}, not a torch tensor or numpy array")
        value = value.detach().cpu().contiguous()
        storage = value.untyped_storage().data_ptr()
        if storage in storages and value.numel():  # safetensors refuses tensors that share memory
            value = value.clone()
        storages.add(value.untyped_storage().data_ptr())
        flat[key] = value
    save_file(flat, str(directory / STATE_TENSORS))
    atomic_write_json(directory / STATE_META, meta)


def load_state(directory: Path) -> tuple[dict, dict]:
    """(tensors, meta) written by `save_state`: CPU torch tensors by name and the meta dict. A
    missing or damaged file raises a one-line UserError naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory)
    path = directory / STATE_META
    try:
        meta = json.loads(path.read_text())
        if not isinstance(meta, dict):
            raise ValueError(f"expected a JSON object, found {type(meta).__name__}")
        path = directory / STATE_TENSORS
        tensors = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot load model ({reason})") from None
    return tensors, meta


# ----------------------------------------------------------------------------- configs

def _type_name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _check_value(hint, value, default) -> str | None:
    """Why `value` does not fit the annotation `hint` (None if it does). Numbers keep the sign
    of the field's default: a width, count or rate that defaults to >= 0 cannot go negative
    (0 stays allowed: it often means "off", as dt[finetune_steps=0] or CARE's offline path)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        reasons = [_check_value(h, value, default) for h in typing.get_args(hint)]
        return None if None in reasons else f"expected {_type_name(hint)}"
    if origin is typing.Literal:
        return None if value in typing.get_args(hint) else f"expected one of {', '.join(map(str, typing.get_args(hint)))}"
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return f"expected a list, got {value!r}"
        item = (typing.get_args(hint) or (typing.Any,))[0]
        if item in (typing.Any, Ellipsis):
            return None
        sample = default[0] if isinstance(default, (list, tuple)) and default else None
        reasons = [_check_value(item, v, sample) for v in value]
        return next((r for r in reasons if r), None)
    if hint is type(None):
        return None if value is None else "expected null"
    if hint is bool:
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if hint in (int, float):
        allowed = (int,) if hint is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            return f"expected {hint.__name__}, got {value!r}"
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if default >= 0 and value < 0:
                return f"must be >= 0, got {value!r}"
        return None
    if hint is str:
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    return None


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def config_from_dict(config_class, values: dict | None, where: str):
    """Build a Config dataclass from a mapping, rejecting unknown keys and ill-typed values by name."""
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    extra = sorted(set(values) - set(fields))
    if extra:
        raise UserError(f"{where}: unknown setting(s) {', '.join(extra)}; valid: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(config_class)
    for key, value in values.items():
        reason = _check_value(hints.get(key, typing.Any), value, _default(fields[key]))
        if reason:
            raise UserError(f"{where}: {key} {reason}")
    return config_class(**values)


def config_to_dict(config) -> dict:
    """The JSON form of a Config (what cell and model ids hash)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


# ----------------------------------------------------------------------------- names

_METHOD_NAME = re.compile(r"^(?P<base>[^\[\]]+?)(\[(?P<args>.*)\])?$")
_TOP_LEVEL_COMMA = re.compile(r",(?![^\[]*\])")  # a comma outside a list value's brackets


def parse_method_name(name: str) -> tuple[str, dict]:
    """'base[k=v,k2=[a,b]]' -> ('base', {k: v, k2: [a, b]}), values parsed as YAML (typed)."""
    match = _METHOD_NAME.match(name.strip())
    if not match:
        raise UserError(f"cannot parse method {name!r}; expected NAME or NAME[key=value,...]")
    overrides = {}
    for item in filter(None, _TOP_LEVEL_COMMA.split(match.group("args") or "")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"method {name!r}: variant item {item!r} is not key=value")
        try:
            overrides[key.strip()] = yaml.safe_load(value.strip())
        except yaml.YAMLError:
            raise UserError(f"method {name!r}: value {value.strip()!r} of {key.strip()} is not YAML") from None
    return match.group("base"), overrides


def variant_of(name: str) -> tuple[str, str, str] | None:
    """('make-an-agent', 'condition', 'h') for a variant of one key, 'make-an-agent[condition=h]';
    None for a base name or a variant of several keys (the report's ablation axes)."""
    match = _METHOD_NAME.match(name.strip())
    if not match or not match.group("args") or len(_TOP_LEVEL_COMMA.split(match.group("args"))) > 1:
        return None
    key, _, value = match.group("args").partition("=")
    return match.group("base"), key.strip(), value.strip()


# ----------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class MethodEntry:
    """A registry entry: where the class lives, and how reports show it (no import needed)."""

    target: str
    """'package.module:Class' of a Method subclass."""
    display: str = ""
    """Name in tables and legends (default: the registry name)."""
    rank: int = 100
    """Position in tables and legends (lower first); ranks 0-19 get a reserved colour."""
    axis_labels: dict = field(default_factory=dict)
    """{variant key: axis label with unit} for ablation figures."""
    value_order: dict = field(default_factory=dict)
    """{variant key: [values in the order the paper shows them]} (others sort numerically)."""


class Registry:
    """Name -> Method subclass, loaded lazily from entry points or 'module:Class' paths."""

    def __init__(self, kind: str, entry_point_groups: tuple[str, ...] = (), base: type | None = None):
        self.kind = kind
        self._targets: dict[str, str | MethodEntry | type] = {}
        self._groups = entry_point_groups
        self._base = base
        self._plugins_loaded = False

    def add(self, name: str, target: str | MethodEntry | type) -> None:
        if name in self._targets and self._targets[name] != target:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._targets[name] = target

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for group in self._groups:
            for entry in metadata.entry_points(group=group):
                self._targets.setdefault(entry.name, entry.value)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._targets)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._targets or ":" in name

    def entry(self, name: str) -> MethodEntry:
        """The entry of `name`: its target and display metadata (imports the entry, not the class)."""
        self._load_plugins()
        target = self._targets.get(name)
        if target is None:
            if ":" not in name:
                raise unknown(self.kind, name, self._targets)
            target = name
        if isinstance(target, str):
            loaded = _import(target, self.kind, name)
            target = loaded if isinstance(loaded, MethodEntry) else MethodEntry(target)
        elif isinstance(target, type):
            target = MethodEntry(f"{target.__module__}:{target.__qualname__}")
        if name in self._targets:
            self._targets[name] = target
        return target

    def get(self, name: str):
        """The class registered as `name` (imported on first use), or of a 'module:Class' path."""
        target = self.entry(name).target
        obj = _import(target, self.kind, name)
        if self._base is not None and not (isinstance(obj, type) and issubclass(obj, self._base)):
            raise UserError(f"{self.kind} {name!r} ({target}) is not a subclass of {self._base.__module__}.{self._base.__name__}")
        return obj


def _import(target: str, kind: str, name: str):
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load {kind} {name!r} from {target!r}: {exc}") from None


METHODS = Registry("method", entry_point_groups=(ENTRY_POINT_GROUP,), base=Method)
"""Every method by name: the entry points of group "benchmark.generators" (this package's own
in pyproject.toml), or a direct 'package.module:Class' path."""


def presets_of(cls) -> dict:
    """{profile name: Config overrides} of a method (class attribute or its module's PRESETS)."""
    presets = getattr(cls, "PRESETS", None)
    if presets is None:
        presets = getattr(importlib.import_module(cls.__module__), "PRESETS", {})
    return presets


def reductions_of(cls, profile_name: str) -> str:
    """What the method's preset of `profile_name` reduces from the paper (its module's REDUCTIONS)."""
    reductions = getattr(cls, "REDUCTIONS", None)
    if reductions is None:
        reductions = getattr(importlib.import_module(cls.__module__), "REDUCTIONS", "")
    if isinstance(reductions, dict):
        reductions = reductions.get(profile_name, "")
    return " ".join(str(reductions).split())
