"""Methods by name, with variants: "make-an-agent[condition=h,latent_width=256]".

A variant is the base method with Config fields overridden, so an ablation is a method
name in a suite. The resolved config of a method in a profile is, in order:
the method's preset of the profile's name < the profile's `methods:` section < the variant.
"""
from __future__ import annotations

import importlib
import re

import yaml

from benchmark.errors import UserError, unknown
from generators.base import METHODS, config_from_dict, config_to_dict  # noqa: F401 (re-exported)

# In-repo methods register themselves lazily ("module:attr" strings) on import.
import baselines.registry_entries  # noqa: E402,F401
import generators.registry_entries  # noqa: E402,F401

_VARIANT = re.compile(r"^(?P<base>[^\[\]]+?)(\[(?P<args>[^\[\]]*)\])?$")


def parse_method(name: str) -> tuple[str, dict]:
    """'base[k=v,k2=v2]' -> ('base', {k: v, k2: v2}); values parsed as YAML scalars."""
    match = _VARIANT.match(name.strip())
    if not match:
        raise UserError(f"cannot parse method {name!r}; expected NAME or NAME[key=value,...]")
    overrides = {}
    for item in filter(None, (match.group("args") or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"method {name!r}: variant item {item!r} is not key=value")
        overrides[key.strip()] = yaml.safe_load(value.strip())
    return match.group("base"), overrides


def method_class(base: str):
    if base not in METHODS:
        raise unknown("method", base, METHODS.names())
    return METHODS.get(base)


def presets_of(cls) -> dict:
    presets = getattr(cls, "PRESETS", None)
    if presets is None:
        presets = getattr(importlib.import_module(cls.__module__), "PRESETS", {})
    return presets


ZOO_KEYS = {"zoo_hidden": "hidden"}
"""Variant keys that select the zoo rather than configure the method (Figure 12b)."""


def resolve_method(name: str, profile) -> tuple[type, object, dict]:
    """(Method class, its Config, zoo setting overrides) for a method name in a profile."""
    base, overrides = parse_method(name)
    zoo_overrides = {ZOO_KEYS[k]: overrides.pop(k) for k in list(overrides) if k in ZOO_KEYS}
    cls = method_class(base)
    values = dict(presets_of(cls).get(profile.name, {}))
    values.update(profile.methods.get(base, {}) or {})
    values.update(overrides)
    config = config_from_dict(cls.Config, values, f"method {name}")
    return cls, config, zoo_overrides

