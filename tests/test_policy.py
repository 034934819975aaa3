import numpy as np
import pytest
import torch

from benchmark.policy import BatchedPolicies, GaussianActor, PolicySpec, flatten_state_dict, unflatten


def test_metaworld_family_has_the_release_size_and_split():
    spec = PolicySpec()
    assert spec.n_params == 22664
    assert spec.chunk_sizes == (5120, 17544)


def test_flatten_order_matches_a_hand_built_state_dict():
    spec = PolicySpec(obs_dim=3, act_dim=2, hidden=4)
    names = ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
             "mean_linear.weight", "mean_linear.bias", "log_std_linear.weight", "log_std_linear.bias"]
    shapes = [(4, 3), (4,), (4, 4), (4,), (2, 4), (2,), (2, 4), (2,)]
    state, start = {}, 0
    for name, shape in zip(names, shapes):
        size = int(np.prod(shape))
        state[name] = torch.arange(start, start + size, dtype=torch.float32).reshape(shape)
        start += size
    flat = flatten_state_dict(state, spec)
    np.testing.assert_array_equal(flat, np.arange(spec.n_params, dtype=np.float32))
    back = unflatten(flat, spec)
    for name in names:
        np.testing.assert_array_equal(back[name], state[name].numpy())
    actor = GaussianActor(spec).load_flat(flat)
    assert list(actor.state_dict()) == names
    np.testing.assert_array_equal(actor.flat_parameters(), flat)


def test_unflatten_rejects_wrong_size():
    with pytest.raises(ValueError, match="expected"):
        unflatten(np.zeros(10), PolicySpec())


@pytest.mark.parametrize("hidden", [128, 32])
def test_batched_numpy_forward_equals_torch(hidden):
    spec = PolicySpec(hidden=hidden)
    torch.manual_seed(0)
    actors = [GaussianActor(spec) for _ in range(5)]
    params = np.stack([a.flat_parameters() for a in actors])
    obs = np.random.default_rng(0).normal(size=(5, 39)).astype(np.float32) * 3
    batched = BatchedPolicies(params, spec)
    mean, log_std = batched.mean_log_std(obs)
    for k, actor in enumerate(actors):
        with torch.no_grad():
            m, s = actor(torch.from_numpy(obs[k]))
            np.testing.assert_allclose(batched.act(obs)[k], actor.act(torch.from_numpy(obs[k])).numpy(), atol=1e-5)
        np.testing.assert_allclose(mean[k], m.numpy(), atol=1e-5)
        np.testing.assert_allclose(log_std[k], s.numpy(), atol=1e-5)
    subset = batched.select([3, 1])
    np.testing.assert_allclose(subset.act(obs[[3, 1]]), batched.act(obs)[[3, 1]], atol=1e-6)
