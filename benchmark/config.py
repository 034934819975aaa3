"""Profiles: named budgets (smoke, mini, paper) stored as YAML in benchmark/profiles/.

A profile has one section per component, each validated into that component's dataclass:

    name, description
    extends: a profile this one starts from (its sections, overridden by this file's; methods
             and domains are merged per method and per domain)
    preset:  whose presets methods and suites take (default: the extended profile's, else name)
    reductions: [what this profile reduces from the paper, one line each]
    zoo:     benchmark.zoo.collect.ZooSettings fields
    conditions_profile: a profile whose zoo the cells draw their condition trajectories from
             (the models still train on this profile's zoo)
    methods: {method name: Config overrides on top of the method's preset of this name}
    eval:    benchmark.config.EvalSettings fields
    domains: {domain name: {reductions, zoo, methods, eval}}   (optional)

The top-level sections describe the profile's `domain` (MetaWorld unless the file says
otherwise). A suite of another domain runs with `Profile.for_domain(name)`: that domain's
section replaces the zoo and the reductions and is laid over the methods and eval settings.

A zoo's directory is named after the profile whose file wrote its `zoo` section, so a profile
that extends `mini` and changes only a method shares mini's zoo, and, as trained models are
keyed by their resolved config, the models of every method it leaves as they are.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmark.errors import UserError, unknown

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass
class EvalSettings:
    """How proposed policies are rolled out and summarised."""

    max_steps: int | None = None
    """Episode length cap; None: the task's horizon from its domain (MetaWorld 500, Robosuite
    Lift 150 / Door 300 / NutAssemblyRound 400). Cells store the resolved number."""
    stop_at_success: bool = True
    """End an episode at its first success (success is 'any step', so the result is equal)."""
    policies_per_batch: int = 2
    """Policies stepped in lockstep by one batched forward, each in every configuration
    (2 x 5 = 10 envs per task and worker, built once at ~0.15 s each; the batched forward is
    ~1% of a step whatever the batch, so larger batches only cost env construction)."""
    selection_configurations: tuple[int, ...] = (0, 1, 2)
    """Configuration indices the honest top-k selects on; the others are reported."""
    bootstrap_reps: int = 2000
    """Stratified-bootstrap repetitions for confidence intervals."""
    trajectories_kept: int = 3
    """Full trajectories kept per cell for Figure 9."""

    def steps_for(self, task: str) -> int:
        """The episode length cap of `task`: `max_steps`, else the task's horizon."""
        from benchmark.envs import domain_of

        return self.max_steps if self.max_steps is not None else domain_of(task).horizon(task)


EXECUTION_ONLY = ("policies_per_batch", "bootstrap_reps")
"""EvalSettings fields that do not change a cell's episodes (left out of its id)."""


@dataclass
class Profile:
    """A named budget; see the module docstring for its sections."""

    name: str
    """The profile's name (its file's stem)."""
    description: str
    """One line for `python -m benchmark list`."""
    reductions: list[str]
    """What this profile reduces from the paper, one line each (printed in every report)."""
    zoo: dict
    """ZooSettings fields of the zoo of `domain`."""
    methods: dict = field(default_factory=dict)
    """{method name: Config overrides on top of the method's preset of this name}."""
    eval: EvalSettings = field(default_factory=EvalSettings)
    """How proposed policies are rolled out and summarised."""
    preset: str = ""
    """Whose presets methods and suites take (their per-profile budgets); empty means `name`,
    so a profile derived from `mini` that changes only its zoo says `preset: mini`."""
    domain: str = "metaworld"
    """The domain the top-level sections describe."""
    domains: dict = field(default_factory=dict)
    """{domain name: {reductions, zoo, methods, eval}} for the profile's other domains."""
    zoo_profile: str = ""
    """The profile whose file wrote `zoo` (it names the zoo's directory); empty means `name`."""
    conditions_profile: str = ""
    """A profile whose zoo the cells draw their condition trajectories from instead of this
    profile's zoo; the methods still train on this profile's zoo, so they share its models
    (`dense-old-conditions`: the dense zoo's models prompted by standard's conditions)."""
    lineage: tuple = ()
    """This profile's name, then the profiles it extends, nearest first (a suite's per-profile
    counts and tasks are looked up along it, then by `preset`)."""

    def __post_init__(self):
        self.preset = self.preset or self.name
        self.zoo_profile = self.zoo_profile or self.name
        self.lineage = tuple(self.lineage) or (self.name,)

    @property
    def lookup_names(self) -> tuple[str, ...]:
        """The names a suite's per-profile entries are looked up by, in order: the lineage, then
        the preset."""
        return (*self.lineage, self.preset)

    def for_domain(self, name: str) -> "Profile":
        """This profile as it applies to suites of domain `name`; UserError when it has no
        section for that domain."""
        from benchmark.envs import get_domain

        get_domain(name)  # an unknown domain is a one-line UserError listing them
        if name == self.domain:
            return self
        if name not in self.domains:
            raise UserError(f"profile {self.name} has no '{name}' section under domains: "
                            f"it cannot run {name} suites")
        section = self.domains[name]
        where = f"profile {self.name} domains.{name}"
        methods = {m: {**(self.methods.get(m) or {}), **(v or {})} for m, v in (section.get("methods") or {}).items()}
        return dataclasses.replace(
            self, reductions=list(section.get("reductions", [])), zoo=dict(section.get("zoo", {})),
            methods={**self.methods, **methods},
            eval=_dataclass_from(EvalSettings, {**dataclasses.asdict(self.eval), **(section.get("eval") or {})}, where),
            domain=name, domains={}, zoo_profile=section.get(ZOO_PROFILE, self.name))


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def _dataclass_from(cls, values, where):
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(values) - names)
    if extra:
        raise UserError(f"{where}: unknown setting(s) {', '.join(extra)}")
    for f in dataclasses.fields(cls):
        if f.name in values and isinstance(values[f.name], list):
            values[f.name] = tuple(values[f.name])
    return cls(**values)


ZOO_PROFILE = "_zoo_profile"
LINEAGE = "_lineage"
"""Key under which a loaded raw section remembers the profile that wrote its `zoo`."""
SECTIONS = {"name", "description", "extends", "preset", "reductions", "zoo", "conditions_profile", "methods", "eval",
            "domain", "domains"}
DOMAIN_SECTIONS = {"reductions", "zoo", "methods", "eval"}


def _merge_methods(base: dict | None, over: dict | None) -> dict:
    merged = {m: dict(v or {}) for m, v in (base or {}).items()}
    for method, values in (over or {}).items():
        merged[method] = {**merged.get(method, {}), **(values or {})}
    return merged


def _raw_profile(name: str, chain: tuple[str, ...] = ()) -> dict:
    """The YAML of profile `name` with its `extends` chain laid under it."""
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise unknown("profile" if not chain else f"profile extended by {chain[-1]}", name, profile_names())
    raw = yaml.safe_load(path.read_text()) or {}
    where = f"profile {name} ({path.name})"
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a mapping of sections, got {type(raw).__name__}")
    extra = sorted(set(raw) - SECTIONS)
    if extra:
        raise UserError(f"{where}: unknown section(s) {', '.join(extra)}")
    domains = dict(raw.get("domains") or {})
    for domain, section in domains.items():
        bad = sorted(set(section or {}) - DOMAIN_SECTIONS)
        if bad:
            raise UserError(f"{where}: unknown section(s) {', '.join(bad)} under domains.{domain}")
        if "zoo" in (section or {}):
            domains[domain] = {**section, ZOO_PROFILE: name}
    raw = {**raw, "domains": domains, "name": raw.get("name", name)}
    if "zoo" in raw:
        raw[ZOO_PROFILE] = name
    parent = raw.pop("extends", None)
    if not parent:
        return {**raw, LINEAGE: [name]}
    if parent in (*chain, name):
        raise UserError(f"{where}: 'extends: {parent}' makes a cycle ({' -> '.join((*chain, name, parent))})")
    base = _raw_profile(str(parent), (*chain, name))
    base.pop("description", None)
    merged = {**base, **{k: v for k, v in raw.items() if k not in ("methods", "domains")}}
    merged["methods"] = _merge_methods(base.get("methods"), raw.get("methods"))
    merged["domains"] = {}
    for domain in {**base["domains"], **raw["domains"]}:
        below, above = base["domains"].get(domain) or {}, raw["domains"].get(domain) or {}
        merged["domains"][domain] = {**below, **above,
                                     "methods": _merge_methods(below.get("methods"), above.get("methods"))}
    merged["preset"] = raw.get("preset") or base.get("preset") or base["name"]
    merged[LINEAGE] = [name, *base[LINEAGE]]
    return merged


def load_profile(name: str) -> Profile:
    """The profile called `name`; an unknown name is a UserError listing the valid ones."""
    raw = _raw_profile(name)
    where = f"profile {name} ({name}.yaml)"
    if raw.get("preset") and raw["preset"] not in profile_names():
        raise unknown("preset of " + where, raw["preset"], profile_names())
    profile = Profile(
        name=raw["name"], description=raw.get("description", ""),
        reductions=list(raw.get("reductions", [])), zoo=dict(raw.get("zoo", {})),
        methods=dict(raw.get("methods") or {}),
        eval=_dataclass_from(EvalSettings, raw.get("eval"), f"{where} eval"),
        preset=str(raw.get("preset") or ""),
        domain=raw.get("domain", "metaworld"), domains=raw["domains"], zoo_profile=raw.get(ZOO_PROFILE, ""),
        conditions_profile=str(raw.get("conditions_profile") or ""), lineage=tuple(raw[LINEAGE]),
    )
    if profile.conditions_profile:
        if profile.conditions_profile not in profile_names() or profile.conditions_profile == profile.name:
            raise unknown("conditions_profile of " + where, profile.conditions_profile,
                          [n for n in profile_names() if n != profile.name])
    for domain in profile.domains:
        profile.for_domain(domain)  # a bad eval key fails on loading, not mid-run
    return profile
