"""End-to-end harness behaviour on the smoke suite (real zoo, real training, real Ray).

Runs share the cached smoke zoo and trained models (symlinked into each results dir), so
each run costs only its cells (~20-40 s on 2 cores)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmark.errors import UserError

METHODS = ["make-an-agent", "nearest-checkpoint"]
METRICS = ["best", "top5", "top10", "mean", "qualified_rate", "fsl_top5", "honest_top5"]


def _cli(*args, results=None, background=False):
    command = [sys.executable, "-m", "benchmark", *args]
    if results is not None:
        command += ["--results", str(results)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(command, capture_output=True, text=True, env=env)


@pytest.fixture()
def results(tiny_zoo, test_results, tmp_path):
    """A fresh results root that reuses the cached zoo and models."""
    (test_results / "models").mkdir(exist_ok=True)
    for name in ("zoo", "models"):
        (tmp_path / name).symlink_to(test_results / name)
    return tmp_path


def _smoke(results, workers, background=False):
    return _cli("run", "--suite", "smoke", "--profile", "smoke", "--methods", *METHODS,
                "--workers", str(workers), results=results, background=background)


def _summary(results) -> pd.DataFrame:
    frame = pd.read_csv(results / "runs" / "smoke-smoke" / "summary.csv")
    return frame.sort_values(["method", "task", "n_traj", "setting", "seed"]).reset_index(drop=True)


def _cells(results) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in (results / "runs" / "smoke-smoke" / "cells").glob("*.json")}


@pytest.fixture(scope="module")
def reference(tiny_zoo, test_results, tmp_path_factory):
    """The serial (--workers 0) run every other run must reproduce."""
    root = tmp_path_factory.mktemp("reference")
    (test_results / "models").mkdir(exist_ok=True)
    for name in ("zoo", "models"):
        (root / name).symlink_to(test_results / name)
    result = _smoke(root, 0)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "tables:" in result.stdout
    return root


def test_serial_run_writes_cells_summary_and_tables(reference):
    run = reference / "runs" / "smoke-smoke"
    summary = _summary(reference)
    assert len(summary) == 4 and set(summary["method"]) == set(METHODS)
    assert summary[METRICS].notna().all().all()
    assert (run / "episodes.parquet").is_file() and (run / "tables.md").is_file()
    episodes = pd.read_parquet(run / "episodes.parquet")
    assert set(episodes["config_index"]) == {0, 1, 2, 3, 4}
    cell = json.loads(next((run / "cells").glob("*.json")).read_text())
    assert cell["provenance"]["packages"]["metaworld"] == "3.1.1"
    assert cell["config"]["method_config"] and cell["config"]["code_version"]
    # the run names where its zoo was built: zoo arrays differ between machines
    zoo_id = cell["config"]["zoo_id"]
    built = json.loads((run / "run.json").read_text())["zoos"][zoo_id]
    assert built["code_version"] and built["machine"] and built["created"]


def test_snap_test_of_the_nearest_checkpoint_replays_its_own_episodes(reference):
    """Snapping a policy to its nearest zoo checkpoint (scripts/snap_test.py) is the identity for
    the nearest-checkpoint control, whose proposals are zoo checkpoints: the snapped success must
    equal the stored one cell by cell, which pins the rows, configurations and step limit the
    snap test rolls out."""
    run = reference / "runs" / "smoke-smoke"
    result = subprocess.run([sys.executable, "scripts/snap_test.py", str(run), "--method", "nearest-checkpoint",
                             "--workers", "0"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(run / "snap_test.csv")
    assert set(table["kind"]) == {"generated", "snapped", "snapped-aligned"}
    by_kind = table.pivot_table(index="cell_id", columns="kind", values="mean")
    assert len(by_kind) == 2 and by_kind.notna().all().all()
    for kind in ("snapped", "snapped-aligned"):
        pd.testing.assert_series_equal(by_kind[kind], by_kind["generated"], check_names=False)
    (run / "snap_test.csv").unlink()


def test_rerun_skips_finished_cells(reference):
    before = _cells(reference)
    result = _smoke(reference, 0)
    assert result.returncode == 0
    assert _cells(reference) == before
    pd.testing.assert_frame_equal(_summary(reference), _summary(reference))


def test_two_ray_workers_give_the_serial_summary(reference, results):
    result = _smoke(results, 2)
    assert result.returncode == 0, result.stderr[-3000:]
    pd.testing.assert_frame_equal(_summary(results)[METRICS], _summary(reference)[METRICS])


def _wait_for(predicate, timeout=240):
    start = time.time()
    while time.time() - start < timeout:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_killed_worker_is_retried_and_the_summary_is_unchanged(reference, results):
    proc = _smoke(results, 2, background=True)

    def worker_pids():
        """This run's Ray workers only (descendants of its driver): another job's on the same
        machine must survive this test."""
        table = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        parent, args = {}, {}
        for line in table.splitlines():
            pid, ppid, command = (line.split(None, 2) + [""])[:3]
            parent[int(pid)], args[int(pid)] = int(ppid), command

        def descends(pid):
            while pid > 1:
                pid = parent.get(pid, 0)
                if pid == proc.pid:
                    return True
            return False
        return [pid for pid, command in args.items() if command.startswith("ray::_call") and descends(pid)]
    cells_dir = results / "runs" / "smoke-smoke" / "cells"
    # wait until cells are running (training is cached, so the workers are in cells)
    assert _wait_for(lambda: cells_dir.is_dir() and worker_pids())
    time.sleep(1.0)
    pids = worker_pids()
    if pids:
        os.kill(pids[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    pd.testing.assert_frame_equal(_summary(results)[METRICS], _summary(reference)[METRICS])


def test_interrupted_driver_resumes_without_redoing_finished_cells(reference, results):
    proc = _smoke(results, 0, background=True)
    cells_dir = results / "runs" / "smoke-smoke" / "cells"
    assert _wait_for(lambda: cells_dir.is_dir() and len(list(cells_dir.glob("*.json"))) >= 1)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    finished = _cells(results)
    # usually 1-3 of the 4 cells; on an idle machine the run has once beaten the signal (CI, 4)
    assert 1 <= len(finished) <= 4 and proc.returncode in (0, 130)
    result = _smoke(results, 0)
    assert result.returncode == 0, result.stderr[-3000:]
    after = _cells(results)
    assert all(after[name] == mtime for name, mtime in finished.items())
    pd.testing.assert_frame_equal(_summary(results)[METRICS], _summary(reference)[METRICS])


@pytest.mark.parametrize("args,message", [
    (["run", "--suite", "nope"], "unknown suite"),
    (["run", "--suite", "smoke", "--profile", "huge"], "unknown profile"),
    (["run", "--suite", "smoke", "--methods", "make-an-agnet"], "did you mean: make-an-agent"),
    (["run", "--suite", "smoke", "--methods", "make-an-agent[no_such_field=1]"], "unknown setting"),
    (["report", "--results", "/"], "not a run directory"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    if args[0] == "run":
        args = args + ["--results", str(tmp_path), "--dry-run"]
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_damaged_cell_file_stops_the_run_and_is_kept(reference, results, tmp_path):
    import shutil

    shutil.copytree(reference / "runs", results / "runs")
    victim = sorted((results / "runs" / "smoke-smoke" / "cells").glob("*.json"))[0]
    victim.write_text('{"cell_id": "trunc')
    others = {p: p.read_bytes() for p in victim.parent.glob("*.json")}
    result = _smoke(results, 0)
    assert result.returncode == 2
    assert "damaged cell file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in victim.parent.glob("*.json")} == others


def test_a_model_for_another_policy_spec_is_refused(reference, tiny_zoo):
    from benchmark.config import load_profile
    from benchmark.plan import resolve_method
    from benchmark.policy import PolicySpec
    from benchmark.training import check_model, load_model

    model = next(p for p in (reference / "models").iterdir()
                 if p.name.startswith("nearest-checkpoint") and (p / "training.json").is_file())
    assert check_model(model, tiny_zoo.spec) is None
    assert "policy spec" in check_model(model, PolicySpec(hidden=64))
    with pytest.raises(UserError, match="policy spec"):
        load_model(resolve_method("nearest-checkpoint", load_profile("smoke")), model, PolicySpec(hidden=64))


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    result = _cli("run", "--suite", "unseen", "--profile", "mini", "--dry-run", results=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "108 cells" in result.stdout and "-n20-" in result.stdout and "CPU-hours" in result.stdout
    assert "12 trainings (0 already trained), 1 zoo(s) (0 already built)" in result.stdout
    assert not (tmp_path / "runs").exists() and not (tmp_path / "zoo").exists()


def test_sigterm_stops_a_run_like_ctrl_c(reference, results):
    proc = _smoke(results, 0, background=True)
    cells_dir = results / "runs" / "smoke-smoke" / "cells"
    assert _wait_for(lambda: cells_dir.is_dir() and len(list(cells_dir.glob("*.json"))) >= 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1].startswith("interrupted")
    finished = _cells(results)
    assert _smoke(results, 0).returncode == 0
    assert all(_cells(results)[name] == mtime for name, mtime in finished.items())


def test_a_finished_rerun_starts_no_ray_and_returns_quickly(reference):
    code = ("import sys, ray\n"
            "def refuse(*args, **kwargs):\n"
            "    raise SystemExit('ray.init called')\n"
            "ray.init = refuse\n"
            "from benchmark.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    args = ["run", "--suite", "smoke", "--profile", "smoke", "--methods", *METHODS, "--workers", "2",
            "--results", str(reference)]
    start = time.time()
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.time() - start < 10
    assert "ray" not in result.stderr.lower()
