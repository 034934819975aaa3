"""A generator defined outside the package (docs/plugin_example) is found and run, both by a
"module:Class" path and through its declared entry point."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from test_generators_synthetic import synthetic_zoo

from benchmark.api import METHODS, Method, Registry, config_from_dict
from benchmark.errors import UserError

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "plugin_example"
TARGET = "b2p_plugin_example.generator:ZooGaussian"


@pytest.fixture
def plugin_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    yield
    for name in [m for m in sys.modules if m.startswith("b2p_plugin_example")]:
        del sys.modules[name]


def test_found_by_module_path_and_run(plugin_on_path, tmp_path):
    cls = METHODS.get(TARGET)
    assert issubclass(cls, Method) and cls.__module__ == "b2p_plugin_example.generator"
    zoo = synthetic_zoo()
    method = cls(config_from_dict(cls.Config, {"scale": 0.5}, "zoo-gaussian"), zoo.spec)
    stats = method.fit(zoo, seed=0)
    assert stats["n_checkpoints"] == len(zoo.checkpoints)
    proposal = method.propose(zoo.conditions, seed=1)
    assert proposal.params.shape == (len(zoo.conditions), zoo.spec.n_params)
    method.save(tmp_path)
    loaded = cls.load(tmp_path, None, zoo.spec)
    np.testing.assert_array_equal(loaded.propose(zoo.conditions, seed=1).params, proposal.params)


def test_found_through_its_entry_point(plugin_on_path, tmp_path, monkeypatch):
    """Install the example's metadata (as pip would) and let a registry discover it."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    entries = project["project"]["entry-points"]["benchmark.generators"]
    assert entries == {"zoo-gaussian": TARGET}
    dist_info = tmp_path / "b2p_plugin_example-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: b2p-plugin-example\nVersion: 0.1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (dist_info / "entry_points.txt").write_text(f"[benchmark.generators]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("method", entry_point_groups=("benchmark.generators",), base=Method)
    assert {"make-an-agent", "mtbc", "zoo-gaussian"} <= set(registry.names())  # in-repo methods alike
    assert registry.get("zoo-gaussian").name == "zoo-gaussian"


def test_a_registered_class_must_be_a_method():
    registry = Registry("method", base=Method)
    registry.add("not-a-method", "collections:OrderedDict")
    with pytest.raises(UserError, match="not a subclass of benchmark.api.Method"):
        registry.get("not-a-method")
