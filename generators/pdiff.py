"""p-diff (Wang et al. 2024, "Neural Network Diffusion", arXiv 2402.13144) as a benchmark method:
an unconditional latent diffusion model over one task's checkpoints, one model per seen task,
implemented from the paper's description.

    fit (per seen task):  params (n, P) --per-parameter z-score--> x
                          x + N(0, 0.001^2) --encoder--> z + N(0, 0.1^2) --decoder--> x   (MSE)
                          encode(x) (no noise) --standardise--> latents --DDPM (eps, MSE)-->
    propose:              condition trajectories --nearest training checkpoint, majority vote-->
                          one seen task; DDPM sample --decode--> de-normalise -> policy (P,)

p-diff is unconditional: it generates parameters of the one task (dataset) it was trained on.
What the benchmark's prompt adds is only the choice of that task, made as nearest-checkpoint
makes it (generators.controls: the behaviour features of every condition trajectory against
every training checkpoint's own trajectory, min-max normalised with training statistics,
Euclidean). Every trajectory votes for the task of its nearest checkpoint; the cell's
trajectories are one task's, so the majority task's model generates all of the cell's
policies (ties: the tied task with the single nearest checkpoint). A vote, not a choice per
trajectory, because the cell is one task and a few noisy trajectories should not send some
of its policies to another task's model.

Departures from the paper (each deliberate):
- Encoder and decoder are MLPs (P -> hidden -> latent and back, LayerNorm + LeakyReLU), not the
  paper's stack of 1-D convolutions over the flat vector. Measured on a synthetic task shaped
  like the zoo's (200 checkpoints of 22,664 parameters from 10 runs, z-scored): a 4-layer
  strided conv autoencoder (stride 4, kernel 8; latent 4 or 8 channels x 89) took 0.42-1.29 s
  per step of 50 rows on one core against 0.15 s for an MLP of hidden 256, and after 240 steps
  reconstructed none of the variance (MSE 0.94-0.99 of 1.0) where the MLP reached 0.10. A
  convolution shares its kernels along the vector, so it can only rebuild what is locally
  regular; the paper's 200 checkpoints come from the last epoch of one training run and barely
  vary, our tasks' 10 independent runs do, and only a position-specific decoder rebuilds them.
- The denoiser is a residual MLP with a sinusoidal timestep embedding on the flat latent (the
  paper: a 1-D conv encoder-decoder); the MLP latent has no order along which to convolve.
- Latents are standardised per dimension (statistics of the task's noise-free latents) before
  the diffusion and restored after sampling, so the DDPM sees unit-scale data.
- Everything is seeded (module initialisation, batches, noise, sampling): one seed gives one
  model and one set of proposals.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch import nn

from benchmark.api import Method, ParameterProposal, config_to_dict, report_progress
from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from generators.controls import FeatureConfig, behaviour_features


@dataclass
class Config(FeatureConfig):
    """p-diff hyperparameters. The inherited FeatureConfig fields (traj_steps, traj_group,
    success_states) are the task lookup's features. The defaults are the `paper` preset: noise,
    learning rates and iterations from the paper's description, a standard DDPM schedule, our
    MLP widths and batch sizes."""

    ae_hidden: int = 512
    """Hidden width of the MLP encoder and decoder (ours: the paper's encoder is 1-D convs)."""
    latent_dim: int = 128
    """Size of the latent a parameter vector is encoded to (ours)."""
    ae_input_noise: float = 0.001
    """Std of the Gaussian noise added to the (normalised) input parameters in training (paper 0.001)."""
    ae_latent_noise: float = 0.1
    """Std of the Gaussian noise added to the latent in training (paper 0.1)."""
    ae_steps: int = 30000
    """Autoencoder optimisation steps per task (paper: 30,000 iterations)."""
    ae_batch_size: int = 50
    """Autoencoder batch size (ours; all of a task's checkpoints when it has fewer)."""
    ae_lr: float = 1e-3
    """Autoencoder AdamW learning rate (paper 1e-3)."""
    diff_hidden: int = 512
    """Hidden width of the denoiser's residual MLP blocks (ours)."""
    diff_layers: int = 4
    """Residual blocks of the denoiser (ours)."""
    time_emb_dim: int = 128
    """Size of the sinusoidal timestep embedding."""
    diff_steps: int = 30000
    """Diffusion optimisation steps per task (paper: 30,000 iterations)."""
    diff_batch_size: int = 50
    """Diffusion batch size (ours; all of a task's checkpoints when it has fewer)."""
    diff_lr: float = 1e-3
    """Diffusion AdamW learning rate (paper 1e-3)."""
    weight_decay: float = 0.0
    """AdamW weight decay of both stages."""
    train_timesteps: int = 1000
    """DDPM diffusion timesteps T (standard DDPM: 1000, linear betas)."""
    beta_start: float = 1e-4
    """First beta of the linear DDPM schedule."""
    beta_end: float = 2e-2
    """Last beta of the linear DDPM schedule."""
    sample_steps: int = 1000
    """DDPM steps at generation (T: the full chain; fewer stride over it)."""
    device: str = "cpu"
    """Torch device for training and generation ("cpu" or "cuda")."""


PRESETS: dict[str, dict] = {
    # from the paper's description: noise 0.001 / 0.1, lr 1e-3, 30k autoencoder + 30k diffusion
    # iterations per model; standard DDPM (T=1000, linear betas); our MLP widths; for GPUs
    # (~100 MB of weights per task)
    "paper": {},
    # one CPU core, 10 seen tasks x 200 checkpoints of 22,664 parameters: ~2.5 CPU-minutes
    # (152 CPU-s measured on a synthetic zoo of that shape; ~12 MB of weights per task)
    "mini": {
        "ae_hidden": 64, "latent_dim": 32, "ae_steps": 240,
        "diff_hidden": 128, "diff_layers": 2, "time_emb_dim": 32, "diff_steps": 2000,
        "sample_steps": 200,
    },
    # seconds: wiring tests only, not a result
    "smoke": {
        "ae_hidden": 16, "latent_dim": 8, "ae_steps": 8, "diff_hidden": 32, "diff_layers": 1,
        "time_emb_dim": 16, "diff_steps": 20, "sample_steps": 10,
    },
}
REDUCTIONS: dict[str, str] = {
    "paper": ("MLP encoder/decoder and MLP denoiser instead of the paper's 1-D convolutions "
              "(a conv autoencoder rebuilt none of a 10-run task's variance); the paper's noise "
              "(0.001 input, 0.1 latent), DDPM (1000 steps) and 30k + 30k iterations per model"),
    "mini": ("MLPs instead of the paper's 1-D convolutions, as every preset; autoencoder hidden 64 and latent 32 (paper preset 512 / 128), 240 steps per task "
             "(30,000); denoiser 2 blocks of 128 (4 of 512), 2,000 steps per task (30,000); "
             "200 strided DDPM sampling steps (1000)"),
    "smoke": "tiny networks, 8 + 20 steps per task: checks wiring only",
}


# ----------------------------------------------------------------------------- model

class ParameterAutoencoder(nn.Module):
    """Normalised parameter vector (B, P) <-> latent (B, latent_dim), noise-augmented in training."""

    def __init__(self, n_params: int, hidden: int, latent_dim: int, input_noise: float, latent_noise: float):
        super().__init__()
        self.input_noise, self.latent_noise = input_noise, latent_noise
        self.encoder = nn.Sequential(nn.Linear(n_params, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
                                     nn.Linear(hidden, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(),
                                     nn.Linear(hidden, n_params))

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Reconstruction of x through the noisy path: decode(encode(x + xi_v) + xi_z)."""
        z = self.encoder(x + self.input_noise * _randn(x.shape, generator, x.device))
        return self.decoder(z + self.latent_noise * _randn(z.shape, generator, x.device))


class Denoiser(nn.Module):
    """eps_theta(z_t, t): a residual MLP on the flat latent with a sinusoidal timestep embedding."""

    def __init__(self, dim: int, hidden: int, layers: int, time_dim: int):
        super().__init__()
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden))
                                    for _ in range(layers))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        half = self.time_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=z.device) / max(half - 1, 1))
        angles = t.float()[:, None] * freqs[None, :]
        emb = self.time(torch.cat([angles.sin(), angles.cos()], dim=1))
        h = self.inp(z)
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)


class TaskModel(nn.Module):
    """One seen task's p-diff: its normaliser, autoencoder, latent statistics and denoiser."""

    def __init__(self, n_params: int, c: Config):
        super().__init__()
        self.autoencoder = ParameterAutoencoder(n_params, c.ae_hidden, c.latent_dim, c.ae_input_noise, c.ae_latent_noise)
        self.denoiser = Denoiser(c.latent_dim, c.diff_hidden, c.diff_layers, c.time_emb_dim)
        for name, size in (("param_mean", n_params), ("param_std", n_params),
                           ("latent_mean", c.latent_dim), ("latent_std", c.latent_dim)):
            self.register_buffer(name, torch.zeros(size) if "mean" in name else torch.ones(size))

    def normalise(self, params: torch.Tensor) -> torch.Tensor:
        return (params - self.param_mean) / self.param_std

    @torch.no_grad()
    def latents(self, params: torch.Tensor) -> torch.Tensor:
        """Standardised noise-free latents of raw parameter vectors."""
        return (self.autoencoder.encoder(self.normalise(params)) - self.latent_mean) / self.latent_std

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Raw parameter vectors of standardised latents."""
        x = self.autoencoder.decoder(latents * self.latent_std + self.latent_mean)
        return x * self.param_std + self.param_mean


def _randn(shape, generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def _seed(*parts: int) -> int:
    """A 32-bit seed derived from `parts` (run seed, task index, stage)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def _train(loss_fn, module: nn.Module, data: torch.Tensor, steps: int, batch_size: int, lr: float,
           weight_decay: float, generator: torch.Generator, stage: str, done: int, total: int) -> list[float]:
    """`steps` AdamW steps of loss_fn(batch) over shuffled epochs of `data`; the mean loss of
    every epoch. Progress is reported once per epoch, counted in steps over all tasks."""
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    n, batch_size = len(data), min(batch_size, len(data))
    losses, step = [], 0
    module.train()
    while step < steps:
        order = torch.randperm(n, generator=generator, device=generator.device).to(data.device)
        total_loss, seen = 0.0, 0
        for start in range(0, n - batch_size + 1, batch_size):  # full batches only
            if step == steps:
                break
            batch = data[order[start:start + batch_size]]
            loss = loss_fn(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            total_loss, seen = total_loss + loss.item() * len(batch), seen + len(batch)
        losses.append(total_loss / seen)
        report_progress(stage, done + step, total)
    module.eval()
    if not all(math.isfinite(x) for x in losses):
        raise FloatingPointError(f"p-diff {stage} loss diverged: {losses[-5:]}")
    return losses


# ----------------------------------------------------------------------------- method

class PDiff(Method):
    """One unconditional latent diffusion model of parameters per seen task; the prompt picks
    the task (majority vote of nearest-checkpoint tasks), that task's model samples.

    `propose` returns one generated policy per condition trajectory, in row order, all from
    the model of the one task the cell's trajectories vote for.
    """

    name = "p-diff"
    Config = Config
    reads = ("states", "actions", "successes")  # what the task lookup's behaviour features read

    def __init__(self, config: Config, spec: PolicySpec):
        if config.traj_steps % config.traj_group:
            raise UserError(f"p-diff: traj_steps={config.traj_steps} is not a multiple of traj_group={config.traj_group}")
        if min(config.ae_steps, config.diff_steps, config.sample_steps) < 1:
            raise UserError("p-diff: ae_steps, diff_steps and sample_steps must be at least 1")
        if config.sample_steps > config.train_timesteps:
            raise UserError(f"p-diff: sample_steps={config.sample_steps} exceeds train_timesteps={config.train_timesteps}")
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"p-diff: device {config.device!r} requested but CUDA is not available")
        super().__init__(config, spec)
        self.device = torch.device(config.device)
        self.task_names: list[str] = []
        self.models = nn.ModuleList()
        self.features = torch.zeros(0, 0)
        self.feature_task = torch.zeros(0, dtype=torch.int64)
        self.feature_low = self.feature_span = torch.zeros(0)
        self.history: dict[str, list[list[float]]] = {}
        self.fit_stats: dict = {}

    def _scheduler(self) -> DDPMScheduler:
        c = self.config
        return DDPMScheduler(num_train_timesteps=c.train_timesteps, beta_start=c.beta_start, beta_end=c.beta_end,
                             beta_schedule="linear", clip_sample=False, prediction_type="epsilon")

    def _tensor(self, array) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, np.float32), device=self.device)

    def _check_dims(self, data, what: str) -> None:
        if data.states.shape[-1] != self.spec.obs_dim or data.actions.shape[-1] != self.spec.act_dim:
            raise UserError(f"p-diff: {what} have obs/act sizes {data.states.shape[-1]}/{data.actions.shape[-1]}, "
                            f"the model expects {self.spec.obs_dim}/{self.spec.act_dim}")

    # ---- training ------------------------------------------------------------------------
    def fit(self, zoo, seed: int) -> dict:
        """Features for the task lookup, then every seen task's autoencoder, then every seen
        task's diffusion model; returns mean first/final losses over tasks and seconds."""
        if zoo.spec != self.spec:
            raise UserError(f"p-diff: zoo policy spec {zoo.spec} differs from the method's {self.spec}")
        data, c = zoo.checkpoints, self.config
        if len(data) == 0:
            raise UserError("p-diff: the zoo has no checkpoints")
        self._check_dims(data, "zoo checkpoints")
        tasks = data.tasks
        self.task_names = sorted({str(t) for t in tasks})
        rows = [np.flatnonzero(tasks == t) for t in self.task_names]

        raw = behaviour_features(data, c)
        low, span = raw.min(axis=0), raw.max(axis=0) - raw.min(axis=0)
        self.feature_low, self.feature_span = self._tensor(low), self._tensor(np.where(span < 1e-4, 2.0, span))
        self.features = self._normalise_features(raw)
        self.feature_task = torch.as_tensor(np.searchsorted(self.task_names, tasks.astype(str)), dtype=torch.int64)

        self.models = nn.ModuleList()
        for k in range(len(self.task_names)):
            torch.manual_seed(_seed(seed, k, 0))
            self.models.append(TaskModel(self.spec.n_params, c).to(self.device).eval())
        stats: dict = {"n_checkpoints": len(data), "n_tasks": len(self.task_names)}
        self.history = {"autoencoder": [], "diffusion": []}

        # stage 1: one parameter autoencoder per task, on per-parameter z-scored checkpoints
        start, normalised = time.perf_counter(), []
        total = c.ae_steps * len(self.models)
        for k, (model, task_rows) in enumerate(zip(self.models, rows)):
            params = self._tensor(data.params[task_rows])
            std = params.std(dim=0, unbiased=False)
            model.param_mean.copy_(params.mean(dim=0))
            model.param_std.copy_(torch.where(std < 1e-8, torch.ones_like(std), std))
            x = model.normalise(params)
            normalised.append(x)
            generator = torch.Generator().manual_seed(_seed(seed, k, 1))
            ae = model.autoencoder
            self.history["autoencoder"].append(_train(
                lambda batch, ae=ae, g=generator: nn.functional.mse_loss(ae(batch, g), batch),
                ae, x, c.ae_steps, c.ae_batch_size, c.ae_lr, c.weight_decay, generator, "autoencoder",
                k * c.ae_steps, total))
        stats["autoencoder_seconds"] = time.perf_counter() - start

        # stage 2: one DDPM per task on its standardised noise-free latents
        start, scheduler = time.perf_counter(), self._scheduler()
        total = c.diff_steps * len(self.models)
        for k, (model, x) in enumerate(zip(self.models, normalised)):
            with torch.no_grad():
                z = model.autoencoder.encoder(x)
            std = z.std(dim=0, unbiased=False)
            model.latent_mean.copy_(z.mean(dim=0))
            model.latent_std.copy_(torch.where(std < 1e-6, torch.ones_like(std), std))
            z = (z - model.latent_mean) / model.latent_std
            generator = torch.Generator().manual_seed(_seed(seed, k, 2))

            def diffusion_loss(z0, net=model.denoiser, g=generator):
                t = torch.randint(0, c.train_timesteps, (len(z0),), generator=g, device=g.device).to(z0.device)
                noise = _randn(z0.shape, g, z0.device)
                return nn.functional.mse_loss(net(scheduler.add_noise(z0, noise, t), t), noise)

            self.history["diffusion"].append(_train(
                diffusion_loss, model.denoiser, z, c.diff_steps, c.diff_batch_size, c.diff_lr, c.weight_decay,
                generator, "diffusion", k * c.diff_steps, total))
        stats["diffusion_seconds"] = time.perf_counter() - start

        for stage, curves in self.history.items():
            stats[f"{stage}_loss_first"] = float(np.mean([curve[0] for curve in curves]))
            stats[f"{stage}_loss_final"] = float(np.mean([curve[-1] for curve in curves]))
        reconstructed = self.reconstruct(data.params)
        stats["reconstruction_rel_error"] = float(np.mean(
            np.linalg.norm(reconstructed - data.params, axis=1) / np.maximum(np.linalg.norm(data.params, axis=1), 1e-12)))
        self.fit_stats = stats
        return stats

    # ---- task lookup -----------------------------------------------------------------------
    def _normalise_features(self, raw: np.ndarray) -> torch.Tensor:
        return 2 * (self._tensor(raw) - self.feature_low) / self.feature_span - 1

    def task_index(self, conditions) -> int:
        """The seen task the condition trajectories vote for: each votes for the task of its
        nearest training checkpoint (behaviour features, as nearest-checkpoint); ties go to the
        tied task with the single nearest checkpoint."""
        query = self._normalise_features(behaviour_features(conditions, self.config))
        d2 = torch.cdist(query, self.features).square().cpu().numpy()
        owner = self.feature_task.numpy()
        votes = np.bincount(owner[d2.argmin(axis=1)], minlength=len(self.task_names))
        tied = np.flatnonzero(votes == votes.max())
        return int(tied[np.argmin([d2[:, owner == k].min() for k in tied])])

    # ---- generation ----------------------------------------------------------------------
    @torch.no_grad()
    def propose(self, conditions, seed: int) -> ParameterProposal:
        """One sampled policy per condition trajectory, all from the voted task's model:
        params (len(conditions), P). Deterministic for a fixed seed."""
        if len(conditions) == 0:
            return ParameterProposal(np.zeros((0, self.spec.n_params), np.float32), self.spec)
        if not self.models:
            raise UserError("p-diff: propose called before fit or load")
        self._check_dims(conditions, "condition trajectories")
        model = self.models[self.task_index(conditions)]
        generator = torch.Generator().manual_seed(int(seed))
        scheduler = self._scheduler()
        scheduler.set_timesteps(self.config.sample_steps, device=self.device)
        z = _randn((len(conditions), self.config.latent_dim), generator, self.device)
        for t in scheduler.timesteps:
            eps = model.denoiser(z, t.expand(len(z)))
            z = scheduler.step(eps, t, z, generator=generator).prev_sample
        return ParameterProposal(model.decode(z).float().cpu().numpy(), self.spec)

    # ---- diagnosis hooks -----------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, params: np.ndarray) -> np.ndarray:
        """(N, P) parameter vectors through encode -> decode (no noise) of the autoencoder of the
        task whose checkpoints they are nearest in that task's normalised units (mean z^2 to its
        mean checkpoint)."""
        x = self._tensor(params)
        distances = torch.stack([model.normalise(x).square().mean(dim=1) for model in self.models], dim=1)
        out = torch.empty_like(x)
        for k, model in enumerate(self.models):
            rows = distances.argmin(dim=1) == k
            if rows.any():
                z = model.autoencoder.encoder(model.normalise(x[rows]))
                out[rows] = model.autoencoder.decoder(z) * model.param_std + model.param_mean
        return out.cpu().numpy()

    def diagnostics(self) -> dict:
        """Scalars measured at the end of `fit` and the per-task loss curves under `history`."""
        return {**{k: v for k, v in self.fit_stats.items() if not k.endswith("_seconds")}, "history": self.history}

    # ---- persistence ---------------------------------------------------------------------
    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = {f"models.{k}": v for k, v in self.models.state_dict().items()}
        tensors.update(features=self.features, feature_task=self.feature_task,
                       feature_low=self.feature_low, feature_span=self.feature_span)
        meta = {"method": self.name, "config": config_to_dict(self.config), "spec": self.spec.to_dict(),
                "tasks": self.task_names, "history": self.history, "fit_stats": self.fit_stats}
        return tensors, meta

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None,
                   spec: PolicySpec) -> "PDiff":
        """Rebuild a saved model. `config` may be None (the saved one) or must match the saved
        one in every field but `device`."""
        if meta.get("method") != cls.name or PolicySpec(**meta["spec"]) != spec:
            raise UserError(f"saved by {meta.get('method')} for spec {meta['spec']}, asked for {cls.name} {spec.to_dict()}")
        saved = Config(**meta["config"])
        if config is not None:
            differ = sorted(k for k, v in config_to_dict(config).items() if k != "device" and v != meta["config"].get(k))
            if differ:
                raise UserError(f"saved with different settings ({', '.join(differ)})")
            saved = dataclasses.replace(saved, device=config.device)
        model = cls(saved, spec)
        model.task_names = list(meta["tasks"])
        model.models = nn.ModuleList(TaskModel(spec.n_params, saved) for _ in model.task_names)
        model.models.load_state_dict({k[len("models."):]: v for k, v in tensors.items() if k.startswith("models.")})
        model.models.to(model.device).eval()
        model.features, model.feature_task = tensors["features"].to(model.device), tensors["feature_task"]
        model.feature_low, model.feature_span = tensors["feature_low"].to(model.device), tensors["feature_span"].to(model.device)
        model.history, model.fit_stats = meta["history"], meta["fit_stats"]
        return model
