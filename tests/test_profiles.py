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
    assert suite.n_traj_for(derived.lookup_names) == suite.n_traj_for(mini.lookup_names)
    assert derived.zoo["distill"] == {**mini.zoo["distill"], "shared_init": True}


def test_an_unknown_preset_is_a_user_error(tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text("name: mine\npreset: minii\nzoo: {}\n")
    monkeypatch.setattr(config, "PROFILE_DIR", tmp_path)
    with pytest.raises(UserError, match="unknown preset of profile mine.*'minii'"):
        load_profile("mine")


def test_a_profile_that_extends_mini_shares_its_zoo_and_the_models_it_leaves_alone():
    from benchmark.training import model_dir

    mini, standard = load_profile("mini"), load_profile("standard")
    assert (standard.preset, standard.zoo_profile) == ("mini", "mini") and standard.zoo == mini.zoo
    assert standard.for_domain("robosuite").zoo_profile == "mini"
    assert load_profile("mini-shared-init").zoo_profile == "mini-shared-init"  # writes its own zoo
    for name in METHODS.names():
        same = model_dir("r", resolve_method(name, standard), "z", 0) == model_dir("r", resolve_method(name, mini), "z", 0)
        assert same == (name != "make-an-agent"), name
    # the profile's override and the same variant in mini resolve to one trained model
    variant = resolve_method("make-an-agent[unet_down_dims=[256,512]]", mini)
    assert model_dir("r", variant, "z", 1) == model_dir("r", resolve_method("make-an-agent", standard), "z", 1)


def test_extends_merges_methods_and_rejects_cycles_and_unknown_parents(tmp_path, monkeypatch):
    (tmp_path / "base.yaml").write_text("name: base\nzoo: {runs_per_seen_task: 2}\n"
                                        "methods: {dt: {epochs: 3, lr: 0.1}}\n")
    (tmp_path / "child.yaml").write_text("extends: base\nmethods: {dt: {lr: 0.5}}\n")
    (tmp_path / "loop.yaml").write_text("extends: loop2\n")
    (tmp_path / "loop2.yaml").write_text("extends: loop\n")
    (tmp_path / "orphan.yaml").write_text("extends: nowhere\n")
    monkeypatch.setattr(config, "PROFILE_DIR", tmp_path)
    child = load_profile("child")
    assert (child.name, child.preset, child.zoo_profile) == ("child", "base", "base")
    assert child.methods == {"dt": {"epochs": 3, "lr": 0.5}} and child.zoo == {"runs_per_seen_task": 2}
    with pytest.raises(UserError, match="makes a cycle"):
        load_profile("loop")
    with pytest.raises(UserError, match="unknown profile extended by orphan.*'nowhere'"):
        load_profile("orphan")


def test_two_names_for_one_config_plan_one_training(tmp_path):
    from benchmark.plan import plan

    planned = plan("smoke", "smoke", tmp_path, methods=["make-an-agent", "make-an-agent[condition=h+v]"], seeds=2)
    assert len(planned.trainings) == 2  # one per seed, not one per name
    assert len({cell.model_dir for cell in planned.cells}) == 2


def test_a_suite_takes_the_tasks_of_the_profiles_name_before_those_of_its_preset(tmp_path):
    from benchmark.plan import plan

    suite = load_suite("robosuite")
    nut, standard = load_profile("mini-nut"), load_profile("standard")
    assert nut.preset == standard.preset == "mini"
    assert suite.tasks_for(nut.lookup_names) == ["NutAssemblyRound"]
    assert suite.tasks_for(standard.lookup_names) == suite.tasks_for(["mini"]) == ["Lift", "Door"]
    assert {c.config["task"] for c in plan("robosuite", "mini-nut", tmp_path).cells} == {"NutAssemblyRound"}


def test_a_suite_task_missing_from_the_profiles_zoo_fails_at_planning(tmp_path):
    from benchmark.plan import plan

    # robosuite-successful names no mini-nut tasks, so it falls back to mini's Lift
    with pytest.raises(UserError, match="^suite robosuite-successful evaluates Lift, which profile mini-nut's "
                                        r"robosuite zoo does not hold \(it holds NutAssemblyRound\)$"):
        plan("robosuite-successful", "mini-nut", tmp_path)


def test_a_conditions_profile_shares_the_models_and_takes_the_other_zoos_prompts(tmp_path, monkeypatch):
    """dense-old-conditions: dense's zoo and models, standard's condition trajectories, cells of
    their own, dense's counts (looked up along what it extends)."""
    from benchmark.plan import plan

    old, new, standard = (plan("unseen", p, tmp_path, methods=["make-an-agent", "nearest-checkpoint"])
                          for p in ("dense-old-conditions", "dense", "standard"))
    assert [j.directory for j in old.trainings] == [j.directory for j in new.trainings]
    assert {c.zoo_root for c in old.cells} == {c.zoo_root for c in new.cells}
    assert {c.prompt_root for c in old.cells} == {c.zoo_root for c in standard.cells} != {c.zoo_root for c in old.cells}
    assert {c.prompt_root for c in new.cells} == {c.zoo_root for c in new.cells}
    assert not {c.cell_id for c in old.cells} & {c.cell_id for c in new.cells}
    assert {c.config["n_traj"] for c in old.cells} == {50, 100}
    assert "conditions_zoo_id" not in new.cells[0].config  # cells without a conditions zoo keep their ids
    assert set(old.zoos) == {c.zoo_root for c in new.cells} | {c.zoo_root for c in standard.cells}
    assert {old.zoo_profiles[c.prompt_root] for c in old.cells} == {"mini"}  # built under its own name
    from benchmark import run

    built = []
    monkeypatch.setattr(run, "build_zoo", lambda name, settings, *args, **kwargs: built.append(name))
    run._build_zoos(old, tmp_path, 0, None)
    assert sorted(built) == ["dense", "mini"]  # each zoo under the profile that names it, as found on disk
