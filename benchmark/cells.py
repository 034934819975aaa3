"""Cell execution (in a worker): propose policies for one cell and roll them out.

The method gets the cell's condition trajectories with their policies' parameters removed
(an (n, 0) array): what it may read is its `reads`, never the answer it should generate.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.api import ParameterProposal
from benchmark.errors import UserError
from benchmark.plan import Cell, ResolvedMethod, cell_conditions, proposal_seed
from benchmark.training import load_model
from benchmark.zoo.format import PolicySet, Zoo, load_zoo


@functools.lru_cache(maxsize=4)
def _cached_zoo(root: str) -> Zoo:
    return load_zoo(root)


@functools.lru_cache(maxsize=8)
def _cached_model(method: ResolvedMethod, directory: str, zoo_root: str):
    return load_model(method, Path(directory), _cached_zoo(zoo_root).spec)


def without_params(conditions: PolicySet) -> PolicySet:
    """The condition trajectories as a method sees them: parameters replaced by an (n, 0) array."""
    return dataclasses.replace(conditions, params=np.zeros((len(conditions), 0), np.float32))


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities of the rows of a and b."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def _policy_table(proposal, n_policies: int, zoo: Zoo, conditions: PolicySet, rows: np.ndarray) -> pd.DataFrame:
    """One row per proposed policy: its condition row and parameter similarities (Fig. 11)."""
    paired = n_policies == len(rows)  # one policy per condition trajectory; otherwise no pairing
    policies = pd.DataFrame(dict(
        policy_id=np.arange(n_policies), condition_row=rows if paired else -1,
        condition_first_success_step=conditions.first_success_steps if paired else -1))
    if isinstance(proposal, ParameterProposal):
        to_ckpt = _cosines(proposal.params, zoo.checkpoints.params)
        policies["cos_nearest_checkpoint"] = to_ckpt.max(axis=1)
        policies["nearest_checkpoint"] = to_ckpt.argmax(axis=1)
        policies["cos_condition"] = (np.sum(_cosines(proposal.params, conditions.params) * np.eye(n_policies), axis=1)
                                     if paired else np.nan)
    else:
        policies["cos_nearest_checkpoint"] = np.nan
        policies["nearest_checkpoint"] = -1
        policies["cos_condition"] = np.nan
    return policies


def _kept_trajectories(result, zoo: Zoo, rows: np.ndarray) -> dict:
    """The full state trajectories kept for Figure 9, beside their condition trajectories."""
    kept_ids = sorted(result.kept_states)
    if not kept_ids:
        return {}
    horizon = max(len(result.kept_states[k]) for k in kept_ids)
    states = np.zeros((len(kept_ids), horizon, zoo.spec.obs_dim), np.float32)
    for i, k in enumerate(kept_ids):
        states[i, :len(result.kept_states[k])] = result.kept_states[k]
    keep_conditions = rows[: len(kept_ids)]
    return dict(states=states, lengths=np.array([len(result.kept_states[k]) for k in kept_ids], np.int32),
                policy_ids=np.array(kept_ids, np.int32),
                condition_states=zoo.conditions.states[keep_conditions],
                condition_lengths=zoo.conditions.lengths[keep_conditions])


def run_cell(cell: Cell) -> dict:
    """Worker: propose policies for one cell and roll them out. Returns plain data."""
    import torch

    from benchmark.engine import evaluate

    config = cell.config
    zoo = _cached_zoo(cell.zoo_root)
    model, meta = _cached_model(cell.method, cell.model_dir, cell.zoo_root)
    conditions, rows = cell_conditions(zoo, config)
    seed = proposal_seed(config)
    torch.manual_seed(seed)
    start = time.process_time()
    proposal = model.propose(without_params(conditions), seed=seed)
    propose_s = time.process_time() - start
    settings = config["eval"]
    common = dict(robot=config.get("robot"), max_steps=settings["max_steps"], stop_at_success=settings["stop_at_success"],
                  policies_per_batch=cell.policies_per_batch,
                  keep_trajectories_of=tuple(range(settings["trajectories_kept"])))
    start = time.process_time()
    if isinstance(proposal, ParameterProposal):
        if proposal.spec != zoo.spec:
            raise UserError(f"{config['method']} proposed policies of spec {proposal.spec}, the zoo has {zoo.spec}")
        n_policies = len(proposal.params)
        if n_policies == 0:
            raise ValueError(f"{config['method']} proposed no policies")
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies, params=proposal.params,
                          spec=zoo.spec, **common)
    else:
        n_policies = proposal.n_policies
        if n_policies == 0:
            raise ValueError(f"{config['method']} proposed no policies")
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies,
                          make_actor=proposal.make_actor, **common)
    eval_s = time.process_time() - start
    episodes = pd.DataFrame(dict(
        policy_id=result.policy_id, config_index=result.config_index,
        configuration=np.asarray(config["configurations"])[result.config_index],
        success=result.success, first_success_step=result.first_success_step,
        **{"return": result.episode_return}, length=result.length))
    return dict(episodes=episodes.to_dict("list"),
                policies=_policy_table(proposal, n_policies, zoo, conditions, rows).to_dict("list"),
                trajectories=_kept_trajectories(result, zoo, rows),
                timings=dict(train_cpu_s=meta.get("train_cpu_s"), propose_s=round(propose_s, 3),
                             eval_cpu_s=round(eval_s, 3), env_steps=int(result.length.sum())))
