"""Novelty of proposed policies (benchmark.novelty) and the prompt-source reference row."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_generators_synthetic import synthetic_zoo

from benchmark import novelty
from benchmark.align import permute_hidden
from benchmark.cells import checked_proposal
from benchmark.errors import UserError
from generators.controls import PromptSource


def test_zoo_rows_are_not_novel_and_a_permuted_copy_is_not_either(monkeypatch):
    monkeypatch.setattr(novelty, "CANDIDATES", None)  # exact search: the raw prefilter cannot see permutations
    zoo = synthetic_zoo()
    rows = [0, 30, 50]
    exact = novelty.policy_novelty(zoo.checkpoints.params[rows], zoo, "task-a")
    assert np.allclose(exact["l2_nearest_checkpoint"], 0) and np.allclose(exact["aligned_l2_nearest_checkpoint"], 0)
    assert list(exact["aligned_nearest_checkpoint"]) == rows and np.allclose(exact["action_gap_nearest_checkpoint"], 0)
    rng = np.random.default_rng(0)
    h = zoo.spec.hidden
    permuted = np.stack([permute_hidden(zoo.checkpoints.params[r], zoo.spec, rng.permutation(h), rng.permutation(h))
                         for r in rows])
    found = novelty.policy_novelty(permuted, zoo, "task-a")
    assert (found["l2_nearest_checkpoint"] > 0.5).all()                  # far in raw parameters,
    assert (found["aligned_l2_nearest_checkpoint"] < 1e-5).all()         # the same function
    assert list(found["aligned_nearest_checkpoint"]) == rows
    assert (found["action_gap_nearest_checkpoint"] < 1e-5).all()
    noisy = zoo.checkpoints.params[rows] + rng.normal(0, 0.05, (3, zoo.spec.n_params)).astype(np.float32)
    moved = novelty.policy_novelty(noisy, zoo, "task-a")
    assert (moved["aligned_l2_nearest_checkpoint"] > 0.01).all() and (moved["action_gap_nearest_checkpoint"] > 0).all()


def test_probe_states_are_fixed_per_task():
    zoo = synthetic_zoo()
    a, b = novelty.probe_states(zoo, "task-a"), novelty.probe_states(zoo, "task-a")
    np.testing.assert_array_equal(a, b)
    assert a.shape[1] == zoo.spec.obs_dim and 0 < len(a) <= novelty.PROBE_TRAJECTORIES * novelty.PROBE_STEPS
    assert not np.array_equal(a[:5], novelty.probe_states(zoo, "task-b")[:5])


def test_the_reference_is_computed_once_per_zoo(tmp_path):
    zoo = dataclasses.replace(synthetic_zoo(), root=tmp_path)
    reference = novelty.cached_reference(zoo)
    assert set(reference["tasks"]) == {"task-a", "task-b", "task-c"}
    assert reference["within_run_aligned"] is None  # every synthetic row is a run of its own
    assert reference["between_run_aligned"] > 0 and reference["action_gap_between_runs"] >= 0
    path = tmp_path / novelty.REFERENCE_FILE
    stamp = path.stat().st_mtime_ns
    assert novelty.cached_reference(zoo) == reference and path.stat().st_mtime_ns == stamp


def test_the_prompt_source_row_is_exactly_each_condition_policy():
    zoo = synthetic_zoo()
    model = PromptSource(PromptSource.Config(), zoo.spec)
    conditions = zoo.conditions.subset([1, 4, 7])
    proposal = checked_proposal(model, "prompt-source", "cell c", conditions, 0, zoo.spec)
    np.testing.assert_array_equal(proposal.params, zoo.conditions.params[[1, 4, 7]])
    with pytest.raises(UserError, match="fills this control"):
        model.propose(conditions, seed=0)  # outside the harness it has nothing to give
