"""The baselines on real MetaWorld data (the `tiny_zoo` fixture: expert distillation on reach
and button-press, configurations 0 and 1, plus reach-wall conditions): trained baselines
succeed on their seen tasks in the configurations they saw, the DT actor keeps its history
over full episodes, and CARE's online SAC path runs on real envs."""
from __future__ import annotations

import numpy as np
import torch

from baselines import care, dt, mtbc
from benchmark.engine import evaluate
from generators.base import ParameterProposal


def seen_configuration_success(method, zoo, task: str, n_conditions: int = 4) -> float:
    """Mean success of the proposals for `task` in the configurations of its zoo checkpoints."""
    proposal = method.propose(zoo.conditions.for_task(task).subset(np.arange(n_conditions)), seed=0)
    configurations = tuple(sorted({r["configuration"] for r in zoo.checkpoints.for_task(task).records}))
    if isinstance(proposal, ParameterProposal):
        outcome = evaluate(task, configurations, len(proposal.params), params=proposal.params, spec=proposal.spec)
    else:
        outcome = evaluate(task, configurations, proposal.n_policies, make_actor=proposal.make_actor)
    return float(outcome.success.mean())


def test_mtbc_succeeds_on_its_seen_tasks(tiny_zoo):
    torch.set_num_threads(1)
    method = mtbc.MultiTaskBC(mtbc.Config(**dict(mtbc.PRESETS["mini"], steps=2_000, finetune_steps=30)), tiny_zoo.spec)
    stats = method.fit(tiny_zoo, seed=0)
    assert stats["loss_last"] < stats["loss_first"]
    success = {task: seen_configuration_success(method, tiny_zoo, task) for task in ("reach", "button-press")}
    assert max(success.values()) >= 0.25, success


def test_dt_actor_keeps_history_over_a_full_metaworld_episode(tiny_zoo):
    torch.set_num_threads(1)
    method = dt.DecisionTransformer(dt.Config(**dict(dt.PRESETS["smoke"], steps=20)), tiny_zoo.spec)
    method.fit(tiny_zoo, seed=0)
    proposal = method.propose(tiny_zoo.conditions.for_task("reach-wall").subset([0, 1]), seed=0)
    outcome = evaluate("reach-wall", (1_000_000,), proposal.n_policies, make_actor=proposal.make_actor,
                       max_steps=40, stop_at_success=False)
    assert outcome.length.tolist() == [40, 40]                     # longer than the context (5 steps)


def test_care_online_sac_runs_on_real_envs(tiny_zoo):
    torch.set_num_threads(1)
    cfg = care.Config(**dict(care.PRESETS["smoke"], online_steps_per_task=30, learning_starts=24, batch_size=8))
    method = care.CARE(cfg, tiny_zoo.spec)
    stats = method.fit(tiny_zoo, seed=0)
    assert stats["online"] and stats["updates"] == 30 - 24
    assert np.isfinite(stats["critic_loss_last"])
    proposal = method.propose(tiny_zoo.conditions.for_task("reach").subset([0, 1]), seed=0)
    actions = proposal.make_actor(np.array([0, 1])).act(tiny_zoo.conditions.states[:2, 0])
    assert actions.shape == (2, 4) and np.abs(actions).max() <= 1
