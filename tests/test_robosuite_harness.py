"""The Robosuite domain through the harness, on real robosuite 1.5.2 at tiny budgets: the smoke
profile's robosuite zoo (one Panda distillation run on Lift: 3 checkpoints, 3 condition
trajectories rolled out on Sawyer) built by `build_zoo`, then `run --suite robosuite --profile
smoke` end to end (cells on Sawyer, tables, a report), its Panda control row, `diagnose` on
Sawyer and the scripted expert bound on Sawyer. Everything lives in a temporary results root."""
import json

import numpy as np
import pytest

from benchmark.config import load_profile
from benchmark.engine import evaluate
from benchmark.policy import PolicySpec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("robosuite-results")


@pytest.fixture(scope="module")
def zoo(results):
    import torch

    from benchmark.zoo.collect import build_zoo

    torch.set_num_threads(1)
    profile = load_profile("smoke").for_domain("robosuite")
    return build_zoo(profile.name, profile.zoo, results, workers=0)


def run_cli(*args) -> int:
    from benchmark.cli import main

    return main(list(args))


def test_zoo_has_panda_checkpoints_and_sawyer_conditions(zoo):
    assert zoo.spec == PolicySpec(23, 7, 128) and zoo.spec.n_params == 21_390
    assert zoo.manifest["settings"]["domain"] == "robosuite"
    assert 1 <= len(zoo.checkpoints) <= 3 and set(zoo.checkpoints.tasks) == {"Lift"}
    assert len(zoo.conditions) == 3 and set(zoo.conditions.tasks) == {"Lift"}
    assert {r["robot"] for r in zoo.checkpoints.records} == {"Panda"}
    assert {r["robot"] for r in zoo.conditions.records} == {"Sawyer"}
    assert zoo.checkpoints.states.shape[-1] == 23 and zoo.conditions.actions.shape[-1] == 7
    assert zoo.checkpoints.lengths.max() <= 150 and zoo.conditions.lengths.max() <= 150


def test_a_checkpoint_succeeds_in_the_engine_where_the_zoo_says(zoo):
    record = zoo.checkpoints.records[0]
    result = evaluate("Lift", (record["configuration"],), 1, params=zoo.checkpoints.params[:1], spec=zoo.spec,
                      robot="Panda")
    # numpy (engine) and torch (distillation) forwards differ in the last bits
    assert result.success[0] and abs(result.first_success_step[0] - record["first_success_step"]) <= 5


@pytest.mark.timeout(1800)  # ~3 CPU-min (10 Sawyer and 10 Panda env builds, 5 cells); over 15 min under load
def test_robosuite_suite_runs_end_to_end_on_sawyer(zoo, results):
    common = ("--profile", "smoke", "--workers", "0", "--results", str(results))
    assert run_cli("run", "--suite", "robosuite", "--methods", "nearest-checkpoint", "make-an-agent", *common) == 0
    run_dir = results / "runs" / "robosuite-smoke"
    cells = [json.loads(p.read_text()) for p in sorted((run_dir / "cells").glob("*.json"))]
    assert len(cells) == 2 * 2                      # methods x settings (clean, noisy); Lift, 3 conditions
    for cell in cells:
        assert cell["status"] == "ok", cell["error"]
        config = cell["config"]
        assert config["robot"] == "Sawyer" and config["task"] == "Lift" and config["eval"]["max_steps"] == 150
        assert "-Lift-Sawyer-n3-" in cell["cell_id"]
        assert len(cell["episodes"]["policy_id"]) == 3 * 5 and max(cell["episodes"]["length"]) <= 150
    assert (run_dir / "tables.md").is_file() and (run_dir / "summary.csv").is_file()
    assert run_cli("report", "--results", str(run_dir), "--reps", "50") == 0
    assert (run_dir / "report" / "report.md").is_file()

    # the control row: the same model and conditions on Panda, in a run of its own
    assert run_cli("run", "--suite", "robosuite-panda", "--methods", "nearest-checkpoint", *common) == 0
    (panda,) = [json.loads(p.read_text()) for p in (results / "runs" / "robosuite-panda-smoke" / "cells").glob("*.json")]
    assert panda["status"] == "ok" and panda["config"]["robot"] == "Panda"
    sawyer = next(c for c in cells if c["config"]["method"] == "nearest-checkpoint" and c["config"]["setting"] == "clean")
    assert panda["config"]["zoo_id"] == sawyer["config"]["zoo_id"]
    assert panda["policies"]["nearest_checkpoint"] == sawyer["policies"]["nearest_checkpoint"]


@pytest.mark.timeout(1800)  # reuses the end-to-end test's model and Sawyer envs when run after it
def test_diagnose_rolls_every_stage_out_on_the_named_robot(zoo, results):
    import pandas as pd

    from benchmark.diagnose import STAGES

    assert run_cli("diagnose", "--domain", "robosuite", "--robot", "Sawyer", "--policies", "1", "--profile", "smoke",
                   "--workers", "0", "--results", str(results)) == 0
    run_dir = results / "runs" / "diagnose-make-an-agent-Sawyer-smoke"
    assert set(pd.read_csv(run_dir / "diagnosis.csv")["stage"]) == set(STAGES)
    units = [json.loads(p.read_text()) for p in (run_dir / "units").glob("*.json")]
    assert len(units) == len(STAGES) and all(u["status"] == "ok" for u in units)
    assert all(u["unit"]["robot"] == "Sawyer" and u["unit"]["max_steps"] == 150 for u in units)
    assert json.loads((run_dir / "run.json").read_text())["robot"] == "Sawyer"


@pytest.mark.timeout(1800)
def test_scripted_expert_bound_succeeds_on_sawyer(zoo, results):
    assert run_cli("run", "--suite", "robosuite-bounds", "--methods", "expert", "--profile", "smoke",
                   "--workers", "0", "--results", str(results)) == 0
    (cell,) = [json.loads(p.read_text()) for p in (results / "runs" / "robosuite-bounds-smoke" / "cells").glob("*.json")]
    assert cell["config"]["robot"] == "Sawyer"
    assert np.mean(cell["episodes"]["success"]) >= 0.8    # 10/10 measured on Sawyer (reference)
