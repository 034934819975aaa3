"""The ceiling and floor of the tables: the scripted expert succeeds, random actions do not."""
import numpy as np

from baselines.bounds import RandomPolicy, ScriptedExpert
from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS


def _rollout(method, conditions):
    proposal = method.propose(conditions, seed=3)
    assert proposal.n_policies == len(conditions)
    return evaluate("reach", EVAL_CONFIGURATIONS, proposal.n_policies, make_actor=proposal.make_actor, max_steps=150)


def test_expert_is_the_ceiling_and_random_the_floor(tiny_zoo):
    conditions = tiny_zoo.conditions.for_task("reach").subset([0, 1])
    expert = _rollout(ScriptedExpert(ScriptedExpert.Config(), tiny_zoo.spec), conditions)
    assert expert.success.all()
    random_policy = RandomPolicy(RandomPolicy.Config(), tiny_zoo.spec)
    first, second = _rollout(random_policy, conditions), _rollout(random_policy, conditions)
    assert first.success.mean() < 0.5
    np.testing.assert_array_equal(first.episode_return, second.episode_return)
