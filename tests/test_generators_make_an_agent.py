"""Make-An-Agent: each stage learns, generation is seeded, save/load is exact.

The autoencoder test uses the real tiny_zoo and MetaWorld; the rest run on synthetic zoos
(tests/test_generators_synthetic.py), where behaviour identifies the task.
"""
from __future__ import annotations

import dataclasses
import inspect
import re

import numpy as np
import pytest
import torch
from test_generators_synthetic import synthetic_policy_set, synthetic_zoo

from benchmark.envs import make_env
from benchmark.errors import UserError
from benchmark.policy import BatchedPolicies
from generators.make_an_agent.autoencoder import ParameterAutoencoder, train_autoencoder
from generators.make_an_agent.embedding import BehaviourEmbedding, behaviour_inputs, feature_sizes, train_embedding
from generators.make_an_agent.model import PRESETS, REDUCTIONS, Config, MakeAnAgent, preset_config

torch.set_num_threads(1)


def first_success_within(params, records, spec, max_steps=150) -> np.ndarray:
    """(K,) bool: policy k succeeds within max_steps in its record's task and configuration."""
    out = []
    for k, record in enumerate(records):
        env = make_env(record["task"], record["configuration"])
        obs, _ = env.reset()
        policy = BatchedPolicies(params[k:k + 1], spec)
        hit = False
        for _ in range(max_steps):
            obs, _, _, _, info = env.step(policy.act(obs[None])[0])
            if info["success"]:
                hit = True
                break
        out.append(hit)
    return np.array(out)


@pytest.mark.slow
def test_autoencoder_round_trip_keeps_metaworld_success(tiny_zoo):
    data = tiny_zoo.checkpoints
    params = torch.as_tensor(data.params)
    torch.manual_seed(0)
    ae = ParameterAutoencoder(tiny_zoo.spec.chunk_sizes, width=64)
    losses, _ = train_autoencoder(ae, params, epochs=60, batch_size=8, lr=3e-3, weight_decay=5e-3,
                               restart_period=10, restart_mult=2, generator=torch.Generator().manual_seed(0))
    assert losses[-1] < losses[0] / 100
    with torch.no_grad():
        latent = ae.encode(params)
        rebuilt = ae.decode(latent).numpy()
    assert latent.shape == (len(data), 2, 64)
    relative_error = np.linalg.norm(rebuilt - data.params, axis=1) / np.linalg.norm(data.params, axis=1)
    assert relative_error.mean() < 0.2
    rows = np.arange(0, len(data), max(1, len(data) // 10))
    records = [data.records[i] for i in rows]
    original = first_success_within(data.params[rows], records, tiny_zoo.spec)
    rebuilt_success = first_success_within(rebuilt[rows], records, tiny_zoo.spec)
    ratio = rebuilt_success.mean() / original.mean()
    print(f"AE: rel. error {relative_error.mean():.3f}; success {rebuilt_success.mean():.2f} vs "
          f"{original.mean():.2f} (ratio {ratio:.2f}) on {len(rows)} checkpoints")
    assert ratio >= 0.6


def test_embedding_loss_falls_and_finds_tasks_of_held_out_trajectories():
    tasks = ("task-a", "task-b", "task-c", "task-d")
    train = synthetic_policy_set(tasks, 24, seed=0)
    held_out = synthetic_policy_set(tasks, 8, seed=1)
    traj_dim, success_dim = feature_sizes(synthetic_zoo().spec, 60, 3, 3)
    assert (traj_dim, success_dim) == (1020, 117)
    torch.manual_seed(0)
    model = BehaviourEmbedding(traj_dim, success_dim, hidden=128, feature_dim=32)
    traj, success = (torch.as_tensor(x) for x in behaviour_inputs(train, 60, 3, 3))
    losses = train_embedding(model, traj, success, epochs=20, batch_size=16, lr=1e-3,
                             weight_decay=1e-4, generator=torch.Generator().manual_seed(0))
    assert losses[-1] < 0.7 * losses[0]
    with torch.no_grad():
        h_train, _ = model(traj, success)
        h_test, _ = model(*(torch.as_tensor(x) for x in behaviour_inputs(held_out, 60, 3, 3)))
    nearest = torch.cdist(h_test, h_train).argmin(dim=1).numpy()
    accuracy = (train.tasks[nearest] == held_out.tasks).mean()
    print(f"embedding: InfoNCE {losses[0]:.3f} -> {losses[-1]:.3f}; held-out 1-NN task accuracy {accuracy:.2f} (chance 0.25)")
    assert accuracy > 0.5


def test_trajectory_length_changes_input_size():
    spec = synthetic_zoo().spec
    assert feature_sizes(spec, 30, 3, 3) == (510, 117)
    model = MakeAnAgent(preset_config("smoke", traj_steps=30), spec)
    assert model.embedding.traj_embed[0].in_features == 510


def test_fit_reports_each_stage_to_its_end():
    from benchmark.api import set_progress_sink

    zoo, reports = synthetic_zoo(), []
    set_progress_sink(lambda *report: reports.append(report))
    try:
        MakeAnAgent(preset_config("smoke"), zoo.spec).fit(zoo, seed=0)
    finally:
        set_progress_sink(None)
    last = {stage: (done, total) for stage, done, total in reports}
    assert list(last) == ["autoencoder", "embedding", "diffusion"]
    assert all(done == total > 0 for done, total in last.values()), last


@pytest.fixture(scope="module")
def trained():
    zoo = synthetic_zoo()
    config = preset_config("smoke", diff_epochs=30, ae_epochs=20, emb_epochs=10, ae_lr=3e-3)
    model = MakeAnAgent(config, zoo.spec)
    stats = model.fit(zoo, seed=0)
    return zoo, config, model, stats


def test_stage_losses_fall(trained):
    _, _, model, stats = trained
    assert stats["n_checkpoints"] == 72
    for stage in ("autoencoder", "embedding", "diffusion"):
        assert stats[f"{stage}_loss_final"] < stats[f"{stage}_loss_first"], stage
    diffusion = model.history["diffusion"]
    assert np.mean(diffusion[-5:]) < 0.8 * np.mean(diffusion[:5])


def test_generation_is_seeded_and_one_policy_per_condition(trained):
    zoo, config, model, _ = trained
    first = model.propose(zoo.conditions, seed=7)
    assert first.params.shape == (len(zoo.conditions), zoo.spec.n_params)
    assert first.params.dtype == np.float32 and np.isfinite(first.params).all()
    assert first.spec == zoo.spec
    np.testing.assert_array_equal(model.propose(zoo.conditions, seed=7).params, first.params)
    assert not np.array_equal(model.propose(zoo.conditions, seed=8).params, first.params)
    # the same seed trains the same model
    again = MakeAnAgent(config, zoo.spec)
    again.fit(zoo, seed=0)
    np.testing.assert_array_equal(again.propose(zoo.conditions, seed=7).params, first.params)
    assert model.propose(zoo.conditions.subset([]), seed=0).params.shape == (0, zoo.spec.n_params)


def test_generated_policies_follow_their_condition(trained):
    """A condition trajectory of task k should give parameters nearer task k's checkpoints."""
    zoo, _, model, _ = trained
    generated = model.propose(zoo.conditions, seed=0).params
    tasks = sorted(set(zoo.checkpoints.tasks))
    means = np.stack([zoo.checkpoints.params[zoo.checkpoints.tasks == t].mean(0) for t in tasks])
    nearest_task = np.array(tasks)[np.linalg.norm(generated[:, None] - means[None], axis=2).argmin(1)]
    accuracy = (nearest_task == zoo.conditions.tasks).mean()
    print(f"generated params nearest their condition's task: {accuracy:.2f} (chance {1 / len(tasks):.2f})")
    assert accuracy > 0.5


def test_save_load_gives_identical_proposals(trained, tmp_path):
    zoo, config, model, _ = trained
    model.save(tmp_path)
    loaded = MakeAnAgent.load(tmp_path, config, zoo.spec)
    np.testing.assert_array_equal(loaded.propose(zoo.conditions, seed=3).params,
                                  model.propose(zoo.conditions, seed=3).params)
    assert MakeAnAgent.load(tmp_path, None, zoo.spec).config == config
    with pytest.raises(UserError, match="latent_width"):
        MakeAnAgent.load(tmp_path, dataclasses.replace(config, latent_width=64), zoo.spec)
    with pytest.raises(UserError, match="state.json: cannot load model"):
        MakeAnAgent.load(tmp_path / "missing", config, zoo.spec)


@pytest.mark.parametrize("condition", ["h", "v", "raw"])
def test_condition_ablations_train_and_generate(condition):
    zoo = synthetic_zoo(per_task=8)
    model = MakeAnAgent(preset_config("smoke", condition=condition), zoo.spec)
    stats = model.fit(zoo, seed=1)
    assert ("embedding_loss_final" in stats) == (condition != "raw")
    assert model.propose(zoo.conditions, seed=0).params.shape == (len(zoo.conditions), zoo.spec.n_params)


def test_bad_settings_and_inputs_are_user_errors():
    spec = synthetic_zoo().spec
    with pytest.raises(UserError, match="condition"):
        MakeAnAgent(preset_config("smoke", condition="x"), spec)
    with pytest.raises(UserError, match="multiple"):
        MakeAnAgent(preset_config("smoke", traj_steps=61), spec)
    with pytest.raises(UserError, match="preset"):
        preset_config("huge")
    model = MakeAnAgent(preset_config("smoke"), spec)
    other = synthetic_zoo(spec=dataclasses.replace(spec, hidden=8))
    with pytest.raises(UserError, match="spec"):
        model.fit(other, seed=0)


def test_presets_are_complete_configs():
    assert set(PRESETS) == set(REDUCTIONS) == {"paper", "mini", "smoke"}
    assert preset_config("paper") == Config()
    for name in PRESETS:
        assert set(PRESETS[name]) <= {f.name for f in dataclasses.fields(Config)}
    source = inspect.getsource(Config)
    for field in dataclasses.fields(Config):  # every hyperparameter carries a docstring
        assert re.search(rf'\n    {field.name}: [^\n]*\n    """', source), field.name
