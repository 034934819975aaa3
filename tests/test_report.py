"""Tables, figures and the report, built from small stored runs (see test_report_fixtures)."""
import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from matplotlib.container import ErrorbarContainer
from matplotlib.image import imread
from test_report_fixtures import write_fake_diagnosis, write_fake_run

from benchmark import stats
from benchmark.errors import UserError
from benchmark.report import build_report, figures, load_run, load_runs, write_summary, write_tables
from benchmark.report.headline import headline_table
from benchmark.report.style import display_name, method_order
from benchmark.report.tables import fmt

REPS = 200
BASE = ("make-an-agent", "mtbc")
VARIANTS = ("make-an-agent[condition=h]", "make-an-agent[condition=v]",
            "make-an-agent[hidden=64]", "make-an-agent[hidden=128]", "make-an-agent[latent=256]")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Seen and unseen task, clean and noisy, base methods and ablation variants."""
    root = tmp_path_factory.mktemp("full") / "run"
    return load_run(write_fake_run(root, methods=BASE + VARIANTS, settings=("clean", "noisy"), failed_cells=1))


@pytest.fixture(scope="module")
def robosuite_run(tmp_path_factory):
    """A Robosuite run on Sawyer: Lift (horizon 150) and Door (300)."""
    root = tmp_path_factory.mktemp("robosuite") / "run"
    return load_run(write_fake_run(root, tasks=("Lift", "Door"), methods=BASE, robot="Sawyer"))


@pytest.fixture()
def unseen_only(tmp_path):
    """An unseen-task run of the base methods without trajectories or a policy table."""
    root = write_fake_run(tmp_path / "run", tasks=("window-close",), methods=BASE, n_trajs=(5,),
                          trajectories=False)
    (root / "policies.parquet").unlink()
    return root


@pytest.fixture()
def figures_not_rendered(monkeypatch):
    """For tests of a report's text and file list: figures are built but their files left empty.
    Rendering takes most of a report's time and is test_each_figure_builds's job."""
    monkeypatch.setattr("benchmark.report.save_figure", lambda figure, path: path.touch())


def check_png(fig, path):
    fig.savefig(path)
    image = imread(path)
    assert path.stat().st_size > 2000 and image.std() > 0.01  # not blank


# figure key -> (number of axes, series per axis: lines, patches or scatter collections)
EXPECTED = {
    "fig5_seen": (2, "patches", [14, 14]),  # (best, top-5) panels; 7 methods (variants included) x 2 counts
    "fig6_unseen": (2, "patches", [14, 14]),
    "fig5_robosuite": (2, "patches", [4, 4]),  # 2 methods x 2 counts
    "fig7_noisy": (2, "patches", [28, 28]),  # 7 methods x (clean, noisy) x 2 counts
    "fig8_embedding": (1, "patches", [4]),  # 2 variants x (best, top-5)
    "fig9_trajectories": (2, "lines", [7, 7]),  # 2 conditions + 5 generated, one panel per task
    "fig11_cosine": (2, "collections", [2, 2]),  # one filled step histogram per base method
    "fig12_ablations": (2, "patches", [6, 4]),  # hidden: default + 2 values, latent: default + 1 value
    "fig13_lengths": (1, "collections", [2]),
    "fig14_compute": (1, "patches", [3 * 7]),  # 7 methods x 3 timings
    "rliable_aggregates": (2, "lines", [14, 14]),  # 7 methods x (interval, point)
    "rliable_improvement": (1, "lines", [2 * 6 + 1]),  # 6 pairs x (interval, point) + the 0.5 line
    "rliable_profiles": (1, "lines", [7]),
}


@pytest.mark.parametrize("spec", figures.FIGURES, ids=lambda s: s.key)
def test_each_figure_builds(full_run, robosuite_run, spec, tmp_path):
    built = spec.build(robosuite_run if spec.key == "fig5_robosuite" else full_run, REPS, 0)
    assert built is not None, spec.key
    fig, caption = built
    assert "Profile smoke" in caption and "seeds [0, 1]" in caption and "reduced" in caption
    check_png(fig, tmp_path / f"{spec.key}.png")
    if spec.key in EXPECTED:
        n_axes, kind, series = EXPECTED[spec.key]
        assert len(fig.axes) == n_axes
        assert [len(getattr(ax, kind)) for ax in fig.axes] == series


def test_robosuite_run_gets_its_panel_horizons_and_bounds_suite(robosuite_run, tmp_path, figures_not_rendered):
    """A Robosuite run: its panel of Figures 5-6 (the MetaWorld panels skipped), first-success
    lengths on each task's horizon, and the headline pointing to the Robosuite bounds suite."""
    files = {path.name for path in build_report(robosuite_run.run_dir, out_dir=tmp_path, reps=REPS, poi_reps=50)}
    assert "fig5_robosuite.png" in files and "fig5_seen.png" not in files and "fig6_unseen.png" not in files
    text = (tmp_path / "report.md").read_text()
    assert "Robosuite panel (evaluated on Sawyer)" in text
    assert "`python -m benchmark run --suite robosuite-bounds --profile smoke`" in text
    fig, caption = figures.fig13(robosuite_run, REPS, 0)
    assert "Door 300, Lift 150 steps" in caption
    assert fig.axes[0].get_xlim()[1] == pytest.approx(300 * 1.03)
    condition_fsl = fig.axes[0].collections[0].get_offsets()[:, 0]
    assert 500 not in condition_fsl and {150, 300} & set(condition_fsl)   # failures sit on the task's horizon


def test_tables_and_summary(full_run):
    summary = pd.read_csv(write_summary(full_run.run_dir))
    assert len(summary) == 7 * 2 * 2 * 2 * 2
    assert (summary["status"] == "failed").sum() == 1
    assert {"best", "top5", "top10", "qualified_rate", "honest_top5", "fsl_top5"} <= set(summary.columns)
    text = write_tables(full_run.run_dir, reps=REPS).read_text()
    assert "## Table 4" in text and "| reach | Make-An-Agent | 10 |" in text
    assert "honest: chosen on configurations 0-2" in text and "## Failed cells" in text
    assert text.count("**IQM** (rliable") == 2 * 2 * 3  # settings x trajectory counts x metrics


def test_report_skips_missing_suites_and_is_deterministic(unseen_only, tmp_path):
    files = build_report(unseen_only, out_dir=tmp_path / "a", reps=REPS, poi_reps=50)
    names = {path.name for path in files}
    assert {"report.md", "report.html", "fig6_unseen.png", "fig6_unseen.svg", "fig14_compute.png"} <= names
    assert "fig5_seen.png" not in names and "fig9_trajectories.png" not in names
    text = (tmp_path / "a" / "report.md").read_text()
    assert "Figure 5: seen tasks: skipped" in text and "the `seen` suite would produce it" in text
    assert "the `noisy` suite would produce it" in text
    assert "Figure 11: parameter cosine similarity: skipped" in text
    assert "**Reduced protocol**" in text and "fewer tasks; fewer policies per cell" in text
    html = (tmp_path / "a" / "report.html").read_text()
    for png in (n for n in names if n.endswith(".png")):
        assert f"]({png})" in text and f'src="{png}"' in html
    build_report(unseen_only, out_dir=tmp_path / "b", reps=REPS, poi_reps=50)
    for name in ("report.md", "report.html", "fig6_unseen.svg", "fig6_unseen.png"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name


def test_not_a_run_dir_and_damaged_files(tmp_path):
    with pytest.raises(UserError, match="is not a run directory"):
        build_report(tmp_path)
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "x.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged cell file"):
        load_run(tmp_path)
    (tmp_path / "cells" / "x.json").write_text(json.dumps({"cell_id": "x", "status": "failed", "config": {}}))
    pd.DataFrame({"cell_id": ["x"]}).to_parquet(tmp_path / "episodes.parquet")
    with pytest.raises(UserError, match="lacks columns"):
        load_run(tmp_path)


def test_run_with_only_failed_cells(tmp_path, figures_not_rendered):
    root = write_fake_run(tmp_path / "run", tasks=("reach",), methods=("mtbc",), n_trajs=(5,),
                          seeds=(0,), failed_cells=1, trajectories=False)
    data = load_run(root)
    assert data.ok_summary.empty and len(data.summary) == 1
    assert np.isnan(data.summary["best"].iloc[0])
    files = build_report(root, reps=REPS)
    assert "nothing to tabulate" in write_tables(root, reps=REPS).read_text()
    assert (root / "report" / "report.md") in files


def test_method_colours_order_and_labels_come_from_the_registry():
    from benchmark.api import METHODS
    from benchmark.report import style

    assert style.method_color("make-an-agent") == style.method_color("make-an-agent")
    assert style.method_color("my-plugin") == style.method_color("my-plugin")
    names = METHODS.names()
    assert len({style.method_color(m) for m in names}) == len(names)
    assert style.method_order(["zeta", "mtbc", "make-an-agent"]) == ["make-an-agent", "mtbc", "zeta"]
    assert style.method_order(["m[k=120]", "m[k=30]", "a", "m"]) == ["a", "m", "m[k=30]", "m[k=120]"]
    values = [f"make-an-agent[condition={v}]" for v in ("raw", "h+v", "v", "h")]
    assert [style.parse_variant(v)[2] for v in sorted(values, key=style.variant_sort_key)] == ["h", "v", "h+v", "raw"]
    assert sorted(["m[k=128]", "m[k=64]", "m[k=1024]"], key=style.variant_sort_key) == ["m[k=64]", "m[k=128]", "m[k=1024]"]
    assert style.parse_variant("make-an-agent[zoo_hidden=64]") == ("make-an-agent", "zoo_hidden", "64")
    assert style.parse_variant("mtbc") is None
    assert style.axis_label("make-an-agent", "latent_width") == METHODS.entry("make-an-agent").axis_labels["latent_width"]
    assert style.axis_label("my-plugin", "n_layers") == "n layers"
    assert style.display_name("mtbc") == "Multi-task BC"


def test_report_merges_runs_of_different_suites(tmp_path, figures_not_rendered):
    """Figure 12 from several ablation runs: one panel per run's hyperparameter."""
    length = write_fake_run(tmp_path / "length", methods=("make-an-agent[traj_steps=30]", "make-an-agent[traj_steps=60]"),
                            tasks=("window-close",), n_trajs=(5,), seeds=(0,), trajectories=False)
    latent = write_fake_run(tmp_path / "latent", methods=("make-an-agent[latent_width=64]",),
                            tasks=("window-close",), n_trajs=(5,), seeds=(0,), trajectories=False, rng_seed=1)
    with pytest.raises(UserError, match="needs --out"):
        build_report([length, latent])
    files = build_report([length, latent], out_dir=tmp_path / "merged", reps=REPS)
    assert tmp_path / "merged" / "fig12_ablations.png" in files
    data = load_runs([length, latent])
    assert len(data.ok_summary) == 3 and data.parts == (length, latent)
    fig, caption = figures.fig12(data, REPS, 0)
    # traj_steps: two values, no default in these runs; latent_width: a lone value, named but not drawn
    assert [ax.get_xlabel() for ax in fig.axes] == ["condition-trajectory length (steps)"]
    assert [ax.get_title() for ax in fig.axes] == ["Make-An-Agent"]
    assert "No default in this run for Make-An-Agent traj_steps" in caption
    assert "a single value with no default or other value to compare with: Make-An-Agent latent_width" in caption
    text = (tmp_path / "merged" / "report.md").read_text()
    assert f"merged run {length}" in text and f"merged run {latent}" in text
    assert text.startswith("# Report: fixture (smoke)")            # two runs of one suite name it once
    with pytest.raises(UserError, match="both hold the cell"):
        load_runs([length, length])
    other = write_fake_run(tmp_path / "other", methods=("mtbc",), profile="mini", trajectories=False)
    with pytest.raises(UserError, match="different profile"):
        load_runs([length, other])


def markdown_section(text: str, heading: str) -> str:
    """The lines of a Markdown document from `heading` up to the next heading of level 1-2."""
    lines = text.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(("# ", "## "))), len(lines))
    return "\n".join(lines[start:end])


def table_rows(section: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for each body row of the Markdown table in `section`."""
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[2:]}  # after header and rule


def expected_headline(summary: pd.DataFrame, n_traj: int) -> dict[str, tuple[str, str]]:
    """Headline cells of every method at one trajectory count, computed from summary.csv: top-5
    IQM [95% interval], and the mean (range of the per-seed means). The IQM point is scipy's 25%
    trimmed mean of the scores."""
    group = summary[(summary["status"] == "ok") & (summary["n_traj"] == n_traj)]
    scores, _ = stats.score_matrices(group, "top5", method_order(group["method"].unique()))
    intervals = stats.aggregate_intervals(scores, reps=REPS, seed=0).query("aggregate == 'IQM'").set_index("method")
    out = {}
    for method, matrix in scores.items():
        point = scipy.stats.trim_mean(matrix.ravel(), 0.25)
        lo, hi = intervals.loc[method, ["lo", "hi"]]
        # each seed's mean over tasks, of the seeds that have every task (a failed cell drops one)
        table = group[group["method"] == method].pivot_table(index="seed", columns="task", values="top5")
        per_seed = table.dropna().mean(axis=1)
        seeds = f" ({per_seed.min():.2f}-{per_seed.max():.2f})" if len(per_seed) > 1 else ""
        # a method with one complete seed has no interval
        out[method] = (fmt(point, lo, hi), f"{table.dropna().to_numpy().mean():.2f}{seeds}")
    return out


def test_headline_table_opens_the_report_and_agrees_with_summary_csv(tmp_path, figures_not_rendered):
    root = write_fake_run(tmp_path / "run", methods=BASE, failed_cells=1, trajectories=False)
    out = tmp_path / "report"
    build_report(root, out_dir=out, reps=REPS, poi_reps=20)
    text = (out / "report.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith(("# ", "## "))]
    assert headings[:2] == ["# Report: fixture (smoke)", "## Headline: top-5 success"]
    section = markdown_section(text, "## Headline: top-5 success")
    assert section.splitlines()[2].startswith("| method | 5 condition trajectories: IQM [95% CI] | "
                                              "5 condition trajectories: mean (seeds) | 10 condition")
    rows = table_rows(section)
    assert list(rows) == ["Make-An-Agent", "Multi-task BC", "random actions (floor)", "scripted expert (ceiling)"]
    summary = pd.read_csv(out / "summary.csv")
    assert summary.equals(pd.read_csv(write_summary(root)))
    for column, n_traj in enumerate((5, 10)):
        expected = expected_headline(summary, n_traj)
        assert tuple(rows["Make-An-Agent"][2 * column:2 * column + 2]) == expected["make-an-agent"]
        assert tuple(rows["Multi-task BC"][2 * column:2 * column + 2]) == expected["mtbc"]
        assert rows["random actions (floor)"][2 * column] == "not in this run"
    # one line defining each quantity beside the table
    for term in ("- **top-5**: ", "- **IQM [95% CI]**: the interquartile mean", "- **mean (seeds)**: the mean"):
        assert sum(line.startswith(term) for line in section.splitlines()) == 1, term
    assert "`python -m benchmark run --suite bounds --profile smoke`" in section
    # the per-suite table's IQM row is the same number
    suite = markdown_section(text, "## Per-suite tables")
    top5 = suite[suite.index("### top-5 mean (optimistic"):]
    iqm = next(line for line in top5.splitlines() if line.startswith("| **IQM**"))
    assert iqm.split(" | ")[1] == rows["Make-An-Agent"][0]


def test_headline_puts_floor_and_ceiling_beside_the_methods(tmp_path):
    """In a run that has the bounds, they are rows of the table with their numbers (one count,
    one seed: intervals from resampling tasks, no per-seed means)."""
    root = write_fake_run(tmp_path / "run", methods=("expert", "random", "mtbc"), n_trajs=(20,), seeds=(0,),
                          tasks=("reach", "window-close", "door-open"), trajectories=False)
    frame, caption = headline_table(load_run(root).ok_summary, "smoke", reps=REPS)
    labels = ["20 condition trajectories: IQM [95% CI]", "20 condition trajectories: mean (seeds)"]
    assert list(frame.columns) == ["method", *labels]
    rows = {m: (iqm, mean) for m, iqm, mean in zip(frame["method"], frame[labels[0]], frame[labels[1]])}
    assert list(rows) == ["Multi-task BC", "random actions (floor)", "scripted expert (ceiling)"]
    expected = expected_headline(pd.read_csv(write_summary(root)), 20)
    assert rows == {"Multi-task BC": expected["mtbc"], "random actions (floor)": expected["random"],
                    "scripted expert (ceiling)": expected["expert"]}
    assert "not in this run" not in caption and not any("(" in mean for _, mean in rows.values())


def test_report_html_is_styled_and_self_contained(tmp_path, figures_not_rendered):
    root = write_fake_run(tmp_path / "run", methods=BASE, settings=("clean", "noisy"), seeds=(0,), trajectories=False)
    build_report(root, out_dir=tmp_path, reps=REPS, poi_reps=20)
    page = (tmp_path / "report.html").read_text()
    style = page[page.index("<style>"):page.index("</style>")]
    for rule in ("max-width", "border-collapse", "tbody tr:nth-child(even)", "figure img", "system-ui"):
        assert rule in style, rule
    assert "http" not in page.replace("http-equiv", "") and "<link" not in page and "<script" not in page
    assert page.index("<h2>Headline: top-5 success</h2>") < page.index("<h2>Figures</h2>") < page.index("<h2>Run</h2>")
    assert "<strong>Reduced protocol</strong>" in page and "**" not in page
    assert "zoo smoke-fixture: built by code abc123 on zoo-machine, 2026-01-01" in page  # a run's numbers depend on it
    # the noisy setting makes one headline column per (setting, count)
    headline = page[page.index("<h2>Headline"):page.index("<h2>Figures</h2>")]
    assert [f"{n} condition trajectories, {s}" in headline for s in ("clean", "noisy") for n in (5, 10)] == [True] * 4


def bar_heights(ax) -> list[float]:
    return [patch.get_height() for patch in ax.patches]


def whisker_ends(ax) -> list[tuple[float, float]]:
    """(low, high) of every whisker, in bar order."""
    ends = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            ends += [(seg[:, 1].min(), seg[:, 1].max()) for seg in container.lines[2][0].get_segments()]
    return ends


def test_success_bars_are_the_interval_estimates_with_one_or_several_counts(full_run, unseen_only):
    """Figures 5-7 are bars per method of the run, ablation variants included right after their
    base, per trajectory count, whose heights and whiskers are the mean and 95% interval over
    seeds x tasks, also when the run has a single count."""
    fig, _ = figures.fig5(full_run, REPS, 0)
    rows = full_run.ok_summary
    rows = rows[(rows["task"] == "reach") & (rows["setting"] == "clean")]
    methods = method_order(BASE + VARIANTS)
    assert methods[0] == "make-an-agent" and methods[-1] == "mtbc"            # variants beside their base
    for ax, metric in zip(fig.axes, figures.SUCCESS_METRICS):
        agg = figures.aggregate_by(rows, metric, "n_traj", methods, REPS, 0)
        agg = agg.set_index(["method", "n_traj"]).loc[[(m, n) for m in methods for n in (5, 10)]]
        np.testing.assert_allclose(bar_heights(ax), agg["point"])
        np.testing.assert_allclose(whisker_ends(ax), agg[["lo", "hi"]].to_numpy())
        assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "10"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [display_name(m) for m in methods]
    assert "Make-An-Agent [hidden=64]" in legend

    single, _ = figures.fig6(load_run(unseen_only), REPS, 0)
    for ax in single.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["5"]
        assert len(ax.patches) == 2 and len(whisker_ends(ax)) == 2
        assert all(lo <= h <= hi for h, (lo, hi) in zip(bar_heights(ax), whisker_ends(ax)))

    noisy, _ = figures.fig7(full_run, REPS, 0)
    hatches = [patch.get_hatch() for patch in noisy.axes[0].patches]
    assert hatches.count(figures.NOISY_HATCH) == len(hatches) // 2


def test_figure_7_of_a_merged_report_draws_only_the_methods_with_noisy_cells(tmp_path):
    """A noisy-only run (`run --settings noisy`) merged with a clean run of more methods."""
    clean = write_fake_run(tmp_path / "clean", methods=("make-an-agent", "mtbc"), n_trajs=(5,))
    noisy = write_fake_run(tmp_path / "noisy", methods=("make-an-agent",), n_trajs=(5,), settings=("noisy",))
    fig, _ = figures.fig7(load_runs([clean, noisy]), REPS, 0)
    assert [t.get_text() for t in fig.legends[0].get_texts()][:1] == ["Make-An-Agent"]
    assert "Multi-task BC" not in [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(bar_heights(fig.axes[0])) == 2                              # clean and noisy, one count


def test_diagnosis_report_headline_first_with_the_stage_figure(tmp_path):
    from benchmark.diagnose import STAGE_LABELS, STAGES
    from benchmark.report.diagnosis import build_diagnosis_report

    run_dir = write_fake_diagnosis(tmp_path / "diagnose")
    written = build_diagnosis_report(run_dir, tmp_path / "report")
    assert {p.name for p in written} >= {"report.md", "report.html", "diagnosis.csv", "diagnosis_stages.png",
                                         "diagnosis_losses.png"}
    text = (tmp_path / "report" / "report.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith(("# ", "## "))]
    assert headings[:3] == ["# Diagnosis: make-an-agent (smoke)", "## Headline: success per stage", "## Details"]
    assert headings[-1] == "## Run"                                          # provenance last
    section = markdown_section(text, "## Headline: success per stage")
    assert "![diagnosis_stages.png](diagnosis_stages.png)" in section
    rows = table_rows(section)
    frame = pd.read_csv(tmp_path / "report" / "diagnosis.csv")
    # mean over tasks of each task's mean over seeds
    mean = frame.groupby(["stage", "task"])["mean"].mean().groupby("stage").mean()
    assert list(rows) == [STAGE_LABELS[s] for s in STAGES]
    for stage in STAGES:
        assert rows[STAGE_LABELS[stage]][0] == f"{mean[stage]:.3f}"
        assert rows[STAGE_LABELS[stage]][2] == f"{mean[stage] / mean['checkpoint']:.0%}"
    page = (tmp_path / "report" / "report.html").read_text()
    assert "tbody tr:nth-child(even)" in page and page.index("Headline") < page.index("<h2>Run</h2>")


def test_headline_columns_name_every_setting_but_a_lone_clean_one():
    from benchmark.report.headline import headline_columns

    def labels(settings):
        return [label for _, label in headline_columns(pd.DataFrame(dict(setting=settings, n_traj=[20] * len(settings))))]

    assert labels(["clean"]) == ["20 condition trajectories"]
    assert labels(["successful"]) == ["20 condition trajectories, successful"]
    assert labels(["noisy", "clean"]) == ["20 condition trajectories, clean", "20 condition trajectories, noisy"]
