"""The success-novelty leaderboard: per method, its top-5 success (the headline's IQM with its
interval, and the mean) beside how new its policies are, measured on the policy table
(policies.parquet) against the zoo they were generated from:

    l2_nearest_checkpoint          relative L2 to the nearest zoo checkpoint, raw
    aligned_l2_nearest_checkpoint  the same after aligning hidden units by permutation
    action_gap_nearest_checkpoint  mean |action difference| from that checkpoint on the task's probe states

and, where run.json carries the zoo's `novelty_reference` (the train-to-train nearest-neighbour
distances a fresh training run gives), the aligned L2 and the action gap as multiples of the
between-run reference. Methods whose policies are not parameter vectors (ActorProposal) have NaN
there and show '-'. Runs stored before the harness measured novelty lack the columns: the
section then says so in one line.

    leaderboard_blocks(data, reps, seed) -> (blocks, {file stem: Figure})

Every number is a pure function of the stored run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmark.report.data import RunData
from benchmark.report.figures import preset_value
from benchmark.report.headline import BOUNDS, HEADLINE_METRIC, row_label
from benchmark.report.style import display_name, method_color, method_order, parse_variant, style
from benchmark.report.tables import fmt, group_aggregates, main_setting

NOVELTY_COLUMNS = ("l2_nearest_checkpoint", "aligned_l2_nearest_checkpoint", "action_gap_nearest_checkpoint")
NOT_MEASURED = "novelty not measured in this run"
REFERENCE_KEYS = {"aligned": "between_run_aligned", "gap": "action_gap_between_runs"}
"""Ratio column -> the novelty_reference entry it divides by."""
FRONTIER = ("noisy-checkpoint", "noise_std")
"""(method, key) whose variants draw the noise frontier of the figure."""
FIGURE_KEY = "novelty_frontier"


def has_parameter_proposals(policies: pd.DataFrame | None) -> bool:
    """Whether any stored policy is a parameter vector (it has a nearest zoo checkpoint)."""
    if policies is None or policies.empty:
        return False
    if "nearest_checkpoint" in policies and (policies["nearest_checkpoint"] >= 0).any():
        return True
    return any(c in policies and policies[c].notna().any() for c in ("cos_nearest_checkpoint", *NOVELTY_COLUMNS))


def novelty_measured(policies: pd.DataFrame) -> bool:
    """Whether the policy table carries the novelty columns with at least one value."""
    return all(c in policies for c in NOVELTY_COLUMNS) and policies[list(NOVELTY_COLUMNS)].notna().any().any()


def policy_ratios(policies: pd.DataFrame, zoo_of_cell: dict[str, str | None],
                  reference: dict[str, dict]) -> pd.DataFrame:
    """Each policy's aligned L2 and action gap as multiples of its zoo's between-run reference.

    Args:
      policies: rows with cell_id and the NOVELTY_COLUMNS.
      zoo_of_cell: cell_id -> the zoo id its policies were measured against.
      reference: zoo id -> novelty_reference entry (between_run_aligned, action_gap_between_runs, ...).
    Returns:
      (len(policies),) rows with columns aligned_ratio and gap_ratio, NaN where the zoo has no
      (positive) reference.
    """
    zoo = policies["cell_id"].map(zoo_of_cell)

    def divisor(key: str) -> pd.Series:
        values = zoo.map(lambda z: (reference.get(z) or {}).get(key) if z is not None else None)
        values = pd.to_numeric(values, errors="coerce")
        return values.where(values > 0)

    return pd.DataFrame({
        "aligned_ratio": policies["aligned_l2_nearest_checkpoint"] / divisor(REFERENCE_KEYS["aligned"]),
        "gap_ratio": policies["action_gap_nearest_checkpoint"] / divisor(REFERENCE_KEYS["gap"]),
    }, index=policies.index)


def method_novelty(policies: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Medians over each method's policies of raw L2, aligned L2, its ratio, action gap, its ratio.

    Args:
      policies: rows with method and the NOVELTY_COLUMNS.
      ratios: policy_ratios of the same rows.
    Returns:
      Indexed by method, columns raw, aligned, aligned_ratio, gap, gap_ratio (NaN for a method
      without values: its policies are not parameter vectors).
    """
    frame = pd.DataFrame({
        "method": policies["method"], "raw": policies["l2_nearest_checkpoint"],
        "aligned": policies["aligned_l2_nearest_checkpoint"], "aligned_ratio": ratios["aligned_ratio"],
        "gap": policies["action_gap_nearest_checkpoint"], "gap_ratio": ratios["gap_ratio"]})
    return frame.groupby("method").median(numeric_only=True)


def _number(value: float, suffix: str = "") -> str:
    """'0.412', '1.9x', or '-' for NaN."""
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.3g}{suffix}" if suffix else f"{value:.3f}"


def _float(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def leaderboard_group(summary: pd.DataFrame) -> tuple[str, int]:
    """(setting, trajectory count) the leaderboard scores: the main setting, its largest count."""
    setting = main_setting(summary)
    return setting, int(summary.loc[summary["setting"] == setting, "n_traj"].max())


def success_points(group: pd.DataFrame, reps: int, seed: int) -> pd.DataFrame:
    """Top-5 IQM [interval] and mean per method of one (setting, count), by the very call behind
    the headline (tables.group_aggregates), so the numbers agree with it.

    Returns:
      Indexed by method (report order), columns iqm, iqm_lo, iqm_hi, mean.
    """
    aggregates, _, _ = group_aggregates(group, HEADLINE_METRIC, reps=reps, seed=seed)
    if aggregates.empty:
        return pd.DataFrame(columns=["iqm", "iqm_lo", "iqm_hi", "mean"], dtype=float)
    table = aggregates.pivot(index="method", columns="aggregate", values=["point", "lo", "hi"])
    frame = pd.DataFrame({"iqm": table[("point", "IQM")], "iqm_lo": table[("lo", "IQM")],
                          "iqm_hi": table[("hi", "IQM")], "mean": table[("point", "Mean")]})
    return frame.reindex([m for m in method_order(frame.index)])


def leaderboard_table(success: pd.DataFrame, novelty: pd.DataFrame, with_reference: bool) -> pd.DataFrame:
    """One row per method, by top-5 IQM (highest first; ties in report order), the floor and the
    ceiling last.

    Args:
      success: success_points' frame.
      novelty: method_novelty's frame (methods may be missing: '-').
      with_reference: whether to add the two ratio columns.
    """
    order = {m: i for i, m in enumerate(success.index)}
    ranked = sorted((m for m in success.index if m not in BOUNDS),
                    key=lambda m: (-np.nan_to_num(success.loc[m, "iqm"], nan=-1.0), order[m]))
    methods = ranked + [m for m in BOUNDS if m in success.index]
    novelty = novelty.reindex(methods)
    rows = []
    for m in methods:
        s, n = success.loc[m], novelty.loc[m]
        row = {"method": row_label(m), "top-5 IQM [95% CI]": fmt(s["iqm"], s["iqm_lo"], s["iqm_hi"]),
               "top-5 mean": fmt(s["mean"]), "raw L2 to nearest checkpoint": _number(n["raw"]),
               "aligned L2 to nearest checkpoint": _number(n["aligned"])}
        if with_reference:
            row["aligned L2 / between-run reference"] = _number(n["aligned_ratio"], "x")
        row["action gap"] = _number(n["gap"])
        if with_reference:
            row["action gap / between-run reference"] = _number(n["gap_ratio"], "x")
        rows.append(row)
    return pd.DataFrame(rows)


def frontier_methods(methods, recorded: dict[str, dict]) -> list[tuple[str, float]]:
    """(method, noise) of the noise frontier in noise order: the `noisy-checkpoint[noise_std=v]`
    variants, and the base method at its preset noise when run.json records it."""
    base, key = FRONTIER
    points = []
    for m in methods:
        variant = parse_variant(m)
        if variant and variant[:2] == FRONTIER:
            value = variant[2]
        elif m == base:
            value = preset_value(recorded, base, key)
        else:
            continue
        try:
            points.append((m, float(value)))
        except (TypeError, ValueError):
            continue
    return sorted(points, key=lambda p: (p[1], p[0]))


def reference_lines(reference: dict[str, dict], zoos: list[str]) -> list[tuple[float, str, str]]:
    """(aligned distance, label, line colour) of the train-to-train references of the zoos a
    leaderboard's cells used: within one training run and between runs."""
    lines = []
    for zoo in zoos:
        found = reference.get(zoo) or {}
        where = f" ({zoo})" if len(zoos) > 1 else ""
        for key, label, color in (("within_run_aligned", "train-to-train, same run", "0.55"),
                                  ("between_run_aligned", "train-to-train, between runs", "0.15")):
            value = found.get(key)
            if isinstance(value, (int, float)) and np.isfinite(value) and value > 0:
                lines.append((float(value), f"{label}{where}", color))
    return lines


def frontier_figure(points: pd.DataFrame, frontier: list[tuple[str, float]],
                    lines: list[tuple[float, str, str]]) -> Figure:
    """Success against aligned novelty, one point per method.

    Args:
      points: indexed by method (report order), columns aligned (median aligned L2) and mean
        (top-5 mean); methods without an aligned value are left out.
      frontier: frontier_methods' (method, noise) pairs, joined by a line in that order.
      lines: reference_lines, drawn as vertical dashed lines.
    """
    points = points.dropna(subset=["aligned", "mean"])
    xs = np.concatenate([points["aligned"].to_numpy(float), [v for v, _, _ in lines]])
    log = bool(len(xs) and xs.min() > 0 and xs.max() / xs.min() > 20)
    with style():
        fig = Figure(figsize=(7.5, 5.2), layout="constrained")
        ax = fig.subplots()
        chain = [m for m, _ in frontier if m in points.index]
        if len(chain) > 1:
            ax.plot(points.loc[chain, "aligned"], points.loc[chain, "mean"], color=method_color(FRONTIER[0]),
                    linewidth=1.2, zorder=1)
        for m, noise in frontier:
            if m in points.index:
                ax.annotate(f"σ={noise:g}", (points.loc[m, "aligned"], points.loc[m, "mean"]),
                            textcoords="offset points", xytext=(5, 4), fontsize=8, color="0.25")
        handles = []
        for m in points.index:
            ax.scatter(points.loc[m, "aligned"], points.loc[m, "mean"], s=46, color=method_color(m),
                       edgecolor="black", linewidth=0.5, zorder=3)
            handles.append(Line2D([], [], color=method_color(m), marker="o", linestyle="", label=display_name(m)))
        for value, label, color in lines:
            ax.axvline(value, color=color, linestyle="--", linewidth=1)
            handles.append(Line2D([], [], color=color, linestyle="--", label=label))
        if len(chain) > 1:
            handles.append(Line2D([], [], color=method_color(FRONTIER[0]), label="noise frontier (noise order)"))
        if log:
            ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("novelty: median aligned relative L2 to the nearest zoo checkpoint")
        ax.set_ylabel("top-5 success (mean over seeds x tasks)")
        longest = max((len(h.get_label()) for h in handles), default=0)
        fig.legend(handles=handles, loc="outside lower center", ncols=2 if longest > 30 else 3, frameon=False)
    return fig


def leaderboard_blocks(data: RunData, reps: int, seed: int) -> tuple[list, dict[str, Figure]]:
    """The 'Success and novelty' section and its figure (file stem -> Figure, for the caller to
    save): nothing for a run whose proposals are none of them parameter vectors, one line for a
    run whose policy table lacks the novelty columns."""
    summary = data.ok_summary
    policies = data.policies
    if summary.empty or not has_parameter_proposals(policies):
        return [], {}
    title = ("h2", "Success and novelty")
    if not novelty_measured(policies):
        return [title, ("p", f"{NOT_MEASURED.capitalize()} (its policy table has no "
                             f"{', '.join(f'`{c}`' for c in NOVELTY_COLUMNS)} columns).")], {}
    setting, n_traj = leaderboard_group(summary)
    group = summary[(summary["setting"] == setting) & (summary["n_traj"] == n_traj)]
    mine = policies[(policies["setting"] == setting) & (policies["n_traj"] == n_traj)]
    zoo_of_cell = {cid: data.zoo_of(cid) for cid in mine["cell_id"].unique()}
    reference = data.novelty_reference
    zoos = sorted({z for z in zoo_of_cell.values() if z is not None and z in reference})
    novelty = method_novelty(mine, policy_ratios(mine, zoo_of_cell, reference))
    success = success_points(group, reps, seed)
    frame = leaderboard_table(success, novelty, with_reference=bool(zoos))
    blocks = [title, ("table", frame), ("list", _definitions(setting, n_traj, reps, bool(zoos), reference, zoos))]
    points = success[["mean"]].join(novelty[["aligned"]], how="left")
    if points["aligned"].notna().any():
        fig = frontier_figure(points, frontier_methods(points.index, data.recorded_methods),
                              reference_lines(reference, zoos))
        caption = ("Success against novelty: top-5 mean per method against the median aligned relative L2 of "
                   "its policies to their nearest zoo checkpoint; the checkpoint-plus-noise variants joined "
                   "in noise order (the frontier a method must beat: more novel at the same success); dashed, "
                   "the train-to-train references" + (f" of zoo{'s' if len(zoos) > 1 else ''} {', '.join(zoos)}"
                                                       if zoos else " (not in this run's run.json)") + ".")
        blocks.append(("figure", (f"{FIGURE_KEY}.png", caption)))
        return blocks, {FIGURE_KEY: fig}
    return blocks, {}


def _definitions(setting: str, n_traj: int, reps: int, with_reference: bool, reference: dict,
                 zoos: list[str]) -> list[str]:
    """One line per column group of the leaderboard."""
    lines = [f"**top-5 IQM [95% CI]** and **top-5 mean**: as in the headline, setting {setting}, {n_traj} "
             f"condition trajectories ({reps} bootstrap reps); methods ranked by the IQM.",
             "**raw / aligned L2 to nearest checkpoint**: median over the method's policies of the relative L2 "
             "distance ||policy - checkpoint|| / ||checkpoint|| to the nearest zoo checkpoint, as stored and after "
             "aligning hidden units by permutation (a permuted copy of a checkpoint is the same network); '-': "
             "the method's policies are not parameter vectors.",
             "**action gap**: median of the mean absolute action difference from that nearest checkpoint on a "
             "fixed probe set of the task's states."]
    if with_reference:
        values = "; ".join(f"{z}: aligned {_number(_float(reference[z].get('between_run_aligned')))}, action gap "
                           f"{_number(_float(reference[z].get('action_gap_between_runs')))}" for z in zoos)
        lines.append(f"**aligned L2 / between-run reference**, **action gap / between-run reference**: median of "
                     f"each policy's distance over the median distance of a zoo checkpoint to its nearest "
                     f"checkpoint of another training run of its task ({values}); below 1x, closer to the zoo "
                     f"than a fresh training run is.")
    else:
        lines.append("No train-to-train reference in this run's run.json: distances are not put against one.")
    return lines
