"""What a cell hands a method: its condition trajectories (clean or noisy) and its seed."""
import numpy as np

from benchmark.plan import cell_conditions, condition_rows, proposal_seed


def _config(**overrides):
    config = {"suite": "unseen", "method": "mtbc", "method_config": {"epochs": 3}, "zoo_id": "z",
              "task": "reach", "n_traj": 4, "setting": "clean", "seed": 0, "noise_std": 0.0,
              "cell_id_base": "abc", "code_version": "v1"}
    return {**config, **overrides}


def test_condition_rows_are_seeded_and_nested(tiny_zoo):
    five, three = condition_rows(tiny_zoo, "reach", 5, 0), condition_rows(tiny_zoo, "reach", 3, 0)
    assert list(three) == list(five[:3]) and len(set(five)) == 5
    assert (tiny_zoo.conditions.tasks[five] == "reach").all()
    assert list(condition_rows(tiny_zoo, "reach", 5, 1)) != list(five)


def test_successful_setting_keeps_the_clean_order_of_the_rows_that_succeed():
    from types import SimpleNamespace

    import pytest

    successes = np.zeros((12, 4), np.uint8)
    successes[[1, 4, 5, 9], 2] = 1                      # 4 of the 12 reach rows succeed at some step
    zoo = SimpleNamespace(zoo_id="z", conditions=SimpleNamespace(tasks=np.array(["reach"] * 12), successes=successes))
    clean = condition_rows(zoo, "reach", 12, 0)
    two, every = (condition_rows(zoo, "reach", n, 0, successful_only=True) for n in (2, 10))
    assert list(every) == [r for r in clean if r in (1, 4, 5, 9)]  # all four, once each, in the clean order
    assert list(two) == list(every[:2])
    with pytest.raises(ValueError, match="no condition trajectory of reach succeeds"):
        condition_rows(SimpleNamespace(zoo_id="z", conditions=SimpleNamespace(
            tasks=zoo.conditions.tasks, successes=np.zeros_like(successes))), "reach", 3, 0, successful_only=True)


def test_noisy_conditions_are_the_same_for_every_method(tiny_zoo):
    clean, rows = cell_conditions(tiny_zoo, _config())
    noisy = {m: cell_conditions(tiny_zoo, _config(method=m, setting="noisy", noise_std=0.1, cell_id_base=m))[0]
             for m in ("mtbc", "make-an-agent")}
    np.testing.assert_array_equal(noisy["mtbc"].actions, noisy["make-an-agent"].actions)
    np.testing.assert_array_equal(noisy["mtbc"].states, clean.states)
    valid = np.arange(clean.actions.shape[1])[None, :] < clean.lengths[:, None]
    change = np.abs(noisy["mtbc"].actions - clean.actions)
    assert change[valid].mean() > 0.03 and change[~valid].max() == 0.0
    assert np.abs(noisy["mtbc"].actions).max() <= 1.0
    fewer, _ = cell_conditions(tiny_zoo, _config(setting="noisy", noise_std=0.1, n_traj=2))
    np.testing.assert_array_equal(fewer.actions, noisy["mtbc"].actions[:2])


def test_proposal_seed_pairs_cells_across_suites_settings_and_commits():
    seed = proposal_seed(_config())
    assert seed == proposal_seed(_config(suite="noisy", setting="noisy", cell_id_base="x", code_version="v2"))
    assert seed == proposal_seed(_config(method="mtbc[epochs=3]"))  # a variant equal to the default
    for change in ({"task": "button-press"}, {"seed": 1}, {"n_traj": 5}, {"method_config": {"epochs": 4}},
                   {"method": "care"}, {"zoo_id": "y"}):
        assert proposal_seed(_config(**change)) != seed, change
