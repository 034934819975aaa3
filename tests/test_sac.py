"""The SAC collector on reach-v3 at tiny scale: mechanics, seeding and resume (~45 s on one core)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from benchmark.envs import condition_configuration, expert_policy, initial_observation, make_env, train_configuration
from benchmark.errors import UserError
from benchmark.policy import GaussianActor
from benchmark.zoo.format import validate_policy_set
from benchmark.zoo.sac import STATE_FILE, SACConfig, make_config, rollout, run_sac

TASK, SEED = "reach", 3
# checkpoints from the first evaluation on, so the tiny run (which does not learn reach) stores some
CONFIG = dataclasses.replace(SACConfig.tiny(), require_success=False)


class Interrupt(Exception):
    pass


def run_logged(config=CONFIG, seed=SEED, state_dir=None, stop_at=None):
    log = []

    def progress(step, metrics):
        log.append((step, metrics))
        if stop_at is not None and step >= stop_at:
            raise Interrupt

    checkpoints, conditions = run_sac(TASK, seed, config, state_dir=state_dir, progress=progress)
    return checkpoints, conditions, log


@pytest.fixture(scope="module")
def reference():
    return run_logged()


def test_losses_finite_and_entropy_coefficient_adapts(reference):
    _, _, log = reference
    steps = [s for s, _ in log]
    assert steps == [500, 1000, 1500, 2000]
    trained = [m for s, m in log if s > CONFIG.learning_starts]
    for metrics in trained:
        for key in ("qf_loss", "actor_loss", "alpha_loss", "alpha", "episode_return"):
            assert math.isfinite(metrics[key]), (key, metrics)
    alphas = [m["alpha"] for _, m in log]
    assert alphas[0] == pytest.approx(CONFIG.initial_alpha)   # no update during warm-up
    # a random-init actor has entropy above the target -act_dim, so alpha must shrink
    assert alphas[-1] < alphas[1] < CONFIG.initial_alpha


def test_checkpoints_and_conditions_are_valid_and_reproducible(reference):
    checkpoints, conditions, _ = reference
    spec = GaussianActor().spec
    for data in (checkpoints, conditions):
        validate_policy_set(data.arrays(), data.records, spec, "sac output")
    assert [r["step"] for r in checkpoints.records] == [500, 1000, 1500, 2000]
    assert [r["step"] for r in conditions.records] == [500, 1000]
    for r in checkpoints.records + conditions.records:
        assert r["source"] == "sac" and r["task"] == TASK and r["configuration"] == train_configuration(SEED)
        assert (r["success"] == 1.0) == (r["first_success_step"] is not None)
    assert all(r["quality"] in ("success", "partial", "fail") for r in conditions.records)
    # updates start after step 500: the step-500 snapshots are the initial actor, later ones differ
    np.testing.assert_array_equal(checkpoints.params[0], conditions.params[0])
    assert not np.array_equal(checkpoints.params[0], checkpoints.params[-1])
    # the stored parameters produce the stored trajectory (deterministic evaluation)
    actor = GaussianActor().load_flat(checkpoints.params[-1])
    episode = rollout(make_env(TASK, train_configuration(SEED)),
                      lambda obs: actor.act(torch.from_numpy(obs)[None])[0].detach().numpy(), CONFIG.keep_after_success)
    n = int(checkpoints.lengths[-1])
    np.testing.assert_array_equal(episode["states"], checkpoints.states[-1, :n])
    np.testing.assert_array_equal(episode["actions"], checkpoints.actions[-1, :n])


def test_same_seed_same_result_other_seed_differs(reference):
    checkpoints, conditions, log = reference
    again_checkpoints, again_conditions, again_log = run_logged()
    np.testing.assert_array_equal(checkpoints.params, again_checkpoints.params)
    np.testing.assert_array_equal(checkpoints.states, again_checkpoints.states)
    np.testing.assert_array_equal(conditions.actions, again_conditions.actions)
    assert log == again_log
    other = run_logged(dataclasses.replace(CONFIG, total_steps=500, condition_until=0), seed=SEED + 1)[0]
    assert not np.array_equal(other.params[0], checkpoints.params[0])


def test_resume_continues_from_saved_step(reference, tmp_path):
    checkpoints, conditions, log = reference
    with pytest.raises(Interrupt):
        run_logged(state_dir=tmp_path, stop_at=1000)       # state saved at step 1000, then "crash"
    assert (tmp_path / STATE_FILE).is_file()
    resumed_checkpoints, resumed_conditions, resumed_log = run_logged(state_dir=tmp_path)
    assert [s for s, _ in resumed_log] == [1500, 2000]     # continues, does not redo steps 0..1000
    assert resumed_log == log[2:]
    np.testing.assert_array_equal(resumed_checkpoints.params, checkpoints.params)
    np.testing.assert_array_equal(resumed_conditions.states, conditions.states)
    assert resumed_checkpoints.records == checkpoints.records
    # a state from another run is refused, not silently mixed in
    with pytest.raises(UserError, match="another run"):
        run_sac(TASK, SEED, dataclasses.replace(CONFIG, batch_size=128, learning_starts=500), state_dir=tmp_path)
    with pytest.raises(UserError, match="another run"):
        run_sac(TASK, SEED + 1, CONFIG, state_dir=tmp_path)
    (tmp_path / STATE_FILE).write_bytes(b"not a state")
    with pytest.raises(UserError, match="unreadable"):
        run_sac(TASK, SEED, CONFIG, state_dir=tmp_path)


def test_explicit_configuration_is_used():
    configuration = condition_configuration(0)
    short = dataclasses.replace(CONFIG, total_steps=500, condition_until=0)
    checkpoints, conditions = run_sac(TASK, SEED, short, configuration=configuration)
    assert len(conditions) == 0 and [r["configuration"] for r in checkpoints.records] == [configuration]
    np.testing.assert_array_equal(checkpoints.states[0, 0], initial_observation(TASK, configuration))


def test_rollout_stops_ten_steps_after_first_success():
    expert = expert_policy(TASK)
    episode = rollout(make_env(TASK, train_configuration(SEED)), expert.get_action, keep_after_success=10)
    first = episode["first_success"]
    assert first is not None and first < 200
    assert len(episode["rewards"]) == first + 11
    assert episode["successes"][first] == 1 and not episode["successes"][:first].any()


def test_bad_input_is_a_user_error():
    with pytest.raises(UserError, match="multiple of 500"):
        SACConfig(state_every=700)
    with pytest.raises(UserError, match="learning_starts"):
        SACConfig(batch_size=512, learning_starts=100)
    with pytest.raises(UserError, match="unknown task"):
        run_sac("reech", 0, CONFIG)
    with pytest.raises(UserError, match="run seed"):
        run_sac(TASK, -1, CONFIG)
    with pytest.raises(UserError, match="configuration"):
        run_sac(TASK, 0, CONFIG, configuration=-5)
    with pytest.raises(UserError, match="unknown SAC preset"):
        make_config("papr")
    with pytest.raises(UserError, match="unknown SACConfig field"):
        make_config("tiny", {"steps": 5})
    assert make_config("paper") == SACConfig() and make_config("tiny", {"batch_size": 32}).batch_size == 32
    assert SACConfig.paper().checkpoint_every == 5_000 and SACConfig.paper().total_steps == 1_000_000
