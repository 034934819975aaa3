"""Permutation alignment of policies (benchmark.align): random parameter vectors, no simulation, no zoo."""
import numpy as np
import pytest

from benchmark.align import (
    align_pool,
    align_to,
    aligned_nearest,
    match_hidden,
    nearest_neighbour_reference,
    permute_hidden,
    relative_l2,
)
from benchmark.policy import BatchedPolicies, PolicySpec, unflatten

SMALL = PolicySpec(obs_dim=5, act_dim=2, hidden=8)
REAL = PolicySpec()  # 39 / 4 / 128, 22,664 parameters
SPECS = pytest.mark.parametrize("spec", [SMALL, REAL], ids=["small", "real"])


def scale_of(spec: PolicySpec) -> float:
    """Weight scale 1/sqrt(hidden): pre-activations O(1), so actions are not saturated."""
    return 1 / np.sqrt(spec.hidden)


def random_policy(spec: PolicySpec, rng, scale: float | None = None) -> np.ndarray:
    return (rng.normal(size=spec.n_params) * (scale_of(spec) if scale is None else scale)).astype(np.float32)


def random_perms(spec: PolicySpec, rng) -> tuple[np.ndarray, np.ndarray]:
    return rng.permutation(spec.hidden), rng.permutation(spec.hidden)


def actions_and_log_std(params: np.ndarray, spec: PolicySpec, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every observation through one policy: (M, act_dim) actions and log-stds."""
    batch = BatchedPolicies(np.repeat(params[None], len(obs), axis=0), spec)
    mean, log_std = batch.mean_log_std(obs)
    return np.tanh(mean), log_std


@SPECS
def test_permuting_hidden_units_leaves_the_policy_unchanged(spec):
    rng = np.random.default_rng(0)
    params = random_policy(spec, rng)
    perm1, perm2 = random_perms(spec, rng)
    permuted = permute_hidden(params, spec, perm1, perm2)
    obs = rng.normal(size=(64, spec.obs_dim)).astype(np.float32)
    actions, log_std = actions_and_log_std(params, spec, obs)
    actions_p, log_std_p = actions_and_log_std(permuted, spec, obs)
    assert np.mean(np.abs(actions) < 0.95) > 0.5 and actions.std() > 0.1  # a non-trivial comparison
    assert np.all(np.abs(log_std) < 2.0)  # not clamped
    np.testing.assert_allclose(actions_p, actions, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(log_std_p, log_std, rtol=1e-5, atol=1e-6)
    # the vector itself did change (a no-op permute would pass the check above trivially)
    assert relative_l2(permuted, params) > 0.5
    # and the same multiset of numbers was moved, per tensor
    for name, tensor in unflatten(permuted, spec).items():
        np.testing.assert_array_equal(np.sort(tensor, axis=None), np.sort(unflatten(params, spec)[name], axis=None))


def test_permute_hidden_follows_the_documented_convention():
    spec = SMALL
    params = np.arange(spec.n_params, dtype=np.float32)
    perm1, perm2 = random_perms(spec, np.random.default_rng(1))
    t, out = unflatten(params, spec), unflatten(permute_hidden(params, spec, perm1, perm2), spec)
    np.testing.assert_array_equal(out["linear1.weight"], t["linear1.weight"][perm1])
    np.testing.assert_array_equal(out["linear1.bias"], t["linear1.bias"][perm1])
    np.testing.assert_array_equal(out["linear2.weight"], t["linear2.weight"][perm2][:, perm1])
    np.testing.assert_array_equal(out["linear2.bias"], t["linear2.bias"][perm2])
    for head in ("mean_linear", "log_std_linear"):
        np.testing.assert_array_equal(out[f"{head}.weight"], t[f"{head}.weight"][:, perm2])
        np.testing.assert_array_equal(out[f"{head}.bias"], t[f"{head}.bias"])


def test_permute_hidden_rejects_a_non_permutation():
    spec = SMALL
    params = np.zeros(spec.n_params, np.float32)
    with pytest.raises(ValueError, match="permutation"):
        permute_hidden(params, spec, np.zeros(spec.hidden, int), np.arange(spec.hidden))


@SPECS
def test_aligning_a_permuted_copy_recovers_it(spec):
    rng = np.random.default_rng(2)
    for _ in range(3):
        reference = random_policy(spec, rng)
        copy = permute_hidden(reference, spec, *random_perms(spec, rng))
        assert relative_l2(copy, reference) > 0.5
        aligned = align_to(copy, reference, spec)
        assert relative_l2(aligned, reference) < 1e-6
        # alignment is a permutation, so the function is unchanged
        obs = rng.normal(size=(16, spec.obs_dim)).astype(np.float32)
        np.testing.assert_allclose(actions_and_log_std(aligned, spec, obs)[0],
                                   actions_and_log_std(copy, spec, obs)[0], rtol=1e-5, atol=1e-6)


def test_aligning_a_noisy_permuted_copy_gets_back_to_the_noise_level():
    spec, rng = REAL, np.random.default_rng(3)
    reference = random_policy(spec, rng)
    noise = random_policy(spec, rng, scale=scale_of(spec) * 0.2)  # relative noise ~0.2
    noisy = permute_hidden(reference + noise, spec, *random_perms(spec, rng))
    assert relative_l2(noisy, reference) > 1.0
    assert relative_l2(align_to(noisy, reference, spec), reference) == pytest.approx(0.2, abs=0.01)


def test_align_pool_brings_permuted_runs_into_one_order_and_keeps_every_policy():
    """Three runs of four checkpoints each, one solution with each run in its own hidden-unit
    order, and a fourth "run" of four unrelated policies: one permutation per run keeps even that
    run's distances, which aligning each policy on its own would change."""
    spec, rng = SMALL, np.random.default_rng(4)
    base = random_policy(spec, rng)
    pool, runs = [], []
    for run in range(3):
        perms = random_perms(spec, rng)
        for _ in range(4):
            pool.append(permute_hidden(base + random_policy(spec, rng, scale=scale_of(spec) * 0.05), spec, *perms))
            runs.append(run)
    pool += [random_policy(spec, rng) for _ in range(4)]
    pool, runs = np.stack(pool), np.array(runs + [3] * 4)
    aligned = align_pool(pool, spec, groups=runs)
    assert aligned.shape == pool.shape and aligned.dtype == pool.dtype
    assert relative_l2(pool[4:12], pool[0]).min() > 0.5  # the runs sit in unrelated orders
    assert relative_l2(aligned[4:12], aligned[0]).max() < 0.15  # and now share one
    for run in range(4):  # a run's checkpoints keep their distances: one permutation per run
        members = np.flatnonzero(runs == run)
        np.testing.assert_allclose(relative_l2(aligned[members[1:]], aligned[members[0]]),
                                   relative_l2(pool[members[1:]], pool[members[0]]), rtol=1e-5)
    obs = rng.normal(size=(32, spec.obs_dim)).astype(np.float32)
    for before, after in zip(pool, aligned):
        for a, b in zip(actions_and_log_std(after, spec, obs), actions_and_log_std(before, spec, obs)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(align_pool(pool[:4], spec, groups=runs[:4]), pool[:4])  # one run
    each_alone = align_pool(pool[:12], spec)  # every member its own group
    assert relative_l2(each_alone[4:], each_alone[0]).max() < 0.15


@SPECS
def test_matching_a_policy_to_itself_is_the_identity(spec):
    rng = np.random.default_rng(4)
    params = random_policy(spec, rng)
    perm1, perm2 = match_hidden(params, params, spec)
    np.testing.assert_array_equal(perm1, np.arange(spec.hidden))
    np.testing.assert_array_equal(perm2, np.arange(spec.hidden))
    aligned = align_to(align_to(params, params, spec), params, spec)
    np.testing.assert_array_equal(aligned, params)


@SPECS
def test_alignment_never_increases_the_distance(spec):
    rng = np.random.default_rng(5)
    for _ in range(4):
        a, b = random_policy(spec, rng), random_policy(spec, rng)
        aligned = align_to(a, b, spec)
        assert relative_l2(aligned, b) <= relative_l2(a, b) + 1e-12
    # unrelated random policies do get closer: alignment finds similar units
    assert relative_l2(aligned, b) < 0.95 * relative_l2(a, b)


def test_relative_l2_on_rows():
    a = np.array([[3.0, 4.0], [1.0, 1.0]])
    b = np.array([[0.0, 0.0], [2.0, 1.0]])
    d = relative_l2(a, b)
    assert d.shape == (2,)
    assert np.isinf(d[0])
    assert d[1] == pytest.approx(1 / np.sqrt(5))
    assert relative_l2(a[1], b[1]) == pytest.approx(1 / np.sqrt(5))


def test_aligned_nearest_finds_the_permuted_copy_that_raw_distance_misses():
    spec, rng = SMALL, np.random.default_rng(6)
    pool = np.stack([random_policy(spec, rng) for _ in range(10)])
    target = 7
    query = permute_hidden(pool[target] + random_policy(spec, rng, scale_of(spec) * 0.01), spec, *random_perms(spec, rng))
    raw = relative_l2(query[None], pool)
    assert raw.argmin() != target or raw.min() > 0.5
    distance, index = aligned_nearest(query[None], pool, spec, candidates=None)
    assert distance.shape == index.shape == (1,)
    assert index[0] == target
    assert distance[0] < 0.02
    # the anchored prefilter finds it with a single candidate, the raw one cannot unless it ranks first
    distance_a, index_a = aligned_nearest(query[None], pool, spec, candidates=1, prefilter="anchored")
    assert index_a[0] == target and distance_a[0] == pytest.approx(distance[0])
    distance_r, index_r = aligned_nearest(query[None], pool, spec, candidates=1, prefilter="raw")
    assert index_r[0] == raw.argmin()
    assert distance_r[0] <= raw.min() + 1e-12


def three_runs(spec: PolicySpec, rng, per_run: int = 4, step: float = 0.02):
    """Runs 0 and 1 from independent bases; run 2 is run 0 with its hidden units permuted."""
    bases = [random_policy(spec, rng) for _ in range(2)]
    runs = [np.stack([base + random_policy(spec, rng, scale_of(spec) * step) for _ in range(per_run)]) for base in bases]
    perms = random_perms(spec, rng)
    runs.append(np.stack([permute_hidden(p, spec, *perms) for p in runs[0]]))
    pool = np.concatenate(runs)
    groups = np.repeat(np.array([10, 11, 12]), per_run)
    return pool, groups


@SPECS
def test_nearest_neighbour_reference_sees_through_a_permuted_run(spec):
    per_run = 4
    pool, groups = three_runs(spec, np.random.default_rng(7), per_run)
    ref = nearest_neighbour_reference(pool, groups, spec, candidates=None)
    assert set(ref) == {f"{side}_{key}" for side in ("within", "between")
                        for key in ("raw", "raw_index", "aligned", "aligned_index")}
    assert all(v.shape == (len(pool),) for v in ref.values())
    run0, run1, run2 = (np.flatnonzero(groups == g) for g in (10, 11, 12))
    # within a run: snapshots differ by ~step * sqrt(2) relative, already aligned
    for key in ("within_raw", "within_aligned"):
        assert np.all(ref[key] < 0.05) and np.all(ref[key] > 0.01)
    assert np.all(groups[ref["within_aligned_index"]] == groups)
    assert np.all(ref["within_aligned_index"] != np.arange(len(pool)))
    # between runs: run 0 and run 2 are the same policies up to permutation
    for rows, partner in ((run0, run2), (run2, run0)):
        assert np.all(ref["between_raw"][rows] > 0.5)
        np.testing.assert_array_less(ref["between_aligned"][rows], 1e-6)
        np.testing.assert_array_equal(ref["between_aligned_index"][rows], partner)
    # run 1 is unrelated to either: aligned helps a little, never to the permuted pair's level
    assert np.all(ref["between_aligned"][run1] > 0.5)
    assert np.all(ref["between_aligned"] <= ref["between_raw"] + 1e-12)
    # the default (raw prefilter, k=32) covers all 12 here, and the anchored one agrees
    for prefilter in ("raw", "anchored"):
        again = nearest_neighbour_reference(pool, groups, spec, prefilter=prefilter)
        np.testing.assert_allclose(again["between_aligned"], ref["between_aligned"], atol=1e-9)


def test_nearest_neighbour_reference_with_singletons_and_one_run():
    spec, rng = SMALL, np.random.default_rng(8)
    pool = np.stack([random_policy(spec, rng) for _ in range(3)])
    ref = nearest_neighbour_reference(pool, np.array([0, 1, 1]), spec)
    assert np.isnan(ref["within_raw"][0]) and ref["within_aligned_index"][0] == -1
    assert list(ref["within_aligned_index"][1:]) == [2, 1]
    one_run = nearest_neighbour_reference(pool, np.zeros(3, int), spec)
    assert np.all(np.isnan(one_run["between_aligned"])) and np.all(one_run["between_raw_index"] == -1)
    with pytest.raises(ValueError, match="groups"):
        nearest_neighbour_reference(pool, np.zeros(2, int), spec)
