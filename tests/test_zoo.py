import shutil
import subprocess
import sys

import numpy as np
import pytest

from benchmark.config import load_profile
from benchmark.envs import make_env
from benchmark.errors import UserError
from benchmark.policy import BatchedPolicies
from benchmark.rollout import rollout
from benchmark.zoo import collect
from benchmark.zoo.format import load_zoo


def test_tiny_zoo_has_what_the_profile_asks(tiny_zoo):
    assert tiny_zoo.manifest["seen_tasks"] == ["reach", "button-press"]
    for task in ("reach", "button-press"):
        assert len(tiny_zoo.checkpoints.for_task(task)) == 20
        assert len(tiny_zoo.conditions.for_task(task)) == 10
    assert len(tiny_zoo.checkpoints.for_task("reach-wall")) == 0
    assert len(tiny_zoo.conditions.for_task("reach-wall")) == 10
    prov = tiny_zoo.manifest["provenance"]
    assert prov["packages"]["metaworld"] == "3.1.1" and "code_version" in prov
    record = tiny_zoo.checkpoints.records[0]
    assert {"task", "source", "run_seed", "configuration", "step", "success"} <= set(record)


def test_every_checkpoint_marked_successful_succeeds_when_re_evaluated(tiny_zoo):
    ckpts = tiny_zoo.checkpoints
    for i in range(len(ckpts)):
        record = ckpts.records[i]
        assert record["success"] == 1.0
        policy = BatchedPolicies(ckpts.params[i:i + 1], tiny_zoo.spec)
        env = make_env(record["task"], record["configuration"])
        traj = rollout(env, lambda obs, policy=policy: policy.act(obs[None])[0], steps_after_success=0)
        assert traj.success, f"checkpoint {i} ({record['task']}) does not succeed"
        stored = ckpts.states[i, :ckpts.lengths[i]]
        # numpy and torch forwards differ in the last bits; physics keeps it small
        np.testing.assert_allclose(traj.states, stored[:traj.length], atol=1e-3)


def test_second_build_is_reused_without_collecting(tiny_zoo, test_results, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("collector called for a cached zoo")

    monkeypatch.setattr(collect, "execute", fail)
    profile = load_profile("smoke")
    again = collect.build_zoo(profile.name, profile.zoo, test_results)
    assert again.root == tiny_zoo.root


def test_aligned_zoo_is_derived_from_the_unaligned_one_without_collecting(tiny_zoo, test_results, monkeypatch):
    from benchmark.align import relative_l2

    def fail(*args, **kwargs):
        raise AssertionError("collector called for an aligned zoo whose unaligned zoo is built")

    monkeypatch.setattr(collect, "execute", fail)
    settings = {**load_profile("smoke").zoo, "align_checkpoints": True}
    aligned = collect.build_zoo("smoke-aligned", settings, test_results)  # another profile's name
    assert aligned.manifest["aligned_from"] == tiny_zoo.manifest["zoo_id"] != aligned.manifest["zoo_id"]
    before, after = tiny_zoo.checkpoints, aligned.checkpoints
    assert after.records == before.records and aligned.conditions.records == tiny_zoo.conditions.records
    np.testing.assert_array_equal(after.states, before.states)
    np.testing.assert_array_equal(aligned.conditions.params, tiny_zoo.conditions.params)
    # the same policies: equal actions on the zoo's own states, though the vectors moved
    obs = before.states[:, 5]
    np.testing.assert_allclose(BatchedPolicies(after.params, aligned.spec).act(obs),
                               BatchedPolicies(before.params, tiny_zoo.spec).act(obs), atol=1e-5)
    runs = np.array([(r["task"], r["run_seed"]) for r in before.records], dtype=object)
    for task in sorted(set(before.tasks)):
        first = [np.flatnonzero((runs[:, 0] == task) & (runs[:, 1] == seed))[0] for seed in (0, 1)]
        between = [relative_l2(p[first[1]], p[first[0]]) for p in (before.params, after.params)]
        assert between[1] < 0.9 * between[0], (task, between)  # the two runs came closer
        run = np.flatnonzero((runs[:, 0] == task) & (runs[:, 1] == 0))
        np.testing.assert_allclose(relative_l2(after.params[run[1:]], after.params[run[0]]),  # one run: as before
                                   relative_l2(before.params[run[1:]], before.params[run[0]]), rtol=1e-5)
    assert collect.build_zoo("smoke-aligned", settings, test_results).root == aligned.root


def test_interrupted_build_resumes_from_its_shards(tmp_path, monkeypatch):
    settings = {"seen_tasks": ["reach"], "unseen_tasks": [], "runs_per_seen_task": 2,
                "distill": {"checkpoints_per_run": 2, "conditions_per_run": 1}}
    real = collect._collect_one
    calls = []

    def crash_on_second(job):
        calls.append(job[0].name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(collect, "_collect_one", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        collect.build_zoo("t", settings, tmp_path)
    monkeypatch.setattr(collect, "_collect_one", lambda job: calls.append(job[0].name) or real(job))
    zoo = collect.build_zoo("t", settings, tmp_path)
    assert calls == ["reach__0", "reach__1", "reach__1"]
    assert len(zoo.checkpoints) == 4


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True, text=True)


def _damage(root, how):
    if how == "truncated":
        path = root / "checkpoints.safetensors"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "corrupt":
        (root / "conditions.safetensors").write_bytes(b"\x00garbage" * 100)
    elif how == "manifest":
        (root / "manifest.json").write_text("{not json")
    elif how in ("nan", "shape"):
        from safetensors.numpy import load_file, save_file
        arrays = load_file(str(root / "checkpoints.safetensors"))
        if how == "nan":
            arrays["params"][3, 7] = np.nan
        else:
            arrays["params"] = arrays["params"][:, :-1].copy()
        save_file(arrays, str(root / "checkpoints.safetensors"))


@pytest.mark.parametrize("how,message", [
    ("truncated", "truncated"), ("corrupt", "unreadable"), ("manifest", "not valid JSON"),
    ("nan", "non-finite"), ("shape", "shape"),
])
def test_damaged_zoo_gives_one_line_error_and_exit_2(tiny_zoo, tmp_path, how, message):
    root = tmp_path / "zoo"
    shutil.copytree(tiny_zoo.root, root, ignore=shutil.ignore_patterns("shards"))
    _damage(root, how)
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    result = _cli("check-zoo", str(root))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert before == {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    with pytest.raises(UserError):
        load_zoo(root)


def test_check_zoo_on_a_good_zoo(tiny_zoo):
    result = _cli("check-zoo", str(tiny_zoo.root))
    assert result.returncode == 0 and "valid" in result.stdout


def test_bad_profile_and_task_exit_2(tmp_path):
    for args, text in ((["collect", "--profile", "huge"], "unknown profile"),
                       (["collect", "--profile", "smoke", "--tasks", "fly", "--results", str(tmp_path)], "unknown task")):
        result = _cli(*args)
        assert result.returncode == 2 and text in result.stderr


def test_shared_initialisation_is_one_per_task_and_leaves_the_run_stream_alone():
    import torch

    from benchmark.policy import PolicySpec
    from benchmark.zoo.distill import shared_initialisation

    spec = PolicySpec()
    torch.manual_seed(1)
    first = shared_initialisation("reach", spec).flat_parameters()
    after_first = torch.rand(3)
    torch.manual_seed(2)
    second = shared_initialisation("reach", spec).flat_parameters()
    np.testing.assert_array_equal(first, second)          # whatever the run's own seed
    assert not np.allclose(first, shared_initialisation("door-open", spec).flat_parameters())
    torch.manual_seed(1)
    torch.testing.assert_close(torch.rand(3), after_first)  # the run's stream is as without it


def test_harvest_lr_applies_once_the_learner_succeeds():
    from benchmark.policy import PolicySpec
    from benchmark.zoo.distill import DistillConfig, run_distill

    base = dict(checkpoints_per_run=3, conditions_per_run=2, max_updates=3000)
    default = run_distill("reach", 5, 5, DistillConfig(**base), PolicySpec())
    same_rate = run_distill("reach", 5, 5, DistillConfig(**base, harvest_lr=1e-3), PolicySpec())
    np.testing.assert_array_equal(default[0].params, same_rate[0].params)
    # frozen after the first success: every later snapshot equals the first, so only it is kept
    frozen, _, stats = run_distill("reach", 5, 5, DistillConfig(**base, harvest_lr=0.0), PolicySpec())
    assert len(default[0]) == 3 and len(frozen) == 1 and stats["updates"] >= 3000


def test_a_warm_start_trains_on_further_demonstrations_before_dagger():
    """warm_start_demos / warm_start_updates: the first DAgger iteration (and so the first
    before-success condition) comes after the warm-start updates; without them nothing changes."""
    from benchmark.policy import PolicySpec
    from benchmark.zoo.distill import DistillConfig, run_distill

    base = dict(checkpoints_per_run=1, conditions_per_run=1, max_updates=400)
    cold = run_distill("reach", 5, 5, DistillConfig(**base), PolicySpec())
    no_warm_start = run_distill("reach", 5, 5, DistillConfig(**base, warm_start_demos=0, warm_start_updates=0),
                                PolicySpec())
    warm = run_distill("reach", 5, 5, DistillConfig(**base, warm_start_demos=2, warm_start_updates=100), PolicySpec())
    np.testing.assert_array_equal(cold[1].params, no_warm_start[1].params)
    assert cold[1].records[0]["step"] == 75 and warm[1].records[0]["step"] == 175
    assert not np.array_equal(cold[1].params, warm[1].params)
