"""The one persistence path (benchmark.api): every in-repo method hands its state to the harness
(`state`) and is rebuilt from it (`from_state`); `Method.save` / `Method.load` write and read
state.safetensors + state.json. Tiny fits on synthetic zoos (no MetaWorld, no Ray), so fast."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_baselines import OBS, SPEC, actions_of, synthetic_set
from test_generators_synthetic import synthetic_zoo

from baselines import bounds, care, dt, hypernet, mtbc
from benchmark.api import STATE_META, STATE_TENSORS, Method, ParameterProposal, load_state, save_state
from benchmark.errors import UserError
from benchmark.zoo.format import Zoo
from generators import controls
from generators.make_an_agent.model import MakeAnAgent, preset_config

torch.set_num_threads(1)


def baseline_zoo() -> Zoo:
    torch.manual_seed(0)
    checkpoints = synthetic_set(["reach", "button-press"], 3, 12, seed=0)
    conditions = synthetic_set(["reach", "button-press"], 2, 12, seed=1, success_rate=0.5)
    manifest = {"zoo_id": "synthetic", "tasks": ["reach", "button-press"], "policy_spec": SPEC.to_dict()}
    return Zoo(root=Path("."), manifest=manifest, spec=SPEC, checkpoints=checkpoints, conditions=conditions)


# name -> (class, config overrides, which zoo); every in-repo method, tiny budgets
METHODS = {
    "mtbc": (mtbc.MultiTaskBC, dict(mtbc.PRESETS["smoke"], steps=2, finetune_steps=1), "baseline"),
    "mtbc-onehot": (
        mtbc.MultiTaskBC,
        dict(mtbc.PRESETS["smoke"], steps=2, finetune_steps=1, task_onehot=True),
        "baseline",
    ),
    "care": (care.CARE, dict(care.PRESETS["smoke"], offline_steps=2, finetune_steps=1), "baseline"),
    "dt": (dt.DecisionTransformer, dict(dt.PRESETS["smoke"], steps=2, finetune_steps=1), "baseline"),
    "hypernet": (hypernet.HyperNetwork, dict(hypernet.PRESETS["smoke"], steps=2), "baseline"),
    "expert": (bounds.ScriptedExpert, {}, "baseline"),
    "random": (bounds.RandomPolicy, {}, "baseline"),
    "nearest-checkpoint": (controls.NearestCheckpoint, {}, "generator"),
    "noisy-checkpoint": (controls.NoisyCheckpoint, {"noise_std": 0.05}, "generator"),
    "mean-checkpoint": (controls.MeanCheckpoint, {}, "generator"),
    "make-an-agent": (
        MakeAnAgent,
        dict(vars(preset_config("smoke")), ae_epochs=1, emb_epochs=1, diff_epochs=1),
        "generator",
    ),
}


@pytest.fixture(scope="module")
def zoos() -> dict[str, Zoo]:
    return {"baseline": baseline_zoo(), "generator": synthetic_zoo(per_task=4)}


def fitted(name: str, zoos) -> tuple[Method, Zoo]:
    cls, overrides, which = METHODS[name]
    zoo = zoos[which]
    method = cls(cls.Config(**overrides), zoo.spec)
    method.fit(zoo, seed=0)
    return method, zoo


def outputs(method: Method, zoo: Zoo) -> np.ndarray | None:
    """What the method proposes for one seen task's conditions (actions for an actor method);
    None for the scripted expert (it would step MetaWorld's expert)."""
    if method.name == "expert":
        return None
    conditions = zoo.conditions.for_task(zoo.conditions.tasks[0])
    proposal = method.propose(conditions, seed=3)
    return proposal.params if isinstance(proposal, ParameterProposal) else actions_of(proposal, OBS)


def assert_same_state(a: Method, b: Method) -> None:
    """Same tensors (type, dtype, shape, values: numpy stays numpy) and the same meta."""
    (ta, ma), (tb, mb) = a.state(), b.state()
    assert sorted(ta) == sorted(tb)
    for key, x in ta.items():
        y = tb[key]
        assert type(x) is type(y), key
        assert x.dtype == y.dtype and tuple(x.shape) == tuple(y.shape), key
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            assert torch.equal(x.detach().cpu(), y.detach().cpu()), key
    assert json.loads(json.dumps(ma)) == json.loads(json.dumps(mb))


@pytest.mark.parametrize("name", METHODS)
def test_every_method_round_trips_through_the_one_layout(zoos, tmp_path, name):
    method, zoo = fitted(name, zoos)
    method.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE_META, STATE_TENSORS]
    cls = type(method)
    for config in (method.config, None):  # the run's config, or the saved one
        loaded = cls.load(tmp_path, config, zoo.spec)
        assert type(loaded) is cls and loaded.config == method.config
        assert_same_state(method, loaded)
    expected = outputs(method, zoo)
    if expected is not None:
        np.testing.assert_array_equal(outputs(loaded, zoo), expected)
    # from_state(*state()) is the same model without the files
    assert_same_state(method, cls.from_state(*load_state(tmp_path), None, zoo.spec))


def test_numpy_arrays_come_back_as_tensors_of_the_same_dtype(tmp_path):
    arrays = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "i64": np.arange(3),
        "u8": np.array([0, 1], np.uint8),
        "t": torch.ones(2, dtype=torch.float64),
        "view": np.arange(10, dtype=np.float32)[::2],  # non-contiguous
    }
    arrays["same"] = arrays["f32"]  # two names, one array
    save_state(tmp_path, arrays, {"k": [1, 2], "s": "x"})
    tensors, meta = load_state(tmp_path)
    assert meta == {"k": [1, 2], "s": "x"}
    for key, value in arrays.items():
        value = value.numpy() if isinstance(value, torch.Tensor) else value
        assert isinstance(tensors[key], torch.Tensor) and tensors[key].numpy().dtype == value.dtype, key
        np.testing.assert_array_equal(tensors[key].numpy(), value, err_msg=key)


def _saved(tmp_path) -> Path:
    zoo = synthetic_zoo(per_task=4)
    method = controls.NearestCheckpoint(controls.FeatureConfig(), zoo.spec)
    method.fit(zoo, seed=0)
    method.save(tmp_path)
    return tmp_path


@pytest.mark.parametrize("damage", ["missing", "truncated", "header-only", "garbage"])
def test_a_missing_or_damaged_state_file_is_a_one_line_user_error(tmp_path, damage):
    directory = _saved(tmp_path)
    path = directory / STATE_TENSORS
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "header-only":
        path.write_bytes(data[:3])
    else:
        path.write_bytes(b"garbage" * 10)
    spec = synthetic_zoo(per_task=1).spec
    with pytest.raises(UserError) as info:
        controls.NearestCheckpoint.load(directory, None, spec)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot load model (") and len(message.splitlines()) == 1, message


@pytest.mark.parametrize("damage", ["missing", "truncated", "not-an-object"])
def test_a_missing_or_damaged_meta_file_names_it(tmp_path, damage):
    directory = _saved(tmp_path)
    path = directory / STATE_META
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_text(path.read_text()[:20])
    else:
        path.write_text("[1, 2]")
    with pytest.raises(UserError, match=f"^{re.escape(str(path))}: cannot load model") as info:
        load_state(directory)
    assert len(str(info.value).splitlines()) == 1


def test_another_methods_state_is_refused_with_the_directory(tmp_path):
    directory = _saved(tmp_path)
    spec = synthetic_zoo(per_task=1).spec
    with pytest.raises(UserError, match=f"^{re.escape(str(directory))}: saved by nearest-checkpoint"):
        controls.MeanCheckpoint.load(directory, None, spec)
    prefix = re.escape(str(directory))
    with pytest.raises(UserError, match=f"^{prefix}: state.json: unknown setting"):  # its saved config
        mtbc.MultiTaskBC.load(directory, None, spec)
    with pytest.raises(UserError, match=f"^{prefix}: cannot rebuild a mtbc model from its state") as info:
        mtbc.MultiTaskBC.load(directory, mtbc.MultiTaskBC.Config(), spec)
    assert len(str(info.value).splitlines()) == 1


def test_a_method_with_neither_state_nor_save_says_so(tmp_path):
    class Bare(Method):
        name = "bare"
        Config = bounds.Config

        def fit(self, zoo, seed):
            return {}

        def propose(self, conditions, seed):
            raise NotImplementedError

    with pytest.raises(NotImplementedError, match="neither state"):
        Bare(bounds.Config(), SPEC).save(tmp_path)
    save_state(tmp_path, {}, {})
    with pytest.raises(NotImplementedError, match="neither from_state"):
        Bare.load(tmp_path, None, SPEC)
