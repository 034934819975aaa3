"""Per-policy and per-cell metrics: pure functions of the stored episode table.

The episode table has one row per rollout (see docs/DESIGN.md) with at least the columns
cell_id, policy_id, config_index, success (bool) and first_success_step (int, -1 if none),
plus the cell keys suite, method, task, n_traj, setting, seed. A cell of K policies evaluated
in C configurations holds K x C rows.

Two top-k protocols are computed:

- *optimistic* (the paper's): the top-k policies are chosen by their success on the same
  rollouts whose success is then reported. It is a selection that costs rollouts.
- *honest*: the top-k are chosen on a subset of the configurations (`SELECT_ON`) by a function
  that receives only those rows, and their success is reported on the held-out ones.

Ranking is by success rate, descending; ties go to the smaller policy_id, so the same table
always gives the same choice.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from benchmark.envs import MAX_EPISODE_STEPS, domain_of

CELL_KEYS: tuple[str, ...] = ("suite", "method", "task", "n_traj", "setting", "seed", "cell_id")
EPISODE_COLUMNS: tuple[str, ...] = CELL_KEYS + ("policy_id", "config_index", "success", "first_success_step")
SELECT_ON: tuple[int, ...] = (0, 1, 2)
"""Configuration indices the honest variant selects on; the others (3, 4) are held out."""
METRIC_COLUMNS: tuple[str, ...] = (
    "best", "top5", "top10", "mean", "qualified_rate", "fsl_top5", "fsl_mean",
    "honest_best", "honest_top5", "honest_top10",
)
"""Every metric column of `cell_metrics`, in its order (fsl = first-success length in steps)."""

Selector = Callable[[pd.DataFrame, int], np.ndarray]


def check_episodes(episodes: pd.DataFrame) -> None:
    """Raise ValueError when the episode table lacks a column the metrics need."""
    missing = [c for c in EPISODE_COLUMNS if c not in episodes.columns]
    if missing:
        raise ValueError(f"episode table lacks columns {missing}")


def task_horizons(tasks) -> np.ndarray:
    """(num_episodes,) float horizon of each episode's task, from its domain."""
    tasks = np.asarray(tasks)
    horizons = {task: float(domain_of(task).horizon(task)) for task in np.unique(tasks)}
    return np.array([horizons[t] for t in tasks], dtype=float)


def first_success_length(first_success_step: np.ndarray, horizons=MAX_EPISODE_STEPS) -> np.ndarray:
    """Steps to the first success per episode, the episode's horizon when there is none.

    Args:
      first_success_step: (num_episodes,) int, the engine's first-success step, -1 if none.
      horizons: a scalar or (num_episodes,) horizon of each episode's task (`task_horizons`);
        the default is MetaWorld's 500, for callers that hold no task column.
    Returns:
      (num_episodes,) float.
    """
    steps = np.asarray(first_success_step, dtype=float)
    return np.where(steps < 0, np.asarray(horizons, dtype=float), steps)


def policy_table(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, policy): its success rate and first-success length over configurations.

    Args:
      episodes: the episode table, (K x C) rows per cell.
    Returns:
      DataFrame with CELL_KEYS, policy_id, success_rate (mean success over the policy's
      episodes, in [0, 1]), fsl (mean first-success length, the task's horizon for a failed
      episode: MetaWorld 500) and
      n_configurations; sorted by cell_id, policy_id.
    """
    check_episodes(episodes)
    frame = episodes.assign(
        success=episodes["success"].astype(float),
        fsl=first_success_length(episodes["first_success_step"].to_numpy(), task_horizons(episodes["task"])),
    )
    grouped = frame.groupby(list(CELL_KEYS) + ["policy_id"], sort=True, dropna=False)
    table = grouped.agg(
        success_rate=("success", "mean"), fsl=("fsl", "mean"),
        n_configurations=("config_index", "nunique"),
    ).reset_index()
    return table.sort_values(["cell_id", "policy_id"], kind="stable").reset_index(drop=True)


def rank_policies(policy_ids: np.ndarray, success_rate: np.ndarray) -> np.ndarray:
    """Policy ids ordered best first: success rate descending, ties by smaller policy_id.

    Args:
      policy_ids: (K,) int.
      success_rate: (K,) float.
    Returns:
      (K,) int, the policy ids in rank order.
    """
    order = np.lexsort((np.asarray(policy_ids), -np.asarray(success_rate, dtype=float)))
    return np.asarray(policy_ids)[order]


def top_k_mean(success_rate: np.ndarray, k: int) -> float:
    """Mean of the k largest values (all of them when fewer than k); NaN for none."""
    values = np.sort(np.asarray(success_rate, dtype=float))[::-1]
    return float(values[:k].mean()) if values.size else float("nan")


def select_top_k(selection_rows: pd.DataFrame, k: int) -> np.ndarray:
    """The k best policy ids of one cell judged only on `selection_rows`.

    Args:
      selection_rows: the cell's episodes in the selection configurations (columns policy_id,
        success).
      k: how many to choose.
    Returns:
      (min(k, K),) int policy ids, best first, ties by smaller policy_id.
    """
    rates = selection_rows.groupby("policy_id", sort=True)["success"].mean()
    return rank_policies(rates.index.to_numpy(), rates.to_numpy())[:k]


def honest_top_ks(
    cell_episodes: pd.DataFrame, ks: Iterable[int], select_on: Iterable[int] = SELECT_ON,
    selector: Selector = select_top_k,
) -> dict[int, float]:
    """Held-out success of the top-k policies chosen on the selection configurations, per k.

    The selector is handed a copy of the selection rows only, so the choice cannot depend
    on a held-out episode. It is called once with k = max(ks); smaller k take its prefix.

    Args:
      cell_episodes: the episodes of one cell, (K x C) rows.
      ks: how many policies to choose, e.g. (1, 5, 10).
      select_on: config_index values to select on; every other index is held out.
      selector: (selection_rows, k) -> chosen policy ids, best first.
    Returns:
      k -> mean success over the chosen policies' held-out episodes; NaN when the cell has
      no selection or no held-out episodes.
    """
    ks = tuple(ks)
    in_selection = cell_episodes["config_index"].isin(list(select_on))
    selection, held_out = cell_episodes[in_selection], cell_episodes[~in_selection]
    if selection.empty or held_out.empty:
        return {k: float("nan") for k in ks}
    chosen = np.asarray(selector(selection.copy(), max(ks)))
    held_rates = held_out.groupby("policy_id")["success"].mean().astype(float)
    return {k: float(held_rates.reindex(chosen[:k]).mean()) for k in ks}


def honest_top_k(
    cell_episodes: pd.DataFrame, k: int, select_on: Iterable[int] = SELECT_ON,
    selector: Selector = select_top_k,
) -> float:
    """`honest_top_ks` for a single k."""
    return honest_top_ks(cell_episodes, (k,), select_on, selector)[k]


def _cell_row(policies: pd.DataFrame, episodes: pd.DataFrame, select_on) -> dict:
    rates, ids, fsl = (policies[c].to_numpy() for c in ("success_rate", "policy_id", "fsl"))
    ranked = rank_policies(ids, rates)
    fsl_by_id = dict(zip(ids, fsl))
    episodes = episodes.assign(success=episodes["success"].astype(float))
    return {
        "best": float(rates.max()),
        "top5": top_k_mean(rates, 5),
        "top10": top_k_mean(rates, 10),
        "mean": float(rates.mean()),
        # qualified = succeeded in every configuration it was evaluated in
        "qualified_rate": float(np.mean(rates >= 1.0)),
        "fsl_top5": float(np.mean([fsl_by_id[i] for i in ranked[:5]])),
        "fsl_mean": float(fsl.mean()),
        **{f"honest_{name}": value for name, value in zip(
            ("best", "top5", "top10"), honest_top_ks(episodes, (1, 5, 10), select_on).values())},
        "n_policies": int(len(ids)),
        "n_configurations": int(episodes["config_index"].nunique()),
        "n_episodes": int(len(episodes)),
    }


def cell_metrics(episodes: pd.DataFrame, select_on: Iterable[int] = SELECT_ON) -> pd.DataFrame:
    """One row per cell with its keys and every metric of METRIC_COLUMNS.

    Args:
      episodes: the episode table of a run (any number of cells).
      select_on: configuration indices the honest variant selects on.
    Returns:
      DataFrame with CELL_KEYS, METRIC_COLUMNS, n_policies, n_configurations, n_episodes;
      one row per cell_id, sorted by suite, method, task, n_traj, setting, seed.
    """
    check_episodes(episodes)
    select_on = tuple(select_on)
    policies = policy_table(episodes)
    rows = []
    episodes_by_cell = dict(iter(episodes.groupby("cell_id", sort=True)))
    for cell_id, cell_policies in policies.groupby("cell_id", sort=True):
        keys = cell_policies.iloc[0][list(CELL_KEYS)].to_dict()
        rows.append({**keys, **_cell_row(cell_policies, episodes_by_cell[cell_id], select_on)})
    columns = list(CELL_KEYS) + list(METRIC_COLUMNS) + ["n_policies", "n_configurations", "n_episodes"]
    summary = pd.DataFrame(rows, columns=columns)
    return summary.sort_values(list(CELL_KEYS), kind="stable").reset_index(drop=True)
