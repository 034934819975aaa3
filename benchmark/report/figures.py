"""The paper's figures, each a pure function of a stored run.

Every builder takes (data: RunData, reps, seed) and returns (matplotlib Figure, caption), or
None when the run holds no data for it; FIGURES lists them with the suite that would produce
the data. Success aggregates are rliable means over seeds x tasks with 95% stratified
bootstrap intervals. Figures are built on `matplotlib.figure.Figure` directly (no pyplot
state), so building many never leaks windows or global state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from benchmark import metrics, stats
from benchmark.envs import SEEN_TASKS, UNSEEN_TASKS, domain_of, get_domain
from benchmark.report.data import RunData, load_trajectories
from benchmark.report.style import (
    axis_label,
    display_name,
    method_color,
    method_order,
    parse_variant,
    style,
    variant_sort_key,
)
from benchmark.report.tables import main_setting

SUCCESS_METRICS = {"best": "best policy", "top5": "top-5 mean"}
SUCCESS_LABEL = "success rate (mean over tasks)"
TIMINGS = {"train_cpu_s": "training", "propose_s": "proposal", "eval_cpu_s": "evaluation"}
Built = tuple[Figure, str] | None


def caption_suffix(data: RunData, reps: int) -> str:
    """What every figure was made from: profile, seeds, configurations, policies, reps."""
    summary = data.ok_summary
    k = sorted(int(v) for v in summary["n_policies"].dropna().unique()) if len(summary) else []
    note = f" Profile '{data.profile}' is reduced from the paper's protocol." if data.profile != "paper" else ""
    return (f"Profile {data.profile}; seeds {data.seeds}; {data.n_configurations} evaluation "
            f"configurations per policy; {'/'.join(map(str, k))} policies per cell; intervals: 95% "
            f"stratified bootstrap over seeds x tasks ({reps} reps; with one seed, over tasks)."
            f"{note}")


def base_methods(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows of methods that are not ablation variants ('name[key=value]')."""
    return summary[~summary["method"].str.contains("[", regex=False)]


def _prefer_base(policies: pd.DataFrame) -> pd.DataFrame:
    """The base methods' rows when there are any (ablation variants crowd these plots)."""
    base = base_methods(policies)
    return base if len(base) else policies


def aggregate_by(rows: pd.DataFrame, metric: str, by: str, methods: list[str], reps: int, seed: int) -> pd.DataFrame:
    """rliable Mean of `metric` over seeds x tasks per method and value of column `by`.

    Returns:
      DataFrame with columns method, `by`, point, lo, hi.
    """
    out = []
    for value, group in rows.groupby(by, sort=True):
        scores, _ = stats.score_matrices(group, metric, [m for m in methods if m in set(group["method"])])
        table = stats.aggregate_intervals(scores, reps=reps, seed=seed)
        table = table[table["aggregate"] == "Mean"].assign(**{by: value})
        out.append(table)
    columns = ["method", by, "point", "lo", "hi"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def _method_legend(fig: Figure, methods: list[str], extra: list[Line2D] = ()) -> None:
    handles = [Line2D([], [], color=method_color(m), marker="o", label=m) for m in methods] + list(extra)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False)


def _bar_groups(ax, agg: pd.DataFrame, looks: dict[str, dict], x_values: list[int]) -> None:
    """Grouped bars with 95%-interval whiskers: one group per trajectory count, one bar per series.

    Args:
      agg: rows with columns series, n_traj, point, lo, hi.
      looks: series -> keyword arguments of its bars (colour, hatch, ...), in bar order within
        a group; a series without rows leaves its slot empty.
      x_values: the trajectory counts, left to right (one is enough).
    """
    width = 0.8 / len(looks)
    slot = {x: i for i, x in enumerate(x_values)}
    for j, (series, look) in enumerate(looks.items()):
        rows = agg[agg["series"] == series]
        if rows.empty:
            continue
        x = rows["n_traj"].map(slot).to_numpy(float) + (j - (len(looks) - 1) / 2) * width
        point = rows["point"].to_numpy(float)
        ax.bar(x, point, width, **look)
        # whiskers drawn apart: bar(yerr=...) with a single bar trips a numpy deprecation in matplotlib
        ax.errorbar(x, point, yerr=np.vstack([point - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - point]),
                    fmt="none", ecolor="black", elinewidth=1, capsize=min(3.0, 40 * width))
    ax.set_xticks(range(len(x_values)), [str(v) for v in x_values])
    ax.set_xlim(-0.5, len(x_values) - 0.5)
    ax.grid(False, axis="x")  # vertical grid lines would run through the middle bars
    ax.set_xlabel("condition trajectories (count)")
    ax.set_ylim(0, 1.05)


def _bar_legend(fig: Figure, methods: list[str], extra: list[Patch] = ()) -> None:
    handles = [Patch(facecolor=method_color(m), label=display_name(m)) for m in methods] + list(extra)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), frameon=False)


def _bars_width(bars_per_panel: int) -> float:
    """Figure width (inches) of two bar panels side by side: ~0.2 in per bar, at least 9."""
    return max(9.0, 2.0 + 2 * 0.2 * bars_per_panel)


def _bars_caption(name: str, rows: pd.DataFrame, what: str) -> str:
    tasks = sorted(rows["task"].unique())
    return (f"{name}: {what} on {len(tasks)} tasks ({', '.join(tasks)}). Bars: success of the best policy "
            f"(left) and the top-5 mean (right), mean over seeds x tasks, per method and number of condition "
            f"trajectories; whiskers: 95% interval.")


def success_vs_trajectories(data: RunData, tasks, reps: int, seed: int, name: str) -> Built:
    """Figures 5/6 as the paper draws them: per metric (best, top-5) a panel of bars, grouped by
    condition-trajectory count, one bar per method, whiskers the 95% interval."""
    rows = base_methods(data.ok_summary)
    rows = rows[rows["task"].isin(tasks) & (rows["setting"] == "clean")]
    if rows.empty:
        return None
    methods = method_order(rows["method"].unique())
    x_values = sorted(int(n) for n in rows["n_traj"].unique())
    looks = {m: dict(color=method_color(m), edgecolor="white", linewidth=0.5) for m in methods}
    with style():
        fig = Figure(figsize=(_bars_width(len(methods) * len(x_values)), 4.2), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, (metric, label) in zip(axes, SUCCESS_METRICS.items()):
            agg = aggregate_by(rows, metric, "n_traj", methods, reps, seed)
            _bar_groups(ax, agg.assign(series=agg["method"]), looks, x_values)
            ax.set_title(label)
        axes[0].set_ylabel(SUCCESS_LABEL)
        _bar_legend(fig, methods)
    caption = _bars_caption(name, rows, "success per number of condition trajectories, clean setting,")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig5(data: RunData, reps: int, seed: int) -> Built:
    return success_vs_trajectories(data, SEEN_TASKS, reps, seed, "Figure 5 (seen tasks)")


def fig6(data: RunData, reps: int, seed: int) -> Built:
    return success_vs_trajectories(data, UNSEEN_TASKS, reps, seed, "Figure 6 (unseen tasks)")


def fig_robosuite(data: RunData, reps: int, seed: int) -> Built:
    """The Robosuite panel of Figures 5-6: methods trained on one robot's zoo, prompted and
    evaluated on the run's robot (the paper: Panda zoo, Sawyer evaluation)."""
    domain = get_domain("robosuite")
    return success_vs_trajectories(data, domain.tasks, reps, seed,
                                   f"Figures 5-6, Robosuite panel (evaluated on {data.robot or domain.default_robot})")


NOISY_HATCH = "////"


def fig7(data: RunData, reps: int, seed: int) -> Built:
    """Figure 7: the bars of Figures 5/6 with each method's clean (filled) and noisy (hatched)
    condition trajectories side by side, so their intervals can be compared; only methods with
    noisy cells (a merged report may hold clean cells of others)."""
    rows = base_methods(data.ok_summary)
    noisy_methods = set(rows.loc[rows["setting"] == "noisy", "method"])
    if not noisy_methods:
        return None
    rows = rows[rows["setting"].isin(["clean", "noisy"]) & rows["method"].isin(noisy_methods)]
    methods = method_order(rows["method"].unique())
    x_values = sorted(int(n) for n in rows["n_traj"].unique())
    looks = {}
    for m in methods:
        looks[f"{m}|clean"] = dict(color=method_color(m), edgecolor="white", linewidth=0.5)
        looks[f"{m}|noisy"] = dict(facecolor="white", edgecolor=method_color(m), hatch=NOISY_HATCH, linewidth=1)
    with style():
        fig = Figure(figsize=(_bars_width(len(looks) * len(x_values)), 4.4), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, (metric, label) in zip(axes, SUCCESS_METRICS.items()):
            agg = pd.concat([aggregate_by(rows[rows["setting"] == s], metric, "n_traj", methods, reps, seed)
                             .assign(setting=s) for s in ("clean", "noisy")], ignore_index=True)
            _bar_groups(ax, agg.assign(series=agg["method"] + "|" + agg["setting"]), looks, x_values)
            ax.set_title(label)
        axes[0].set_ylabel(SUCCESS_LABEL)
        keys = [Patch(facecolor="0.45", label="clean trajectories"),
                Patch(facecolor="white", edgecolor="0.3", hatch=NOISY_HATCH, label="noisy trajectories")]
        _bar_legend(fig, methods, keys)
    caption = _bars_caption("Figure 7", rows, "noisy condition trajectories (actions + Gaussian noise, hatched "
                            "bars) beside clean ones (filled)")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def _variant_rows(summary: pd.DataFrame, keep: Callable[[str], bool]) -> pd.DataFrame:
    """Rows of ablation variants whose key passes `keep`, at the largest trajectory count of
    the main setting, with columns base, key and value added."""
    parsed = summary["method"].map(parse_variant)
    rows = summary[parsed.map(lambda p: p is not None and keep(p[1]))]
    if rows.empty:
        return rows
    rows = rows[rows["setting"] == main_setting(rows)]
    rows = rows[rows["n_traj"] == rows["n_traj"].max()]
    parts = rows["method"].map(parse_variant)
    return rows.assign(base=parts.str[0], key=parts.str[1], value=parts.str[2])


def _variant_bars(ax, rows: pd.DataFrame, reps: int, seed: int) -> None:
    """Grouped bars (best, top-5) per variant value with interval whiskers."""
    variants = sorted(rows["method"].unique(), key=variant_sort_key)
    width = 0.38
    for j, (metric, label) in enumerate(SUCCESS_METRICS.items()):
        scores, _ = stats.score_matrices(rows, metric, variants)
        agg = stats.aggregate_intervals(scores, reps=reps, seed=seed)
        agg = agg[agg["aggregate"] == "Mean"].set_index("method").reindex(variants)
        x = np.arange(len(variants)) + (j - 0.5) * width
        point = agg["point"].to_numpy(float)
        ax.bar(x, point, width, label=label, color=sns.color_palette("colorblind")[j], edgecolor="white")
        # whiskers drawn apart: bar(yerr=...) with a single bar trips a numpy deprecation in matplotlib
        ax.errorbar(x, point, yerr=np.vstack([point - agg["lo"], agg["hi"] - point]), fmt="none",
                    ecolor="black", capsize=3)
    ax.set_xticks(range(len(variants)), [parse_variant(v)[2] for v in variants])
    ax.set_ylim(0, 1.05)


def fig8(data: RunData, reps: int, seed: int) -> Built:
    """Figure 8: behaviour-embedding ablation (variants named 'method[condition=...]')."""
    rows = _variant_rows(data.ok_summary, lambda key: key == "condition")
    if rows.empty:
        return None
    with style():
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        _variant_bars(ax, rows, reps, seed)
        ax.set_xlabel(axis_label(rows["base"].iloc[0], "condition"))
        ax.set_ylabel(SUCCESS_LABEL)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    caption = (f"Figure 8: behaviour-embedding ablation of {rows['base'].iloc[0]}, {int(rows['n_traj'].iloc[0])} "
               f"condition trajectories, {rows['task'].nunique()} tasks.")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig12(data: RunData, reps: int, seed: int) -> Built:
    """Figure 12: one panel per ablated hyperparameter (variants 'method[key=value]')."""
    rows = _variant_rows(data.ok_summary, lambda key: key != "condition")
    if rows.empty:
        return None
    keys = sorted(rows["key"].unique())
    with style():
        fig = Figure(figsize=(3.6 * len(keys) + 1.5, 3.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(keys), sharey=True))
        for ax, key in zip(axes, keys):
            _variant_bars(ax, rows[rows["key"] == key], reps, seed)
            ax.set_xlabel(axis_label(rows.loc[rows["key"] == key, "base"].iloc[0], key))
        axes[0].set_ylabel(SUCCESS_LABEL)
        axes[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    caption = (f"Figure 12: ablations of {', '.join(keys)}; {int(rows['n_traj'].iloc[0])} condition "
               f"trajectories, {rows['task'].nunique()} tasks.")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig9(data: RunData, reps: int, seed: int, max_cells: int = 4, max_paths: int = 5) -> Built:
    """Figure 9: end-effector paths (states[..., :3]) of condition vs generated trajectories."""
    summary = data.ok_summary
    cells = summary[summary["cell_id"].map(lambda c: data.trajectory_file(c) is not None)]
    if cells.empty:
        return None
    # one cell per task, unseen tasks and the first method in the fixed order first
    rank = {m: i for i, m in enumerate(method_order(cells["method"].unique()))}
    cells = cells.assign(unseen=~cells["task"].isin(UNSEEN_TASKS), rank=cells["method"].map(rank))
    cells = cells.sort_values(["unseen", "rank", "task", "n_traj", "seed"]).drop_duplicates("task").head(max_cells)
    with style():
        ncols = min(len(cells), 2)
        nrows = -(-len(cells) // ncols)
        fig = Figure(figsize=(4.6 * ncols, 4.4 * nrows), layout="constrained")
        for i, cell in enumerate(cells.itertuples()):
            arrays = load_trajectories(data.trajectory_file(cell.cell_id))
            ax = fig.add_subplot(nrows, ncols, i + 1, projection="3d")
            for states, length in zip(arrays["condition_states"][:max_paths], arrays["condition_lengths"]):
                path = states[: int(length), :3]
                ax.plot(*path.T, color="0.45", linestyle="--", linewidth=1.2)
            for states, length in zip(arrays["states"][:max_paths], arrays["lengths"]):
                path = states[: int(length), :3]
                ax.plot(*path.T, color=method_color(cell.method), linewidth=1.2, alpha=0.85)
                ax.scatter(*path[0], color="black", s=8)
            ax.set_title(f"{cell.task}\n{cell.method}", fontsize=10)
            ax.set_xlabel("x (m)", labelpad=2)
            ax.set_ylabel("y (m)", labelpad=2)
            ax.set_zlabel("z (m)", labelpad=2)
            ax.tick_params(labelsize=7, pad=0)
        handles = [Line2D([], [], color="0.45", linestyle="--", label="condition trajectory"),
                   Line2D([], [], color="black", marker="o", linestyle="", markersize=3, label="start")]
        handles += [Line2D([], [], color=method_color(m), label=f"generated ({m})") for m in method_order(cells["method"].unique())]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), frameon=False)
    caption = (f"Figure 9: end-effector paths of up to {max_paths} condition trajectories (dashed) and of "
               f"up to {max_paths} generated policies' rollouts (solid), one panel per task.")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig11(data: RunData, reps: int, seed: int) -> Built:
    """Figure 11: distributions of parameter cosine similarity per method."""
    policies = data.policies
    columns = {"cos_condition": "vs the condition trajectory's policy",
               "cos_nearest_checkpoint": "vs the nearest training checkpoint"}
    if policies is None or not any(c in policies and policies[c].notna().any() for c in columns):
        return None
    policies = _prefer_base(policies)
    methods = method_order(policies["method"].unique())
    with style():
        fig = Figure(figsize=(9, 4), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, (column, label) in zip(axes, columns.items()):
            values = policies[["method", column]].dropna() if column in policies else pd.DataFrame()
            present = [m for m in methods if m in set(values.get("method", []))]
            if present:
                sns.histplot(values, x=column, hue="method", hue_order=present, ax=ax, stat="density",
                             common_norm=False, element="step", fill=True, alpha=0.2, bins=20,
                             palette={m: method_color(m) for m in present}, legend=False)
            else:
                ax.text(0.5, 0.5, "not stored", ha="center", transform=ax.transAxes)
            ax.set_title(label)
            ax.set_xlabel("cosine similarity of parameters")
            ax.set_ylabel("density")
        _method_legend(fig, methods)
    caption = ("Figure 11: cosine similarity of each proposed policy's parameters to the condition "
               "policy's and to the nearest training checkpoint (methods whose policies are not of "
               "the shared family have none).")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig13(data: RunData, reps: int, seed: int) -> Built:
    """Figure 13: condition trajectory's first-success length vs the generated policy's."""
    policies = data.policies
    if policies is None or "condition_first_success_step" not in policies or data.episodes.empty:
        return None
    rows = policies[policies["condition_row"] >= 0].merge(
        metrics.policy_table(data.episodes)[["cell_id", "policy_id", "fsl"]], on=["cell_id", "policy_id"])
    if rows.empty:
        return None
    rows = _prefer_base(rows)
    horizons = metrics.task_horizons(rows["task"])
    rows = rows.assign(condition_fsl=metrics.first_success_length(rows["condition_first_success_step"].to_numpy(),
                                                                  horizons))
    longest = float(horizons.max())
    methods = method_order(rows["method"].unique())
    with style():
        fig = Figure(figsize=(5.5, 5), layout="constrained")
        ax = fig.subplots()
        for method in methods:
            subset = rows[rows["method"] == method]
            ax.scatter(subset["condition_fsl"], subset["fsl"], s=14, alpha=0.6, color=method_color(method), label=method)
        ax.plot([0, longest], [0, longest], color="0.5", linestyle=":", linewidth=1)
        ax.set_xlim(0, longest * 1.03)
        ax.set_ylim(0, longest * 1.03)
        ax.set_xlabel("condition trajectory: steps to first success")
        ax.set_ylabel("generated policy: steps to first success\n(mean over configurations)")
        _method_legend(fig, methods)
    caption = (f"Figure 13: steps to first success of each condition trajectory vs the policy generated "
               f"from it (no success counts as the task's horizon, {_horizon_text(rows['task'])}; dotted: equal).")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def _horizon_text(tasks: pd.Series) -> str:
    """'500 steps', or 'Lift 150, Door 300 steps' when the tasks' horizons differ."""
    horizons = {task: domain_of(task).horizon(task) for task in sorted(tasks.unique())}
    if len(set(horizons.values())) == 1:
        return f"{next(iter(horizons.values()))} steps"
    return ", ".join(f"{task} {h}" for task, h in horizons.items()) + " steps"


def fig14(data: RunData, reps: int, seed: int) -> Built:
    """Figure 14: CPU time per method (training, proposal, evaluation) from cell timings."""
    records = [
        {"method": cell["config"]["method"], **{k: cell["timings"].get(k) for k in TIMINGS}}
        for cell in data.cells.values() if cell.get("status") == "ok" and cell.get("timings")
    ]
    if not records:
        return None
    frame = pd.DataFrame(records).groupby("method")[list(TIMINGS)].mean()
    methods = method_order(frame.index)
    frame = frame.reindex(methods)
    with style():
        fig = Figure(figsize=(7, 1.2 + 0.5 * len(methods)), layout="constrained")
        ax = fig.subplots()
        height = 0.8 / len(TIMINGS)
        for j, (column, label) in enumerate(TIMINGS.items()):
            y = np.arange(len(methods)) + (j - (len(TIMINGS) - 1) / 2) * height
            ax.barh(y, frame[column].clip(lower=1e-3), height, label=label, color=sns.color_palette("colorblind")[j])
        ax.set_yticks(range(len(methods)), methods)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("CPU time (s, log scale), mean over cells")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    caption = ("Figure 14: compute per method measured by the harness; training is the CPU time of "
               "the trained model a cell used (shared by the cells that use it), proposal and "
               "evaluation are per cell.")
    return fig, f"{caption} {caption_suffix(data, reps)}"



def rliable_scores(data: RunData, metric: str = "top5") -> tuple[dict[str, np.ndarray], list[str], str]:
    """Score matrices of the base methods (of the variants in an ablation-only run) at the main
    setting and largest trajectory count."""
    rows = _prefer_base(data.ok_summary)
    if rows.empty:
        return {}, [], ""
    setting = main_setting(rows)
    rows = rows[rows["setting"] == setting]
    n_traj = int(rows["n_traj"].max())
    rows = rows[rows["n_traj"] == n_traj]
    scores, tasks = stats.score_matrices(rows, metric, method_order(rows["method"].unique()))
    return scores, tasks, f"{metric} success, setting {setting}, {n_traj} condition trajectories"


def _interval_rows(ax, labels, points, lows, highs, colors) -> None:
    y = np.arange(len(labels))
    for i in range(len(labels)):
        ax.plot([lows[i], highs[i]], [y[i], y[i]], color=colors[i], linewidth=6, alpha=0.45, solid_capstyle="butt")
        ax.plot(points[i], y[i], marker="|", color="black", markersize=12)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first row on top; idempotent under sharey


def fig_aggregates(data: RunData, reps: int, seed: int) -> Built:
    """rliable: IQM and mean of the top-5 success with intervals, one row per method."""
    scores, tasks, what = rliable_scores(data)
    if not scores:
        return None
    table = stats.aggregate_intervals(scores, reps=reps, seed=seed)
    methods = list(scores)
    with style():
        fig = Figure(figsize=(8, 1.2 + 0.45 * len(methods)), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, name in zip(axes, stats.AGGREGATES):
            rows = table[table["aggregate"] == name].set_index("method").reindex(methods)
            _interval_rows(ax, methods, rows["point"].to_numpy(), rows["lo"].to_numpy(), rows["hi"].to_numpy(),
                           [method_color(m) for m in methods])
            ax.set_title(name)
            ax.set_xlabel("success rate")
            ax.set_xlim(-0.02, 1.02)
    caption = f"rliable aggregates of {what} over {len(tasks)} tasks."
    return fig, f"{caption} {caption_suffix(data, reps)}"


def _pair_label(x: str, y: str) -> str:
    """'X > Y', shortened to 'key=a > key=b' for two variants of one method and key."""
    vx, vy = parse_variant(x), parse_variant(y)
    if vx and vy and vx[:2] == vy[:2]:
        return f"{vx[1]}={vx[2]} > {vy[1]}={vy[2]}"
    return f"{x} > {y}"


def fig_improvement(data: RunData, reps: int, seed: int, poi_reps: int | None = None) -> Built:
    """rliable: probability of improvement of the first method over each other one."""
    scores, tasks, what = rliable_scores(data)
    if len(scores) < 2:
        return None
    methods = list(scores)
    pairs = [(methods[0], other) for other in methods[1:]]
    poi_reps = poi_reps or reps
    table = stats.probability_of_improvement(scores, pairs, reps=poi_reps, seed=seed)
    labels = [_pair_label(x, y) for x, y in pairs]
    with style():
        fig = Figure(figsize=(4.5 + 0.07 * max(map(len, labels)), 1.2 + 0.45 * len(pairs)), layout="constrained")
        ax = fig.subplots()
        _interval_rows(ax, labels, table["point"].to_numpy(), table["lo"].to_numpy(),
                       table["hi"].to_numpy(), [method_color(y) for _, y in pairs])
        ax.axvline(0.5, color="0.5", linestyle=":")
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("probability of improvement P(X > Y)")
    caption = (f"rliable probability of improvement on {what}, {len(tasks)} tasks "
               f"({poi_reps} bootstrap reps).")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig_profiles(data: RunData, reps: int, seed: int) -> Built:
    """rliable: performance profiles (fraction of runs x tasks above each threshold)."""
    scores, tasks, what = rliable_scores(data)
    if not scores:
        return None
    taus, profiles, cis = stats.performance_profiles(scores, reps=reps, seed=seed)
    with style():
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        for method in scores:
            ax.plot(taus, profiles[method], color=method_color(method), label=method)
            ax.fill_between(taus, cis[method][0], cis[method][1], color=method_color(method), alpha=0.15, linewidth=0)
        ax.set_xlabel("success-rate threshold τ")
        ax.set_ylabel("fraction of runs x tasks with score > τ")
        ax.set_ylim(-0.02, 1.02)
        _method_legend(fig, list(scores))
    caption = f"rliable performance profiles of {what}, {len(tasks)} tasks."
    return fig, f"{caption} {caption_suffix(data, reps)}"


@dataclass(frozen=True)
class FigureSpec:
    key: str
    """File stem of the figure."""
    title: str
    build: Callable[[RunData, int, int], Built]
    produced_by: str
    """What would produce the data when this run lacks it."""


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("fig5_seen", "Figure 5: seen tasks", fig5, "the `seen` suite"),
    FigureSpec("fig6_unseen", "Figure 6: unseen tasks", fig6, "the `unseen` suite"),
    FigureSpec("fig5_robosuite", "Figures 5-6: Robosuite panel", fig_robosuite, "the `robosuite` suite"),
    FigureSpec("fig7_noisy", "Figure 7: noisy condition trajectories", fig7, "the `noisy` suite"),
    FigureSpec("fig8_embedding", "Figure 8: behaviour-embedding ablation", fig8,
               "the `ablation-embedding` suite"),
    FigureSpec("fig9_trajectories", "Figure 9: condition vs generated trajectories", fig9,
               "the `unseen` suite (a profile that keeps trajectories)"),
    FigureSpec("fig11_cosine", "Figure 11: parameter cosine similarity", fig11,
               "the `seen` or `unseen` suite"),
    FigureSpec("fig12_ablations", "Figure 12: ablations", fig12,
               "the `ablation-length`, `ablation-hidden`, `ablation-checkpoints` or `ablation-latent` suite"),
    FigureSpec("fig13_lengths", "Figure 13: condition vs generated first-success length", fig13,
               "the `seen` or `unseen` suite"),
    FigureSpec("fig14_compute", "Figure 14: compute per method", fig14, "any run with finished cells"),
    FigureSpec("rliable_aggregates", "rliable: aggregate IQM and mean", fig_aggregates, "any run with finished cells"),
    FigureSpec("rliable_improvement", "rliable: probability of improvement", fig_improvement,
               "any suite with two or more methods, e.g. `seen`"),
    FigureSpec("rliable_profiles", "rliable: performance profiles", fig_profiles, "any run with finished cells"),
)
