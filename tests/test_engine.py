"""The engine's lockstep rollouts equal plain single-env rollouts, on both paths."""
import numpy as np

from benchmark.engine import evaluate
from benchmark.envs import EVAL_CONFIGURATIONS, make_env
from benchmark.policy import BatchedPolicies
from benchmark.rollout import rollout


class FamilyActor:
    """The generic `act` path driven by family parameters (to compare the two paths)."""

    def __init__(self, params, spec, policy_ids):
        self.policies = BatchedPolicies(params[policy_ids], spec)

    def act(self, obs):
        return self.policies.act(obs)


def test_lockstep_equals_single_env_rollouts_and_generic_path(tiny_zoo):
    zoo = tiny_zoo
    params = zoo.checkpoints.for_task("reach").params[:3]
    configs = EVAL_CONFIGURATIONS[:3]
    batched = evaluate("reach", configs, 3, params=params, spec=zoo.spec, policies_per_batch=2,
                       keep_trajectories_of=(1,))
    generic = evaluate("reach", configs, 3, make_actor=lambda ids: FamilyActor(params, zoo.spec, ids),
                       policies_per_batch=2)
    assert len(batched.success) == 9
    for field in ("policy_id", "config_index", "success", "first_success_step", "length"):
        np.testing.assert_array_equal(getattr(batched, field), getattr(generic, field))
    np.testing.assert_allclose(batched.episode_return, generic.episode_return, rtol=1e-6)
    for row in range(9):
        k, c = batched.policy_id[row], batched.config_index[row]
        single = BatchedPolicies(params[k:k + 1], zoo.spec)
        traj = rollout(make_env("reach", configs[c]), lambda obs, single=single: single.act(obs[None])[0],
                       steps_after_success=0)
        assert traj.first_success_step == batched.first_success_step[row]
        assert traj.length == batched.length[row]
        np.testing.assert_allclose(traj.rewards.sum(), batched.episode_return[row], rtol=1e-5)
        if k == 1 and c == 0:
            np.testing.assert_allclose(batched.kept_states[1], traj.states, atol=1e-6)


def test_success_matrix_places_each_episode_by_policy_and_configuration():
    from benchmark.engine import EpisodeBatchResult

    policy, config = np.array([1, 0, 2, 1, 0, 2]), np.array([1, 0, 1, 0, 1, 0])
    success = np.array([True, False, True, False, True, False])
    empty = np.zeros(6)
    result = EpisodeBatchResult(policy, config, success, empty, empty, empty, {})
    assert result.success_matrix().tolist() == [[False, True], [False, True], [False, True]]
