"""The memorisation critique's controls (Zeng et al. 2025) beyond nearest/noisy/mean checkpoint:
k-mean-checkpoint (unaligned and aligned) and gaussian-checkpoint, driven as the harness drives
them (a TrainingZoo for fit, a ConditionView for propose, the harness's proposal check)."""
from __future__ import annotations

import numpy as np
import pytest
from test_generators_synthetic import synthetic_zoo

from benchmark.align import align_to, permute_hidden
from benchmark.api import TrainingZoo
from benchmark.cells import method_view, proposal_problem
from generators.controls import GaussianCheckpoint, GaussianConfig, KMeanCheckpoint, KMeanConfig

PER_TASK = 24  # synthetic_zoo's checkpoints per task


@pytest.fixture(scope="module")
def zoo():
    return synthetic_zoo()


def fitted(cls, config, zoo):
    model = cls(config, zoo.spec)
    model.fit(TrainingZoo.of(zoo), seed=0)
    return model


def propose(model, conditions, seed):
    """The params the harness would accept from `model` for `conditions` (a PolicySet)."""
    view = method_view(model, model.name, conditions)
    proposal = model.propose(view, seed)
    assert proposal_problem(proposal, model.n_policies(len(conditions)), model.spec) is None
    return proposal.params


def task_params(model, zoo, conditions):
    """For every condition row, the checkpoints (n_i, P) of its nearest task."""
    tasks = zoo.checkpoints.tasks
    nearest = model.nearest_rows(method_view(model, model.name, conditions))
    return [zoo.checkpoints.params[tasks == tasks[row]] for row in nearest]


def test_k1_returns_a_checkpoint_of_the_nearest_task(zoo):
    model = fitted(KMeanCheckpoint, KMeanConfig(k=1), zoo)
    params = propose(model, zoo.conditions, seed=1)
    for proposal, members in zip(params, task_params(model, zoo, zoo.conditions)):
        assert (members == proposal).all(axis=1).any()  # bit-exact zoo row of that task
    assert not np.array_equal(params, propose(model, zoo.conditions, seed=2))  # a seeded random one


def test_k2_is_the_mean_of_two_distinct_checkpoints(zoo):
    model = fitted(KMeanCheckpoint, KMeanConfig(k=2), zoo)
    for proposal, members in zip(propose(model, zoo.conditions, seed=0), task_params(model, zoo, zoo.conditions)):
        other = 2.0 * proposal.astype(np.float64) - members  # the partner each member would need
        match = np.abs(other[:, None, :] - members[None, :, :]).max(axis=2) < 1e-5
        np.fill_diagonal(match, False)
        assert match.any()


@pytest.mark.parametrize("k", [PER_TASK, 100])
def test_k_at_least_the_task_size_gives_the_task_mean(zoo, k):
    model = fitted(KMeanCheckpoint, KMeanConfig(k=k), zoo)
    params = propose(model, zoo.conditions, seed=3)
    for proposal, members in zip(params, task_params(model, zoo, zoo.conditions)):
        assert len(members) == PER_TASK
        np.testing.assert_allclose(proposal, members.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)


def permuted_zoo():
    """The synthetic zoo with every task's checkpoints replaced by hidden-unit permutations of
    its first one: one policy per task, scattered over many coordinate orders."""
    zoo = synthetic_zoo()
    rng = np.random.default_rng(7)
    h = zoo.spec.hidden
    params = zoo.checkpoints.params
    for task in np.unique(zoo.checkpoints.tasks):
        rows = np.flatnonzero(zoo.checkpoints.tasks == task)
        base = params[rows[0]].copy()
        for row in rows[1:]:
            params[row] = permute_hidden(base, zoo.spec, rng.permutation(h), rng.permutation(h))
    return zoo


def test_aligned_mean_of_permuted_copies_is_the_policy_itself():
    zoo = permuted_zoo()
    bases = {t: zoo.checkpoints.params[np.flatnonzero(zoo.checkpoints.tasks == t)[0]]
             for t in np.unique(zoo.checkpoints.tasks)}
    aligned = fitted(KMeanCheckpoint, KMeanConfig(k=8, aligned=True), zoo)
    plain = fitted(KMeanCheckpoint, KMeanConfig(k=8), zoo)
    tasks = zoo.checkpoints.tasks
    nearest = aligned.nearest_rows(method_view(aligned, aligned.name, zoo.conditions))
    for label, model in (("aligned", aligned), ("unaligned", plain)):
        params = propose(model, zoo.conditions, seed=5)
        for proposal, row in zip(params, nearest):
            base, members = bases[tasks[row]], zoo.checkpoints.params[tasks == tasks[row]]
            # the same network as the base, in the unit order of the first of the k drawn
            error = np.abs(align_to(proposal, base, zoo.spec) - base).max()
            is_member = (np.abs(members - proposal).max(axis=1) < 1e-5).any()
            if label == "aligned":
                assert error < 1e-5 and is_member
            else:  # averaging unrelated unit orders blurs the network
                assert error > 0.1 and not is_member


def test_gaussian_samples_have_the_task_statistics(zoo):
    model = fitted(GaussianCheckpoint, GaussianConfig(), zoo)
    row = int(np.flatnonzero(zoo.conditions.tasks == "task-b")[0])
    members = task_params(model, zoo, zoo.conditions.subset([row]))[0].astype(np.float64)
    mean, std = members.mean(0), members.std(0)
    n = 2000
    draws = propose(model, zoo.conditions.subset([row] * n), seed=0).astype(np.float64)
    # 5 standard errors per coordinate (~1,000 coordinates)
    assert (np.abs(draws.mean(0) - mean) < 5 * std / np.sqrt(n)).all()
    assert (np.abs(draws.std(0) / std - 1) < 5 / np.sqrt(2 * n)).all()
    # the draws are spread like the task, not like the whole zoo (whose per-parameter std is ~6x)
    assert std.mean() < 0.5 * zoo.checkpoints.params.std(0).mean()

    half = fitted(GaussianCheckpoint, GaussianConfig(scale=0.5), zoo)
    spread = propose(half, zoo.conditions.subset([row] * n), seed=0).std(0) / std
    assert abs(np.median(spread) - 0.5) < 0.02
    still = fitted(GaussianCheckpoint, GaussianConfig(scale=0.0), zoo)
    np.testing.assert_allclose(propose(still, zoo.conditions.subset([row]), seed=0)[0], mean, rtol=1e-6, atol=1e-7)


def test_gaussian_seeding(zoo):
    model = fitted(GaussianCheckpoint, GaussianConfig(), zoo)
    first = propose(model, zoo.conditions, seed=11)
    np.testing.assert_array_equal(propose(model, zoo.conditions, seed=11), first)
    assert not np.isclose(propose(model, zoo.conditions, seed=12), first).any(axis=1).all()
    assert len({p.tobytes() for p in first}) == len(first)  # rows of one proposal differ too


@pytest.mark.parametrize("cls,config", [(KMeanCheckpoint, KMeanConfig(k=3)),
                                        (KMeanCheckpoint, KMeanConfig(k=3, aligned=True)),
                                        (GaussianCheckpoint, GaussianConfig(scale=2.0))])
def test_state_round_trip_gives_identical_proposals(zoo, tmp_path, cls, config):
    model = fitted(cls, config, zoo)
    before = propose(model, zoo.conditions, seed=4)  # Gaussian: statistics cached before the save
    model.save(tmp_path)
    for run_config in (config, None):
        loaded = cls.load(tmp_path, run_config, zoo.spec)
        assert loaded.config == config
        np.testing.assert_array_equal(propose(loaded, zoo.conditions, seed=4), before)
        assert loaded.state()[1] == model.state()[1]
