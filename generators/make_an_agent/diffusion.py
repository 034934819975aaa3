"""Stage 3 of Make-An-Agent: a conditional latent diffusion model over parameter latents.

The denoiser is a 1-D convolutional UNet over the autoencoder's latent (B, tokens, width):
the latent width is the channel axis and the tokens are the sequence. Every residual block
is Conv1d -> GroupNorm -> Mish, FiLM (a per-channel scale and bias predicted from the
condition), Conv1d -> GroupNorm -> Mish, plus a residual connection; the condition is
[sinusoidal timestep embedding (128) passed through an MLP, the behaviour condition].
Down levels widen the channels (paper: 512, 1024, 2048) and up levels narrow them back with
skip connections. The sequence is only 2 tokens long, so the "down/up-sampling" convolutions
(kernel 2, stride 2, padding 1, and its transpose) keep length 2 and act as token mixers, as
in the release; parameter names follow the release's ConditionalUnet1D.

Noise schedule and sampler: diffusers' DDIMScheduler (100 training steps, squaredcos_cap_v2,
clip_sample, the network predicts the clean latent x0: prediction_type="sample"), 10 DDIM
steps at generation (eta = 0, so the result depends only on the initial noise). Latents and
conditions are min-max normalised to [-1, 1] with statistics fitted on the training zoo.

Conditions (the embedding ablation of the paper's Figure 8):
- "h", "v", "h+v": the frozen behaviour embedding's outputs, min-max normalised
  (EmbeddingCondition);
- "raw": the trajectory features (the window h reads) through an MLP trained jointly with the
  denoiser, without contrastive pretraining and without success states
  (RawTrajectoryEncoder).
"""
from __future__ import annotations

import math

import torch
from diffusers import DDIMScheduler
from torch import nn

from benchmark.api import report_progress
from generators.make_an_agent.normalize import MinMaxNormalizer
from generators.make_an_agent.schedule import planned_steps, warm_restarts


def make_scheduler(train_steps: int = 100, beta_schedule: str = "squaredcos_cap_v2") -> DDIMScheduler:
    return DDIMScheduler(num_train_timesteps=train_steps, beta_schedule=beta_schedule,
                         clip_sample=True, prediction_type="sample")


class SinusoidalTimestep(nn.Module):
    """(B,) integer timesteps -> (B, dim) sin/cos features at geometric frequencies."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / (half - 1))
        angles = t.float()[:, None] * freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Conv1dBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, kernel: int, groups: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(channels_in, channels_out, kernel, padding=kernel // 2),
            nn.GroupNorm(groups, channels_out), nn.Mish())

    def forward(self, x):
        return self.block(x)


class FiLMResidualBlock(nn.Module):
    """x (B, C_in, L), cond (B, cond_dim) -> (B, C_out, L)."""

    def __init__(self, channels_in: int, channels_out: int, cond_dim: int, kernel: int, groups: int):
        super().__init__()
        self.channels_out = channels_out
        self.blocks = nn.ModuleList([Conv1dBlock(channels_in, channels_out, kernel, groups),
                                     Conv1dBlock(channels_out, channels_out, kernel, groups)])
        self.cond_encoder = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * channels_out))
        self.residual_conv = (nn.Conv1d(channels_in, channels_out, 1)
                              if channels_in != channels_out else nn.Identity())

    def forward(self, x, cond):
        out = self.blocks[0](x)
        scale, bias = self.cond_encoder(cond).reshape(len(x), 2, self.channels_out, 1).unbind(1)
        out = self.blocks[1](scale * out + bias)
        return out + self.residual_conv(x)


class TokenMix(nn.Module):
    """The release's Downsample1d/Upsample1d; on a length-2 sequence both keep length 2."""

    def __init__(self, channels: int, transpose: bool):
        super().__init__()
        conv = nn.ConvTranspose1d if transpose else nn.Conv1d
        self.conv = conv(channels, channels, 2, 2, 1)

    def forward(self, x):
        return self.conv(x)


class ConditionalUnet1D(nn.Module):
    """Denoiser: sample (B, tokens, width), timestep (B,) or scalar, cond (B, cond_dim) ->
    predicted clean sample (B, tokens, width)."""

    def __init__(self, width: int, cond_dim: int, down_dims=(512, 1024, 2048), kernel: int = 3,
                 groups: int = 8, time_dim: int = 128):
        super().__init__()
        self.diffusion_step_encoder = nn.Sequential(
            SinusoidalTimestep(time_dim), nn.Linear(time_dim, 4 * time_dim), nn.Mish(),
            nn.Linear(4 * time_dim, time_dim))
        film_dim = time_dim + cond_dim
        dims = [width] + list(down_dims)
        pairs = list(zip(dims[:-1], dims[1:]))

        def block(c_in, c_out):
            return FiLMResidualBlock(c_in, c_out, film_dim, kernel, groups)

        self.down_modules = nn.ModuleList(
            nn.ModuleList([block(c_in, c_out), block(c_out, c_out),
                           TokenMix(c_out, transpose=False) if i < len(pairs) - 1 else nn.Identity()])
            for i, (c_in, c_out) in enumerate(pairs))
        self.mid_modules = nn.ModuleList([block(dims[-1], dims[-1]), block(dims[-1], dims[-1])])
        # the first level's skip is never consumed, as in the release (its channels feed the next level)
        self.up_modules = nn.ModuleList(
            nn.ModuleList([block(2 * c_out, c_in), block(c_in, c_in), TokenMix(c_in, transpose=True)])
            for c_in, c_out in reversed(pairs[1:]))
        self.final_conv = nn.Sequential(Conv1dBlock(dims[1], dims[1], kernel, groups),
                                        nn.Conv1d(dims[1], width, 1))

    def forward(self, sample: torch.Tensor, timestep, cond: torch.Tensor) -> torch.Tensor:
        x = sample.transpose(1, 2)                                   # (B, width, tokens)
        t = torch.as_tensor(timestep, device=x.device).reshape(-1).expand(len(x))
        film = torch.cat([self.diffusion_step_encoder(t), cond], dim=-1)
        skips = []
        for first, second, mix in self.down_modules:
            x = second(first(x, film), film)
            skips.append(x)
            x = mix(x)
        for mid in self.mid_modules:
            x = mid(x, film)
        for first, second, mix in self.up_modules:
            x = torch.cat([x, skips.pop()], dim=1)
            x = mix(second(first(x, film), film))
        return self.final_conv(x).transpose(1, 2)


class EmbeddingCondition(nn.Module):
    """Frozen behaviour-embedding outputs (B, dim), min-max normalised; nothing to train."""

    def __init__(self, dim: int):
        super().__init__()
        self.out_dim = dim
        self.norm = MinMaxNormalizer(dim, clip=True)

    def fit_normalizer(self, x: torch.Tensor) -> None:
        self.norm.fit(x)

    def forward(self, x):
        return self.norm.normalize(x)


class RawTrajectoryEncoder(nn.Module):
    """Raw trajectory features (B, traj_dim) -> (B, out_dim), trained with the denoiser."""

    def __init__(self, traj_dim: int, hidden: int = 256, out_dim: int = 256):
        super().__init__()
        self.out_dim = out_dim
        self.norm = MinMaxNormalizer(traj_dim, clip=True)
        self.net = nn.Sequential(nn.Linear(traj_dim, hidden), nn.Mish(), nn.Linear(hidden, out_dim))

    def fit_normalizer(self, x: torch.Tensor) -> None:
        self.norm.fit(x)

    def forward(self, x):
        return self.net(self.norm.normalize(x))


def train_diffusion(unet: ConditionalUnet1D, cond_encoder: nn.Module, scheduler: DDIMScheduler,
                    latents: torch.Tensor, cond_inputs: torch.Tensor, *, epochs: int,
                    batch_size: int, lr: float, betas: tuple[float, float], weight_decay: float,
                    restart_period: int, restart_mult: int, generator: torch.Generator,
                    end_on_restart: bool = False, heldout: tuple[torch.Tensor, torch.Tensor] | None = None
                    ) -> tuple[list[float], list[float]]:
    """Train the denoiser to predict normalised latents (N, tokens, width) from their noised
    versions, conditioned on cond_encoder(cond_inputs (N, ...)); returns the mean MSE of every
    epoch and, for `heldout` = (latents (M, ...), cond_inputs (M, ...)), the MSE on those rows
    after every epoch with one fixed draw of noise and timesteps (else an empty list).
    `latents` are already normalised; cond_encoder's normaliser is fitted here. The learning
    rate follows the release's warm restarts, stepped per step (period 0: constant); with
    `end_on_restart` training goes on to the end of the current cycle (see train_autoencoder)."""
    cond_encoder.fit_normalizer(cond_inputs)
    parameters = list(unet.parameters()) + list(cond_encoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=lr, betas=betas, weight_decay=weight_decay)
    schedule = warm_restarts(optimizer, restart_period, restart_mult)
    train_steps = scheduler.config.num_train_timesteps
    if heldout is not None and len(heldout[0]):
        fixed = torch.Generator(device=generator.device).manual_seed(0)
        held_clean, held_cond = heldout
        held_noise = torch.randn(held_clean.shape, generator=fixed, device=generator.device).to(held_clean.device)
        held_t = torch.randint(0, train_steps, (len(held_clean),), generator=fixed,
                               device=generator.device).to(held_clean.device)
        held_noisy = scheduler.add_noise(held_clean, held_noise, held_t)
    else:
        heldout = None
    n = len(latents)
    steps = planned_steps(n, batch_size, epochs, restart_period, restart_mult, end_on_restart)
    losses, heldout_losses = [], []
    step = 0
    while step < steps:
        unet.train()
        cond_encoder.train()
        order = torch.randperm(n, generator=generator, device=generator.device).to(latents.device)
        total, seen = 0.0, 0
        for start in range(0, n, batch_size):
            if step == steps:
                break
            step += 1
            rows = order[start:start + batch_size]
            clean = latents[rows]
            noise = torch.randn(clean.shape, generator=generator, device=clean.device)
            t = torch.randint(0, train_steps, (len(rows),), generator=generator,
                              device=generator.device).to(clean.device)
            noisy = scheduler.add_noise(clean, noise, t)
            loss = nn.functional.mse_loss(unet(noisy, t, cond_encoder(cond_inputs[rows])), clean)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
            seen += len(rows)
        losses.append(total / seen)
        report_progress("diffusion", step, steps)
        unet.eval()
        cond_encoder.eval()
        if heldout is not None:
            with torch.no_grad():
                heldout_losses.append(float(nn.functional.mse_loss(
                    unet(held_noisy, held_t, cond_encoder(held_cond)), held_clean)))
    unet.eval()
    cond_encoder.eval()
    if not all(math.isfinite(x) for x in losses):
        raise FloatingPointError(f"diffusion loss diverged: {losses[-5:]}")
    return losses, heldout_losses


@torch.no_grad()
def sample_latents(unet: ConditionalUnet1D, scheduler: DDIMScheduler, cond: torch.Tensor,
                   shape: tuple[int, int], inference_steps: int,
                   generator: torch.Generator) -> torch.Tensor:
    """DDIM sampling: cond (K, cond_dim) already encoded -> normalised latents (K, *shape)."""
    x = torch.randn((len(cond),) + tuple(shape), generator=generator, device=generator.device).to(cond.device)
    scheduler.set_timesteps(inference_steps)
    for t in scheduler.timesteps:
        x0 = unet(x, t.to(cond.device), cond)
        x = scheduler.step(x0, t, x).prev_sample
    return x
