"""Metrics on hand-computed episode tables: ties, all-fail cells, honest selection."""
import numpy as np
import pandas as pd
import pytest

from benchmark import metrics


def episodes_of(cell_id: str, successes: dict[int, list[int]], steps: dict[int, list[int]] | None = None,
                method: str = "m", task: str = "reach") -> pd.DataFrame:
    """Episode rows of one cell: successes[policy_id][config_index] in {0, 1}."""
    rows = []
    for pid, outcome in successes.items():
        for ci, s in enumerate(outcome):
            step = steps[pid][ci] if steps else (40 if s else -1)
            rows.append({
                "suite": "t", "method": method, "task": task, "n_traj": 5, "setting": "clean",
                "seed": 0, "cell_id": cell_id, "policy_id": pid, "configuration": 1_000_000 + ci,
                "config_index": ci, "success": bool(s), "first_success_step": step,
                "return": float(s), "length": 500,
            })
    return pd.DataFrame(rows)


def test_cell_with_ties_and_first_success_length():
    frame = episodes_of(
        "a", {0: [1, 1, 1, 1, 1], 1: [1, 1, 1, 1, 1], 2: [1, 0, 1, 0, 0]},
        steps={0: [10, 20, 30, 40, 50], 1: [100] * 5, 2: [5, -1, 5, -1, -1]},
    )
    row = metrics.cell_metrics(frame).iloc[0]
    assert row["best"] == 1.0
    assert row["top5"] == pytest.approx(0.8)
    assert row["top10"] == pytest.approx(0.8)
    assert row["mean"] == pytest.approx(0.8)
    assert row["qualified_rate"] == pytest.approx(2 / 3)
    assert row["fsl_mean"] == pytest.approx((30 + 100 + 302) / 3)
    assert row["fsl_top5"] == pytest.approx((30 + 100 + 302) / 3)
    assert (row["n_policies"], row["n_configurations"], row["n_episodes"]) == (3, 5, 15)


def test_top5_ties_broken_by_policy_id():
    # policy 0 succeeds everywhere; 1..5 tie at 0.6 -> top-5 is 0,1,2,3,4
    successes = {0: [1] * 5, **{p: [1, 1, 1, 0, 0] for p in range(1, 6)}}
    steps = {p: [10 * (p + 1) if s else -1 for s in successes[p]] for p in successes}
    row = metrics.cell_metrics(episodes_of("c", successes, steps)).iloc[0]
    fsl = {0: 10.0, **{p: (3 * 10 * (p + 1) + 2 * 500) / 5 for p in range(1, 6)}}
    assert row["top5"] == pytest.approx((1 + 4 * 0.6) / 5)
    assert row["fsl_top5"] == pytest.approx(np.mean([fsl[p] for p in range(5)]))
    assert row["fsl_mean"] == pytest.approx(np.mean(list(fsl.values())))
    assert list(metrics.rank_policies(np.array([3, 1, 2]), np.array([0.5, 0.5, 1.0]))) == [2, 1, 3]


def test_all_fail_cell():
    row = metrics.cell_metrics(episodes_of("f", {0: [0] * 5, 1: [0] * 5})).iloc[0]
    for column in ("best", "top5", "top10", "mean", "qualified_rate", "honest_best", "honest_top5"):
        assert row[column] == 0.0
    assert row["fsl_top5"] == row["fsl_mean"] == 500.0


def test_honest_selection_differs_from_optimistic():
    # on configs 0-2 policy 0 looks better; over all 5, policy 1 is better
    frame = episodes_of("h", {0: [1, 1, 1, 0, 0], 1: [0, 1, 1, 1, 1]})
    row = metrics.cell_metrics(frame).iloc[0]
    assert row["best"] == pytest.approx(0.8)
    assert row["honest_best"] == 0.0  # policy 0 chosen, fails both held-out configurations
    assert row["honest_top5"] == pytest.approx(0.5)


def test_honest_selector_never_sees_held_out_rows():
    frame = episodes_of("h", {0: [1, 1, 1, 0, 0], 1: [0, 1, 1, 1, 1], 2: [0, 0, 0, 1, 1]})
    seen = []

    def recording_selector(rows, k):
        seen.append(set(rows["config_index"]))
        # mutating what it was given must not leak into the held-out evaluation
        rows.loc[:, "success"] = True
        return metrics.select_top_k(rows, k)

    value = metrics.honest_top_k(frame, 1, select_on=(0, 1, 2), selector=recording_selector)
    assert seen == [{0, 1, 2}]
    assert value == 0.0  # all tie after the mutation -> policy 0, which fails configs 3, 4
    # changing held-out rows changes the report but never the choice
    flipped = frame.copy()
    held = flipped["config_index"] >= 3
    flipped.loc[held, "success"] = ~flipped.loc[held, "success"]
    chosen_a = metrics.select_top_k(frame[~held], 1)
    chosen_b = metrics.select_top_k(flipped[~held], 1)
    assert list(chosen_a) == list(chosen_b) == [0]
    assert metrics.honest_top_k(flipped, 1) == 1.0


def test_honest_without_held_out_is_nan_and_summary_is_per_cell():
    frame = pd.concat([
        episodes_of("x", {0: [1, 1, 1]}, method="b"),
        episodes_of("y", {0: [1, 0, 1, 1, 0], 1: [1, 1, 1, 1, 1]}, method="a"),
    ])
    summary = metrics.cell_metrics(frame)
    assert list(summary["cell_id"]) == ["y", "x"]  # sorted by method
    assert np.isnan(summary.set_index("cell_id").loc["x", "honest_best"])
    assert list(summary.columns[:7]) == list(metrics.CELL_KEYS)
    with pytest.raises(ValueError, match="lacks columns"):
        metrics.cell_metrics(frame.drop(columns=["config_index"]))
