"""What a report shows and where: every method (variants included) in the success figures and
the rliable plots, Figure 12's default beside the ablated values, statistics plots left out
with a line when seeds x tasks are too few, the success-novelty leaderboard (with and without
the novelty columns), tables that fit the page, and the provenance after the figures."""
import json

import numpy as np
import pandas as pd
import pytest
from test_report_fixtures import NOVELTY_REFERENCE, write_fake_run

from benchmark.envs import SEEN_TASKS, UNSEEN_TASKS, get_domain
from benchmark.report import build_report, figures, leaderboard, load_run
from benchmark.report.headline import headline
from benchmark.report.render import STYLESHEET, cell_html, html_table
from benchmark.report.style import display_name, method_color, method_order, save_figure
from benchmark.report.tables import MAX_COLUMNS, fit_page, suite_tables

REPS = 200
NOISY = ("noisy-checkpoint", "noisy-checkpoint[noise_std=0.01]", "noisy-checkpoint[noise_std=0.3]")
RECORDED = {  # run.json "methods": the variants' presets, as the harness records them
    "noisy-checkpoint[noise_std=0.01]": {"changed_from_preset": {"noise_std": [0.1, 0.01]}},
    "noisy-checkpoint[noise_std=0.3]": {"changed_from_preset": {"noise_std": [0.1, 0.3]}},
    "mtbc[task_onehot=true]": {"changed_from_preset": {"task_onehot": [False, True]}},
}


@pytest.fixture()
def figures_not_rendered(monkeypatch):
    """Reports whose figures are built but saved as empty files (rendering is slow)."""
    monkeypatch.setattr("benchmark.report.save_figure", lambda figure, path: path.touch())


@pytest.fixture(scope="module")
def variants_run(tmp_path_factory):
    """Seen and unseen tasks, clean and noisy, 2 seeds, base methods with variants, an ActorProposal method (dt),
    novelty columns and the zoo's reference, run.json's record of the variants' presets."""
    root = tmp_path_factory.mktemp("variants") / "run"
    methods = ("make-an-agent", "mtbc", "mtbc[task_onehot=true]", "dt", *NOISY, "expert")
    return load_run(write_fake_run(root, methods=methods, n_trajs=(5,), settings=("clean", "noisy"), trajectories=False,
                                   novelty=True, recorded_methods=RECORDED))


def legend_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()]


def test_variants_sit_beside_their_base_in_a_lighter_shade_of_its_colour():
    names = ["mtbc[task_onehot=true]", "dt", "mtbc", "make-an-agent", "dt[finetune_steps=0]", "zeta"]
    assert method_order(names) == ["make-an-agent", "mtbc", "mtbc[task_onehot=true]", "dt", "dt[finetune_steps=0]",
                                   "zeta"]
    assert display_name("mtbc[task_onehot=true]") == "Multi-task BC [task_onehot=true]"
    assert display_name("my-plugin[k=1]") == "my-plugin[k=1]"
    base, variant = np.array(method_color("mtbc")), np.array(method_color("mtbc[task_onehot=true]"))
    assert (variant >= base).all() and variant.sum() > base.sum() + 0.3      # lighter ...
    assert np.argmax(variant) == np.argmax(base) and np.argmin(variant) == np.argmin(base)  # ... same hue
    assert method_color("mtbc[task_onehot=true]") == method_color("mtbc[task_onehot=true]")


@pytest.mark.parametrize("build", [figures.fig5, figures.fig6, figures.fig7], ids=["fig5", "fig6", "fig7"])
def test_success_figures_draw_every_method_variants_included(variants_run, build):
    fig, caption = build(variants_run, REPS, 0)
    methods = method_order(variants_run.ok_summary["method"].unique())
    assert legend_texts(fig)[:len(methods)] == [display_name(m) for m in methods]
    assert "Multi-task BC [task_onehot=true]" in legend_texts(fig) and "noisy ckpt [noise_std=0.3]" in legend_texts(fig)
    per_method = 2 if build is figures.fig7 else 1                         # clean and noisy bars
    assert [len(ax.patches) for ax in fig.axes] == [len(methods) * per_method] * 2
    assert "Variants sit right after their base method" in caption


def test_success_panels_stack_when_there_are_many_bars():
    assert figures.success_panels(8)[:2] == (1, 2)
    rows, cols, (width, _) = figures.success_panels(60)
    assert (rows, cols) == (2, 1) and width <= 10


def test_rliable_plots_draw_every_method_variants_included(variants_run):
    scores, _, _ = figures.rliable_scores(variants_run)
    assert list(scores) == method_order(variants_run.ok_summary["method"].unique())
    fig, _ = figures.fig_aggregates(variants_run, REPS, 0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [display_name(m) for m in scores]
    fig, _ = figures.fig_profiles(variants_run, REPS, 0)
    assert legend_texts(fig) == [display_name(m) for m in scores]
    assert figures.improvement_pairs(list(scores))[-3:] == [
        ("mtbc[task_onehot=true]", "mtbc"), ("noisy-checkpoint[noise_std=0.01]", "noisy-checkpoint"),
        ("noisy-checkpoint[noise_std=0.3]", "noisy-checkpoint")]
    fig, _ = figures.fig_improvement(variants_run, REPS, 0, poi_reps=20)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "Make-An-Agent > Multi-task BC" and labels[-1] == "noisy ckpt: noise_std=0.3 > default"


def test_figure_12_draws_the_default_beside_each_ablated_value(variants_run):
    fig, caption = figures.fig12(variants_run, REPS, 0)
    assert [ax.get_title() for ax in fig.axes] == ["Multi-task BC", "noisy ckpt"]   # the method named
    ticks = [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes]
    # the base method's cells are the default, at the preset's place in value order
    assert ticks == [["false\n(default)", "true"], ["0.01", "0.1\n(default)", "0.3"]]
    assert [len(ax.patches) for ax in fig.axes] == [2 * 2, 3 * 2]             # (best, top-5) per value
    dotted = [[p.get_hatch() == figures.DEFAULT_HATCH for p in ax.patches] for ax in fig.axes]
    assert dotted[1] == [False, True, False] * 2
    # the default's bars are the base method's numbers
    rows = figures.ablation_rows(variants_run.ok_summary, lambda key: key != "condition")
    agg = figures.aggregate_by(rows.assign(all=0), "best", "all", ["noisy-checkpoint"], REPS, 0)
    assert fig.axes[1].patches[1].get_height() == pytest.approx(agg["point"].iloc[0])
    assert "No default" not in caption and "Not drawn" not in caption


def test_figure_12_without_a_default_says_so_in_one_line(tmp_path):
    lone = write_fake_run(tmp_path / "lone", methods=("make-an-agent[latent_width=64]",), tasks=("window-close",),
                          n_trajs=(5,), seeds=(0,), trajectories=False)
    reason = figures.fig12(load_run(lone), REPS, 0)
    assert isinstance(reason, str) and "\n" not in reason
    assert reason.startswith("left out:") and "Make-An-Agent latent_width" in reason
    assert "has a default or a second value to compare with" in reason
    # the variant of the preset value is the default when run.json records it
    recorded = {"make-an-agent[latent_width=64]": {"changed_from_preset": {"latent_width": [128, 64]}},
                "make-an-agent[latent_width=128]": {"changed_from_preset": {}}}
    both = write_fake_run(tmp_path / "both", methods=tuple(recorded), tasks=("window-close",), n_trajs=(5,),
                          seeds=(0,), trajectories=False, recorded_methods=recorded)
    fig, caption = figures.fig12(load_run(both), REPS, 0)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["64", "128\n(default)"]


def test_statistics_plots_are_left_out_with_too_few_seeds_and_tasks(tmp_path, figures_not_rendered):
    root = write_fake_run(tmp_path / "run", methods=("make-an-agent", "mtbc"), tasks=("reach",), n_trajs=(5,),
                          seeds=(0,), trajectories=False)
    data = load_run(root)
    for build in (figures.fig_aggregates, figures.fig_profiles, figures.fig_improvement):
        reason = build(data, REPS, 0)
        assert isinstance(reason, str) and reason.startswith("left out: 1 seed x 1 task per method is too few")
    files = {p.name for p in build_report(root, out_dir=tmp_path / "report", reps=REPS, poi_reps=20)}
    assert not any(name.startswith("rliable_") for name in files)
    text = (tmp_path / "report" / "report.md").read_text()
    for title in ("rliable: aggregate IQM and mean", "rliable: probability of improvement",
                  "rliable: performance profiles"):
        assert sum(line.startswith(f"- {title}: left out: 1 seed x 1 task") for line in text.splitlines()) == 1
    # three tasks with one seed are enough (tasks are resampled)
    three = write_fake_run(tmp_path / "three", methods=("mtbc",), tasks=("reach", "door-open", "window-close"),
                           n_trajs=(5,), seeds=(0,), trajectories=False)
    assert not isinstance(figures.fig_aggregates(load_run(three), REPS, 0), str)


def expected_novelty(policies: pd.DataFrame, method: str) -> dict[str, float]:
    """Medians of one method's novelty columns, straight from policies.parquet."""
    rows = policies[(policies["method"] == method) & (policies["setting"] == "clean")]
    return {"raw": rows["l2_nearest_checkpoint"].median(), "aligned": rows["aligned_l2_nearest_checkpoint"].median(),
            "aligned_ratio": (rows["aligned_l2_nearest_checkpoint"] / NOVELTY_REFERENCE["between_run_aligned"]).median(),
            "gap": rows["action_gap_nearest_checkpoint"].median(),
            "gap_ratio": (rows["action_gap_nearest_checkpoint"] / NOVELTY_REFERENCE["action_gap_between_runs"]).median()}


def test_leaderboard_puts_novelty_beside_the_headline_success(variants_run, tmp_path):
    blocks, built = leaderboard.leaderboard_blocks(variants_run, REPS, 0)
    assert blocks[0] == ("h2", "Success and novelty")
    frame = blocks[1][1]
    assert list(frame.columns) == [
        "method", "top-5 IQM [95% CI]", "top-5 mean", "raw L2 to nearest checkpoint", "aligned L2 to nearest checkpoint",
        "aligned L2 / between-run reference", "action gap", "action gap / between-run reference"]
    rows = frame.set_index("method")
    # success: the headline's very numbers
    head, _, _ = headline(variants_run.ok_summary, "smoke", reps=REPS)
    head = head.set_index("method")
    for name in rows.index:
        assert rows.loc[name, "top-5 IQM [95% CI]"] == head.loc[name, "5 condition trajectories, clean: IQM [95% CI]"]
        assert head.loc[name, "5 condition trajectories, clean: mean (seeds)"].startswith(rows.loc[name, "top-5 mean"])
    # ranked by IQM, the ceiling last
    assert rows.index[-1] == "scripted expert (ceiling)"
    points = [float(v.split()[0]) for v in rows["top-5 IQM [95% CI]"][:-1]]
    assert points == sorted(points, reverse=True)
    # novelty: medians of policies.parquet, ratios against the zoo's between-run reference
    policies = pd.read_parquet(variants_run.run_dir / "policies.parquet")
    for method in ("make-an-agent", "noisy-checkpoint[noise_std=0.3]"):
        expected = expected_novelty(policies, method)
        row = rows.loc[display_name(method)]
        assert row["raw L2 to nearest checkpoint"] == f"{expected['raw']:.3f}"
        assert row["aligned L2 to nearest checkpoint"] == f"{expected['aligned']:.3f}"
        assert row["aligned L2 / between-run reference"] == f"{expected['aligned_ratio']:.3g}x"
        assert row["action gap"] == f"{expected['gap']:.3f}"
        assert row["action gap / between-run reference"] == f"{expected['gap_ratio']:.3g}x"
    # an ActorProposal method has no parameters: '-'
    assert set(rows.loc["Decision Transformer"].iloc[2:]) == {"-"}
    # the figure: one point per parameter method, the noise frontier in noise order, the references
    fig = built[leaderboard.FIGURE_KEY]
    ax = fig.axes[0]
    frontier = [line for line in ax.lines if line.get_linestyle() == "-"]
    assert len(frontier) == 1
    novelty = {m: expected_novelty(policies, m)["aligned"] for m in NOISY}
    by_noise = ["noisy-checkpoint[noise_std=0.01]", "noisy-checkpoint", "noisy-checkpoint[noise_std=0.3]"]  # preset 0.1
    np.testing.assert_allclose(frontier[0].get_xdata(), [novelty[m] for m in by_noise])
    dashed = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert dashed == [NOVELTY_REFERENCE["within_run_aligned"], NOVELTY_REFERENCE["between_run_aligned"]]
    assert len(ax.collections) == 6          # make-an-agent, mtbc, its variant, noisy ckpt and its 2 variants
    assert sum(line.startswith("**action gap**") for line in blocks[2][1]) == 1
    # the same run gives the same files
    again = leaderboard.leaderboard_blocks(variants_run, REPS, 0)
    assert again[0][1][1].equals(frame)
    for name, figure in (("a", fig), ("b", again[1][leaderboard.FIGURE_KEY])):
        save_figure(figure, tmp_path / f"{name}.svg")
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


def test_leaderboard_without_novelty_columns_or_reference(tmp_path, figures_not_rendered):
    old = write_fake_run(tmp_path / "old", methods=("make-an-agent", "mtbc"), n_trajs=(5,), trajectories=False)
    files = {p.name for p in build_report(old, out_dir=tmp_path / "old-report", reps=REPS, poi_reps=20)}
    text = (tmp_path / "old-report" / "report.md").read_text()
    assert "## Success and novelty\n\nNovelty not measured in this run" in text
    assert "novelty_frontier.png" not in files and "| top-5 IQM [95% CI] |" not in text
    blocks, built = leaderboard.leaderboard_blocks(load_run(old), REPS, 0)
    assert len(blocks) == 2 and leaderboard.NOT_MEASURED in blocks[1][1].lower() and not built
    # novelty columns without run.json's reference: no ratio columns, said in one line
    bare = write_fake_run(tmp_path / "bare", methods=("make-an-agent", "dt"), n_trajs=(5,), trajectories=False,
                          novelty=True, novelty_reference=False)
    blocks, built = leaderboard.leaderboard_blocks(load_run(bare), REPS, 0)
    assert not any("reference" in c for c in blocks[1][1].columns)
    assert any(line.startswith("No train-to-train reference") for line in blocks[2][1])
    assert not [line for line in built[leaderboard.FIGURE_KEY].axes[0].lines if line.get_linestyle() == "--"]
    # a run of ActorProposal methods only has no leaderboard
    actors = write_fake_run(tmp_path / "actors", methods=("dt", "expert"), n_trajs=(5,), trajectories=False,
                            novelty=True)
    assert leaderboard.leaderboard_blocks(load_run(actors), REPS, 0) == ([], {})


def test_provenance_comes_after_the_figures_and_names_the_packages(tmp_path, figures_not_rendered):
    root = write_fake_run(tmp_path / "run", methods=("make-an-agent", "mtbc"), n_trajs=(5,), trajectories=False)
    run = json.loads((root / "run.json").read_text())
    run["provenance"] = {"code_version": "abc123", "machine": "x86_64, 2 CPUs", "python": "3.11.7",
                         "packages": {"numpy": "1.26.4", "rliable": "1.2.0"}}
    (root / "run.json").write_text(json.dumps(run))
    build_report(root, out_dir=tmp_path / "report", reps=REPS, poi_reps=20)
    text = (tmp_path / "report" / "report.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith(("# ", "## "))]
    assert headings[1] == "## Headline: top-5 success" and headings[-1] == "## Run"
    assert headings.index("## Figures") < headings.index("## Per-suite tables") < headings.index("## Run")
    run_section = text[text.index("## Run"):]
    for line in ("- command: python -m benchmark run --suite fixture", "- code_version: abc123",
                 "- machine: x86_64, 2 CPUs", "- packages: numpy 1.26.4, rliable 1.2.0"):
        assert line in run_section and line not in text[:text.index("## Run")], line


def test_tables_fit_the_page(variants_run):
    table_rule = next(rule for rule in STYLESHEET.splitlines() if rule.startswith("table{"))
    assert "overflow" not in STYLESHEET and "display:block" not in table_rule   # no scrolling box hiding columns
    # a suite table with more methods than rows is turned: methods down the page
    caption, frame = suite_tables(variants_run.ok_summary, reps=REPS)[0]
    methods = method_order(variants_run.ok_summary["method"].unique())
    assert frame.columns[0] == "method" and list(frame["method"]) == [display_name(m) for m in methods]
    assert list(frame.columns[1:3]) == ["reach", "window-close"]
    # a table too wide either way is cut into parts that fit, each with its row labels
    wide = pd.DataFrame({"task": [f"task-{i}" for i in range(15)], **{f"m{j}": ["0.50"] * 15 for j in range(13)}})
    parts = fit_page(wide)
    assert len(parts) == 2 and all(p.columns[0] == "task" and p.shape[1] - 1 <= MAX_COLUMNS for p in parts)
    assert [c for p in parts for c in p.columns[1:]] == list(wide.columns[1:])
    assert fit_page(wide.iloc[:3, :6])[0].columns[0] == "method"               # 5 methods x 3 tasks: turned
    # a variant name wraps before its arguments, never inside them; task names only at their hyphens ...
    assert cell_html("offline hypernetwork (AWR) [context_rewards=false]") == (
        'offline hypernetwork (AWR) <span class="args">[context_rewards=false]</span>')
    assert cell_html("`mtbc[task_onehot=true]`") == '<code>mtbc<wbr><span class="args">[task_onehot=true]</span></code>'
    assert ".args{white-space:nowrap}" in STYLESHEET
    plain = html_table(pd.DataFrame({"task": ["handle-press-side"], "x": ["0.30 [0.20, 0.40]"]}))
    assert "<wbr>" not in plain and "args" not in plain
    # ... of which no task has more than two, so none wraps over three lines
    tasks = set(SEEN_TASKS) | set(UNSEEN_TASKS) | set(get_domain("robosuite").tasks)
    assert max(task.count("-") for task in tasks) <= 2


def test_the_report_says_what_the_prompts_were_drawn_from():
    from types import SimpleNamespace

    import pandas as pd

    from benchmark.report import condition_blocks

    run = {"zoo_conditions": {"z1": {"reach": {"conditions": 100, "succeeding": 0.31, "updates": [75, 750]},
                                     "door-lock": {"conditions": 100, "succeeding": 0.02, "updates": [75, 750]}}}}
    data = SimpleNamespace(run=run, ok_summary=pd.DataFrame({"task": ["reach"]}))
    blocks = condition_blocks(data)
    table = blocks[-1][1]
    assert blocks[0] == ("h2", "Condition trajectories") and list(table["task"]) == ["reach"]
    assert table.iloc[0]["succeeding"] == "31%" and table.iloc[0]["updates"] == "75-750"
    assert condition_blocks(SimpleNamespace(run={}, ok_summary=pd.DataFrame({"task": ["reach"]}))) == []
