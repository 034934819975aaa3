"""Profiles: a derived profile takes the presets of the one it names (fast tier)."""
from __future__ import annotations

import pytest

from benchmark import config
from benchmark.api import METHODS
from benchmark.config import load_profile
from benchmark.errors import UserError
from benchmark.plan import resolve_method
from benchmark.suites import load_suite


def test_a_derived_profile_takes_the_presets_it_names():
    mini, derived = load_profile("mini"), load_profile("mini-shared-init")
    assert derived.preset == "mini" and mini.preset == "mini"
    for name in METHODS.names():
        assert resolve_method(name, derived).config == resolve_method(name, mini).config, name
    suite = load_suite("seen")
    assert suite.n_traj_for(derived.preset) == suite.n_traj_for(mini.preset)
    assert derived.zoo["distill"] == {**mini.zoo["distill"], "shared_init": True}


def test_an_unknown_preset_is_a_user_error(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text("name: mine\npreset: minii\nzoo: {}\n")
    monkeypatch.setattr(config, "PROFILE_DIR", tmp_path)
    with pytest.raises(UserError, match="unknown preset of profile mine.*'minii'"):
        load_profile("mine")
