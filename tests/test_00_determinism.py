"""Determinism first (tianshou's lesson): the same seed gives the same zoo run, bit for bit."""
import numpy as np

from benchmark.policy import PolicySpec
from benchmark.zoo.distill import DistillConfig, run_distill


def test_same_seed_same_distillation_run():
    config = DistillConfig(checkpoints_per_run=3, conditions_per_run=2, max_updates=5000)
    a = run_distill("reach", 5, 5, config, PolicySpec())
    b = run_distill("reach", 5, 5, config, PolicySpec())
    for set_a, set_b in zip(a[:2], b[:2]):
        assert len(set_a) == len(set_b) > 0
        np.testing.assert_array_equal(set_a.params, set_b.params)
        np.testing.assert_array_equal(set_a.states, set_b.states)
    c = run_distill("reach", 6, 6, config, PolicySpec())
    assert not np.array_equal(a[0].params[0], c[0].params[0])
