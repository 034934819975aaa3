"""p-diff: fit and propose through the harness views, falling losses, the task lookup, seeding,
save/load, presets and registration (synthetic zoo, tiny budgets: seconds)."""
from __future__ import annotations

import dataclasses
import inspect
import re

import numpy as np
import pytest
from test_generators_synthetic import synthetic_zoo

from benchmark.api import TrainingZoo
from benchmark.cells import method_view, proposal_problem
from benchmark.errors import UserError
from generators.controls import FeatureConfig
from generators.pdiff import PRESETS, REDUCTIONS, Config, PDiff

TINY = Config(**{**PRESETS["smoke"], "ae_steps": 40, "diff_steps": 80})


@pytest.fixture(scope="module")
def zoo():
    return synthetic_zoo()


@pytest.fixture(scope="module")
def model(zoo):
    method = PDiff(TINY, zoo.spec)
    method.fit(TrainingZoo.of(zoo), seed=0)
    return method


def task_conditions(zoo, task):
    return zoo.conditions.subset(np.flatnonzero(zoo.conditions.tasks == task))


def propose(model, conditions, seed):
    return model.propose(method_view(model, "p-diff", conditions), seed)


def test_fit_and_propose_through_the_harness_views(zoo, model):
    proposal = propose(model, zoo.conditions, seed=0)
    assert proposal_problem(proposal, model.n_policies(len(zoo.conditions)), zoo.spec) is None
    for task in zoo.tasks:
        conditions = task_conditions(zoo, task)
        assert proposal_problem(propose(model, conditions, 1), model.n_policies(len(conditions)), zoo.spec) is None
    assert propose(model, zoo.conditions.subset([]), seed=0).params.shape == (0, zoo.spec.n_params)
    assert model.fit_stats["n_tasks"] == len(zoo.tasks) == len(model.models)


def test_losses_fall(model):
    for stage in ("autoencoder", "diffusion"):
        curves = model.history[stage]
        assert len(curves) == 3
        for curve in curves:
            assert np.mean(curve[-5:]) < curve[0], (stage, curve[0], curve[-5:])


def test_a_task_s_conditions_get_that_task_s_policies(zoo, model):
    checkpoints = zoo.checkpoints
    for task in zoo.tasks:
        conditions = task_conditions(zoo, task)
        assert model.task_names[model.task_index(method_view(model, "p-diff", conditions))] == task
        params = propose(model, conditions, seed=2).params
        nearest = {other: np.linalg.norm(params[:, None] - checkpoints.params[checkpoints.tasks == other][None],
                                         axis=2).min(axis=1) for other in zoo.tasks}
        for other in zoo.tasks:
            if other != task:
                assert (nearest[task] < nearest[other]).all(), (task, other)


def test_seeded(zoo, model):
    conditions = task_conditions(zoo, "task-b")
    first = propose(model, conditions, seed=5).params
    np.testing.assert_array_equal(first, propose(model, conditions, seed=5).params)
    assert not np.allclose(first, propose(model, conditions, seed=6).params)
    refit = PDiff(TINY, zoo.spec)
    refit.fit(TrainingZoo.of(zoo), seed=0)  # one seed, one model
    np.testing.assert_array_equal(first, propose(refit, conditions, seed=5).params)


def test_save_load_round_trip(zoo, model, tmp_path):
    model.save(tmp_path)
    loaded = PDiff.load(tmp_path, None, zoo.spec)
    assert loaded.config == TINY and loaded.task_names == model.task_names
    np.testing.assert_array_equal(propose(loaded, zoo.conditions, 4).params, propose(model, zoo.conditions, 4).params)
    np.testing.assert_array_equal(loaded.reconstruct(zoo.checkpoints.params[:5]),
                                  model.reconstruct(zoo.checkpoints.params[:5]))
    with pytest.raises(UserError, match="different settings"):
        PDiff.load(tmp_path, dataclasses.replace(TINY, latent_dim=4), zoo.spec)
    with pytest.raises(UserError, match="spec"):
        PDiff.load(tmp_path, None, dataclasses.replace(zoo.spec, hidden=8))


def test_reconstruct_and_errors(zoo, model):
    params = zoo.checkpoints.params[::7]
    out = model.reconstruct(params)
    assert out.shape == params.shape and np.isfinite(out).all()
    with pytest.raises(UserError, match="before fit"):
        PDiff(TINY, zoo.spec).propose(method_view(model, "p-diff", zoo.conditions), seed=0)
    with pytest.raises(UserError, match="multiple of traj_group"):
        PDiff(dataclasses.replace(TINY, traj_steps=61), zoo.spec)
    with pytest.raises(UserError, match="exceeds train_timesteps"):
        PDiff(dataclasses.replace(TINY, sample_steps=2000), zoo.spec)


def test_presets_resolve_for_every_profile():
    from benchmark.config import load_profile, profile_names

    assert set(PRESETS) == set(REDUCTIONS) == {"paper", "mini", "smoke"}
    assert Config(**PRESETS["paper"]) == Config()
    for name in profile_names():
        assert load_profile(name).preset in PRESETS, name
    fields = {f.name for f in dataclasses.fields(Config)}
    for values in PRESETS.values():
        assert set(values) <= fields
    source = inspect.getsource(Config) + inspect.getsource(FeatureConfig)
    for field in fields:  # every hyperparameter carries a docstring
        assert re.search(rf'\n    {field}: [^\n]*\n    """', source), field


def test_registered_as_p_diff():
    """Through the entry-point table of pyproject.toml, and through METHODS once the package
    metadata is rebuilt (`pip install -e .`)."""
    from pathlib import Path

    import tomllib

    from benchmark.api import METHODS, Registry
    from generators import registry_entries

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    target = pyproject["project"]["entry-points"]["benchmark.generators"]["p-diff"]
    assert target == "generators.registry_entries:P_DIFF"
    registry = Registry("method")
    registry.add("p-diff", target)
    assert registry.get("p-diff") is PDiff and PDiff.name == "p-diff"
    assert registry_entries.P_DIFF.display == "p-diff" and registry_entries.P_DIFF.rank == 1
    if "p-diff" in METHODS.names():
        assert METHODS.get("p-diff") is PDiff
