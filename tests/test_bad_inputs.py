"""Every bad input of docs/usage.md's list ends in one line naming the problem and exit 2, with
finished results untouched; a damaged model or zoo shard is rebuilt with one line saying so.

The fast ones run the CLI in a subprocess (no MetaWorld stepping, no Ray, no training); the
ones that need a real run or a Ray cluster are marked slow."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import pytest
import torch

from benchmark.errors import UserError

SMOKE = ["run", "--suite", "smoke", "--profile", "smoke"]


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `python -m benchmark ARGS` in this process (imports once: the tier stays fast)."""
    import signal as signals

    from benchmark.cli import main

    monkeypatch.setattr(signals, "signal", lambda *args: None)  # keep pytest's own handlers

    def run(*args):
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return run


def one_line_exit_2(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert all(f in lines[0] for f in fragments), lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# 1. a dead --address fails at once
def test_dead_address_fails_within_seconds(tmp_path, cli):
    start = time.time()
    result = cli(*SMOKE, "--address", f"127.0.0.1:{free_port()}", "--results", str(tmp_path))
    one_line_exit_2(result, "no Ray cluster answers at 127.0.0.1")
    assert time.time() - start < 30
    assert not (tmp_path / "runs").exists()


# 3. a negative worker count
def test_negative_workers(tmp_path, cli):
    one_line_exit_2(cli(*SMOKE, "--workers", "-1", "--results", str(tmp_path)), "--workers", "at least 0")


# 4. a suite file given as a path
@pytest.mark.parametrize("text,fragment", [
    ("tasks: [reach\nn_traj: [5]\n", "not valid YAML"),
    ("tasks: [reach]\nn_traj: [five]\nmethods: [mtbc]\n", "n_traj must be a non-empty list of positive integers"),
    ("tasks: [reach]\nn_traj: [5]\n", "missing key(s) methods"),
    ("tasks: [reach]\nn_traj: [5]\nmethods: [mtbc]\nseeds: 0\n", "seeds must be a positive integer"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_suite_files(tmp_path, text, fragment, cli):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    one_line_exit_2(cli(*SMOKE[:1], "--suite", str(path), "--profile", "smoke", "--dry-run",
                        "--results", str(tmp_path)), fragment)


def test_a_suite_path_names_the_run_directory_under_results(tmp_path, cli):
    from benchmark.plan import run_dir_for
    from benchmark.suites import load_suite

    path = tmp_path / "elsewhere" / "mine.yaml"
    path.parent.mkdir()
    path.write_text("tasks: [reach]\nn_traj: [5]\nmethods: [nearest-checkpoint]\n")
    suite = load_suite(str(path))
    assert suite.name == "mine"
    results = tmp_path / "results"
    assert run_dir_for(results, suite.name, "smoke", None) == results / "runs" / "mine-smoke"
    result = cli("run", "--suite", str(path), "--profile", "smoke", "--dry-run", "--results", str(results))
    assert result.returncode == 0, result.stderr
    assert "nearest-checkpoint-reach-n5-clean-s0-" in result.stdout


def test_dry_run_counts_finished_cells_and_those_it_will_not_reuse(tmp_path, cli):
    """A cell id hashes the code version: cells stored by another commit are named, not reused."""
    path = tmp_path / "mine.yaml"
    path.write_text("tasks: [reach]\nn_traj: [5]\nmethods: [nearest-checkpoint]\n")
    results = tmp_path / "results"
    first = cli("run", "--suite", str(path), "--profile", "smoke", "--dry-run", "--results", str(results))
    assert "1 cells (0 already finished in" in first.stdout and "not reused" not in first.stdout
    cell_id = next(line.strip() for line in first.stdout.splitlines() if line.strip().startswith("nearest-checkpoint-"))
    cells = results / "runs" / "mine-smoke" / "cells"
    cells.mkdir(parents=True)
    for name in (cell_id, "nearest-checkpoint-reach-n5-clean-s0-0ldc0de"):
        (cells / f"{name}.json").write_text(json.dumps({"cell_id": name, "status": "ok", "config": {}}))
    second = cli("run", "--suite", str(path), "--profile", "smoke", "--dry-run", "--results", str(results))
    assert "1 cells (1 already finished in" in second.stdout
    assert "1 stored there are of another code version or config and are not reused" in second.stdout


# 5. a damaged or mismatched trained model is retrained with one line
def _saved_model(tmp_path):
    from test_generators_synthetic import synthetic_zoo

    from benchmark.config import load_profile
    from benchmark.plan import resolve_method
    from benchmark.training import save_model
    from generators.controls import NearestCheckpoint

    zoo = synthetic_zoo()
    method = resolve_method("nearest-checkpoint", load_profile("smoke"))
    model = NearestCheckpoint(method.build_config(), zoo.spec)
    model.fit(zoo, seed=0)
    directory = tmp_path / "models" / "nearest-checkpoint-s0-x"
    save_model(model, directory, dict(method=method.name))
    return method, directory, zoo


def test_damaged_or_mismatched_model_is_detected_and_retrained(tmp_path, capsys):
    from benchmark.plan import Plan, TrainingJob
    from benchmark.policy import PolicySpec
    from benchmark.run import _models_to_train
    from benchmark.training import check_model, load_model

    method, directory, zoo = _saved_model(tmp_path)
    assert check_model(directory, zoo.spec) is None
    assert load_model(method, directory, zoo.spec)[0].propose(zoo.conditions, seed=0).params.shape[0] == len(zoo.conditions)
    assert "policy spec" in check_model(directory, PolicySpec(hidden=64))
    weights = next(p for p in directory.iterdir() if p.suffix == ".safetensors")
    weights.write_bytes(b"garbage" * 10)
    assert "does not match its checksum" in check_model(directory, zoo.spec)
    with pytest.raises(UserError, match="does not match its checksum"):
        load_model(method, directory, zoo.spec)
    (directory / "training.json").write_text("[")
    assert "unreadable training.json" in check_model(directory, zoo.spec)

    class Cell:
        model_dir = str(directory)

    job = TrainingJob(method, "zoo", 0, str(directory))
    planned = Plan(None, None, {}, {}, {}, [job], [])
    assert _models_to_train(planned, [Cell()], {"zoo": zoo}) == [job]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged" in err[0] and "retraining it" in err[0]


# 6. damaged cell files: report and run stop with one line, nothing rewritten
def _run_dir(tmp_path, cell_text: str | bytes):
    run = tmp_path / "runs" / "smoke-smoke"
    (run / "cells").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"suite": "smoke", "profile": "smoke", "cells": ["c1"]}))
    path = run / "cells" / "c1.json"
    path.write_bytes(cell_text if isinstance(cell_text, bytes) else cell_text.encode())
    return run, path


@pytest.mark.parametrize("content,why", [
    (b"\x89PNG\x00\xff\xfe", "damaged cell file"),
    ("[]", "not a cell result"),
    (json.dumps({"cell_id": "c1", "status": "ok", "config": {"method": "mtbc"}}), "has no episodes"),
])
def test_report_on_a_damaged_cell_file(tmp_path, content, why, cli):
    run, path = _run_dir(tmp_path, content)
    before = path.read_bytes()
    one_line_exit_2(cli("report", "--results", str(run), "--reps", "10"), why)
    assert path.read_bytes() == before and not (run / "report").exists()


@pytest.mark.parametrize("episodes,why", [
    (None, "no episode table"),
    ({k: [] for k in ("policy_id", "config_index", "configuration", "success", "first_success_step",
                      "return", "length")}, "no episodes"),
])
def test_a_stored_ok_cell_without_episodes_stops_consolidation(tmp_path, episodes, why):
    from benchmark.store import consolidate

    record = {"cell_id": "c1", "status": "ok", "config": {"method": "mtbc"}}
    run, path = _run_dir(tmp_path, json.dumps(record if episodes is None else dict(record, episodes=episodes)))
    with pytest.raises(UserError, match=why):
        consolidate(run, [SimpleNamespace(cell_id="c1", config={})])
    assert not (run / "episodes.parquet").exists()


# 7. a damaged zoo shard is collected again
def test_damaged_zoo_shard_is_removed_for_recollection(tmp_path, capsys):
    from benchmark.zoo.collect import RunUnit, _usable_shard

    unit = RunUnit("reach", 0, True)
    (tmp_path / f"{unit.name}.json").write_text('{"stats": ')
    (tmp_path / f"{unit.name}.safetensors").write_bytes(b"\x00" * 16)
    assert not _usable_shard(tmp_path, unit)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged" in err[0] and "collecting it again" in err[0]
    assert not list(tmp_path.iterdir())


# 8. variant values are typed and checked at planning time
@pytest.mark.parametrize("variant,fragment", [
    ("make-an-agent[latent_width=abc]", "latent_width expected int"),
    ("make-an-agent[latent_width=-8]", "latent_width must be >= 0"),
    ("make-an-agent[ae_lr=fast]", "ae_lr expected float"),
    ("make-an-agent[ae_clamp_when_encoding=2]", "expected true or false"),
    ("make-an-agent[zoo_hidden=0]", "zoo_hidden must be a positive integer"),
    ("make-an-agent[no_such_field=1]", "unknown setting"),
    ("make-an-agnet", "did you mean: make-an-agent"),
])
def test_ill_typed_variants_fail_the_dry_run(tmp_path, variant, fragment, cli):
    one_line_exit_2(cli(*SMOKE, "--methods", variant, "--dry-run", "--results", str(tmp_path)), fragment)


def test_typed_variant_values_keep_their_json_form():
    from benchmark.config import load_profile
    from benchmark.plan import resolve_method

    method = resolve_method("make-an-agent[latent_width=64,condition=h]", load_profile("smoke"))
    assert method.config["latent_width"] == 64 and method.config["condition"] == "h"
    assert method.build_config().latent_width == 64
    assert hash(method) == hash(resolve_method("make-an-agent[latent_width=64,condition=h]", load_profile("smoke")))


def test_list_valued_variants_parse_and_are_checked():
    from benchmark.api import parse_method_name, variant_of
    from benchmark.config import load_profile
    from benchmark.plan import resolve_method

    assert parse_method_name("make-an-agent[unet_down_dims=[64,128],diff_epochs=5]") == (
        "make-an-agent", {"unet_down_dims": [64, 128], "diff_epochs": 5})
    assert variant_of("make-an-agent[unet_down_dims=[64,128]]") == ("make-an-agent", "unet_down_dims", "[64,128]")
    assert variant_of("make-an-agent[unet_down_dims=[64,128],diff_epochs=5]") is None
    method = resolve_method("make-an-agent[unet_down_dims=[64,128]]", load_profile("smoke"))
    assert method.build_config().unet_down_dims == [64, 128]
    with pytest.raises(UserError, match="unet_down_dims"):
        resolve_method("make-an-agent[unet_down_dims=[64,wide]]", load_profile("smoke"))


# 9. --results that is a file or cannot be created
def test_results_that_is_a_file(tmp_path, cli):
    target = tmp_path / "file"
    target.write_text("x")
    one_line_exit_2(cli(*SMOKE, "--results", str(target)), "is a file")
    one_line_exit_2(cli(*SMOKE, "--results", str(target), "--dry-run"), "is a file")
    assert target.read_text() == "x"


def test_results_that_cannot_be_created(cli):
    one_line_exit_2(cli(*SMOKE, "--results", "/proc/b2p-results"), "cannot create --results")


# 10. report --reps 0
def test_report_with_zero_reps(tmp_path, cli):
    one_line_exit_2(cli("report", "--results", str(tmp_path), "--reps", "0"), "--reps", "at least 1")


def test_argparse_errors_are_one_line(cli):
    one_line_exit_2(cli("run"), "--suite")


# the condition policies' parameters never reach a method
def test_pickled_authors_file_names_the_offending_type(tmp_path, cli):
    class Payload:
        def __reduce__(self):
            return (getattr, (tmp_path, "touch"))

    path = tmp_path / "pickled.pt"
    torch.save({"param": torch.zeros(2, 3), "extra": Payload()}, path)
    line = one_line_exit_2(cli("import-authors", str(path), "--task", "reach", "--out", str(tmp_path / "out")),
                           "refused", "a pickled getattr")
    assert line.endswith("plain containers only)")
    assert not (tmp_path / "out").exists()


# 2. joining a plain `ray start --head` cluster works
@pytest.mark.slow
def test_address_of_a_plain_ray_start_head_cluster_works(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    # --block keeps the head in this process group, so killing the group stops it (and only it)
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    log = open(tmp_path / "head.log", "w")
    head = subprocess.Popen([ray, "start", "--head", "--block", f"--port={port}", "--num-cpus=1",
                             "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and head.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        assert head.poll() is None, (tmp_path / "head.log").read_text()[-2000:]
        code = ("from benchmark.executor import execute, shutdown\n"
                f"print(sum(o.result for o in execute(abs, [-1, -2], address='127.0.0.1:{port}')))\n"
                "shutdown()\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().splitlines()[-1] == "3"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


# 10. robot and task names of the domains: in a suite file, and in `collect`
@pytest.mark.parametrize("text,fragment", [
    ("tasks: [Lift]\nrobot: Kuka\nn_traj: [3]\nmethods: [mtbc]\n", "unknown robosuite robot 'Kuka'"),
    ("tasks: [reach]\nrobot: Panda\nn_traj: [3]\nmethods: [mtbc]\n", "unknown metaworld robot 'Panda'"),
    ("tasks: [Lfit]\nn_traj: [3]\nmethods: [mtbc]\n", "unknown task 'Lfit' (did you mean: Lift"),
    ("tasks: [Lift, reach]\nn_traj: [3]\nmethods: [mtbc]\n", "tasks of several domains (metaworld, robosuite)"),
    ("tasks: [Lift]\nrobot: [Sawyer]\nn_traj: [3]\nmethods: [mtbc]\n", "robot must be a robot name"),
])
def test_bad_robot_or_task_in_a_suite_file(tmp_path, text, fragment, cli):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    one_line_exit_2(cli("run", "--suite", str(path), "--profile", "smoke", "--dry-run", "--results", str(tmp_path)),
                    fragment)


def test_a_suite_task_that_the_profiles_zoo_lacks_exits_2_before_any_zoo_is_built(tmp_path, cli):
    result = cli("run", "--suite", "seen", "--profile", "smoke", "--results", str(tmp_path))
    one_line_exit_2(result, "suite seen evaluates window-open", "which profile smoke's metaworld zoo does not hold")
    assert not (tmp_path / "zoo").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--domain", "robosuite", "--tasks", "Lfit"], "unknown robosuite task 'Lfit'"),
    (["--domain", "robosuit"], "unknown domain 'robosuit' (did you mean: robosuite"),
    (["--tasks", "Lift"], "unknown task 'Lift'"),
])
def test_bad_domain_or_task_in_collect(tmp_path, args, fragment, cli):
    one_line_exit_2(cli("collect", "--profile", "smoke", "--results", str(tmp_path), *args), fragment)
    assert not (tmp_path / "zoo").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--domain", "robosuite", "--robot", "Kuka"], "unknown robosuite robot 'Kuka'"),
    (["--robot", "Panda"], "unknown metaworld robot 'Panda'"),
    (["--domain", "robosuit"], "unknown domain 'robosuit'"),
    (["--domain", "robosuite", "--tasks", "Lfit"], "unknown robosuite task 'Lfit'"),
    (["--policies", "0"], "--seeds and --policies must be >= 1"),
])
def test_bad_domain_robot_or_task_in_diagnose(tmp_path, args, fragment, cli):
    one_line_exit_2(cli("diagnose", "--profile", "smoke", "--results", str(tmp_path), *args), fragment)
    assert not (tmp_path / "zoo").exists()


def test_list_shows_each_domain_its_robots_and_each_suite_its_domain(cli):
    result = cli("list")
    assert result.returncode == 0, result.stderr
    assert "domain robosuite (robots: Panda, Sawyer; default Panda)" in result.stdout
    assert "seen tasks:   Lift, Door, NutAssemblyRound" in result.stdout
    assert "domain metaworld (robots: Sawyer; default Sawyer)" in result.stdout
    assert "[robosuite, Sawyer]" in result.stdout and "[metaworld]" in result.stdout


def test_settings_override_plans_only_those_cells_and_rejects_unknown_ones(tmp_path, cli):
    one_line_exit_2(cli(*SMOKE, "--settings", "loud", "--dry-run", "--results", str(tmp_path)),
                    "--settings: unknown setting(s) ['loud']")
    from benchmark.plan import plan, proposal_seed

    with pytest.raises(UserError, match=r"--settings: none given; valid: clean, noisy, successful$"):
        plan("smoke", "smoke", tmp_path, settings=[])
    clean = plan("smoke", "smoke", tmp_path)
    noisy = plan("smoke", "smoke", tmp_path, settings=["noisy"])
    assert {c.config["setting"] for c in noisy.cells} == {"noisy"} and len(noisy.cells) == len(clean.cells)
    assert [proposal_seed(c.config) for c in noisy.cells] == [proposal_seed(c.config) for c in clean.cells]
    listed = cli(*SMOKE, "--settings", "noisy", "--dry-run", "--results", str(tmp_path)).stdout
    assert "-noisy-s0-" in listed and "-clean-" not in listed


def test_n_traj_override_plans_the_full_grids_cells_at_those_counts(tmp_path, cli):
    one_line_exit_2(cli(*SMOKE, "--n-traj", "0", "--dry-run", "--results", str(tmp_path)),
                    "--n-traj must be a non-empty list of positive integers, got [0]")
    from benchmark.plan import plan

    full = plan("unseen", "dense", tmp_path)
    first = plan("unseen", "dense", tmp_path, n_traj=[100])
    assert {c.config["n_traj"] for c in full.cells} == {50, 100}
    assert {c.cell_id for c in first.cells} == {c.cell_id for c in full.cells if c.config["n_traj"] == 100}
