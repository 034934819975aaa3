"""Shared fixtures. `tiny_zoo` is a real zoo (the smoke profile: expert distillation on
reach and button-press, 20 checkpoints each, plus reach-wall conditions), built once and
cached by its content hash under results/.test-cache (about 15-30 s from empty).

Two tiers: a test that needs MetaWorld, Ray or training is `slow` (marked by hand, or here
when it uses the real zoo or sits in a module of SLOW_MODULES); `tox -e fast` runs the rest
(`pytest -m "not slow"`) in seconds."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# Cell ids hash the code version; pin it so commits during a test session change nothing.
os.environ["B2P_CODE_VERSION"] = "tests"

# B2P_TEST_RESULTS moves the cache (e.g. out of results/ while another job uses it)
TEST_RESULTS = Path(os.environ.get("B2P_TEST_RESULTS",
                                   Path(__file__).resolve().parent.parent / "results" / ".test-cache"))


@pytest.fixture(scope="session")
def test_results() -> Path:
    TEST_RESULTS.mkdir(parents=True, exist_ok=True)
    return TEST_RESULTS


@pytest.fixture(scope="session")
def tiny_zoo(test_results):
    import torch

    from benchmark.config import load_profile
    from benchmark.zoo.collect import build_zoo

    torch.set_num_threads(1)
    profile = load_profile("smoke")
    return build_zoo(profile.name, profile.zoo, test_results, workers=0)


SLOW_MODULES = {
    "test_00_determinism", "test_baselines", "test_baselines_bounds", "test_baselines_metaworld",
    "test_engine", "test_envs", "test_harness", "test_sac", "test_zoo",
}
"""Modules whose every test steps MetaWorld, starts Ray or trains a network."""


SLOW_TESTS = {
    "test_tables_and_summary", "test_report_skips_missing_suites_and_is_deterministic",
    "test_report_merges_runs_of_different_suites",  # full reports with bootstraps
    "test_stage_losses_fall", "test_generation_is_seeded_and_one_policy_per_condition",  # train
    "test_suite_features_match_a_real_trajectory_layout",  # steps MetaWorld
}
"""Tests in otherwise fast modules that train, step MetaWorld or take several seconds."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (item.module.__name__ in SLOW_MODULES or item.originalname in SLOW_TESTS
                or {"tiny_zoo", "test_results"} & set(item.fixturenames)):
            item.add_marker(pytest.mark.slow)
