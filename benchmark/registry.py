"""Name -> lazily imported object, filled in-repo and by installed plug-ins.

In-repo entries are "module:attr" strings, so listing names imports nothing heavy.
Installed packages add entries through Python entry points (`[project.entry-points.
"benchmark.generators"]  mygen = "mypkg.gen:MyGenerator"`), and a name of the form
"package.module:Attr" is imported directly, so `--methods mypkg.gen:MyGenerator` works
without installing anything.
"""
from __future__ import annotations

import importlib
from importlib import metadata

from benchmark.errors import UserError, unknown


class Registry:
    def __init__(self, kind: str, entry_point_groups: tuple[str, ...] = ()):
        self.kind = kind
        self._targets: dict[str, str | object] = {}
        self._groups = entry_point_groups
        self._plugins_loaded = False

    def add(self, name: str, target: str | object) -> None:
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

    def get(self, name: str):
        """The object registered as `name` (imported on first use), or a 'module:attr' path."""
        self._load_plugins()
        target = self._targets.get(name)
        if target is None:
            if ":" not in name:
                raise unknown(self.kind, name, self._targets)
            target = name
        if not isinstance(target, str):
            return target
        module_name, _, attr = target.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UserError(f"cannot load {self.kind} {name!r} from {target!r}: {exc}") from None
        if name in self._targets:  # cache registered names; direct paths stay uncached
            self._targets[name] = obj
        return obj
