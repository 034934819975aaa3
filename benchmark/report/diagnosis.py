"""The report of a `diagnose` run: a headline table (success per stage, mean over tasks), success
per stage per task (figure and tables), the model's diagnostics, and its training loss curves
(train and held-out).

    build_diagnosis_report(run_dir, out_dir) -> [report.md, report.html, diagnosis.csv, figure files]

A pure function of <run>/diagnosis.csv, models.json and run.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from benchmark.diagnose import DIAGNOSIS_FORMAT, STAGE_LABELS, STAGES, stage_table
from benchmark.errors import UserError
from benchmark.provenance import atomic_write_text
from benchmark.report.render import to_html, to_markdown
from benchmark.report.style import save_figure, style

STAGE_COLORS = dict(zip(STAGES, ("#4c72b0", "#8fa8d4", "#dd8452", "#c44e52", "#7f7f7f")))


def is_diagnosis(run_dir: Path) -> bool:
    """Whether run_dir holds a `diagnose` run (its run.json says so)."""
    try:
        return json.loads((Path(run_dir) / "run.json").read_text()).get("format") == DIAGNOSIS_FORMAT
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return False


def load_diagnosis(run_dir: Path) -> tuple[dict, pd.DataFrame, dict]:
    """(run.json, diagnosis.csv rows, models.json) of a diagnosis run."""
    try:
        run = json.loads((run_dir / "run.json").read_text())
        frame = pd.read_csv(run_dir / "diagnosis.csv")
        models = json.loads((run_dir / "models.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{run_dir}: damaged or incomplete diagnosis run ({type(exc).__name__}); rerun `diagnose`") from None
    return run, frame, models


def stage_figure(frame: pd.DataFrame) -> Figure:
    """Grouped bars: mean success (over seeds; whiskers min-max over seeds) per task and stage."""
    stages = [s for s in STAGES if s in set(frame["stage"])]
    per_seed = frame.groupby(["task", "stage", "seed"])["mean"].mean().reset_index()
    task_mean = per_seed.groupby(["stage", "seed"])["mean"].mean().reset_index().assign(task="mean over tasks")
    per_seed = pd.concat([per_seed, task_mean], ignore_index=True)
    tasks = sorted(set(frame["task"])) + ["mean over tasks"]
    width = 0.8 / len(stages)
    with style():
        fig = Figure(figsize=(max(8, 1.0 * len(tasks)), 3.8))
        ax = fig.subplots()
        for i, stage in enumerate(stages):
            rows = per_seed[per_seed["stage"] == stage].groupby("task")["mean"]
            mean, low, high = (rows.mean().reindex(tasks), rows.min().reindex(tasks), rows.max().reindex(tasks))
            x = np.arange(len(tasks)) + (i - (len(stages) - 1) / 2) * width
            ax.bar(x, mean, width, color=STAGE_COLORS[stage], label=STAGE_LABELS[stage])
            if per_seed["seed"].nunique() > 1:
                ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="none", ecolor="black", lw=0.8)
        ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30, ha="right")
        ax.set_ylabel("mean success over policies x configurations")
        ax.set_ylim(0, 1.05)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=3, frameon=False)
    return fig


def loss_figure(models: dict) -> Figure | None:
    """Per-epoch training (solid) and held-out (dashed) losses of every stage and seed."""
    curves = {seed: entry["diagnostics"].get("history", {}) for seed, entry in models.items()}
    stages = [s for s in ("autoencoder", "embedding", "diffusion") if any(h.get(s) for h in curves.values())]
    if not stages:
        return None
    with style():
        fig = Figure(figsize=(4.5 * len(stages), 3.2), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(stages)))
        for ax, stage in zip(axes, stages):
            for seed, history in sorted(curves.items()):
                line, = ax.plot(np.arange(1, len(history[stage]) + 1), history[stage], label=f"seed {seed} train")
                held = history.get(f"{stage}_heldout") or []
                if held:
                    ax.plot(np.arange(1, len(held) + 1), held, ls="--", color=line.get_color(),
                            label=f"seed {seed} held-out")
            ax.set_yscale("log")
            ax.set_title(stage)
            ax.set_xlabel("epoch")
        axes[0].set_ylabel("loss (MSE; InfoNCE for the embedding)")
        axes[-1].legend(fontsize=8)
    return fig


def headline_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per stage: mean and top-5 success, mean over tasks (and seeds), and the mean as a share of
    the zoo checkpoints' (stage a); with its caption.

    Args:
      frame: diagnosis.csv rows (task, stage, seed, mean, top5, ...).
    """
    mean = stage_table(frame, "mean").loc["mean over tasks"]
    top5 = stage_table(frame, "top5").loc["mean over tasks"]
    base = mean.get("checkpoint", np.nan)
    rows = [{"stage": STAGE_LABELS[s], "mean success": f"{mean[s]:.3f}", "top-5 success": f"{top5[s]:.3f}",
             "share of (a)": f"{mean[s] / base:.0%}" if base > 0 else "-"} for s in mean.index]
    n_seeds = frame["seed"].nunique()
    caption = (f"Mean over {frame['task'].nunique()} seen tasks and {n_seeds} training seed{'s' if n_seeds > 1 else ''} "
               f"of each stage's success: mean success over every policy x evaluation configuration, and "
               f"top-5 (the best 5 policies' mean); share of (a): the stage's mean success over the zoo "
               f"checkpoints'. Per task below.")
    return pd.DataFrame(rows), caption


def _fmt(table: pd.DataFrame) -> pd.DataFrame:
    shown = table.rename(columns=STAGE_LABELS).map(lambda v: f"{v:.2f}")
    return shown.reset_index().rename(columns={"index": "task"})


def diagnostics_table(models: dict) -> pd.DataFrame:
    keys = ("n_checkpoints", "n_heldout", "reconstruction_rel_error", "reconstruction_rel_error_heldout",
            "latent_clamped_share", "autoencoder_loss_final", "autoencoder_heldout_loss_final",
            "embedding_loss_final", "diffusion_loss_final", "diffusion_heldout_loss_final")
    rows = []
    for seed, entry in sorted(models.items()):
        found = entry["diagnostics"]
        rows.append(dict(seed=seed, train_cpu_s=entry.get("train_cpu_s"),
                         **{k: found[k] for k in keys if k in found}))
    return pd.DataFrame(rows).map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)


def run_lines(run: dict) -> list[str]:
    """The provenance of a diagnosis run: command, method, profile, zoo, sizes, time, code, machine."""
    return [f"command: `{run['command']}`", f"method: {run['method']}, profile: {run['profile']} "
            f"({run['profile_description']})", f"zoo: {run['zoo_id']}; {run['policies']} policies per task "
            f"and stage, each in {run['n_configurations']} evaluation configurations"
            + (f" on {run['robot']} ({run['domain']})" if "robot" in run else "") + "; "
            f"{run['seeds']} training seed(s)",
            f"wall time of the last invocation: {run['wall_s_last_invocation']} s; code "
            f"{run['provenance'].get('code_version')}; machine {run['provenance'].get('machine', '')}"]


def build_diagnosis_report(run_dir, out_dir=None) -> list[Path]:
    """Write report.md, report.html, a copy of diagnosis.csv and the figures (PNG and SVG).

    The same layout as a run's report: the headline table first (success per stage, mean over
    tasks), the per-stage figure, then loss curves and per-task tables, and last the run's
    provenance.
    Returns the written files: report.md, report.html, diagnosis.csv, then the figure files.
    """
    run_dir = Path(run_dir)
    run, frame, models = load_diagnosis(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    headline, caption = headline_table(frame)
    figures = [("diagnosis_stages", stage_figure(frame),
                "Mean success per task and stage (bars: mean over seeds; whiskers: min-max over seeds).")]
    losses = loss_figure(models)
    if losses is not None:
        figures.append(("diagnosis_losses", losses,
                        "Training (solid) and held-out (dashed) loss per epoch, log scale."))
    written = []
    for key, figure, _ in figures:
        for suffix in ("png", "svg"):
            save_figure(figure, out_dir / f"{key}.{suffix}")
            written.append(out_dir / f"{key}.{suffix}")
    shown = [("figure", (f"{key}.png", text)) for key, _, text in figures]
    blocks = [("h1", f"Diagnosis: {run['method']} ({run['profile']})"),
              ("h2", "Headline: success per stage"), ("table", headline), ("p", caption), shown[0],
              ("h2", "Details"), *shown[1:],
              ("h3", "Mean success (policies x configurations), mean over seeds"),
              ("table", _fmt(stage_table(frame, "mean"))),
              ("h3", "Top-5 success, mean over seeds"), ("table", _fmt(stage_table(frame, "top5"))),
              ("h2", "Model diagnostics"), ("table", diagnostics_table(models))]
    if "relative_error" in frame:
        errors = frame.dropna(subset=["relative_error"]).groupby("task")["relative_error"].mean()
        blocks.append(("p", "Relative L2 reconstruction error of the evaluated checkpoints, per task: "
                       + ", ".join(f"{t} {v:.3f}" for t, v in errors.items())))
    blocks += [("h2", "Run"), ("list", run_lines(run))]
    atomic_write_text(out_dir / "report.md", to_markdown(blocks))
    atomic_write_text(out_dir / "report.html", to_html(blocks))
    # the rows behind every table, so a report folder can be checked on its own
    atomic_write_text(out_dir / "diagnosis.csv", (run_dir / "diagnosis.csv").read_text())
    return [out_dir / "report.md", out_dir / "report.html", out_dir / "diagnosis.csv", *written]
