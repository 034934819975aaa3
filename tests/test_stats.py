"""rliable statistics: known values, reproducible intervals, score matrices from summaries."""
import numpy as np
import pandas as pd
import pytest

from benchmark import stats

REPS = 200


def test_iqm_of_rliable_example():
    scores = {"a": np.array([[1, 2], [2, 2], [1, 1], [2, 1]], dtype=float)}
    table = stats.aggregate_intervals(scores, reps=REPS).set_index("aggregate")
    assert table.loc["IQM", "point"] == pytest.approx(1.5)
    assert table.loc["Mean", "point"] == pytest.approx(1.5)
    assert table.loc["IQM", "lo"] <= 1.5 <= table.loc["IQM", "hi"]


def test_iqm_matches_rliable():
    from rliable import metrics as rly_metrics

    rng = np.random.default_rng(1)
    for shape in [(1, 1), (3, 1), (4, 2), (5, 7), (10, 10)]:
        scores = rng.random(shape)
        assert stats.iqm(scores) == pytest.approx(rly_metrics.aggregate_iqm(scores))


def test_same_seed_same_intervals():
    rng = np.random.default_rng(0)
    scores = {"a": rng.random((5, 3)), "b": rng.random((5, 3))}
    first = stats.aggregate_intervals(scores, reps=REPS, seed=3)
    np.random.seed(123)  # global state in between must not matter
    second = stats.aggregate_intervals(scores, reps=REPS, seed=3)
    other = stats.aggregate_intervals(scores, reps=REPS, seed=4)
    pd.testing.assert_frame_equal(first, second)
    assert not np.allclose(first["lo"], other["lo"])
    assert stats.mean_interval(scores["a"][:, 0], reps=REPS, seed=1) == stats.mean_interval(
        scores["a"][:, 0], reps=REPS, seed=1)


def test_probability_of_improvement_and_profiles():
    better = np.full((3, 2), 0.9)
    worse = np.array([[0.1, 0.2], [0.3, 0.1], [0.2, 0.2]])
    table = stats.probability_of_improvement({"x": better, "y": worse}, reps=REPS).set_index(["x", "y"])
    assert table.loc[("x", "y"), "point"] == pytest.approx(1.0)
    assert table.loc[("y", "x"), "point"] == pytest.approx(0.0)
    taus, profiles, cis = stats.performance_profiles({"x": better, "y": worse}, reps=REPS)
    assert profiles["x"].shape == taus.shape and cis["x"].shape == (2, taus.size)
    assert profiles["x"][taus == 0.5][0] == 1.0 and profiles["y"][taus == 0.5][0] == 0.0


def test_mean_interval_degenerate_cases():
    assert stats.mean_interval(np.array([0.4])) == (0.4, 0.4, 0.4)
    assert all(np.isnan(stats.mean_interval(np.array([]))))
    mean, lo, hi = stats.mean_interval(np.array([0.0, 1.0, 0.5, 1.0]), reps=REPS)
    assert lo < mean < hi


def test_score_matrices_drop_incomplete_runs():
    summary = pd.DataFrame([
        {"method": m, "task": t, "seed": s, "top5": v}
        for m, t, s, v in [
            ("a", "t1", 0, 0.1), ("a", "t2", 0, 0.2), ("a", "t1", 1, 0.3),  # seed 1 lacks t2
            ("b", "t1", 0, 0.5), ("b", "t2", 0, 0.6), ("b", "t3", 0, 0.7),  # t3 not shared
        ]
    ])
    scores, tasks = stats.score_matrices(summary, "top5")
    assert tasks == ["t1", "t2"]
    np.testing.assert_allclose(scores["a"], [[0.1, 0.2]])
    np.testing.assert_allclose(scores["b"], [[0.5, 0.6]])


def test_single_seed_intervals_resample_tasks_instead_of_collapsing():
    from benchmark import stats

    scores = {"a": np.array([[0.0, 0.2, 0.9, 1.0, 0.5, 0.4]]), "b": np.array([[0.1, 0.1, 0.1, 0.2, 0.2, 0.2]])}
    table = stats.aggregate_intervals(scores, reps=300, seed=0)
    assert (table["hi"] - table["lo"] > 0).all()
    assert set(table["bootstrap"]) == {"runs and tasks"}
    two_runs = {m: np.vstack([s, s]) for m, s in scores.items()}
    assert set(stats.aggregate_intervals(two_runs, reps=300, seed=0)["bootstrap"]) == {"runs within tasks"}
    poi = stats.probability_of_improvement(scores, [("a", "b")], reps=300, seed=0)
    assert (poi["hi"] - poi["lo"] > 0).all()
