"""Stage 2 of Make-An-Agent: the contrastive behaviour embedding.

Inputs (benchmark.zoo.features, computed from a PolicySet's arrays):
- trajectory features, for h: the first n steps as n / group groups of
  [state (obs), the next `group` actions (group * act)]; n=60, group=3 on MetaWorld gives
  20 * (39 + 12) = 1,020 numbers.
- success features, for v: m states from the first successful step (m * obs = 117). A
  trajectory that never succeeds uses its last m valid states instead (its v then describes
  where the behaviour ended, the closest thing to a goal state it has).

Networks (the release's sizes): h-net traj_dim -> 1024 -> 1024 -> 128 with ReLU; v-net
success_dim -> 256, LayerNorm, Tanh -> 128; a learnable bilinear W (128 x 128). Loss:
InfoNCE with logits h W v^T over a batch (B, B) and cross-entropy on the diagonal, one
direction (trajectory -> success state) as in the release.

Both inputs are min-max normalised to [-1, 1] by normalisers fitted on the training zoo and
kept inside the module, so generation uses exactly the training statistics, and clipped to
[-1, 1] (see normalize.py).

Parameter names match the release's `Embedding` (traj_embed, task_embed, W).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from benchmark.api import report_progress
from benchmark.policy import PolicySpec
from benchmark.zoo.features import success_features, trajectory_features
from benchmark.zoo.format import PolicySet
from generators.make_an_agent.normalize import MinMaxNormalizer


def feature_sizes(spec: PolicySpec, n_steps: int, group: int, m: int) -> tuple[int, int]:
    """(trajectory feature size, success feature size) for a policy family and window."""
    return (n_steps // group) * (spec.obs_dim + group * spec.act_dim), m * spec.obs_dim


def behaviour_inputs(data: PolicySet, n_steps: int, group: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw embedding inputs of every row: trajectory (N, traj_dim), success (N, success_dim)."""
    traj = trajectory_features(data.states, data.actions, data.lengths, n_steps, group)
    success, _ = success_features(data.states, data.successes, data.lengths, m)
    return traj, success


class BehaviourEmbedding(nn.Module):
    def __init__(self, traj_dim: int, success_dim: int, hidden: int = 1024,
                 success_hidden: int = 256, feature_dim: int = 128):
        super().__init__()
        self.traj_embed = nn.Sequential(
            nn.Linear(traj_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, feature_dim))
        self.task_embed = nn.Sequential(
            nn.Linear(success_dim, success_hidden), nn.LayerNorm(success_hidden), nn.Tanh(),
            nn.Linear(success_hidden, feature_dim))
        # uniform [0, 1) initialisation as in CURL and the release
        self.W = nn.Parameter(torch.rand(feature_dim, feature_dim))
        self.traj_norm = MinMaxNormalizer(traj_dim, clip=True)
        self.success_norm = MinMaxNormalizer(success_dim, clip=True)

    def fit_normalizers(self, traj: torch.Tensor, success: torch.Tensor) -> None:
        self.traj_norm.fit(traj)
        self.success_norm.fit(success)

    def forward(self, traj: torch.Tensor, success: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw traj (B, traj_dim) and success (B, success_dim) -> h (B, 128), v (B, 128)."""
        h = self.traj_embed(self.traj_norm.normalize(traj))
        v = self.task_embed(self.success_norm.normalize(success))
        return h, v

    def info_nce(self, traj: torch.Tensor, success: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the (B, B) bilinear logits h W v^T against the diagonal."""
        h, v = self(traj, success)
        logits = h @ self.W @ v.T
        return nn.functional.cross_entropy(logits, torch.arange(len(h), device=h.device))


def train_embedding(model: BehaviourEmbedding, traj: torch.Tensor, success: torch.Tensor, *,
                    epochs: int, batch_size: int, lr: float, weight_decay: float,
                    generator: torch.Generator) -> list[float]:
    """Fit normalisers and networks on traj (N, traj_dim), success (N, success_dim).

    Returns the mean InfoNCE loss of every epoch. A last batch of one row is dropped (its
    contrastive loss is identically zero).
    """
    model.fit_normalizers(traj, success)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(traj)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator, device=generator.device).to(traj.device)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            if len(rows) < 2:
                continue
            loss = model.info_nce(traj[rows], success[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
            seen += len(rows)
        losses.append(total / max(seen, 1))
        report_progress("embedding", epoch + 1, epochs)
    model.eval()
    if not all(math.isfinite(x) for x in losses):
        raise FloatingPointError(f"embedding loss diverged: {losses[-5:]}")
    return losses
