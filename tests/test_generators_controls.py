"""Memorisation controls: shapes, exact zoo rows, nearest task, seeding, save/load, registry."""
from __future__ import annotations

import numpy as np
import pytest
from test_generators_synthetic import synthetic_zoo

from benchmark.errors import UserError
from generators.base import METHODS
from generators.controls import (
    NOISE_SWEEP,
    FeatureConfig,
    GaussianCheckpoint,
    GaussianConfig,
    KMeanCheckpoint,
    KMeanConfig,
    MeanCheckpoint,
    NearestCheckpoint,
    NoisyCheckpoint,
    NoisyConfig,
)

CONTROLS = [(NearestCheckpoint, FeatureConfig()), (NoisyCheckpoint, NoisyConfig(noise_std=0.05)),
            (MeanCheckpoint, FeatureConfig()), (KMeanCheckpoint, KMeanConfig(k=4)),
            (KMeanCheckpoint, KMeanConfig(k=4, aligned=True)), (GaussianCheckpoint, GaussianConfig(scale=0.5))]
NEW_CONTROLS = {"k-mean-checkpoint": ("K_MEAN_CHECKPOINT", KMeanCheckpoint),
                "gaussian-checkpoint": ("GAUSSIAN_CHECKPOINT", GaussianCheckpoint)}


@pytest.fixture(scope="module")
def zoo():
    return synthetic_zoo()


@pytest.mark.parametrize("cls,config", CONTROLS)
def test_one_policy_per_condition(zoo, cls, config):
    method = cls(config, zoo.spec)
    method.fit(zoo, seed=0)
    proposal = method.propose(zoo.conditions, seed=0)
    assert proposal.params.shape == (len(zoo.conditions), zoo.spec.n_params)
    assert proposal.params.dtype == np.float32 and proposal.spec == zoo.spec
    np.testing.assert_array_equal(method.propose(zoo.conditions, seed=0).params, proposal.params)
    assert method.propose(zoo.conditions.subset([]), seed=0).params.shape == (0, zoo.spec.n_params)


def test_nearest_checkpoint_returns_exact_zoo_rows(zoo):
    method = NearestCheckpoint(FeatureConfig(), zoo.spec)
    method.fit(zoo, seed=0)
    # a training trajectory is its own nearest neighbour
    rows = np.array([0, 5, 30, 71])
    np.testing.assert_array_equal(method.propose(zoo.checkpoints.subset(rows), seed=0).params,
                                  zoo.checkpoints.params[rows])
    proposal = method.propose(zoo.conditions, seed=0).params
    nearest = method.nearest_rows(zoo.conditions)
    np.testing.assert_array_equal(proposal, zoo.checkpoints.params[nearest])
    # held-out trajectories of a task find a checkpoint of that task
    assert (zoo.checkpoints.tasks[nearest] == zoo.conditions.tasks).mean() > 0.8


def test_noisy_checkpoint_is_a_task_checkpoint_plus_noise(zoo):
    method = NoisyCheckpoint(NoisyConfig(noise_std=0.05), zoo.spec)
    method.fit(zoo, seed=0)
    proposal = method.propose(zoo.conditions, seed=1).params
    assert not np.array_equal(proposal, method.propose(zoo.conditions, seed=2).params)
    tasks = zoo.checkpoints.tasks
    for k, row in enumerate(method.nearest_rows(zoo.conditions)):
        same_task = zoo.checkpoints.params[tasks == tasks[row]]
        residual = proposal[k] - same_task
        closest = np.abs(residual.std(axis=1) - 0.05).argmin()
        assert abs(residual[closest].std() - 0.05) < 0.005  # exactly one base row explains it
        assert abs(residual[closest].mean()) < 0.01


def test_mean_checkpoint_is_the_task_mean(zoo):
    method = MeanCheckpoint(FeatureConfig(), zoo.spec)
    method.fit(zoo, seed=0)
    proposal = method.propose(zoo.conditions, seed=0).params
    tasks = zoo.checkpoints.tasks
    for k, row in enumerate(method.nearest_rows(zoo.conditions)):
        np.testing.assert_allclose(proposal[k], zoo.checkpoints.params[tasks == tasks[row]].mean(0), rtol=1e-6)


@pytest.mark.parametrize("cls,config", CONTROLS)
def test_save_load_round_trip(zoo, cls, config, tmp_path):
    method = cls(config, zoo.spec)
    method.fit(zoo, seed=0)
    method.save(tmp_path)
    loaded = cls.load(tmp_path, None, zoo.spec)
    assert loaded.config == config
    np.testing.assert_array_equal(loaded.propose(zoo.conditions, seed=4).params,
                                  method.propose(zoo.conditions, seed=4).params)


def test_errors(zoo, tmp_path):
    with pytest.raises(UserError, match="before fit"):
        NearestCheckpoint(FeatureConfig(), zoo.spec).propose(zoo.conditions, seed=0)
    with pytest.raises(UserError, match="state.json: cannot load model"):
        MeanCheckpoint.load(tmp_path, None, zoo.spec)
    method = NearestCheckpoint(FeatureConfig(), zoo.spec)
    method.fit(zoo, seed=0)
    method.save(tmp_path)
    with pytest.raises(UserError, match="saved by nearest-checkpoint"):
        MeanCheckpoint.load(tmp_path, None, zoo.spec)


def test_registered_by_name():
    for name, cls in [("nearest-checkpoint", NearestCheckpoint), ("noisy-checkpoint", NoisyCheckpoint),
                      ("mean-checkpoint", MeanCheckpoint)]:
        assert METHODS.get(name) is cls and cls.name == name
    assert METHODS.get("make-an-agent").name == "make-an-agent"
    with pytest.raises(UserError, match="did you mean"):
        METHODS.get("nearest-checkpont")


def test_new_controls_are_in_the_entry_point_table():
    """k-mean-checkpoint and gaussian-checkpoint as pyproject.toml registers them (read from the
    file, so the check does not wait for the editable install's metadata to be rebuilt)."""
    from pathlib import Path

    import tomllib

    from benchmark.api import Registry
    from generators import registry_entries

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    table = pyproject["project"]["entry-points"]["benchmark.generators"]
    registry = Registry("method")
    for name, (constant, cls) in NEW_CONTROLS.items():
        assert table[name] == f"generators.registry_entries:{constant}"
        registry.add(name, table[name])
        assert registry.get(name) is cls and cls.name == name
        entry = getattr(registry_entries, constant)
        assert entry.display and entry.rank > registry_entries.MEAN_CHECKPOINT.rank
    if "k-mean-checkpoint" in METHODS.names():  # once the package metadata is rebuilt
        for name, (_, cls) in NEW_CONTROLS.items():
            assert METHODS.get(name) is cls


def test_noise_sweep_is_the_registry_value_order():
    from benchmark.api import config_from_dict, parse_method_name
    from benchmark.report.style import variant_sort_key
    from generators.registry_entries import NOISY_CHECKPOINT

    assert NOISY_CHECKPOINT.axis_labels["noise_std"] == "noise std (parameter units)"
    written = [f"{v:g}" for v in NOISE_SWEEP]
    assert NOISY_CHECKPOINT.value_order["noise_std"] == written
    assert list(NOISE_SWEEP) == sorted(NOISE_SWEEP) and NoisyConfig().noise_std in NOISE_SWEEP
    names = [f"noisy-checkpoint[noise_std={v}]" for v in written]
    assert sorted(reversed(names), key=variant_sort_key) == names
    for name in names:  # every sweep variant resolves to its amplitude
        base, overrides = parse_method_name(name)
        assert base == "noisy-checkpoint"
        assert config_from_dict(NoisyConfig, overrides, name).noise_std in NOISE_SWEEP


@pytest.mark.parametrize("cls,config", [(KMeanCheckpoint, KMeanConfig(k=0)), (GaussianCheckpoint, GaussianConfig(scale=-1.0))])
def test_new_controls_refuse_bad_settings(zoo, cls, config):
    with pytest.raises(UserError, match=cls.name):
        cls(config, zoo.spec)
