"""Tables, figures and the report, built from small stored runs (see test_report_fixtures)."""
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from test_report_fixtures import write_fake_run

from benchmark.errors import UserError
from benchmark.report import build_report, figures, load_run, load_runs, write_summary, write_tables

REPS = 200
BASE = ("make-an-agent", "mtbc")
VARIANTS = ("make-an-agent[condition=h]", "make-an-agent[condition=v]",
            "make-an-agent[hidden=64]", "make-an-agent[hidden=128]", "make-an-agent[latent=256]")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """Seen and unseen task, clean and noisy, base methods and ablation variants."""
    root = tmp_path_factory.mktemp("full") / "run"
    return load_run(write_fake_run(root, methods=BASE + VARIANTS, settings=("clean", "noisy"), failed_cells=1))


@pytest.fixture()
def unseen_only(tmp_path):
    """An unseen-task run of the base methods without trajectories or a policy table."""
    root = write_fake_run(tmp_path / "run", tasks=("window-close",), methods=BASE, n_trajs=(5,),
                          trajectories=False)
    (root / "policies.parquet").unlink()
    return root


def check_png(fig, path):
    fig.savefig(path)
    image = imread(path)
    assert path.stat().st_size > 2000 and image.std() > 0.01  # not blank


# figure key -> (number of axes, series per axis: lines, patches or scatter collections)
EXPECTED = {
    "fig5_seen": (2, "lines", [2, 2]),
    "fig6_unseen": (2, "lines", [2, 2]),
    "fig7_noisy": (4, "lines", [4, 4, 4, 4]),  # (2 counts x 2 metrics) panels; 2 methods x 2 settings
    "fig8_embedding": (1, "patches", [4]),  # 2 variants x (best, top-5)
    "fig9_trajectories": (2, "lines", [7, 7]),  # 2 conditions + 5 generated, one panel per task
    "fig11_cosine": (2, "collections", [2, 2]),  # one filled step histogram per base method
    "fig12_ablations": (2, "patches", [4, 2]),  # hidden: 2 values, latent: 1 value
    "fig13_lengths": (1, "collections", [2]),
    "fig14_compute": (1, "patches", [3 * 7]),  # 7 methods x 3 timings
    "rliable_aggregates": (2, "lines", [4, 4]),  # 2 methods x (interval, point)
    "rliable_improvement": (1, "lines", [2 + 1]),  # 1 pair x (interval, point) + the 0.5 line
    "rliable_profiles": (1, "lines", [2]),
}


@pytest.mark.parametrize("spec", figures.FIGURES, ids=lambda s: s.key)
def test_each_figure_builds(full_run, spec, tmp_path):
    built = spec.build(full_run, REPS, 0)
    assert built is not None, spec.key
    fig, caption = built
    assert "Profile smoke" in caption and "seeds [0, 1]" in caption and "reduced" in caption
    check_png(fig, tmp_path / f"{spec.key}.png")
    if spec.key in EXPECTED:
        n_axes, kind, series = EXPECTED[spec.key]
        assert len(fig.axes) == n_axes
        assert [len(getattr(ax, kind)) for ax in fig.axes] == series


def test_tables_and_summary(full_run):
    summary = pd.read_csv(write_summary(full_run.run_dir))
    assert len(summary) == 7 * 2 * 2 * 2 * 2
    assert (summary["status"] == "failed").sum() == 1
    assert {"best", "top5", "top10", "qualified_rate", "honest_top5", "fsl_top5"} <= set(summary.columns)
    text = write_tables(full_run.run_dir, reps=REPS).read_text()
    assert "## Table 4" in text and "| reach | make-an-agent | 10 |" in text
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


def test_run_with_only_failed_cells(tmp_path):
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


def test_report_merges_runs_of_different_suites(tmp_path):
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
    assert [ax.get_xlabel() for ax in fig.axes] == ["latent token width (units)", "condition-trajectory length (steps)"]
    text = (tmp_path / "merged" / "report.md").read_text()
    assert f"merged run {length}" in text and f"merged run {latent}" in text
    with pytest.raises(UserError, match="both hold the cell"):
        load_runs([length, length])
    other = write_fake_run(tmp_path / "other", methods=("mtbc",), profile="mini", trajectories=False)
    with pytest.raises(UserError, match="different profile"):
        load_runs([length, other])
