"""`diagnose`: stage by stage on the smoke zoo with real MetaWorld, its seed handling, and the
identity check (a method whose autoencoder is the identity keeps stage (b) equal to stage (a))."""
import json

import numpy as np
import pandas as pd
import pytest

from benchmark.diagnose import STAGES, checkpoint_rows, diagnose, stage_policies
from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS
from benchmark.errors import UserError
from benchmark.plan import plan


class ScalingAutoencoder:
    """A trained model whose encode -> decode scales the parameters (1: the identity)."""

    def __init__(self, factor: float):
        self.factor = factor

    def reconstruct(self, params: np.ndarray) -> np.ndarray:
        return params * self.factor


def _success(task, kwargs) -> np.ndarray:
    return evaluate(task, EVAL_CONFIGURATIONS, len(kwargs["params"]), **kwargs).success_matrix()


def test_identity_autoencoder_makes_reconstruction_equal_checkpoints(tiny_zoo):
    rows = checkpoint_rows(tiny_zoo, "reach", 5)
    checkpoints, _ = stage_policies("checkpoint", None, tiny_zoo, rows, seed=0)
    reconstructed, extra = stage_policies("reconstruction", ScalingAutoencoder(1.0), tiny_zoo, rows, seed=0)
    np.testing.assert_array_equal(reconstructed["params"], checkpoints["params"])
    assert np.all(extra["relative_error"] == 0.0)
    success_a, success_b = _success("reach", checkpoints), _success("reach", reconstructed)
    assert success_a.any()  # a comparison of two all-failures would prove nothing
    np.testing.assert_array_equal(success_b, success_a)
    # the stage really goes through the method's autoencoder
    halved, extra = stage_policies("reconstruction", ScalingAutoencoder(0.5), tiny_zoo, rows, seed=0)
    np.testing.assert_allclose(halved["params"], 0.5 * checkpoints["params"])
    np.testing.assert_allclose(extra["relative_error"], 0.5, rtol=1e-5)


def test_diagnose_smoke_stages_seeds_resume_and_report(tiny_zoo, test_results):
    from benchmark.report.diagnosis import build_diagnosis_report

    args = dict(method_name="make-an-agent", profile_name="smoke", results=test_results, tasks=["reach"],
                policies=5, workers=0, tag="test")
    assert diagnose(seeds=2, **args) == 0
    run_dir = test_results / "runs" / "diagnose-make-an-agent-smoke-test"
    frame = pd.read_csv(run_dir / "diagnosis.csv")
    assert set(frame["stage"]) == set(STAGES)
    # the checkpoints do not depend on the training seed: one unit; every other stage per seed
    counts = frame.groupby("stage")["seed"].apply(sorted).to_dict()
    assert counts.pop("checkpoint") == [0]
    assert all(seeds == [0, 1] for seeds in counts.values())
    assert frame[["mean", "top5"]].apply(lambda c: c.between(0, 1)).all().all()
    models = json.loads((run_dir / "models.json").read_text())
    assert sorted(models) == ["0", "1"] and models["0"]["model"] != models["1"]["model"]
    assert models["0"]["diagnostics"]["history"]["autoencoder"]

    # a rerun finds every unit and rewrites none
    stamps = {p: p.stat().st_mtime_ns for p in (run_dir / "units").iterdir()}
    assert diagnose(seeds=2, **args) == 0
    assert {p: p.stat().st_mtime_ns for p in (run_dir / "units").iterdir()} == stamps

    written = build_diagnosis_report(run_dir)
    assert written[0].read_text().count("(d) generated, cell conditions") >= 1
    assert all(path.is_file() for path in written)

    with pytest.raises(UserError, match="seen tasks"):
        diagnose(seeds=1, **{**args, "tasks": ["reach-wall"]})


def test_condition_stage_reproduces_the_suite_cell(tiny_zoo, test_results):
    """Stage (d) prompts with the rows and proposal seed of the suite's cell of the same count."""
    from benchmark.config import load_profile
    from benchmark.diagnose import plan_units
    from benchmark.plan import cell_conditions, proposal_seed, resolve_method

    profile = load_profile("smoke")
    method, control = resolve_method("make-an-agent", profile), resolve_method("nearest-checkpoint", profile)
    dirs = {(m.name, s): f"/nowhere/{m.name}-{s}" for m in (method, control) for s in range(2)}
    units = plan_units(method, control, profile, tiny_zoo, ["reach"], 2, 5, dirs, "tests")
    cells = {(c.config["method"], c.config["seed"]): c for c in plan("smoke", "smoke", test_results, seeds=2).cells
             if c.config["task"] == "reach"}
    for unit in units:
        if unit.stage in ("condition", "nearest-checkpoint"):
            cell = cells[(unit.method.name, unit.seed)]
            assert unit.proposal_seed == proposal_seed(cell.config)
            assert list(unit.rows) == list(cell_conditions(tiny_zoo, cell.config)[1])


def test_a_named_robot_is_in_the_unit_ids_and_none_keeps_them(tiny_zoo):
    from benchmark.config import load_profile
    from benchmark.diagnose import plan_units
    from benchmark.plan import resolve_method

    profile = load_profile("smoke")
    method, control = resolve_method("make-an-agent", profile), resolve_method("nearest-checkpoint", profile)
    dirs = {(m.name, 0): f"/nowhere/{m.name}" for m in (method, control)}
    default = plan_units(method, control, profile, tiny_zoo, ["reach"], 1, 5, dirs, "tests")
    sawyer = plan_units(method, control, profile, tiny_zoo, ["reach"], 1, 5, dirs, "tests", robot="Sawyer")
    assert all(u.robot is None and u.unit_id.startswith(f"reach-{u.stage}-s0-") for u in default)
    assert all(u.robot == "Sawyer" and u.unit_id.startswith(f"reach-Sawyer-{u.stage}-s0-") for u in sawyer)
    assert not {u.unit_id.rsplit("-", 1)[1] for u in default} & {u.unit_id.rsplit("-", 1)[1] for u in sawyer}


def test_a_diagnosis_outside_the_main_domain_always_names_its_robot():
    from benchmark.diagnose import named_robot

    assert named_robot(None, "metaworld", "metaworld") is None       # MetaWorld ids and run names stay
    assert named_robot(None, "robosuite", "metaworld") == "Panda"    # never the MetaWorld run's directory
    assert named_robot("Sawyer", "robosuite", "metaworld") == "Sawyer"
    assert named_robot("Sawyer", "metaworld", "metaworld") == "Sawyer"
