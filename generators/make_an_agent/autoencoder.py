"""Stage 1 of Make-An-Agent: the parameter autoencoder.

A flat policy vector (B, n_params) is cut into per-layer chunks (PolicySpec.chunk_sizes,
[5,120 | 17,544] for MetaWorld); chunk i is mapped by its own bias-free Linear to a token of
`width` numbers, and one LayerNorm (shared by the tokens, as in the release) normalises each
token: latent (B, n_chunks, width). The decoder maps token i back to chunk i with one
bias-free Linear. Training adds noise as a convex mix `randn * f + x * (1 - f)` to the input
(f = 0.001) and to the latent (f = 0.01), then clamps the latent to [-1, 1]; the loss is the
MSE of the reconstruction. Outside training there is no noise.

The clamp: the release clamps only in training, so its decoder (linear) never sees values
outside [-1, 1] while encoded latents (LayerNorm outputs) have ~40% of their entries there;
decoding an unclamped latent then extrapolates. Measured on the smoke zoo (width 64, 60
epochs): relative reconstruction error 1.10 unclamped vs 0.50 clamped. So by default the clamp
is part of encoding too (`clamp_when_encoding=True`); False reproduces the release.

Parameter names match the release's `EncoderDecoder` (input_parameter_projections.i.0,
output_parameter_projections.i.0, ln_in), so its checkpoints load by name (authors_ckpt.py).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from benchmark.api import report_progress
from generators.make_an_agent.schedule import planned_steps, warm_restarts


def mix_noise(x: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
    """The release's noise augmentation: randn * factor + x * (1 - factor)."""
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return noise * factor + x * (1.0 - factor)


class ParameterAutoencoder(nn.Module):
    def __init__(self, chunk_sizes: tuple[int, ...], width: int,
                 input_noise: float = 0.001, latent_noise: float = 0.01,
                 clamp_when_encoding: bool = True):
        super().__init__()
        self.clamp_when_encoding = clamp_when_encoding
        self.chunk_sizes = tuple(int(c) for c in chunk_sizes)
        self.width = width
        self.input_noise = input_noise
        self.latent_noise = latent_noise
        # one-element Sequentials keep the release's parameter names ("...projections.i.0")
        self.input_parameter_projections = nn.ModuleList(
            nn.Sequential(nn.Linear(size, width, bias=False)) for size in self.chunk_sizes)
        self.output_parameter_projections = nn.ModuleList(
            nn.Sequential(nn.Linear(width, size, bias=False)) for size in self.chunk_sizes)
        self.ln_in = nn.LayerNorm(width)

    @property
    def n_tokens(self) -> int:
        return len(self.chunk_sizes)

    def encode(self, params: torch.Tensor) -> torch.Tensor:
        """params (B, n_params) -> latent (B, n_tokens, width)."""
        latent = self._encode_unclamped(params)
        return latent.clamp(-1.0, 1.0) if self.clamp_when_encoding else latent

    def _encode_unclamped(self, params: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(params, self.chunk_sizes, dim=1)
        tokens = [proj(chunk) for chunk, proj in zip(chunks, self.input_parameter_projections)]
        return self.ln_in(torch.stack(tokens, dim=1))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, n_tokens, width) -> params (B, n_params)."""
        parts = [proj(latent[:, i]) for i, proj in enumerate(self.output_parameter_projections)]
        return torch.cat(parts, dim=1)

    def reconstruct_noisy(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The training forward pass: noisy input, noisy clamped latent, (B, n_params)."""
        latent = self._encode_unclamped(mix_noise(params, self.input_noise, generator))
        latent = mix_noise(latent, self.latent_noise, generator).clamp(-1.0, 1.0)
        return self.decode(latent)


@torch.no_grad()
def reconstruction_error(model: ParameterAutoencoder, params: torch.Tensor) -> float:
    """MSE of decode(encode(params)) without noise: what generation relies on."""
    return float(nn.functional.mse_loss(model.decode(model.encode(params)), params))


def train_autoencoder(model: ParameterAutoencoder, params: torch.Tensor, *, epochs: int,
                      batch_size: int, lr: float, weight_decay: float, restart_period: int,
                      restart_mult: int, generator: torch.Generator, end_on_restart: bool = False,
                      heldout: torch.Tensor | None = None) -> tuple[list[float], list[float]]:
    """Fit `model` to params (N, n_params); returns the mean training loss of every epoch and,
    when `heldout` (M, n_params) is given, the noise-free reconstruction MSE of those rows after
    every epoch (else an empty list).

    AdamW with cosine annealing and warm restarts (T_0=restart_period, T_mult=restart_mult),
    stepped once per optimisation step as in the release. With `end_on_restart` training goes
    on past `epochs` to the end of the current cycle (the last epoch may be partial), so it
    stops at the cycle's lowest learning rate rather than mid-cycle.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = warm_restarts(optimizer, restart_period, restart_mult)
    n = len(params)
    steps = planned_steps(n, batch_size, epochs, restart_period, restart_mult, end_on_restart)
    losses, heldout_losses = [], []
    step = 0
    while step < steps:
        model.train()
        order = torch.randperm(n, generator=generator, device=generator.device).to(params.device)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            if step == steps:
                break
            step += 1
            batch = params[order[start:start + batch_size]]
            loss = nn.functional.mse_loss(model.reconstruct_noisy(batch, generator), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        losses.append(total / seen)
        report_progress("autoencoder", step, steps)
        model.eval()
        if heldout is not None and len(heldout):
            heldout_losses.append(reconstruction_error(model, heldout))
    model.eval()
    if not all(math.isfinite(x) for x in losses):
        raise FloatingPointError(f"autoencoder loss diverged: {losses[-5:]}")
    return losses, heldout_losses
