"""Min-max normalisation to [-1, 1], fitted once and reused at training and generation.

The same statistics must map training inputs and generation inputs (the release refits its
embedding normaliser on the generation batch; here one fitted object is saved with the
model and reused). Inputs of the embedding and the diffusion condition are clipped to
[-1, 1] after normalisation: a feature that barely varies in the zoo (e.g. a goal coordinate
of a fixed configuration) otherwise maps a new trajectory to values in the hundreds (measured
on the smoke zoo: up to -232), far outside anything the networks were trained on. Statistics are per feature over the last axis, as the release's
`LinearNormalizer(mode="limits")`: for latents (N, tokens, width) both tokens share them.
"""
from __future__ import annotations

import torch
from torch import nn

RANGE_EPS = 1e-4


class MinMaxNormalizer(nn.Module):
    """y = x * scale + offset maps [min, max] of each feature to [-1, 1].

    Features whose range is below RANGE_EPS are shifted to 0 and not scaled, so a constant
    feature neither divides by zero nor inflates noise.
    """

    def __init__(self, dim: int, clip: bool = False):
        super().__init__()
        self.clip = clip
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("offset", torch.zeros(dim))

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "MinMaxNormalizer":
        """data (..., dim): statistics over every axis but the last."""
        flat = data.reshape(-1, data.shape[-1]).float()
        low, high = flat.min(dim=0).values, flat.max(dim=0).values
        span = high - low
        flat_dims = span < RANGE_EPS
        span = torch.where(flat_dims, torch.full_like(span, 2.0), span)
        scale = 2.0 / span
        offset = torch.where(flat_dims, -low, -1.0 - scale * low)
        self.scale.copy_(scale)
        self.offset.copy_(offset)
        return self

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., dim) -> (..., dim); clipped to [-1, 1] (the training range) when `clip`."""
        y = x * self.scale + self.offset
        return y.clamp(-1.0, 1.0) if self.clip else y

    def unnormalize(self, y: torch.Tensor) -> torch.Tensor:
        return (y - self.offset) / self.scale
