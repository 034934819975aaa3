"""Condition trajectories drawn as the paper draws them ('training-window') or before the
first success ('before-success', the older recipe), and trajectories that are never padding
inside what the embedding reads."""
from __future__ import annotations

import pytest

from benchmark.config import load_profile
from benchmark.errors import UserError
from benchmark.zoo.collect import ZooSettings, zoo_dir
from benchmark.zoo.distill import DistillConfig, condition_updates

EMBEDDING_WINDOW = 60
"""Steps of a trajectory Make-An-Agent's embedding reads (its traj_steps)."""


def test_profiles_without_the_new_keys_keep_their_zoos():
    """The before-success recipe is the default, and a default is not hashed: the zoos (and
    every cell id that names them) built before the window recipe existed are found as they are."""
    for name, expected in (("smoke", "smoke-95bd70697e97"), ("mini", "mini-03fd25334c53")):
        profile = load_profile(name)
        assert zoo_dir("r", profile.zoo_profile, ZooSettings.from_profile(profile.zoo)).name == expected
    dense = ZooSettings.from_profile(load_profile("dense").zoo).distill_config("reach")
    assert dense.condition_recipe == "training-window" and dense.min_steps >= EMBEDDING_WINDOW


def test_window_updates_are_evenly_spaced_over_the_window():
    config = DistillConfig(conditions_per_run=4, max_updates=10_000, condition_window=0.4,
                           condition_recipe="training-window")
    assert condition_updates(config) == [1000, 2000, 3000, 4000]


@pytest.mark.parametrize("values,fragment", [
    ({"condition_recipe": "buffer"}, "condition_recipe 'buffer'; valid: before-success, training-window"),
    ({"condition_window": 0.0}, "condition_window must lie in (0, 1]"),
    ({"no_such_key": 1}, "unknown distill key(s) no_such_key"),
])
def test_bad_recipe_settings_are_one_line(values, fragment):
    with pytest.raises(UserError) as info:
        ZooSettings.from_profile({"seen_tasks": ["reach"], "unseen_tasks": [], "distill": values})
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["before-success", "training-window"])
def test_conditions_come_from_their_window_and_nothing_read_is_padding(recipe):
    from benchmark.envs import train_configuration
    from benchmark.policy import METAWORLD_SPEC
    from benchmark.zoo.distill import run_distill

    config = DistillConfig(checkpoints_per_run=3, conditions_per_run=4, max_updates=3000, condition_window=0.5,
                           condition_recipe=recipe, min_steps=EMBEDDING_WINDOW)
    checkpoints, conditions, stats = run_distill("reach", 0, train_configuration(0), config, METAWORLD_SPEC)
    steps = [r["step"] for r in conditions.records]
    first = stats["first_success_update"]
    assert len(steps) == 4 and first is not None and len(checkpoints) == 3
    if recipe == "training-window":
        for step, due in zip(steps, condition_updates(config)):  # recorded at the first chunk end past each
            assert due <= step < due + max(config.updates_per_iteration, config.snapshot_every)
        assert steps[-1] > first and max(steps) <= config.condition_window * config.max_updates + config.snapshot_every
    else:
        assert max(steps) <= first
    for data in (checkpoints, conditions):
        assert data.lengths.min() >= EMBEDDING_WINDOW  # the embedding's window is never padding
        for row, record in enumerate(data.records):
            if record["first_success_step"] is not None:  # and the states after success are stored
                assert data.lengths[row] >= record["first_success_step"] + config.steps_after_success
