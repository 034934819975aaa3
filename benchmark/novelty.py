"""How new is a proposed policy? Its distance from the zoo in parameters, raw and aligned, and
in behaviour, beside the same distances between the zoo's own checkpoints.

The memorisation critique of weight generators asks for distances after aligning hidden units
(a permuted copy of a checkpoint is the same function, at a large raw distance), measured
against the distance one training checkpoint has to its nearest other one. Per proposed policy
(`policy_novelty`):

    l2_nearest_checkpoint          relative L2 to the nearest zoo checkpoint, raw
    aligned_l2_nearest_checkpoint  relative L2 to the nearest zoo checkpoint after aligning the
                                   policy's hidden units to it (benchmark.align)
    aligned_nearest_checkpoint     that checkpoint's zoo row
    action_gap_nearest_checkpoint  mean |action difference| from that checkpoint on the task's
                                   probe states (`probe_states`): behavioural novelty

The zoo is every checkpoint (of every seen task), as for the cosine columns. The reference
(`novelty_reference`) gives the same quantities from a sample of each seen task's checkpoints
to their nearest checkpoint in the same run and in another run.
"""
from __future__ import annotations

import json
import zlib

import numpy as np

from benchmark.align import nearest_neighbour_reference, nearest_raw_and_aligned
from benchmark.policy import BatchedPolicies, PolicySpec
from benchmark.provenance import atomic_write_json
from benchmark.zoo.format import Zoo

PROBE_TRAJECTORIES = 10
"""Condition trajectories of a task whose states make its probe set."""
PROBE_STEPS = 20
"""States taken from each, evenly over its valid steps."""
CANDIDATES = 8
"""Checkpoints aligned per policy: its 8 nearest by raw distance (benchmark.align.nearest_raw_and_aligned;
None aligns to every checkpoint). The aligned distance is then an upper bound that never exceeds
the raw one: a permuted copy of a checkpoint far from it in raw distance would be missed, which
matters for a generator that permutes hidden units, not for one that stays near a zoo run."""
REFERENCE_SAMPLE = 30
"""Checkpoints per seen task whose nearest neighbours make the reference."""
REFERENCE_FILE = "novelty_reference.json"
"""Where a zoo's reference is cached, in the zoo's directory (computed once per zoo)."""


def probe_states(zoo: Zoo, task: str) -> np.ndarray:
    """(S, obs_dim) the task's probe states: PROBE_STEPS states evenly over each of a fixed draw
    (seeded by the task name) of PROBE_TRAJECTORIES of its condition trajectories, or of its
    checkpoints' trajectories when it has no conditions. The same for every cell of the task."""
    source = zoo.conditions if (zoo.conditions.tasks == task).any() else zoo.checkpoints
    rows = np.flatnonzero(source.tasks == task)
    rows = np.random.default_rng(zlib.crc32(task.encode())).permutation(rows)[:PROBE_TRAJECTORIES]
    steps = [np.unique(np.linspace(0, source.lengths[r] - 1, PROBE_STEPS).round().astype(int)) for r in rows]
    return np.concatenate([source.states[r, s] for r, s in zip(rows, steps)]).astype(np.float32)


def action_gap(params: np.ndarray, others: np.ndarray, spec: PolicySpec, states: np.ndarray) -> np.ndarray:
    """(K,) mean |tanh(mean) difference| between policy k of params (K, P) and of others (K, P)
    over states (S, obs_dim) and the action dimensions."""
    if not len(params):
        return np.zeros(0)
    a = BatchedPolicies(params, spec).act_on(states)
    b = BatchedPolicies(others, spec).act_on(states)
    return np.abs(a - b).mean(axis=(1, 2)).astype(np.float64)


def policy_novelty(params: np.ndarray, zoo: Zoo, task: str) -> dict[str, np.ndarray]:
    """The four per-policy columns (module docstring) of params (K, P), each (K,)."""
    pool = zoo.checkpoints.params
    found = nearest_raw_and_aligned(params, pool, zoo.spec, candidates=CANDIDATES)
    index = found["aligned_index"]
    gap = action_gap(params, pool[index], zoo.spec, probe_states(zoo, task))
    return dict(l2_nearest_checkpoint=found["raw"], aligned_l2_nearest_checkpoint=found["aligned"],
                aligned_nearest_checkpoint=index, action_gap_nearest_checkpoint=gap)


def novelty_reference(zoo: Zoo) -> dict:
    """Train-to-train distances over a fixed sample of REFERENCE_SAMPLE checkpoints per seen
    task: medians of within_run_raw / within_run_aligned (the nearest other checkpoint of the
    same run), between_run_raw / between_run_aligned (of another run of the task) and
    action_gap_between_runs (from that other-run neighbour, on the task's probe states), over
    all seen tasks, and the same per task under "tasks"."""
    per_task = {}
    for task in sorted(set(zoo.checkpoints.tasks.tolist())):
        rows = np.flatnonzero(zoo.checkpoints.tasks == task)
        pool = zoo.checkpoints.params[rows]
        runs = np.array([zoo.checkpoints.records[r].get("run_seed", r) for r in rows])
        sample = np.random.default_rng(zlib.crc32(task.encode())).permutation(len(rows))[:REFERENCE_SAMPLE]
        found = nearest_neighbour_reference(pool, runs, zoo.spec, candidates=CANDIDATES, rows=np.sort(sample))
        between = found["between_aligned_index"]
        has = between >= 0
        gaps = action_gap(pool[np.sort(sample)][has], pool[between[has]], zoo.spec, probe_states(zoo, task))
        per_task[task] = dict(within_run_raw=found["within_raw"], within_run_aligned=found["within_aligned"],
                              between_run_raw=found["between_raw"], between_run_aligned=found["between_aligned"],
                              action_gap_between_runs=gaps)
    keys = ("within_run_raw", "within_run_aligned", "between_run_raw", "between_run_aligned", "action_gap_between_runs")

    def median(values) -> float | None:
        values = np.concatenate([np.asarray(v, float) for v in values]) if values else np.zeros(0)
        values = values[np.isfinite(values)]
        return round(float(np.median(values)), 4) if len(values) else None

    return dict({key: median([t[key] for t in per_task.values()]) for key in keys},
                tasks={task: {key: median([t[key]]) for key in keys} for task, t in per_task.items()},
                sample_per_task=REFERENCE_SAMPLE, candidates=CANDIDATES)


def cached_reference(zoo: Zoo) -> dict:
    """`novelty_reference(zoo)`, computed once and kept in the zoo's directory (REFERENCE_FILE);
    recomputed when the file is missing, unreadable or of other settings."""
    path = zoo.root / REFERENCE_FILE
    settings = dict(sample_per_task=REFERENCE_SAMPLE, candidates=CANDIDATES, probe=[PROBE_TRAJECTORIES, PROBE_STEPS])
    try:
        cached = json.loads(path.read_text())
        if cached.get("settings") == settings:
            return cached["reference"]
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    reference = novelty_reference(zoo)
    atomic_write_json(path, dict(settings=settings, reference=reference))
    return reference
