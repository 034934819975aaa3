"""Importer of the authors' release files, on synthetic files with the release's keys and shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.envs import make_env, train_configuration
from benchmark.errors import UserError
from benchmark.policy import METAWORLD_SPEC, GaussianActor
from benchmark.zoo.authors import (
    AuthorsDataset,
    authors_policy_set,
    dataset_from_policy_set,
    import_authors,
    read_authors_file,
    unpack_trajectory_features,
)
from benchmark.zoo.features import trajectory_features
from benchmark.zoo.format import validate_policy_set
from benchmark.zoo.sac import rollout, to_policy_set

N = 5


class Payload:
    """Unpickling this calls Path.touch(marker): a stand-in for code hidden in a pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


def raw_tensors(seed=0, n=N):
    g = torch.Generator().manual_seed(seed)
    return {"param": torch.randn(n, 22664, generator=g), "traj": torch.randn(n, 1020, generator=g),
            "task": torch.randn(n, 117, generator=g)}


def processed_tensors(n=N):
    return {"param": torch.rand(n, 2, 1024) * 2 - 1, "traj": torch.randn(n, 128), "task": torch.randn(n, 128)}


def write(path, obj):
    torch.save(obj, path)
    return path


def test_raw_file_imports_exactly(tmp_path):
    tensors = raw_tensors()
    data = import_authors(write(tmp_path / "reach.pt", tensors), "reach")
    assert isinstance(data, AuthorsDataset) and len(data) == N and data.task == "reach"
    np.testing.assert_array_equal(data.params, tensors["param"].numpy())
    np.testing.assert_array_equal(data.traj_features, tensors["traj"].numpy())
    np.testing.assert_array_equal(data.success_features, tensors["task"].numpy())
    # half-precision files are widened to float32
    half = import_authors(write(tmp_path / "half.pt", {k: v.half() for k, v in tensors.items()}), "reach")
    assert half.params.dtype == np.float32
    np.testing.assert_array_equal(half.params, tensors["param"].half().float().numpy())


def test_params_load_into_the_actor_in_the_release_order(tmp_path):
    actor = GaussianActor()
    # the authors' file stores state_dict tensors flattened in order: build one that way
    flat = torch.cat([t.reshape(-1) for t in actor.state_dict().values()])[None]
    tensors = dict(raw_tensors(n=1), param=flat)
    data = import_authors(write(tmp_path / "one.pt", tensors), "reach")
    loaded = GaussianActor().load_flat(data.params[0])
    for name, tensor in actor.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor, rtol=0, atol=0)


def test_policy_set_round_trips_the_trajectory_features(tmp_path):
    data = import_authors(write(tmp_path / "reach.pt", raw_tensors()), "reach")
    policies = authors_policy_set(data)
    validate_policy_set(policies.arrays(), policies.records, METAWORLD_SPEC, "authors")
    assert policies.states.shape == (N, 60, 39) and (policies.lengths == 60).all()
    assert all(r["reconstructed"] and r["success"] is None and r["source"] == "authors" for r in policies.records)
    np.testing.assert_array_equal(trajectory_features(policies.states, policies.actions, policies.lengths),
                                  data.traj_features)
    states, actions = unpack_trajectory_features(data.traj_features)
    assert states.shape == (N, 20, 39) and actions.shape == (N, 60, 4)
    np.testing.assert_array_equal(states[:, 1], data.traj_features[:, 51:90])


def test_suite_features_match_a_real_trajectory_layout():
    """Features of a real reach rollout, unpacked, give back its states every 3 steps and its first 60 actions."""
    actor = GaussianActor()
    episode = rollout(make_env("reach", train_configuration(0)),
                      lambda obs: actor.act(torch.from_numpy(obs)[None])[0].detach().numpy(), keep_after_success=10)
    record = {"task": "reach", "source": "test", "run_seed": 0, "configuration": 0, "step": 0,
              "success": 0.0, "first_success_step": None}
    policies = to_policy_set([{**episode, "params": actor.flat_parameters(), "record": record}], METAWORLD_SPEC)
    data = dataset_from_policy_set(policies, "reach")
    assert data.traj_features.shape == (1, 1020) and data.success_features.shape == (1, 117)
    states, actions = unpack_trajectory_features(data.traj_features)
    np.testing.assert_array_equal(states[0], episode["states"][:60:3])
    np.testing.assert_array_equal(actions[0], episode["actions"][:60])
    np.testing.assert_array_equal(data.params[0], actor.flat_parameters())


def test_processed_file_is_readable_but_not_importable(tmp_path):
    path = write(tmp_path / "processed.pt", processed_tensors())
    kind, arrays = read_authors_file(path)
    assert kind == "processed" and arrays["param"].shape == (N, 2, 1024)
    with pytest.raises(UserError, match="processed file .*not policies"):
        import_authors(path, "reach")
    assert read_authors_file(write(tmp_path / "raw.pt", raw_tensors()))[0] == "raw"


@pytest.mark.parametrize("change, message", [
    (lambda t: dict(t, param=t["param"][:, :1000]), "match neither"),
    (lambda t: dict(t, traj=t["traj"][:2]), "match neither"),
    (lambda t: {k: v for k, v in t.items() if k != "task"}, "missing key"),
    (lambda t: dict(t, traj=t["traj"].index_fill(1, torch.tensor([7]), float("nan"))), "non-finite"),
    (lambda t: dict(t, param=t["param"].to(torch.int32)), "floating-point"),
    (lambda t: dict(t, task=[1.0, 2.0]), "expected a tensor"),
    (lambda t: [t["param"], t["traj"], t["task"]], "expected a dict"),
    (lambda t: {k: v[:0] for k, v in t.items()}, "no rows"),
])
def test_malformed_files_are_user_errors(tmp_path, change, message):
    path = write(tmp_path / "bad.pt", change(raw_tensors(n=3)))
    with pytest.raises(UserError, match=message):
        import_authors(path, "reach")


def test_truncated_missing_and_pickled_files_are_refused(tmp_path):
    good = write(tmp_path / "good.pt", raw_tensors(n=2))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UserError, match="unreadable or truncated"):
        import_authors(truncated, "reach")
    with pytest.raises(UserError, match="no such file"):
        import_authors(tmp_path / "absent.pt", "reach")
    # a pickled object whose unpickling would run code (touch a file): refused, code not run
    marker = tmp_path / "code-ran"
    pickled = write(tmp_path / "pickled.pt", dict(raw_tensors(n=2), extra=Payload(marker)))
    with pytest.raises(UserError, match="refused, holds objects other than tensors"):
        import_authors(pickled, "reach")
    assert not marker.exists()
    with pytest.raises(UserError, match="unknown task"):
        import_authors(good, "reech")
