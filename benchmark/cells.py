"""Cell execution (in a worker): propose policies for one cell, check them, roll them out.

The method gets a ConditionView of the cell's condition trajectories: its declared `reads`
and nothing else, never the policies that produced them. Its proposal is checked before any
rollout (`checked_proposal`); an exception in `propose` or a refused proposal fails the cell
with one line naming the method and the cell (MethodFailure).
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.api import ActorProposal, ConditionView, ParameterProposal
from benchmark.errors import MethodFailure, one_line
from benchmark.novelty import policy_novelty
from benchmark.plan import Cell, ResolvedMethod, cell_conditions, proposal_seed
from benchmark.training import load_model
from benchmark.zoo.format import PolicySet, Zoo, load_zoo


@functools.lru_cache(maxsize=4)
def _cached_zoo(root: str) -> Zoo:
    return load_zoo(root)


@functools.lru_cache(maxsize=8)
def _cached_model(method: ResolvedMethod, directory: str, zoo_root: str):
    return load_model(method, Path(directory), _cached_zoo(zoo_root).spec)


def method_view(model, name: str, conditions: PolicySet) -> ConditionView:
    """The condition trajectories as the trained `model` (registered as `name`) may see them."""
    return ConditionView.of(conditions, name, type(model).reads_for(model.config))


def proposal_problem(proposal, expected: int, spec) -> str | None:
    """Why the harness refuses `proposal` for a cell that expects `expected` policies of
    the family `spec` (None if it accepts it): its kind, shape, dtype, values or count."""
    if isinstance(proposal, ParameterProposal):
        params = proposal.params
        if not isinstance(params, np.ndarray):
            return f"params is a {type(params).__name__}, not a numpy array"
        if proposal.spec != spec:
            return f"proposed policies of spec {proposal.spec}, the zoo has {spec}"
        if params.shape != (expected, spec.n_params):
            return f"params has shape {params.shape}, expected ({expected}, {spec.n_params})"
        if params.dtype != np.float32:
            return f"params has dtype {params.dtype}, expected float32"
        bad = ~np.isfinite(params)
        if bad.any():
            return (f"params has {int(bad.sum())} non-finite values in {int(bad.any(axis=1).sum())} "
                    f"of {expected} policies")
        return None
    if isinstance(proposal, ActorProposal):
        count = proposal.n_policies
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
            return f"n_policies is a {type(count).__name__}, not an integer"
        if count != expected:
            return f"proposed {count} policies, expected {expected}"
        if not callable(proposal.make_actor):
            return "make_actor is not callable"
        return None
    return f"propose returned a {type(proposal).__name__}, not a ParameterProposal or ActorProposal"


PROMPT_SOURCE = "generators.controls:PromptSource"
"""The one reference row whose proposal the harness fills in: the condition policies' own
parameters, which no method receives (matched by the model's class, which a plug-in cannot be)."""


def checked_proposal(model, name: str, where: str, conditions: PolicySet, seed: int, spec):
    """`model.propose` on the view of `conditions`, checked; MethodFailure (one line naming
    the method and `where`, the cell) if it raises or proposes what the harness refuses."""
    if f"{type(model).__module__}:{type(model).__qualname__}" == PROMPT_SOURCE:
        return ParameterProposal(conditions.params.copy(), spec)
    try:
        proposal = model.propose(method_view(model, name, conditions), seed=seed)
        expected = model.n_policies(len(conditions))
    except Exception as exc:
        raise MethodFailure(f"method {name}, {where}: propose raised {one_line(exc)}") from exc
    problem = proposal_problem(proposal, expected, spec)
    if problem:
        raise MethodFailure(f"method {name}, {where}: {problem}")
    return proposal


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities of the rows of a and b."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


NOVELTY_COLUMNS = ("l2_nearest_checkpoint", "aligned_l2_nearest_checkpoint", "aligned_nearest_checkpoint",
                   "action_gap_nearest_checkpoint")


def _policy_table(proposal, n_policies: int, zoo: Zoo, conditions: PolicySet, rows: np.ndarray,
                  task: str) -> pd.DataFrame:
    """One row per proposed policy: its condition row, parameter similarities (Fig. 11) and
    novelty (benchmark.novelty: raw and aligned distance to the zoo, action gap)."""
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
        for column, values in policy_novelty(proposal.params, zoo, task).items():
            policies[column] = values
    else:
        policies["cos_nearest_checkpoint"] = np.nan
        policies["nearest_checkpoint"] = -1
        policies["cos_condition"] = np.nan
        for column in NOVELTY_COLUMNS:
            policies[column] = -1 if column == "aligned_nearest_checkpoint" else np.nan
    return policies


def _kept_trajectories(result, prompts: Zoo, rows: np.ndarray) -> dict:
    """The full state trajectories kept for Figure 9, beside their condition trajectories (rows
    of the zoo `prompts` the cell drew them from)."""
    kept_ids = sorted(result.kept_states)
    if not kept_ids:
        return {}
    horizon = max(len(result.kept_states[k]) for k in kept_ids)
    states = np.zeros((len(kept_ids), horizon, prompts.spec.obs_dim), np.float32)
    for i, k in enumerate(kept_ids):
        states[i, :len(result.kept_states[k])] = result.kept_states[k]
    keep_conditions = rows[: len(kept_ids)]
    return dict(states=states, lengths=np.array([len(result.kept_states[k]) for k in kept_ids], np.int32),
                policy_ids=np.array(kept_ids, np.int32),
                condition_states=prompts.conditions.states[keep_conditions],
                condition_lengths=prompts.conditions.lengths[keep_conditions])


def run_cell(cell: Cell) -> dict:
    """Worker: propose policies for one cell and roll them out. Returns plain data."""
    import torch

    from benchmark.engine import evaluate

    config = cell.config
    zoo = _cached_zoo(cell.zoo_root)
    model, meta = _cached_model(cell.method, cell.model_dir, cell.zoo_root)
    prompts = _cached_zoo(cell.prompt_root)
    conditions, rows = cell_conditions(prompts, config)
    seed = proposal_seed(config)
    torch.manual_seed(seed)
    start = time.process_time()
    proposal = checked_proposal(model, config["method"], f"cell {cell.cell_id}", conditions, seed, zoo.spec)
    propose_s = time.process_time() - start
    settings = config["eval"]
    common = dict(robot=config.get("robot"), max_steps=settings["max_steps"], stop_at_success=settings["stop_at_success"],
                  policies_per_batch=cell.policies_per_batch,
                  keep_trajectories_of=tuple(range(settings["trajectories_kept"])))
    start = time.process_time()
    if isinstance(proposal, ParameterProposal):
        n_policies = len(proposal.params)
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies, params=proposal.params,
                          spec=zoo.spec, **common)
    else:
        n_policies = int(proposal.n_policies)
        result = evaluate(config["task"], tuple(config["configurations"]), n_policies,
                          make_actor=proposal.make_actor, **common)
    eval_s = time.process_time() - start
    episodes = pd.DataFrame(dict(
        policy_id=result.policy_id, config_index=result.config_index,
        configuration=np.asarray(config["configurations"])[result.config_index],
        success=result.success, first_success_step=result.first_success_step,
        **{"return": result.episode_return}, length=result.length))
    return dict(episodes=episodes.to_dict("list"),
                policies=_policy_table(proposal, n_policies, zoo, conditions, rows, config["task"]).to_dict("list"),
                trajectories=_kept_trajectories(result, prompts, rows),
                timings=dict(train_cpu_s=meta.get("train_cpu_s"), propose_s=round(propose_s, 3),
                             eval_cpu_s=round(eval_s, 3), env_steps=int(result.length.sum())))
