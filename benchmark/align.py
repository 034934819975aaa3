"""Permutation-aligned distances between policies of the shared policy family.

Reordering the hidden units of a layer (and the weights that read them) leaves the policy's
function unchanged, so two checkpoints can be far apart as flat vectors yet be the same network.
The memorisation critique of weight generators (Zeng et al. 2025) therefore compares a
generated policy with its nearest training checkpoint *after* aligning hidden units, and
calibrates the distance against the train-to-train reference: how close a checkpoint is to
its nearest other checkpoint, within its own training run and across other runs.

Conventions (benchmark.policy): a policy is a flat vector (P,) in state_dict order;
the hidden layers are h units wide. A permutation `perm` (h,) of a layer means "new unit i is
old unit perm[i]". Relative L2 is ||a - b|| / ||b||, with b the reference (the pool member),
so distances of generated policies to a zoo and of zoo checkpoints to each other read the
same way. Distances are computed in float64.

Alignment (`match_hidden`) is weight matching by coordinate descent (the procedure of
Ainsworth et al., "Git Re-Basin", for this two-hidden-layer network). Minimising
||permute(params) - reference||^2 over (perm1, perm2) is maximising the summed inner product
of every tensor with its reference, and with one layer's permutation fixed the other's is a
linear assignment (scipy.optimize.linear_sum_assignment) over per-unit similarities:

    layer 1, unit features: [linear1.weight row, linear1.bias, linear2.weight column with its
                             rows (layer-2 units) put in the order of perm2]
    layer 2, unit features: [linear2.weight row with its columns put in the order of perm1,
                             linear2.bias, mean_linear.weight column, log_std_linear.weight column]

Each step can only lower the distance. The descent starts by matching layer 1 on its
incoming weights and bias alone (layer 2 is unknown yet), then alternates layer 2, layer 1
until perm1 stops changing or `passes` rounds ran, and ends with a layer-2 step. Should the
result be farther from the reference than the unpermuted params (possible only through the
first, partial step), the identity is returned, so the aligned distance never exceeds the raw one.
For the MetaWorld spec (39/128/4) one alignment takes 1-2 ms for a near-permuted copy and
about 4-5 ms for unrelated policies (one shared CPU core), mostly in linear_sum_assignment.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmark.policy import PolicySpec

DEFAULT_PASSES = 2
"""Rounds of (layer 2, layer 1) coordinate descent; permuted copies converge in one, and on random
policies more rounds lower the aligned distance by under 0.2%."""
DEFAULT_CANDIDATES = 32
"""Pool members aligned per query in `aligned_nearest`: its k nearest by the prefilter (raw distance by default)."""


def _tensors(params: np.ndarray, spec: PolicySpec) -> dict[str, np.ndarray]:
    """name -> view (..., *shape) of params (..., P), in flattening order."""
    params = np.asarray(params)
    if params.shape[-1] != spec.n_params:
        raise ValueError(f"parameter vectors have {params.shape[-1]} numbers, spec {spec} needs {spec.n_params}")
    out, start = {}, 0
    lead = params.shape[:-1]
    for name, shape in spec.layers:
        size = int(np.prod(shape))
        out[name] = params[..., start:start + size].reshape(lead + shape)
        start += size
    return out


def _check_perm(perm, h: int, name: str) -> np.ndarray:
    perm = np.asarray(perm, dtype=np.int64)
    if perm.shape != (h,) or not np.array_equal(np.sort(perm), np.arange(h)):
        raise ValueError(f"{name} must be a permutation of range({h}), got shape {perm.shape}")
    return perm


def permute_hidden(params, spec: PolicySpec, perm1, perm2) -> np.ndarray:
    """The same policy with its hidden units reordered: new unit i of layer k is old unit permk[i].

    params (P,); perm1, perm2 (h,) permutations of range(h). Returns (P,) in params' dtype.
    Rows of linear1.weight/bias and columns of linear2.weight follow perm1; rows of
    linear2.weight/bias and columns of both heads' weights follow perm2; head biases stay.
    """
    h = spec.hidden
    perm1, perm2 = _check_perm(perm1, h, "perm1"), _check_perm(perm2, h, "perm2")
    t = _tensors(params, spec)
    if t["linear1.bias"].ndim != 1:
        raise ValueError(f"permute_hidden takes one vector (P,), got shape {np.shape(params)}")
    parts = [
        t["linear1.weight"][perm1], t["linear1.bias"][perm1],
        t["linear2.weight"][perm2][:, perm1], t["linear2.bias"][perm2],
        t["mean_linear.weight"][:, perm2], t["mean_linear.bias"],
        t["log_std_linear.weight"][:, perm2], t["log_std_linear.bias"],
    ]
    return np.concatenate([p.reshape(-1) for p in parts])


def _assign(similarity: np.ndarray) -> np.ndarray:
    """perm (h,) maximising sum_i similarity[i, perm[i]] (rows: reference units, columns: params units)."""
    return linear_sum_assignment(similarity, maximize=True)[1]


def match_hidden(params, reference, spec: PolicySpec, passes: int = DEFAULT_PASSES) -> tuple[np.ndarray, np.ndarray]:
    """(perm1, perm2), each (h,), such that permute_hidden(params, spec, perm1, perm2) is close to reference.

    params, reference (P,). See the module docstring for the procedure; the result is never
    farther from reference than params itself, and matching a policy to itself gives the
    identity (with distinct hidden units).
    """
    p = _tensors(np.asarray(params, dtype=np.float64), spec)
    r = _tensors(np.asarray(reference, dtype=np.float64), spec)
    if p["linear1.bias"].ndim != 1 or r["linear1.bias"].ndim != 1:
        raise ValueError("match_hidden takes two vectors (P,)")
    w2p, w2r = p["linear2.weight"], r["linear2.weight"]
    # similarities of reference unit i (rows) with params unit j (columns) from the terms
    # that do not depend on the other layer's permutation
    base1 = r["linear1.weight"] @ p["linear1.weight"].T + np.outer(r["linear1.bias"], p["linear1.bias"])
    base2 = (np.outer(r["linear2.bias"], p["linear2.bias"]) + r["mean_linear.weight"].T @ p["mean_linear.weight"]
             + r["log_std_linear.weight"].T @ p["log_std_linear.weight"])
    rows = np.arange(spec.hidden)

    def objective(perm1, perm2) -> float:
        return float(base1[rows, perm1].sum() + base2[rows, perm2].sum() + np.vdot(w2r, w2p[perm2][:, perm1]))

    def descend(perm1):
        for _ in range(max(1, passes)):
            perm2 = _assign(base2 + w2r @ w2p[:, perm1].T)
            new1 = _assign(base1 + w2r.T @ w2p[perm2])
            if np.array_equal(new1, perm1):
                return perm1, perm2
            perm1 = new1
        return perm1, _assign(base2 + w2r @ w2p[:, perm1].T)

    perm1, perm2 = descend(_assign(base1))
    if objective(perm1, perm2) < objective(rows, rows):
        return rows.copy(), rows.copy()
    return perm1, perm2


def align_to(params, reference, spec: PolicySpec, passes: int = DEFAULT_PASSES) -> np.ndarray:
    """params (P,) with its hidden units reordered to match reference (P,); returns (P,), the same policy."""
    return permute_hidden(params, spec, *match_hidden(params, reference, spec, passes))


def relative_l2(a, b) -> np.ndarray:
    """||a - b|| / ||b|| over the last axis: a, b (..., P) broadcast -> (...,), float64.

    A zero b gives inf (or nan when a is zero too)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)


def raw_relative_l2_matrix(queries, pool) -> np.ndarray:
    """(Q, N) relative L2 ||q - p|| / ||p|| of queries (Q, P) to pool (N, P), unaligned.

    Uses ||q||^2 + ||p||^2 - 2 q.p in float64: fine for ranking; exact values come from relative_l2."""
    q, p = np.asarray(queries, dtype=np.float64), np.asarray(pool, dtype=np.float64)
    sq = np.einsum("ij,ij->i", q, q)[:, None] + np.einsum("ij,ij->i", p, p)[None, :] - 2.0 * (q @ p.T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.maximum(sq, 0.0)) / np.linalg.norm(p, axis=1)[None, :]


PREFILTERS = ("raw", "anchored")


def _ranking(queries, pool, spec: PolicySpec, prefilter: str, passes: int, same: bool = False) -> np.ndarray:
    """(Q, N) distances that choose which pool members `_search` aligns to each query.

    "raw": raw relative L2. "anchored": every policy is first aligned to one anchor (pool[0]),
    then raw relative L2 among the anchored copies, a cheap permutation-invariant proxy of the
    aligned distance (N + Q alignments instead of Q * N). same: queries is pool."""
    if prefilter not in PREFILTERS:
        raise ValueError(f"prefilter must be one of {PREFILTERS}, got {prefilter!r}")
    if prefilter == "raw" or not len(pool) or not len(queries):
        return raw_relative_l2_matrix(queries, pool)
    anchored_pool = np.stack([align_to(p, pool[0], spec, passes) for p in pool])
    anchored_queries = anchored_pool if same else np.stack([align_to(q, pool[0], spec, passes) for q in queries])
    return raw_relative_l2_matrix(anchored_queries, anchored_pool)


def _search(queries, pool, spec: PolicySpec, candidates: int | None, allowed=None, passes: int = DEFAULT_PASSES,
            ranking=None) -> dict[str, np.ndarray]:
    """Raw and aligned nearest pool member of each query, over the pool members `allowed` (Q, N) bool.

    queries (Q, P), pool (N, P); ranking (Q, N) picks the `candidates` members aligned per query
    (raw distance when None); the raw nearest is always among them. Returns raw, raw_index,
    aligned, aligned_index, each (Q,); nan / -1 where no pool member is allowed."""
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    pool = np.atleast_2d(np.asarray(pool, dtype=np.float32))
    n_q, n = len(queries), len(pool)
    raw = raw_relative_l2_matrix(queries, pool) if n_q and n else np.zeros((n_q, n))
    ranking = raw if ranking is None else np.asarray(ranking)
    allowed = np.ones((n_q, n), bool) if allowed is None else np.asarray(allowed, bool)
    k = n if candidates is None else max(1, int(candidates))
    out = {"raw": np.full(n_q, np.nan), "raw_index": np.full(n_q, -1, np.int64),
           "aligned": np.full(n_q, np.nan), "aligned_index": np.full(n_q, -1, np.int64)}
    for i in range(n_q):
        members = np.flatnonzero(allowed[i])
        if not len(members):
            continue
        nearest_raw = int(members[np.argmin(raw[i, members])])
        order = members[np.argsort(ranking[i, members], kind="stable")[:k]]
        if nearest_raw not in order:
            order = np.append(order, nearest_raw)
        out["raw_index"][i] = nearest_raw
        out["raw"][i] = relative_l2(queries[i], pool[nearest_raw])
        aligned = [relative_l2(align_to(queries[i], pool[j], spec, passes), pool[j]) for j in order]
        best = int(np.argmin(aligned))
        out["aligned"][i], out["aligned_index"][i] = aligned[best], order[best]
    return out


def aligned_nearest(queries, pool, spec: PolicySpec, candidates: int | None = DEFAULT_CANDIDATES,
                    passes: int = DEFAULT_PASSES, prefilter: str = "raw") -> tuple[np.ndarray, np.ndarray]:
    """(distance (Q,), index (Q,)): each query's nearest pool member by aligned relative L2.

    queries (Q, P), pool (N, P). distance[q] = relative_l2(align_to(queries[q], pool[j]), pool[j])
    minimised over the aligned candidates j; index is that j. Exact when every member is a
    candidate (candidates None or >= N); otherwise, for speed, only the `candidates` members
    nearest to the query by the prefilter are aligned, plus the raw nearest (so the result never
    exceeds the raw nearest distance):

        prefilter "raw"       the k nearest by raw relative L2. Between independently initialised
                              runs raw distances say little, and a near-permuted copy that is far
                              in raw distance can be missed with a small k.
        prefilter "anchored"  the k nearest after aligning queries and pool to pool[0] (see
                              `_ranking`); costs N + Q extra alignments, finds permuted copies.
    """
    ranking = _ranking(queries, pool, spec, prefilter, passes) if prefilter != "raw" else None
    found = _search(queries, pool, spec, candidates, passes=passes, ranking=ranking)
    return found["aligned"], found["aligned_index"]


def nearest_raw_and_aligned(queries, pool, spec: PolicySpec, candidates: int | None = DEFAULT_CANDIDATES,
                            passes: int = DEFAULT_PASSES) -> dict[str, np.ndarray]:
    """`aligned_nearest` (raw prefilter) with the raw nearest kept too, from one distance matrix:
    {raw, raw_index, aligned, aligned_index}, each (Q,)."""
    return _search(queries, pool, spec, candidates, passes=passes)


def nearest_neighbour_reference(pool, groups, spec: PolicySpec, candidates: int | None = DEFAULT_CANDIDATES,
                                passes: int = DEFAULT_PASSES, prefilter: str = "raw",
                                rows=None) -> dict[str, np.ndarray]:
    """Train-to-train reference: each checkpoint's nearest other checkpoint within its run and across runs.

    pool (N, P) checkpoints of one task; groups (N,) their run ids. Returns a dict of (N,) arrays:

        within_raw, within_raw_index           nearest other checkpoint of the same run, raw relative L2
        within_aligned, within_aligned_index   same, aligned relative L2 (as `aligned_nearest`)
        between_raw, between_raw_index         nearest checkpoint of any other run, raw
        between_aligned, between_aligned_index same, aligned

    Distances are relative to the neighbour's norm (the neighbour plays the pool member's part,
    as in `aligned_nearest`, so a generated policy's distance to the zoo compares directly);
    nan and index -1 where the run has no other checkpoint, or there is no other run.
    `candidates` and `prefilter` are those of `aligned_nearest`, applied within each side.
    `rows` (M,) restricts the queries to pool[rows] (their neighbours still come from the whole
    pool): arrays are then (M,), a cheaper estimate of the same distribution.
    """
    pool = np.asarray(pool, dtype=np.float32)
    groups = np.asarray(groups)
    if pool.ndim != 2 or groups.shape != (len(pool),):
        raise ValueError(f"pool {pool.shape} and groups {groups.shape} must be (N, P) and (N,)")
    rows = np.arange(len(pool)) if rows is None else np.asarray(rows, dtype=np.int64)
    ranking = _ranking(pool, pool, spec, prefilter, passes, same=True)[rows] if prefilter != "raw" else None
    same = groups[rows, None] == groups[None, :]
    itself = rows[:, None] == np.arange(len(pool))[None, :]
    out = {}
    for side, allowed in (("within", same & ~itself), ("between", ~same)):
        found = _search(pool[rows], pool, spec, candidates, allowed, passes, ranking)
        out.update({f"{side}_{key}": value for key, value in found.items()})
    return out


def align_pool(pool, spec: PolicySpec, groups=None, rounds: int = 2, passes: int = DEFAULT_PASSES) -> np.ndarray:
    """pool (N, P) with its hidden units permuted into one shared order, one permutation per group;
    returns (N, P).

    groups (N,) labels the members that keep their relative order (a training run's checkpoints,
    which lie close together in one order); None makes every member its own group. Each group is
    represented by the mean of its members. Round one matches every group's mean to the first
    group's; each further round matches them to the mean of the previous round's matched group
    means, a consensus order that favours no group (the "merge many" procedure of Git Re-Basin).
    Every member is then permuted by its group's permutation: it stays the same policy, and the
    distances between members of one group do not change. A pool with one group is returned as it is.
    """
    pool = np.asarray(pool)
    if pool.ndim != 2:
        raise ValueError(f"align_pool takes a pool (N, P), got shape {pool.shape}")
    groups = np.arange(len(pool)) if groups is None else np.asarray(groups)
    if groups.shape != (len(pool),):
        raise ValueError(f"groups {groups.shape} must be (N,) for a pool {pool.shape}")
    labels, group_of = np.unique(groups, return_inverse=True)
    if len(labels) < 2:
        return pool.copy()
    means = np.stack([pool[group_of == g].mean(axis=0, dtype=np.float64) for g in range(len(labels))])
    reference = means[0]
    for _ in range(max(1, rounds)):
        perms = [match_hidden(mean, reference, spec, passes) for mean in means]
        reference = np.mean([permute_hidden(mean, spec, *perm) for mean, perm in zip(means, perms)], axis=0)
    aligned = np.empty_like(pool)
    for row, g in enumerate(group_of):
        aligned[row] = permute_hidden(pool[row], spec, *perms[g])
    return aligned
