"""The paper's figures, each a pure function of a stored run.

Every builder takes (data: RunData, reps, seed) and returns (matplotlib Figure, caption), None
when the run holds no data for it (FIGURES names the suite that would produce the data), or a
one-line reason (str) when it holds data the figure cannot be drawn from honestly (too few seeds
x tasks for an interval, ablation variants without a default to compare with). Success aggregates are rliable means over seeds x tasks with 95% stratified
bootstrap intervals. Figures are built on `matplotlib.figure.Figure` directly (no pyplot
state), so building many never leaks windows or global state.
"""
from __future__ import annotations

import json
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
    base_of,
    display_name,
    edge_color,
    is_variant,
    line_style,
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
Built = tuple[Figure, str] | str | None


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


def _method_legend(fig: Figure, methods: list[str], extra: list[Line2D] = (), marker: str | None = "o") -> None:
    handles = [Line2D([], [], color=method_color(m), marker=marker, linestyle=line_style(m), label=display_name(m))
               for m in methods] + list(extra)
    fig.legend(handles=handles, loc="outside lower center", ncols=_legend_columns(handles), frameon=False)


def _legend_columns(handles) -> int:
    """Up to 4 columns, 3 when the labels are long (variants' display names)."""
    longest = max((len(h.get_label()) for h in handles), default=0)
    return max(1, min(len(handles), 3 if longest > 30 else 4))


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
    ax.set_ylim(0, 1.05)


def _bar_legend(fig: Figure, looks: dict[str, dict], labels: dict[str, str], extra: list[Patch] = ()) -> None:
    """One legend entry per labelled series, drawn as its bars are."""
    handles = [Patch(facecolor=looks[series].get("facecolor", looks[series].get("color")),
                     edgecolor=looks[series].get("edgecolor"), hatch=looks[series].get("hatch"), label=label)
               for series, label in labels.items()] + list(extra)
    fig.legend(handles=handles, loc="outside lower center", ncols=_legend_columns(handles), frameon=False)


def method_look(method: str) -> dict:
    """Bar keywords of a method: its colour, outlined in its base's colour when it is a variant."""
    return dict(color=method_color(method), edgecolor=edge_color(method), linewidth=1.0 if is_variant(method) else 0.5)


SIDE_BY_SIDE_BARS = 14
"""Up to this many bars per panel, the two success panels sit side by side; more, one above the other."""


def success_panels(n_bars: int) -> tuple[int, int, tuple[float, float]]:
    """(rows, columns, figure size in inches) of the two success panels (best, top-5) with
    n_bars bars each: side by side (~0.2 in per bar, 9 in wide) for few bars, else one above the
    other, ~0.25 in per bar, 8-10 in wide: wider would shrink the text below legible at the
    report's page width."""
    if n_bars <= SIDE_BY_SIDE_BARS:
        return 1, 2, (max(9.0, 2.0 + 2 * 0.2 * n_bars), 4.4)
    return 2, 1, (min(10.0, max(8.0, 2.0 + 0.25 * n_bars)), 7.6)


def _success_figure(n_bars: int) -> tuple[Figure, np.ndarray]:
    """A figure with the two success panels (success_panels), y shared, titled by metric."""
    nrows, ncols, size = success_panels(n_bars)
    fig = Figure(figsize=size, layout="constrained")
    axes = np.ravel(fig.subplots(nrows, ncols, sharey=True, sharex=nrows > 1))
    for ax, label in zip(axes, SUCCESS_METRICS.values()):
        ax.set_title(label)
        ax.set_ylabel(SUCCESS_LABEL if ax is axes[0] or nrows > 1 else "")
    axes[-1].set_xlabel("condition trajectories (count)")
    if ncols > 1:
        axes[0].set_xlabel("condition trajectories (count)")
    return fig, axes


def _bars_caption(name: str, rows: pd.DataFrame, what: str) -> str:
    tasks = sorted(rows["task"].unique())
    variants = [m for m in rows["method"].unique() if is_variant(m)]
    shades = (" Variants sit right after their base method, in a lighter shade of its colour outlined in it."
              if variants else "")
    return (f"{name}: {what} on {len(tasks)} task{'s' if len(tasks) != 1 else ''} ({', '.join(tasks)}). Bars: "
            f"success of the best policy and the top-5 mean, mean over seeds x tasks, per method and number of "
            f"condition trajectories; whiskers: 95% interval.{shades}")


def success_vs_trajectories(data: RunData, tasks, reps: int, seed: int, name: str) -> Built:
    """Figures 5/6 as the paper draws them: per metric (best, top-5) a panel of bars, grouped by
    condition-trajectory count, one bar per method of the run (variants next to their base),
    whiskers the 95% interval."""
    rows = data.ok_summary
    rows = rows[rows["task"].isin(tasks) & (rows["setting"] == "clean")]
    if rows.empty:
        return None
    methods = method_order(rows["method"].unique())
    x_values = sorted(int(n) for n in rows["n_traj"].unique())
    looks = {m: method_look(m) for m in methods}
    with style():
        fig, axes = _success_figure(len(methods) * len(x_values))
        for ax, metric in zip(axes, SUCCESS_METRICS):
            agg = aggregate_by(rows, metric, "n_traj", methods, reps, seed)
            _bar_groups(ax, agg.assign(series=agg["method"]), looks, x_values)
        _bar_legend(fig, looks, {m: display_name(m) for m in methods})
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
    condition trajectories side by side, so their intervals can be compared; every method with
    noisy cells, variants included (a merged report may hold clean cells of others)."""
    rows = data.ok_summary
    noisy_methods = set(rows.loc[rows["setting"] == "noisy", "method"])
    if not noisy_methods:
        return None
    rows = rows[rows["setting"].isin(["clean", "noisy"]) & rows["method"].isin(noisy_methods)]
    methods = method_order(rows["method"].unique())
    x_values = sorted(int(n) for n in rows["n_traj"].unique())
    looks = {}
    for m in methods:
        looks[f"{m}|clean"] = method_look(m)
        looks[f"{m}|noisy"] = dict(facecolor="white", edgecolor=method_color(m), hatch=NOISY_HATCH, linewidth=1)
    with style():
        fig, axes = _success_figure(len(looks) * len(x_values))
        for ax, metric in zip(axes, SUCCESS_METRICS):
            agg = pd.concat([aggregate_by(rows[rows["setting"] == s], metric, "n_traj", methods, reps, seed)
                             .assign(setting=s) for s in ("clean", "noisy")], ignore_index=True)
            _bar_groups(ax, agg.assign(series=agg["method"] + "|" + agg["setting"]), looks, x_values)
        keys = [Patch(facecolor="0.45", label="clean trajectories"),
                Patch(facecolor="white", edgecolor="0.3", hatch=NOISY_HATCH, label="noisy trajectories")]
        _bar_legend(fig, looks, {f"{m}|clean": display_name(m) for m in methods}, keys)
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
    caption = (f"Figure 8: behaviour-embedding ablation of {display_name(rows['base'].iloc[0])}, {int(rows['n_traj'].iloc[0])} "
               f"condition trajectories, {rows['task'].nunique()} tasks.")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def ablation_rows(summary: pd.DataFrame, keep: Callable[[str], bool]) -> pd.DataFrame:
    """Cells of the ablation variants whose key passes `keep` and of their base methods, at the
    variants' main setting and largest trajectory count there (the base stands for the default)."""
    parsed = summary["method"].map(parse_variant)
    variants = summary[parsed.map(lambda p: p is not None and keep(p[1]))]
    if variants.empty:
        return variants
    setting = main_setting(variants)
    n_traj = variants.loc[variants["setting"] == setting, "n_traj"].max()
    names = set(variants["method"]) | set(variants["method"].map(base_of))
    rows = summary[(summary["setting"] == setting) & (summary["n_traj"] == n_traj)]
    return rows[rows["method"].isin(names)].reset_index(drop=True)


@dataclass(frozen=True)
class AblationPanel:
    """One panel of Figure 12: the values of one method's ablated setting beside its default."""

    base: str
    key: str
    methods: tuple[str, ...]
    """Bar groups, left to right, as run method names (the base method stands for the default)."""
    labels: tuple[str, ...]
    """Tick label of each group; the default's says so."""
    default: int | None
    """Index of the default in `methods`; None when the run has none to compare with."""


def value_text(value) -> str:
    """A config value as a variant name writes it: true/false, numbers and strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else str(value)


def same_value(a: str, b: str) -> bool:
    """Whether two values as written are the same ('0.10' and '0.1' are)."""
    try:
        return float(a) == float(b)
    except ValueError:
        return a.lower() == b.lower()


def preset_value(recorded: dict[str, dict], base: str, key: str) -> str | None:
    """The preset value of `key` of method `base`, as the run.json records of its variants show
    it (changed_from_preset {key: [preset, used]}), or None when no record says."""
    for name, info in sorted(recorded.items()):
        changed = info.get("changed_from_preset") or {}
        if base_of(name) == base and key in changed:
            return value_text(changed[key][0])
    return None


def _is_preset(variant: str, key: str, preset: str | None, recorded: dict[str, dict]) -> bool:
    """Whether a variant runs its method's preset value of `key` (recorded without a change of
    it, or its value equals the preset)."""
    info = recorded.get(variant) or {}
    if "changed_from_preset" in info and key not in (info["changed_from_preset"] or {}):
        return True
    return preset is not None and same_value(parse_variant(variant)[2], preset)


def ablation_panel(base: str, key: str, variants: list[str], base_in_run: bool,
                   recorded: dict[str, dict]) -> AblationPanel:
    """The panel of one (method, key): its variants in value order, the default marked: the
    variant of the preset value, else the base method's cells (at the preset's place in value
    order when run.json records the preset, else first); or no default.

    Args:
      variants: the run's variants of `base` and `key`.
      base_in_run: whether the base method has cells beside them.
      recorded: RunData.recorded_methods.
    """
    variants = sorted(variants, key=variant_sort_key)
    preset = preset_value(recorded, base, key)
    labels = [parse_variant(v)[2] for v in variants]
    hit = next((i for i, v in enumerate(variants) if _is_preset(v, key, preset, recorded)), None)
    if hit is not None:
        labels[hit] += "\n(default)"
        return AblationPanel(base, key, tuple(variants), tuple(labels), hit)
    if base_in_run:
        if preset is None:  # drawn first
            return AblationPanel(base, key, (base, *variants), ("default", *labels), 0)
        at = sum(variant_sort_key(v) < variant_sort_key(f"{base}[{key}={preset}]") for v in variants)
        return AblationPanel(base, key, (*variants[:at], base, *variants[at:]),
                             (*labels[:at], f"{preset}\n(default)", *labels[at:]), at)
    return AblationPanel(base, key, tuple(variants), tuple(labels), None)


def ablation_panels(rows: pd.DataFrame, recorded: dict[str, dict]) -> list[AblationPanel]:
    """One panel per (method, ablated key) of ablation_rows' rows, methods in report order."""
    names = set(rows["method"])
    pairs = {(base_of(m), parse_variant(m)[1]) for m in names if parse_variant(m)}
    rank = {b: i for i, b in enumerate(method_order({b for b, _ in pairs}))}
    return [ablation_panel(b, k, [m for m in names if parse_variant(m) and parse_variant(m)[:2] == (b, k)],
                           b in names, recorded)
            for b, k in sorted(pairs, key=lambda bk: (rank[bk[0]], bk[1]))]


DEFAULT_HATCH = ".."
METRIC_COLORS = tuple(sns.color_palette("colorblind")[:2])


def _ablation_bars(ax, rows: pd.DataFrame, panel: AblationPanel, reps: int, seed: int) -> None:
    """Grouped bars (best, top-5; whiskers 95% interval) per value of one panel, the default dotted."""
    methods = list(panel.methods)
    width = 0.38
    for j, metric in enumerate(SUCCESS_METRICS):
        scores, _ = stats.score_matrices(rows, metric, methods)
        agg = stats.aggregate_intervals(scores, reps=reps, seed=seed)
        agg = agg[agg["aggregate"] == "Mean"].set_index("method").reindex(methods)
        x = np.arange(len(methods)) + (j - 0.5) * width
        point = agg["point"].to_numpy(float)
        bars = ax.bar(x, point, width, color=METRIC_COLORS[j], edgecolor="white")
        if panel.default is not None:
            bars[panel.default].set_hatch(DEFAULT_HATCH)
        ax.errorbar(x, point, yerr=np.vstack([point - agg["lo"].to_numpy(float), agg["hi"].to_numpy(float) - point]),
                    fmt="none", ecolor="black", capsize=3)
    ax.set_xticks(range(len(methods)), list(panel.labels), fontsize=10)
    ax.set_xlim(-0.6, len(methods) - 0.4)
    ax.grid(False, axis="x")
    ax.set_ylim(0, 1.05)
    ax.set_title(display_name(panel.base))
    ax.set_xlabel(axis_label(panel.base, panel.key))


def _panel_names(panels: list[AblationPanel]) -> str:
    return ", ".join(f"{display_name(p.base)} {p.key}" for p in panels)


def fig12(data: RunData, reps: int, seed: int) -> Built:
    """Figure 12: one panel per method and ablated setting (variants 'method[key=value]'), each
    value's bars beside the default's; a setting with a single value is named, not drawn."""
    rows = ablation_rows(data.ok_summary, lambda key: key != "condition")
    if rows.empty:
        return None
    panels = ablation_panels(rows, data.recorded_methods)
    drawn = [p for p in panels if len(p.methods) > 1]
    lone = [p for p in panels if p not in drawn]
    if not drawn:
        return (f"left out: no ablated setting of this run ({_panel_names(lone)}) has a default or a second value "
                f"to compare with; run the base method beside its variants (or the variant of its preset value).")
    ncols = min(3, len(drawn))
    nrows = -(-len(drawn) // ncols)
    with style():
        fig = Figure(figsize=(3.0 * ncols + 0.6, 3.1 * nrows + 0.8), layout="constrained")
        axes = np.ravel(fig.subplots(nrows, ncols, sharey=True, squeeze=False))
        for ax, panel in zip(axes, drawn):
            _ablation_bars(ax, rows, panel, reps, seed)
        for ax in axes[len(drawn):]:
            fig.delaxes(ax)
        for ax in axes[::ncols]:
            ax.set_ylabel(SUCCESS_LABEL)
        handles = [Patch(facecolor=c, label=label) for c, label in zip(METRIC_COLORS, SUCCESS_METRICS.values())]
        handles.append(Patch(facecolor="0.6", edgecolor="white", hatch=DEFAULT_HATCH, label="default value"))
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False, fontsize=10)
    no_default = [p for p in drawn if p.default is None]
    caption = (f"Figure 12: ablations, one panel per method and setting ({_panel_names(drawn)}): bars of the best "
               f"policy and the top-5 mean (mean over seeds x tasks; whiskers: 95% interval) per value, the "
               f"default dotted; setting {rows['setting'].iloc[0]}, {int(rows['n_traj'].iloc[0])} condition "
               f"trajectories, {rows['task'].nunique()} tasks.")
    if no_default:
        caption += f" No default in this run for {_panel_names(no_default)}."
    if lone:
        caption += f" Not drawn, a single value with no default or other value to compare with: {_panel_names(lone)}."
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
            ax.set_title(f"{cell.task}\n{display_name(cell.method)}", fontsize=10)
            ax.set_xlabel("x (m)", labelpad=2)
            ax.set_ylabel("y (m)", labelpad=2)
            ax.set_zlabel("z (m)", labelpad=2)
            ax.tick_params(labelsize=7, pad=0)
        handles = [Line2D([], [], color="0.45", linestyle="--", label="condition trajectory"),
                   Line2D([], [], color="black", marker="o", linestyle="", markersize=3, label="start")]
        handles += [Line2D([], [], color=method_color(m), label=f"generated ({display_name(m)})") for m in method_order(cells["method"].unique())]
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
    measured = policies[[c for c in columns if c in policies]].notna().any(axis=1)
    methods = method_order(policies.loc[measured, "method"].unique())  # parameter-vector methods only
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
            ax.scatter(subset["condition_fsl"], subset["fsl"], s=14, alpha=0.6, color=method_color(method),
                       label=display_name(method))
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
        ax.set_yticks(range(len(methods)), [display_name(m) for m in methods])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("CPU time (s, log scale), mean over cells")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    caption = ("Figure 14: compute per method measured by the harness; training is the CPU time of "
               "the trained model a cell used (shared by the cells that use it), proposal and "
               "evaluation are per cell.")
    return fig, f"{caption} {caption_suffix(data, reps)}"



def rliable_scores(data: RunData, metric: str = "top5") -> tuple[dict[str, np.ndarray], list[str], str]:
    """Score matrices of every method of the run, variants included, at the main setting and
    largest trajectory count.

    Returns:
      (scores, tasks, what): method -> (num_seeds x num_tasks) array in report order; the
      tasks, the columns of those arrays; a description of what was scored.
    """
    rows = data.ok_summary
    if rows.empty:
        return {}, [], ""
    setting = main_setting(rows)
    rows = rows[rows["setting"] == setting]
    n_traj = int(rows["n_traj"].max())
    rows = rows[rows["n_traj"] == n_traj]
    scores, tasks = stats.score_matrices(rows, metric, method_order(rows["method"].unique()))
    return scores, tasks, f"{metric} success, setting {setting}, {n_traj} condition trajectories"


MIN_SCORES = 3
"""Seed x task scores per method a bootstrap interval needs: with fewer (1 task x 1 seed, 2
tasks x 1 seed) the resamples are the scores themselves and the interval says nothing."""


def too_few_scores(scores: dict[str, np.ndarray], tasks: list[str]) -> str | None:
    """Why intervals cannot be drawn from `scores` (the fewest seeds of any method x the tasks is
    below MIN_SCORES), or None when they can.

    Args:
      scores: method -> (num_seeds x num_tasks) scores.
      tasks: their columns.
    """
    seeds = min(len(matrix) for matrix in scores.values())
    if seeds * len(tasks) >= MIN_SCORES:
        return None
    return (f"left out: {seeds} seed{'s' if seeds != 1 else ''} x {len(tasks)} task{'s' if len(tasks) != 1 else ''} "
            f"per method is too few for a bootstrap interval (it needs at least {MIN_SCORES} seed-task scores; "
            f"run more seeds or tasks).")


def _interval_rows(ax, labels, points, lows, highs, colors, alphas=None) -> None:
    """One horizontal interval (thick, translucent) and its point (black tick) per row, first on top."""
    y = np.arange(len(labels))
    alphas = [0.45] * len(labels) if alphas is None else alphas
    for i in range(len(labels)):
        ax.plot([lows[i], highs[i]], [y[i], y[i]], color=colors[i], linewidth=6, alpha=alphas[i],
                solid_capstyle="butt")
        ax.plot(points[i], y[i], marker="|", color="black", markersize=12)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first row on top; idempotent under sharey


def _interval_alpha(method: str) -> float:
    """Opacity of a method's interval: more for variants, whose colour is already lighter."""
    return 0.85 if is_variant(method) else 0.45


def _rows_height(n_rows: int) -> float:
    """Figure height (inches) for n_rows interval rows."""
    return 1.3 + 0.4 * n_rows


def fig_aggregates(data: RunData, reps: int, seed: int) -> Built:
    """rliable: IQM and mean of the top-5 success with intervals, one row per method (variants
    below their base, dashed)."""
    scores, tasks, what = rliable_scores(data)
    if not scores:
        return None
    if reason := too_few_scores(scores, tasks):
        return reason
    table = stats.aggregate_intervals(scores, reps=reps, seed=seed)
    methods = list(scores)
    with style():
        fig = Figure(figsize=(9, _rows_height(len(methods))), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, name in zip(axes, stats.AGGREGATES):
            rows = table[table["aggregate"] == name].set_index("method").reindex(methods)
            _interval_rows(ax, [display_name(m) for m in methods], rows["point"].to_numpy(), rows["lo"].to_numpy(),
                           rows["hi"].to_numpy(), [method_color(m) for m in methods],
                           [_interval_alpha(m) for m in methods])
            ax.set_title(name)
            ax.set_xlabel("success rate")
            ax.set_xlim(-0.02, 1.02)
    caption = f"rliable aggregates of {what} over {len(tasks)} tasks, every method of the run."
    return fig, f"{caption} {caption_suffix(data, reps)}"


def _pair_label(x: str, y: str) -> str:
    """'X > Y' in display names; 'Method: key=a > key=b' for two variants of one method and key,
    'Method: key=a > default' for a variant against its base."""
    vx, vy = parse_variant(x), parse_variant(y)
    if vx and vy and vx[:2] == vy[:2]:
        return f"{display_name(vx[0])}: {vx[1]}={vx[2]} > {vy[1]}={vy[2]}"
    if vx and vx[0] == y:
        return f"{display_name(y)}: {vx[1]}={vx[2]} > default"
    return f"{display_name(x)} > {display_name(y)}"


def improvement_pairs(methods: list[str]) -> list[tuple[str, str]]:
    """(X, Y) pairs of the probability of improvement: the first method against every other one,
    then every variant against its base (when the base is not the first method)."""
    pairs = [(methods[0], other) for other in methods[1:]]
    return pairs + [(m, base_of(m)) for m in methods[1:]
                    if is_variant(m) and base_of(m) in methods and base_of(m) != methods[0]]


def fig_improvement(data: RunData, reps: int, seed: int, poi_reps: int | None = None) -> Built:
    """rliable: probability of improvement of the first method over each other one, and of
    each variant over its base."""
    scores, tasks, what = rliable_scores(data)
    if len(scores) < 2:
        return None
    if reason := too_few_scores(scores, tasks):
        return reason
    pairs = improvement_pairs(list(scores))
    poi_reps = poi_reps or reps
    table = stats.probability_of_improvement(scores, pairs, reps=poi_reps, seed=seed)
    labels = [_pair_label(x, y) for x, y in pairs]
    with style():
        fig = Figure(figsize=(min(11.0, 4.5 + 0.07 * max(map(len, labels))), _rows_height(len(pairs))),
                     layout="constrained")
        ax = fig.subplots()
        shown = [x if base_of(x) == y else y for x, y in pairs]  # a variant against its base: the variant's
        _interval_rows(ax, labels, table["point"].to_numpy(), table["lo"].to_numpy(),
                       table["hi"].to_numpy(), [method_color(m) for m in shown], [_interval_alpha(m) for m in shown])
        ax.axvline(0.5, color="0.5", linestyle=":")
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("probability of improvement P(X > Y)")
    caption = (f"rliable probability of improvement on {what}, {len(tasks)} tasks "
               f"({poi_reps} bootstrap reps): the first method against every other one, and each "
               f"variant against its base method.")
    return fig, f"{caption} {caption_suffix(data, reps)}"


def fig_profiles(data: RunData, reps: int, seed: int) -> Built:
    """rliable: performance profiles (fraction of runs x tasks above each threshold), one line
    per method, variants dashed in a lighter shade of their base's colour."""
    scores, tasks, what = rliable_scores(data)
    if not scores:
        return None
    if reason := too_few_scores(scores, tasks):
        return reason
    taus, profiles, cis = stats.performance_profiles(scores, reps=reps, seed=seed)
    with style():
        fig = Figure(figsize=(7, 4.6 + 0.2 * -(-len(scores) // 3)), layout="constrained")
        ax = fig.subplots()
        for method in scores:
            ax.plot(taus, profiles[method], color=method_color(method), linestyle=line_style(method),
                    label=display_name(method))
            ax.fill_between(taus, cis[method][0], cis[method][1], color=method_color(method), alpha=0.12, linewidth=0)
        ax.set_xlabel("success-rate threshold τ")
        ax.set_ylabel("fraction of runs x tasks with score > τ")
        ax.set_ylim(-0.02, 1.02)
        _method_legend(fig, list(scores), marker=None)
    caption = f"rliable performance profiles of {what}, {len(tasks)} tasks, every method of the run."
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
