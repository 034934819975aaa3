"""The contract is enforced by the harness: `propose` gets exactly its declared reads, `fit` gets
the training split only, and every proposal is checked before it is rolled out.

The methods under test live outside the repository's packages (tests/outside_plugin/b2p_probe,
importable by path as a plug-in would be by entry point). The fast tests drive `run_cell` and
`train_unit` on a synthetic zoo; the slow ones run the smoke suite through the CLI.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_generators_synthetic import synthetic_zoo

from benchmark import cells, engine
from benchmark.api import (
    METHODS,
    ActorProposal,
    ConditionView,
    Method,
    ParameterProposal,
    TrainingZoo,
    UndeclaredRead,
)
from benchmark.errors import MethodFailure, one_line

PLUGIN = Path(__file__).resolve().parent / "outside_plugin"
HIDDEN_RECORD_KEYS = {"run_seed", "configuration", "step", "success", "first_success_step", "source", "quality"}


@pytest.fixture
def probe(monkeypatch, tmp_path):
    """The outside plug-in on the path; returns the file its Probe reports to."""
    monkeypatch.syspath_prepend(str(PLUGIN))
    out = tmp_path / "probe.jsonl"
    monkeypatch.setenv("B2P_PROBE_OUT", str(out))
    yield out
    for name in [m for m in sys.modules if m.startswith("b2p_probe")]:
        del sys.modules[name]


def _reports(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


# ----------------------------------------------------------------------------- the views

def test_a_view_holds_only_the_declared_fields_and_names_what_is_missing():
    zoo = synthetic_zoo()
    view = ConditionView.of(zoo.conditions.subset([0, 1, 2]), "probe", ("states", "actions"))
    assert view.states.shape == zoo.conditions.states[:3].shape and view.params.shape == (3, 0)
    np.testing.assert_array_equal(view.lengths, zoo.conditions.lengths[:3])
    assert view.records == [{}, {}, {}]
    assert set(view._arrays) == {"states", "actions"}  # the others are not in it at all
    for name in ("rewards", "successes", "tasks", "first_success_steps"):
        with pytest.raises(UndeclaredRead) as info:
            getattr(view, name)
        message = str(info.value)
        assert "\n" not in message and "method probe" in message and "declare" in message
    with pytest.raises(UndeclaredRead, match="'task'"):
        view.for_task("task-a")
    sub = view.subset([2, 0])
    assert len(sub) == 2 and set(sub._arrays) == {"states", "actions"}
    np.testing.assert_array_equal(sub.states[0], zoo.conditions.states[2])


def test_records_carry_the_task_only_when_declared_and_nothing_else_ever():
    zoo = synthetic_zoo()
    conditions = zoo.conditions.subset([0, 5])
    assert HIDDEN_RECORD_KEYS & set(conditions.records[0])   # the harness's own rows carry them
    with_task = ConditionView.of(conditions, "m", ("states", "actions", "successes", "task"))
    assert with_task.records == [{"task": r["task"]} for r in conditions.records]
    assert list(with_task.tasks) == list(conditions.tasks)
    np.testing.assert_array_equal(with_task.first_success_steps, conditions.first_success_steps)
    nothing = ConditionView.of(conditions, "m", ())
    assert len(nothing) == 2 and nothing.records == [{}, {}]
    with pytest.raises(UndeclaredRead):
        _ = nothing.states


def test_the_training_view_has_no_condition_pool_and_no_path():
    zoo = synthetic_zoo()
    zoo.manifest["seen_tasks"] = ["task-a", "task-b"]
    view = TrainingZoo.of(zoo)
    assert sorted(set(view.checkpoints.tasks.tolist())) == ["task-a", "task-b"] == view.tasks
    np.testing.assert_array_equal(view.checkpoints.params, zoo.checkpoints.params[zoo.checkpoints.tasks != "task-c"])
    assert view.spec == zoo.spec and view.zoo_id == zoo.zoo_id and "conditions" not in view.manifest
    for name in ("conditions", "root"):
        with pytest.raises(UndeclaredRead):
            getattr(view, name)
    with pytest.raises(AttributeError):
        view.extra = 1  # no room to smuggle anything in


def test_fit_gets_the_training_view(probe, monkeypatch, tmp_path):
    from benchmark import training
    from benchmark.config import load_profile
    from benchmark.plan import TrainingJob, resolve_method

    zoo = synthetic_zoo()
    zoo.manifest["seen_tasks"] = ["task-a", "task-b"]
    monkeypatch.setattr("benchmark.zoo.format.load_zoo", lambda root: zoo)
    method = resolve_method("b2p_probe:Probe", load_profile("smoke"))
    training.train_unit(TrainingJob(method, "unused", 0, str(tmp_path / "model")))
    fit = next(r for r in _reports(probe) if r["where"] == "fit")
    assert fit["kind"] == "TrainingZoo" and fit["checkpoint_tasks"] == ["task-a", "task-b"]
    assert fit["conditions"].startswith("UndeclaredRead") and fit["root"].startswith("UndeclaredRead")


def test_an_exception_in_fit_names_the_method_and_the_model(probe, monkeypatch, tmp_path):
    from benchmark import training
    from benchmark.config import load_profile
    from benchmark.plan import TrainingJob, resolve_method

    monkeypatch.setattr("benchmark.zoo.format.load_zoo", lambda root: synthetic_zoo())
    method = resolve_method("b2p_probe:FitRaising", load_profile("smoke"))
    with pytest.raises(MethodFailure) as info:
        training.train_unit(TrainingJob(method, "unused", 0, str(tmp_path / "model-x")))
    assert one_line(info.value) == "method b2p_probe:FitRaising, model model-x: fit raised ValueError: boom inside fit"


# ----------------------------------------------------------------------------- proposals

class _Result:
    policy_id = config_index = first_success_step = length = np.zeros(1, np.int64)
    success = np.zeros(1, bool)
    episode_return = np.zeros(1)
    kept_states = {}


def _run_cell(monkeypatch, method_name: str, n_traj: int = 3):
    """run_cell for one cell of the synthetic zoo's task-a with `method_name` (a plug-in), no
    rollouts: the engine is replaced by a stub that records whether it was called."""
    zoo = synthetic_zoo()
    cls = METHODS.get(method_name)
    model = cls(cls.Config(), zoo.spec)
    rolled = []
    config = dict(method=method_name, method_config={}, zoo_id="z", task="task-a", n_traj=n_traj, setting="clean",
                  seed=0, noise_std=0.0, configurations=[0],
                  eval=dict(max_steps=5, stop_at_success=True, trajectories_kept=0))
    monkeypatch.setattr(cells, "_cached_zoo", lambda root: zoo)
    monkeypatch.setattr(cells, "_cached_model", lambda *args: (model, {}))
    monkeypatch.setattr(engine, "evaluate", lambda *args, **kwargs: rolled.append(1) or _Result())
    out = cells.run_cell(cells.Cell("cell-7", config, None, "", ""))
    return out, rolled


def test_propose_sees_its_declared_reads_only(probe, monkeypatch):
    out, rolled = _run_cell(monkeypatch, "b2p_probe:Probe")
    seen = next(r for r in _reports(probe) if r["where"] == "propose")
    assert seen["kind"] == "ConditionView" and seen["params_shape"] == [3, 0] and seen["record_keys"] == []
    assert seen["fields"]["states"] == seen["fields"]["actions"] == "ok"
    for name in ("rewards", "successes", "task"):
        assert seen["fields"][name].startswith("UndeclaredRead") and "b2p_probe:Probe" in seen["fields"][name]
    assert rolled and np.isfinite(out["policies"]["cos_condition"]).all()  # the harness itself still has them


def test_a_cell_draws_its_prompts_from_its_conditions_zoo_and_keeps_its_models_zoo(monkeypatch):
    """A profile's `conditions_profile` gives cells a second zoo: the prompt-source control (the
    condition's own parameters) proposes that zoo's condition policies, while the model and the
    distances to the nearest checkpoint stay with the cell's own zoo."""
    import dataclasses

    own = synthetic_zoo()
    others = dataclasses.replace(own.conditions, params=-own.conditions.params)
    prompts = dataclasses.replace(own, conditions=others, manifest={**own.manifest, "zoo_id": "prompts"})
    rolled = []
    config = dict(method="prompt-source", method_config={}, zoo_id="z", task="task-a", n_traj=3, setting="clean",
                  seed=0, noise_std=0.0, configurations=[0],
                  eval=dict(max_steps=5, stop_at_success=True, trajectories_kept=0))
    monkeypatch.setattr(cells, "_cached_zoo", lambda root: {"own": own, "prompts": prompts}[root])
    monkeypatch.setattr(cells, "_cached_model", lambda *args: (METHODS.get("prompt-source")(None, own.spec), {}))
    monkeypatch.setattr(engine, "evaluate", lambda *args, params, **kwargs: rolled.append(params) or _Result())
    outputs = [cells.run_cell(cells.Cell("cell-8", config, None, "", "own", conditions_root=root))
               for root in ("", "prompts")]
    rows = cells.cell_conditions(own, config)[1]
    assert np.array_equal(rolled[0], own.conditions.params[rows])
    assert np.array_equal(rolled[1], -own.conditions.params[rows])
    cosines = [np.asarray(out["policies"]["cos_nearest_checkpoint"]) for out in outputs]
    assert (cosines[0] > cosines[1]).all()  # distances are to the cell's own zoo's checkpoints


@pytest.mark.parametrize("method,line", [
    ("b2p_probe:Snooper", "propose raised method b2p_probe:Snooper read the conditions' 'rewards', which it does "
                          "not declare"),
    ("b2p_probe:NaNProposer", "params has 67776 non-finite values in 3 of 3 policies"),
    ("b2p_probe:WrongShape", "params has shape (3, 1215), expected (3, 1216)"),
    ("b2p_probe:Empty", "params has shape (0, 1216), expected (3, 1216)"),
    ("b2p_probe:Raising", "propose raised RuntimeError: boom inside propose"),
])
def test_a_bad_proposal_fails_its_cell_in_one_line_before_any_rollout(probe, monkeypatch, method, line):
    n_params = synthetic_zoo().spec.n_params
    line = line.replace("67776", str(3 * n_params)).replace("1216", str(n_params)).replace("1215", str(n_params - 1))
    rolled = []
    with pytest.raises(MethodFailure) as info:
        rolled = _run_cell(monkeypatch, method)[1]
    message = one_line(info.value)
    assert message.startswith(f"method {method}, cell cell-7: ") and line in message, message
    assert not rolled


def test_proposal_problems_cover_kind_dtype_and_count():
    spec = synthetic_zoo().spec
    ok = np.zeros((2, spec.n_params), np.float32)
    assert cells.proposal_problem(ParameterProposal(ok, spec), 2, spec) is None
    assert "dtype float64" in cells.proposal_problem(ParameterProposal(ok.astype(np.float64), spec), 2, spec)
    assert "not a numpy array" in cells.proposal_problem(ParameterProposal(ok.tolist(), spec), 2, spec)
    assert "not a ParameterProposal" in cells.proposal_problem(ok, 2, spec)
    assert cells.proposal_problem(ActorProposal(2, lambda ids: None), 2, spec) is None
    assert cells.proposal_problem(ActorProposal(3, lambda ids: None), 2, spec) == "proposed 3 policies, expected 2"
    assert "not callable" in cells.proposal_problem(ActorProposal(2, None), 2, spec)


class Greedy(Method):
    """Declares a field no method may read."""

    Config = METHODS.get("random").Config
    reads = ("states", "params")


def test_an_undeclarable_read_fails_at_planning():
    from benchmark.config import load_profile
    from benchmark.errors import UserError
    from benchmark.plan import resolve_method

    with pytest.raises(UserError, match="declares reads"):
        resolve_method("test_contract:Greedy", load_profile("smoke"))


# ----------------------------------------------------------------------------- the CLI, end to end

def _cli(*args, results, probe_out, background=False):
    env = dict(os.environ, PYTHONUNBUFFERED="1", B2P_PROBE_OUT=str(probe_out),
               PYTHONPATH=os.pathsep.join(filter(None, [str(PLUGIN), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "benchmark", *args, "--results", str(results)]
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(command, capture_output=True, text=True, env=env)


@pytest.fixture()
def results(tiny_zoo, test_results, tmp_path):
    """A results root with the cached smoke zoo and no models: every method trains (in seconds)."""
    root = tmp_path / "results"
    root.mkdir()
    (root / "zoo").symlink_to(test_results / "zoo")
    return root


BAD = ["b2p_probe:Snooper", "b2p_probe:NaNProposer", "b2p_probe:WrongShape", "b2p_probe:Empty",
       "b2p_probe:Raising", "b2p_probe:FitRaising"]


@pytest.mark.slow
def test_bad_methods_fail_their_cells_and_the_others_finish(results, tmp_path):
    probe_out = tmp_path / "probe.jsonl"
    result = _cli("run", "--suite", "smoke", "--profile", "smoke", "--workers", "0", "--methods",
                  "nearest-checkpoint", "b2p_probe:Probe", *BAD, results=results, probe_out=probe_out)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    run_dir = results / "runs" / "smoke-smoke"
    stored = {p.stem: json.loads(p.read_text()) for p in (run_dir / "cells").glob("*.json")}
    status = {}
    for cell in stored.values():
        status.setdefault(cell["config"]["method"], set()).add(cell["status"])
    assert status.pop("nearest-checkpoint") == {"ok"} and status.pop("b2p_probe:Probe") == {"ok"}
    assert status == {name: {"failed"} for name in BAD}
    for cell in stored.values():
        if cell["status"] == "failed":
            assert "\n" not in cell["error"] and cell["config"]["method"] in cell["error"]
            assert cell["cell_id"] in cell["error"] or "model" in cell["error"]
            assert cell["traceback"].startswith("Traceback")
    log = (run_dir / "failures.log").read_text()
    assert all(cell_id in log for cell_id, cell in stored.items() if cell["status"] == "failed")
    assert log.count("Traceback (most recent call last)") >= len(BAD)
    lines = result.stderr.strip().splitlines()
    assert "training failed: method b2p_probe:FitRaising, model " in result.stderr
    assert "fit raised ValueError: boom inside fit" in result.stderr
    assert any(line.startswith("failed: method b2p_probe:") for line in lines)
    assert result.stdout.strip().splitlines()[-1].startswith("4 cells ok, 12 failed; tables:")
    for report in _reports(probe_out):   # the probe ran in the harness's own worker
        if report["where"] == "propose":
            assert report["record_keys"] == [] and report["fields"]["rewards"].startswith("UndeclaredRead")
        else:
            assert report["conditions"].startswith("UndeclaredRead")
    assert {r["where"] for r in _reports(probe_out)} == {"fit", "propose"}


@pytest.mark.slow
def test_verbose_puts_the_tracebacks_on_the_terminal(results, tmp_path):
    result = _cli("--verbose", "run", "--suite", "smoke", "--profile", "smoke", "--workers", "0", "--methods",
                  "b2p_probe:Raising", results=results, probe_out=tmp_path / "probe.jsonl")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: boom inside propose" in result.stderr


def _raylets() -> set[int]:
    found = subprocess.run(["pgrep", "-f", "raylet"], capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in found}


@pytest.mark.slow
def test_sigterm_with_ray_workers_stops_like_ctrl_c(results, tmp_path):
    before = _raylets()
    proc = _cli("run", "--suite", "smoke", "--profile", "smoke", "--workers", "2", "--methods", "nearest-checkpoint",
                "b2p_probe:Probe", results=results, probe_out=tmp_path / "probe.jsonl", background=True)
    cells_dir = results / "runs" / "smoke-smoke" / "cells"
    deadline = time.time() + 300
    while not (cells_dir.is_dir() and any(cells_dir.glob("*.json"))) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "SIGTERM received" not in err and "PC: @" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted")
    deadline = time.time() + 30
    while _raylets() - before and time.time() < deadline:
        time.sleep(0.5)
    assert not _raylets() - before, "the run's Ray is still up"
