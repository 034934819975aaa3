"""Unit tests of the four baselines on a small synthetic zoo (no physics needed here): the
training loss falls, adaptation changes the policy, save -> load acts identically, the same
seed gives the same proposals, and proposals have the documented count and shapes.
Real MetaWorld data: tests/test_baselines_metaworld.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from baselines import care, dt, hypernet, mtbc
from benchmark.api import TrainingZoo
from benchmark.cells import method_view, proposal_problem
from benchmark.errors import UserError
from benchmark.policy import METAWORLD_SPEC, BatchedPolicies, GaussianActor
from benchmark.zoo.format import PolicySet, Zoo
from generators.base import ActorProposal, ParameterProposal

SPEC = METAWORLD_SPEC


def synthetic_set(tasks, per_task: int, horizon: int, seed: int, success_rate: float = 1.0) -> PolicySet:
    """Per task a fixed linear expert a = tanh(W_task s) on random-walk states; dense reward
    10 - |a - expert(s)|_1; the last two steps succeed with probability success_rate."""
    rng = np.random.default_rng(seed)
    experts = {t: np.random.default_rng(1000 + i).normal(0, 0.3, (SPEC.act_dim, SPEC.obs_dim))
               for i, t in enumerate(["reach", "button-press", "reach-wall"])}
    n = len(tasks) * per_task
    states = np.zeros((n, horizon, SPEC.obs_dim), np.float32)
    actions = np.zeros((n, horizon, SPEC.act_dim), np.float32)
    rewards = np.zeros((n, horizon), np.float32)
    successes = np.zeros((n, horizon), np.uint8)
    lengths = rng.integers(horizon // 2, horizon + 1, size=n).astype(np.int32)
    records = []
    for row in range(n):
        task = tasks[row // per_task]
        s = rng.normal(0, 1, SPEC.obs_dim)
        for t in range(lengths[row]):
            target = np.tanh(experts[task] @ s)
            a = np.clip(target + rng.normal(0, 0.05, SPEC.act_dim), -1, 1)
            states[row, t], actions[row, t], rewards[row, t] = s, a, 10 - np.abs(a - target).sum()
            s = 0.9 * s + rng.normal(0, 0.3, SPEC.obs_dim)
        succeeded = bool(rng.random() < success_rate)
        successes[row, lengths[row] - 2:lengths[row]] = succeeded
        records.append({"task": task, "source": "synthetic", "run_seed": row, "configuration": row, "step": 0,
                        "success": float(succeeded), "first_success_step": int(lengths[row] - 2) if succeeded else None})
    params = np.stack([GaussianActor(SPEC).flat_parameters() for _ in range(n)])
    return PolicySet(params, states, actions, rewards, successes, lengths, records)


@pytest.fixture(scope="module")
def zoo() -> Zoo:
    torch.manual_seed(0)
    checkpoints = synthetic_set(["reach", "button-press"], 10, 24, seed=0)
    conditions = synthetic_set(["reach", "button-press", "reach-wall"], 4, 24, seed=1, success_rate=0.5)
    manifest = {"zoo_id": "synthetic", "tasks": ["reach", "button-press"], "policy_spec": SPEC.to_dict()}
    return Zoo(root=Path("."), manifest=manifest, spec=SPEC, checkpoints=checkpoints, conditions=conditions)


# small but real training budgets, each baseline a few seconds
CASES = {
    "mtbc": (mtbc.MultiTaskBC, dict(mtbc.PRESETS["smoke"], steps=150), "loss"),
    "hypernet": (hypernet.HyperNetwork, dict(hypernet.PRESETS["smoke"], steps=40, hyper_hidden=32), "bc"),
    "dt": (dt.DecisionTransformer, dict(dt.PRESETS["smoke"], steps=60, batch_size=16, lr=1e-3), "loss"),
    "care": (care.CARE, dict(care.PRESETS["smoke"], offline_steps=150, hidden=64, batch_size=32), "critic_loss"),
}


@pytest.fixture(scope="module")
def trained(zoo):
    """name -> (method, fit statistics), each fitted once with seed 0."""
    out = {}
    for name, (cls, overrides, _) in CASES.items():
        method = cls(cls.Config(**overrides), SPEC)
        out[name] = (method, method.fit(TrainingZoo.of(zoo), seed=0))  # as the harness trains it
    return out


def config_with(name: str, **extra):
    """The test Config of baseline `name` with the `extra` fields it has (others ignored)."""
    cls, overrides, _ = CASES[name]
    fields = cls.Config.__dataclass_fields__
    return cls, cls.Config(**dict(overrides, **{k: v for k, v in extra.items() if k in fields}))


def actions_of(proposal, obs: np.ndarray) -> np.ndarray:
    """(K, B, act) deterministic actions of every proposed policy on obs (B, obs)."""
    if isinstance(proposal, ParameterProposal):
        return np.stack([BatchedPolicies(np.repeat(p[None], len(obs), 0), proposal.spec).act(obs)
                         for p in proposal.params])
    k = proposal.n_policies
    actor = proposal.make_actor(np.repeat(np.arange(k), len(obs)))
    return actor.act(np.tile(obs, (k, 1))).reshape(k, len(obs), -1)


OBS = np.random.default_rng(5).normal(0, 1, (6, SPEC.obs_dim)).astype(np.float32)


@pytest.mark.parametrize("name", CASES)
def test_training_loss_falls(trained, name):
    stats, key = trained[name][1], CASES[name][2]
    assert stats[f"{key}_last"] < 0.7 * stats[f"{key}_first"], stats


@pytest.mark.parametrize("name", CASES)
def test_proposals_have_the_documented_count_and_shapes(trained, zoo, name):
    method = trained[name][0]
    for task in ("reach", "reach-wall"):                       # a seen and an unseen task
        conditions = method_view(method, name, zoo.conditions.for_task(task).subset([0, 1, 2]))
        proposal = method.propose(conditions, seed=0)      # reads only what it declares, or raises
        assert proposal_problem(proposal, method.n_policies(3), SPEC) is None
        if name == "mtbc" or name == "hypernet":
            assert isinstance(proposal, ParameterProposal) and proposal.spec == SPEC
            assert proposal.params.shape == (3, SPEC.n_params) and proposal.params.dtype == np.float32
        else:
            assert isinstance(proposal, ActorProposal) and proposal.n_policies == 3
        actions = actions_of(proposal, OBS)
        assert actions.shape == (3, len(OBS), SPEC.act_dim)
        assert np.isfinite(actions).all() and np.abs(actions).max() <= 1.0


@pytest.mark.parametrize("name", ["mtbc", "care"])
def test_n_adapt_fixes_the_count(zoo, name):
    cls, cfg = config_with(name, n_adapt=2, offline_steps=2, steps=2)
    method = cls(cfg, SPEC)
    method.fit(zoo, seed=0)
    proposal = method.propose(zoo.conditions.for_task("reach"), seed=0)
    assert len(actions_of(proposal, OBS)) == 2


def test_adaptation_changes_the_policy(trained, zoo):
    conditions = zoo.conditions.for_task("reach-wall")
    for name in ("mtbc", "care", "dt"):
        method = trained[name][0]
        adapted = actions_of(method.propose(conditions, seed=0), OBS)
        method.config.finetune_steps, steps = 0, method.config.finetune_steps
        try:
            pretrained = actions_of(method.propose(conditions, seed=0), OBS)
        finally:
            method.config.finetune_steps = steps
        assert np.abs(adapted - pretrained).max() > 1e-4, name
    # the hypernetwork adapts by encoding only: different trajectories give different policies
    params = trained["hypernet"][0].propose(conditions, seed=0).params
    assert np.abs(params[0] - params[1]).max() > 1e-6


@pytest.mark.parametrize("name", CASES)
def test_save_load_acts_identically(trained, zoo, tmp_path, name):
    method = trained[name][0]
    method.save(tmp_path / name)
    loaded = type(method).load(tmp_path / name, method.config, SPEC)
    conditions = zoo.conditions.for_task("reach")
    np.testing.assert_array_equal(actions_of(method.propose(conditions, seed=3), OBS),
                                  actions_of(loaded.propose(conditions, seed=3), OBS))
    assert not any(p.suffix == ".pkl" for p in (tmp_path / name).iterdir())


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_result(zoo, name):
    cls, cfg = config_with(name, steps=3, offline_steps=3)
    runs = []
    for _ in range(2):
        method = cls(cfg, SPEC)
        method.fit(zoo, seed=7)
        runs.append(actions_of(method.propose(zoo.conditions.for_task("reach"), seed=1), OBS))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_mtbc_task_onehot_folds_into_the_family(zoo):
    method = mtbc.MultiTaskBC(mtbc.Config(**dict(mtbc.PRESETS["smoke"], task_onehot=True, finetune_steps=0)), SPEC)
    method.fit(zoo, seed=0)
    params = method.propose(zoo.conditions.for_task("reach").subset([0]), seed=0).params
    onehot = np.zeros((len(OBS), 2), np.float32)
    onehot[:, method.tasks.index("reach")] = 1
    with torch.no_grad():
        mean, _ = method.actor(torch.as_tensor(np.concatenate([OBS, onehot], 1))[None])
    np.testing.assert_allclose(BatchedPolicies(np.repeat(params, len(OBS), 0)).act(OBS),
                               torch.tanh(mean[0]).numpy(), atol=1e-5)


def test_hypernet_bias_hyperinit_emits_a_standard_init():
    model = hypernet.HyperPolicy(hypernet.Config(**hypernet.PRESETS["smoke"]), SPEC)
    theta = model.emit(torch.randn(5, model.to_latent.out_features)).detach().numpy()
    np.testing.assert_array_equal(theta, np.repeat(theta[:1], 5, 0))        # independent of z
    std = theta[0][:SPEC.hidden * SPEC.obs_dim].std()                        # linear1: U(+-1/sqrt(39))
    assert abs(std - 1 / np.sqrt(SPEC.obs_dim) / np.sqrt(3)) < 0.01


def test_care_metadata_embedding_is_deterministic_and_meaningful():
    reach, reach_wall, dial = (care.describe(t, 128) for t in ("reach", "reach-wall", "dial-turn"))
    np.testing.assert_array_equal(reach, care.describe("reach", 128))
    assert abs(np.linalg.norm(reach) - 1) < 1e-6
    assert reach @ reach_wall > reach @ dial + 0.2
    assert set(care.TASK_DESCRIPTIONS) >= set(__import__("benchmark.envs", fromlist=["ALL_TASKS"]).ALL_TASKS)


def test_bad_conditions_raise_user_errors(trained, zoo):
    method = trained["mtbc"][0]
    mixed = PolicySet.concatenate([zoo.conditions.for_task("reach"), zoo.conditions.for_task("reach-wall")], SPEC)
    with pytest.raises(UserError, match="one task"):  # CARE reads the task (mtbc without its one-hot does not)
        trained["care"][0].propose(mixed, seed=0)
    with pytest.raises(UserError, match="no trajectories"):
        method.propose(zoo.conditions.subset([]), seed=0)
    with pytest.raises(UserError, match="description"):
        care.describe("pick-place", 128)


def test_registry_names_resolve_lazily():
    from benchmark.api import METHODS

    assert METHODS.get("mtbc") is mtbc.MultiTaskBC and METHODS.get("care") is care.CARE
    assert METHODS.get("hypernet") is hypernet.HyperNetwork and METHODS.get("dt") is dt.DecisionTransformer


# -- Decision Transformer: time rows, prompts, success-to-go ------------------------------------
def test_dt_rollout_longer_than_any_pretraining_trajectory_uses_only_trained_time_rows(trained, zoo):
    method = trained["dt"][0]
    pretrained_rows = set(np.flatnonzero(method.model.time_rows_trained.numpy()).tolist())
    proposal = method.propose(zoo.conditions.for_task("reach-wall"), seed=0)
    actor = proposal.make_actor(np.arange(proposal.n_policies))
    used: set[int] = set()
    actor.model.embed_time.register_forward_hook(lambda module, args, out: used.update(args[0].unique().tolist()))
    obs = np.random.default_rng(0).normal(0, 1, (proposal.n_policies, SPEC.obs_dim)).astype(np.float32)
    steps = 3 * int(zoo.checkpoints.lengths.max())                  # far past every zoo trajectory
    for _ in range(steps):
        actor.act(obs)
    assert used and used <= pretrained_rows, (sorted(used - pretrained_rows), sorted(pretrained_rows))


def test_dt_success_to_go_and_prompts_from_successful_conditions(trained, zoo):
    method = trained["dt"][0]
    conditions = zoo.conditions.for_task("reach-wall")
    segments = dt.Segments(conditions, "cpu")
    first = conditions.first_success_steps
    for row in range(len(conditions)):
        expected = (np.arange(conditions.states.shape[1]) <= first[row]).astype(np.float32)   # first = -1: zeros
        np.testing.assert_array_equal(segments.rtg[row, :-1].numpy(), expected)
    successful = np.flatnonzero(first >= 0)
    assert 0 < len(successful) < len(conditions)                    # the fixture mixes both
    actor = method.propose(conditions, seed=0).make_actor(np.arange(len(conditions)))
    rtg, states = actor.prompt[0], actor.prompt[1]
    assert (rtg == 1).all()                                          # every prompt ends at a success
    for k in range(len(conditions)):
        row = successful[k % len(successful)]
        end = first[row]
        np.testing.assert_array_equal(states[k, -1].numpy(), conditions.states[row, end])
    # fallback: no condition succeeds -> policy k is prompted with the end of condition k
    failed = conditions.subset(np.flatnonzero(first < 0))
    actor = method.propose(failed, seed=0).make_actor(np.arange(len(failed)))
    assert (actor.prompt[0] == 0).all()
    for k in range(len(failed)):
        np.testing.assert_array_equal(actor.prompt[1][k, -1].numpy(), failed.states[k, failed.lengths[k] - 1])


def test_dt_normalises_states_with_zoo_statistics(trained, zoo):
    model = trained["dt"][0].model
    data = zoo.checkpoints
    valid = np.arange(data.states.shape[1])[None] < data.lengths[:, None]
    np.testing.assert_allclose(model.state_mean.numpy(), data.states[valid].mean(0), atol=1e-5)
    assert (model.state_std.numpy() >= trained["dt"][0].config.state_std_floor).all()


# -- CARE: finetuning reward on the pretraining scale, one temperature per task ---------------
def test_care_success_target_is_not_below_the_pretraining_value_scale(trained, zoo):
    method = trained["care"][0]
    cfg, data = method.config, zoo.checkpoints
    # the values pretraining taught: the zoo's discounted dense returns and the critic's Q on zoo transitions
    returns = hypernet.discounted_returns(data.rewards * cfg.reward_scale, data.lengths, cfg.gamma)
    metadata = torch.as_tensor(method._metadata(data.tasks))[None]
    with torch.no_grad():
        q = torch.min(*method.agent.critic(torch.as_tensor(data.states[:, 0])[None], metadata,
                                           torch.as_tensor(data.actions[:, 0])[None]))
    conditions = zoo.conditions.for_task("reach")
    reward, done, spans = method.finetune_transitions(conditions)
    first = conditions.first_success_steps
    rows = np.flatnonzero(first >= 0)
    assert len(rows) and done.sum() == len(rows) and (done[rows, first[rows]] == 1).all()
    assert (spans[rows] == first[rows] + 1).all()                   # nothing after the first success is used
    # the TD target at the success steps, computed by the update's own code
    updater = care.SacUpdater(method.agent.replicate(1, 0.0), cfg, SPEC.act_dim)
    y = updater.target(torch.as_tensor(method._metadata(conditions.tasks[rows]))[None],
                       torch.as_tensor(reward[rows, first[rows]])[None],
                       torch.as_tensor(conditions.states[rows, first[rows]])[None],
                       torch.as_tensor(done[rows, first[rows]])[None], torch.zeros(1, len(rows), dtype=torch.int64))
    assert float(y.min()) >= returns.max() and float(y.min()) >= float(q.max()), (float(y.min()), returns.max(), float(q.max()))


def test_care_has_one_temperature_per_training_task(trained, zoo):
    method = trained["care"][0]
    assert method.tasks == ["button-press", "reach"]
    log_alpha = method.agent.log_alpha.detach()
    assert log_alpha.shape == (1, 2) and float((log_alpha[0, 0] - log_alpha[0, 1]).abs()) > 0
    assert care.Config().trunk_layers == 3 and care.Config().encoder_hidden == 50     # mtrl's MetaWorld CARE


def test_care_train_tasks_restricts_pretraining_and_names_unknown_tasks(zoo):
    from benchmark.api import set_progress_sink

    config = dict(care.PRESETS["smoke"], offline_steps=2, train_tasks=["reach"])
    method, reports = care.CARE(care.Config(**config), SPEC), []
    set_progress_sink(lambda *report: reports.append(report))
    try:
        method.fit(zoo, seed=0)
    finally:
        set_progress_sink(None)
    assert reports == [("offline SAC", 0, 2)]
    assert method.tasks == ["reach"] and method.agent.log_alpha.shape == (1, 1)
    with pytest.raises(UserError, match="train_tasks door-open not among"):
        care.CARE(care.Config(**dict(config, train_tasks=["door-open"])), SPEC).fit(zoo, seed=0)


def test_care_descriptions_are_mtrls_verbatim():
    assert care.TASK_DESCRIPTIONS["door-close"] == "Close a door with a revolvinig joint. Randomize door positions."
    assert care.TASK_DESCRIPTIONS["reach-wall"] == "Bypass a wall and reach a goal. Randomize goal positions."


# -- hypernetwork without rewards, declared inputs ---------------------------------------------
def test_hypernet_without_context_rewards_ignores_rewards(zoo):
    cls, cfg = config_with("hypernet", steps=3, context_rewards=False)
    method = cls(cfg, SPEC)
    method.fit(zoo, seed=0)
    conditions = zoo.conditions.for_task("reach")
    shuffled = conditions.subset(np.arange(len(conditions)))
    shuffled.rewards = np.random.default_rng(0).normal(0, 5, conditions.rewards.shape).astype(np.float32)
    np.testing.assert_array_equal(method.propose(conditions, seed=0).params, method.propose(shuffled, seed=0).params)
    assert cls.reads_for(cfg) == ("states", "actions") and "rewards" in hypernet.HyperNetwork.reads
    # with rewards (the default), changing them changes the policies
    rewarded = cls(config_with("hypernet", steps=3)[1], SPEC)
    rewarded.fit(zoo, seed=0)
    assert np.abs(rewarded.propose(conditions, seed=0).params - rewarded.propose(shuffled, seed=0).params).max() > 0


def test_methods_declare_what_they_read():
    assert dt.DecisionTransformer.reads == ("states", "actions", "successes")
    assert care.CARE.reads == ("states", "actions", "successes", "task")
    assert mtbc.MultiTaskBC.reads == ("states", "actions")
    assert mtbc.MultiTaskBC.reads_for(mtbc.Config(task_onehot=True)) == ("states", "actions", "task")
    assert mtbc.MultiTaskBC.reads_for(mtbc.Config()) == ("states", "actions")
