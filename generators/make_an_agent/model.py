"""Make-An-Agent (Liang et al., NeurIPS 2024) as a benchmark method: three stages trained on
the zoo's checkpoints, then one generated policy per condition trajectory.

    fit:     params (N, P) --autoencoder--> latents (N, 2, width)           [autoencoder.py]
             trajectories --contrastive embedding--> h (N, 128), v (N, 128)   [embedding.py]
             latents | [h, v] --conditional latent diffusion-->               [diffusion.py]
    propose: condition trajectory -> [h, v] -> DDIM sample -> decode -> policy (P,)

Every checkpoint is paired with its own trajectory (the zoo stores one per checkpoint), which
gives it its condition at training time, as in the release's dataset.

Choices that differ from the authors' release (each deliberate, each documented):
- One min-max normaliser per input, fitted on the training zoo and saved with the model, is
  used at generation too; the release refits the embedding's normaliser on the generation
  batch, so the same trajectory embeds differently depending on its batch-mates. Normalised
  embedding inputs and conditions are clipped to [-1, 1] (see normalize.py).
- The autoencoder clamps latents to [-1, 1] when encoding as well as in training (the release
  clamps in training only, so its linear decoder later extrapolates from latents it never saw;
  see autoencoder.py); `ae_clamp_when_encoding=False` restores the release's behaviour.
  Latents given to the diffusion stage are encoded without noise.
- The success-state input of a trajectory without success falls back to its last m states
  (benchmark.zoo.features); the release's data always contain a success.
- Sizes are derived from the policy spec and the window (n, group, m), not hard-coded to
  (2, 1024), 1,020 and 117, so the ablations (trajectory length, latent width, hidden size)
  run without code changes.
- Everything is seeded: module initialisation, shuffling, noise and sampling; the same seed
  gives the same model and the same proposals.
- The "raw" condition (paper Figure 8) is a trajectory-feature MLP trained with the denoiser
  (the release has no code for it).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from benchmark.api import Method, ParameterProposal, config_to_dict
from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from benchmark.zoo.format import PolicySet, Zoo
from generators.make_an_agent.autoencoder import ParameterAutoencoder, train_autoencoder
from generators.make_an_agent.diffusion import (
    ConditionalUnet1D,
    EmbeddingCondition,
    RawTrajectoryEncoder,
    make_scheduler,
    sample_latents,
    train_diffusion,
)
from generators.make_an_agent.embedding import BehaviourEmbedding, behaviour_inputs, feature_sizes, train_embedding
from generators.make_an_agent.normalize import MinMaxNormalizer

CONDITIONS = ("h", "v", "h+v", "raw")


@dataclass
class Config:
    """Make-An-Agent hyperparameters; the defaults are the release's (paper-scale) values."""

    condition: str = "h+v"
    """Diffusion condition: "h", "v", "h+v" (paper) or "raw" (trajectory MLP trained in the denoiser)."""
    traj_steps: int = 60
    """n: trajectory steps read by the embedding's h (Figure 12 varies it)."""
    traj_group: int = 3
    """Actions per group in the trajectory features: groups are [state, next `traj_group` actions]."""
    success_states: int = 3
    """m: states from the first success read by v."""
    checkpoints_per_task: int = 0
    """Checkpoints per task used from the zoo (0 = all; a seeded subset otherwise; Figure 12)."""
    latent_width: int = 1024
    """Width of each latent token of the autoencoder (Figure 12 varies it)."""
    ae_input_noise: float = 0.001
    """Autoencoder input noise factor f in randn*f + x*(1-f)."""
    ae_latent_noise: float = 0.01
    """Autoencoder latent noise factor."""
    ae_clamp_when_encoding: bool = True
    """Clamp latents to [-1, 1] when encoding too (False: only in training, as the release)."""
    ae_lr: float = 1e-3
    """Autoencoder AdamW learning rate."""
    ae_weight_decay: float = 5e-3
    """Autoencoder AdamW weight decay."""
    ae_batch_size: int = 32
    """Autoencoder batch size."""
    ae_epochs: int = 3000
    """Autoencoder epochs."""
    ae_restart_period: int = 10
    """T_0 (in steps) of the autoencoder's cosine-annealing warm restarts."""
    ae_restart_mult: int = 2
    """T_mult of the warm restarts."""
    end_on_restart: bool = False
    """Extend the autoencoder and diffusion trainings to the end of their warm-restart cycle
    (the lowest learning rate) instead of stopping mid-cycle after exactly the given epochs."""
    emb_hidden: int = 1024
    """Hidden width of the h-net (two hidden layers)."""
    emb_success_hidden: int = 256
    """Hidden width of the v-net."""
    emb_dim: int = 128
    """Size of h and of v."""
    emb_lr: float = 1e-4
    """Embedding AdamW learning rate."""
    emb_weight_decay: float = 1e-4
    """Embedding AdamW weight decay."""
    emb_batch_size: int = 16
    """Embedding batch size (the number of InfoNCE candidates)."""
    emb_epochs: int = 400
    """Embedding epochs."""
    unet_down_dims: list[int] = field(default_factory=lambda: [512, 1024, 2048])
    """Channel widths of the UNet's down levels."""
    unet_kernel: int = 3
    """Convolution kernel size of the UNet's blocks."""
    unet_groups: int = 8
    """GroupNorm groups."""
    time_emb_dim: int = 128
    """Size of the diffusion-timestep embedding."""
    raw_hidden: int = 256
    """Hidden width of the raw-trajectory encoder (condition="raw" only)."""
    diff_lr: float = 2e-4
    """Diffusion AdamW learning rate."""
    diff_betas: list[float] = field(default_factory=lambda: [0.95, 0.999])
    """Diffusion AdamW betas."""
    diff_weight_decay: float = 5e-4
    """Diffusion AdamW weight decay."""
    diff_batch_size: int = 128
    """Diffusion batch size."""
    diff_epochs: int = 1000
    """Diffusion epochs."""
    diff_restart_period: int = 10
    """T_0 (in steps) of the diffusion's cosine-annealing warm restarts (0: constant rate)."""
    diff_restart_mult: int = 2
    """T_mult of the diffusion's warm restarts."""
    diff_train_steps: int = 100
    """Diffusion (DDIM) training timesteps."""
    diff_inference_steps: int = 10
    """DDIM steps at generation."""
    beta_schedule: str = "squaredcos_cap_v2"
    """Noise schedule of the DDIM scheduler."""
    heldout_fraction: float = 0.0
    """Share of each task's checkpoints held out of training to draw held-out loss curves
    (autoencoder and diffusion); 0 trains on all, as the paper."""
    device: str = "cpu"
    """Torch device for training and generation ("cpu" or "cuda")."""


PRESETS: dict[str, dict] = {
    # the release's sizes and epochs; for GPUs (paper appendix: ~10 A40-hours in all)
    "paper": {},
    # a 2-core CPU, ~10 tasks x 200 checkpoints: all three stages in ~10-12 CPU-minutes.
    # Budgets chosen from the diagnosis (`python -m benchmark diagnose`): at AE 15 / diffusion
    # 60 epochs with a constant diffusion rate the AE alone lost most of the zoo's success.
    "mini": {
        "latent_width": 256,            # paper 1024
        "ae_epochs": 40,                # paper 3000; extended to the end of its restart cycle
        "ae_lr": 3e-3,                  # paper 1e-3 (fewer steps)
        "emb_hidden": 256,              # paper 1024
        "emb_epochs": 30,               # paper 400
        "emb_batch_size": 64,           # paper 16 (more negatives per step, fewer steps)
        "unet_down_dims": [128, 256],   # paper [512, 1024, 2048]
        "diff_epochs": 160,             # paper 1000; extended to the end of its restart cycle
        "diff_batch_size": 64,          # paper 128 (more steps from a small zoo)
        "diff_lr": 5e-4,                # paper 2e-4 (fewer epochs)
        "end_on_restart": True,         # paper: stops after exactly its epochs
        "heldout_fraction": 0.05,       # paper 0: 5% of each task's checkpoints draw held-out curves
    },
    # seconds: wiring tests only, not a result
    "smoke": {
        "latent_width": 32, "ae_epochs": 3, "emb_hidden": 64, "emb_success_hidden": 32,
        "emb_dim": 16, "emb_epochs": 3, "unet_down_dims": [16, 32], "time_emb_dim": 16,
        "raw_hidden": 32, "diff_epochs": 3, "diff_batch_size": 32, "diff_inference_steps": 4,
    },
}
REDUCTIONS: dict[str, str] = {
    "paper": "none: the release's architecture and epochs",
    "mini": ("latent width 256 (1024), h-net hidden 256 (1024), UNet [128, 256] "
             "([512, 1024, 2048]); epochs AE 40 (3000) with lr 3e-3 (1e-3), embedding 30 (400) with "
             "batch 64 (16), diffusion 160 (1000) with batch 64 (128) and lr 5e-4 (2e-4), both "
             "extended to the end of their warm-restart cycle; 5% of each task's checkpoints held "
             "out of training for the held-out loss curves"),
    "smoke": "tiny networks and 3 epochs per stage: checks wiring only",
}


def preset_config(name: str, **overrides) -> Config:
    """Config of preset `name` with `overrides` applied on top."""
    if name not in PRESETS:
        raise UserError(f"unknown Make-An-Agent preset {name!r}; valid: {', '.join(PRESETS)}")
    return Config(**{**PRESETS[name], **overrides})


def select_checkpoints(zoo_checkpoints: PolicySet, per_task: int, seed: int) -> PolicySet:
    """All rows (per_task=0) or a seeded subset of `per_task` rows of every task, in zoo order."""
    if per_task <= 0:
        return zoo_checkpoints
    rng = np.random.default_rng(seed)
    tasks = zoo_checkpoints.tasks
    rows = []
    for task in sorted(set(tasks)):
        task_rows = np.flatnonzero(tasks == task)
        rows.extend(rng.choice(task_rows, size=min(per_task, len(task_rows)), replace=False))
    return zoo_checkpoints.subset(np.sort(np.asarray(rows, dtype=np.int64)))


def split_heldout(data: PolicySet, fraction: float, seed: int) -> tuple[PolicySet, PolicySet]:
    """(train, held-out): a seeded `fraction` of every task's rows (at least one when
    fraction > 0) held out; both in zoo order."""
    if fraction <= 0:
        return data, data.subset(np.zeros(0, np.int64))
    rng = np.random.default_rng([seed, 17])
    held = []
    for task in sorted(set(data.tasks)):
        rows = np.flatnonzero(data.tasks == task)
        held.extend(rng.choice(rows, size=max(1, int(round(fraction * len(rows)))), replace=False))
    held_mask = np.zeros(len(data), bool)
    held_mask[np.asarray(held, np.int64)] = True
    return data.subset(np.flatnonzero(~held_mask)), data.subset(np.flatnonzero(held_mask))


def relative_errors(reconstructed: np.ndarray, params: np.ndarray) -> np.ndarray:
    """(N,) relative L2 error of each reconstructed parameter vector."""
    return np.linalg.norm(reconstructed - params, axis=1) / np.maximum(np.linalg.norm(params, axis=1), 1e-12)


class MakeAnAgent(Method):
    """Behaviour-prompted latent diffusion over policy parameters.

    `propose` returns one generated policy per condition trajectory, in the order of the rows.
    """

    name = "make-an-agent"
    Config = Config
    reads = ("states", "actions", "successes")  # h: first steps; v: the states after the first success

    def __init__(self, config: Config, spec: PolicySpec):
        if config.condition not in CONDITIONS:
            raise UserError(f"make-an-agent: condition {config.condition!r} is not one of {', '.join(CONDITIONS)}")
        if config.traj_steps % config.traj_group:
            raise UserError(f"make-an-agent: traj_steps={config.traj_steps} is not a multiple of traj_group={config.traj_group}")
        if not 0.0 <= config.heldout_fraction < 0.5:
            raise UserError(f"make-an-agent: heldout_fraction={config.heldout_fraction} is not in [0, 0.5)")
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"make-an-agent: device {config.device!r} requested but CUDA is not available")
        super().__init__(config, spec)
        self.device = torch.device(config.device)
        self.history: dict[str, list[float]] = {}
        self._build()

    # ---- modules -------------------------------------------------------------------------
    def _build(self) -> None:
        """Create the (untrained) modules the config and spec describe."""
        c = self.config
        traj_dim, success_dim = feature_sizes(self.spec, c.traj_steps, c.traj_group, c.success_states)
        self.autoencoder = ParameterAutoencoder(self.spec.chunk_sizes, c.latent_width,
                                                c.ae_input_noise, c.ae_latent_noise,
                                                c.ae_clamp_when_encoding)
        self.latent_norm = MinMaxNormalizer(c.latent_width)
        self.embedding = BehaviourEmbedding(traj_dim, success_dim, c.emb_hidden,
                                            c.emb_success_hidden, c.emb_dim)
        if c.condition == "raw":
            self.cond_encoder = RawTrajectoryEncoder(traj_dim, c.raw_hidden, 2 * c.emb_dim)
        else:
            self.cond_encoder = EmbeddingCondition(c.emb_dim * (2 if c.condition == "h+v" else 1))
        self.unet = ConditionalUnet1D(c.latent_width, self.cond_encoder.out_dim, c.unet_down_dims,
                                      c.unet_kernel, c.unet_groups, c.time_emb_dim)
        self.scheduler = make_scheduler(c.diff_train_steps, c.beta_schedule)
        for module in self._modules_by_name().values():
            module.to(self.device).eval()

    def _modules_by_name(self) -> dict[str, nn.Module]:
        return {"autoencoder": self.autoencoder, "latent_norm": self.latent_norm,
                "embedding": self.embedding, "cond_encoder": self.cond_encoder, "unet": self.unet}

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def _tensor(self, array) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, np.float32), device=self.device)

    def _condition_inputs(self, data: PolicySet) -> torch.Tensor:
        """What the condition encoder reads for every row: [h, v], h, v (B, 128 each) from the
        frozen embedding, or the raw trajectory features (B, traj_dim)."""
        c = self.config
        traj, success = behaviour_inputs(data, c.traj_steps, c.traj_group, c.success_states)
        traj, success = self._tensor(traj), self._tensor(success)
        if c.condition == "raw":
            return traj
        with torch.no_grad():
            h, v = self.embedding(traj, success)
        return {"h": h, "v": v, "h+v": torch.cat([h, v], dim=1)}[c.condition]

    def _check_policy_set(self, data: PolicySet, what: str) -> None:
        if data.states.shape[-1] != self.spec.obs_dim or data.actions.shape[-1] != self.spec.act_dim:
            raise UserError(f"make-an-agent: {what} have obs/act sizes {data.states.shape[-1]}/"
                            f"{data.actions.shape[-1]}, the model expects {self.spec.obs_dim}/{self.spec.act_dim}")

    # ---- training ------------------------------------------------------------------------
    def fit(self, zoo: Zoo, seed: int) -> dict:
        """Train autoencoder, embedding and diffusion on zoo.checkpoints; returns first/final
        loss and seconds of every stage."""
        if zoo.spec != self.spec:
            raise UserError(f"make-an-agent: zoo policy spec {zoo.spec} differs from the method's {self.spec}")
        c = self.config
        data, heldout = split_heldout(select_checkpoints(zoo.checkpoints, c.checkpoints_per_task, seed),
                                      c.heldout_fraction, seed)
        if len(data) < 2:
            raise UserError(f"make-an-agent: needs at least 2 training checkpoints, the zoo has {len(data)}")
        self._check_policy_set(data, "zoo checkpoints")
        stats: dict = {"n_checkpoints": len(data), "n_heldout": len(heldout)}
        params, held_params = self._tensor(data.params), self._tensor(heldout.params)

        # stage 1: parameter autoencoder
        start = time.perf_counter()
        torch.manual_seed(seed)
        self._build()
        self.history["autoencoder"], self.history["autoencoder_heldout"] = train_autoencoder(
            self.autoencoder, params, epochs=c.ae_epochs, batch_size=c.ae_batch_size, lr=c.ae_lr,
            weight_decay=c.ae_weight_decay, restart_period=c.ae_restart_period,
            restart_mult=c.ae_restart_mult, generator=self._generator(seed), end_on_restart=c.end_on_restart,
            heldout=held_params)
        stats["autoencoder_seconds"] = time.perf_counter() - start

        # stage 2: behaviour embedding (the raw condition does not use it)
        start = time.perf_counter()
        if c.condition != "raw":
            traj, success = behaviour_inputs(data, c.traj_steps, c.traj_group, c.success_states)
            self.history["embedding"] = train_embedding(
                self.embedding, self._tensor(traj), self._tensor(success), epochs=c.emb_epochs,
                batch_size=c.emb_batch_size, lr=c.emb_lr, weight_decay=c.emb_weight_decay,
                generator=self._generator(seed + 1))
        stats["embedding_seconds"] = time.perf_counter() - start

        # stage 3: latent diffusion on noise-free latents
        start = time.perf_counter()
        with torch.no_grad():
            latents = self.autoencoder.encode(params)
            held_latents = self.autoencoder.encode(held_params)
        self.latent_norm.fit(latents)
        held = ((self.latent_norm.normalize(held_latents), self._condition_inputs(heldout))
                if len(heldout) else None)
        self.history["diffusion"], self.history["diffusion_heldout"] = train_diffusion(
            self.unet, self.cond_encoder, self.scheduler, self.latent_norm.normalize(latents),
            self._condition_inputs(data), epochs=c.diff_epochs, batch_size=c.diff_batch_size,
            lr=c.diff_lr, betas=tuple(c.diff_betas), weight_decay=c.diff_weight_decay,
            restart_period=c.diff_restart_period, restart_mult=c.diff_restart_mult,
            generator=self._generator(seed + 2), end_on_restart=c.end_on_restart, heldout=held)
        stats["diffusion_seconds"] = time.perf_counter() - start

        for stage, losses in self.history.items():
            if losses:
                stats[f"{stage}_loss_first"], stats[f"{stage}_loss_final"] = losses[0], losses[-1]
        stats.update(self._fit_diagnostics(data, heldout))
        self.fit_stats = stats
        return stats

    @torch.no_grad()
    def _fit_diagnostics(self, data: PolicySet, heldout: PolicySet) -> dict:
        """Reconstruction error (relative L2, mean over rows) on training and held-out
        checkpoints, and the share of latent entries outside [-1, 1] before the clamp."""
        unclamped = self.autoencoder._encode_unclamped(self._tensor(data.params))
        out = {"latent_clamped_share": float((unclamped.abs() > 1.0).float().mean()),
               "reconstruction_rel_error": float(relative_errors(self.reconstruct(data.params), data.params).mean())}
        if len(heldout):
            out["reconstruction_rel_error_heldout"] = float(
                relative_errors(self.reconstruct(heldout.params), heldout.params).mean())
        return out

    # ---- diagnosis hooks -----------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, params: np.ndarray) -> np.ndarray:
        """(N, P) parameter vectors through encode -> decode (no noise), as generation decodes."""
        latents = self.autoencoder.encode(self._tensor(params))
        return self.autoencoder.decode(latents).float().cpu().numpy()

    def diagnostics(self) -> dict:
        """Scalars measured at the end of `fit` (reconstruction errors, clamped share), and
        the per-epoch loss curves (train and held-out) under `history`."""
        return {**{k: v for k, v in getattr(self, "fit_stats", {}).items() if not k.endswith("_seconds")},
                "history": self.history}

    # ---- generation ----------------------------------------------------------------------
    @torch.no_grad()
    def propose(self, conditions: PolicySet, seed: int) -> ParameterProposal:
        """One generated policy per condition trajectory: params (len(conditions), P).

        Deterministic for a fixed seed (the initial noise is the only randomness)."""
        if len(conditions) == 0:
            return ParameterProposal(np.zeros((0, self.spec.n_params), np.float32), self.spec)
        self._check_policy_set(conditions, "condition trajectories")
        cond = self.cond_encoder(self._condition_inputs(conditions))
        latents = sample_latents(self.unet, self.scheduler, cond,
                                 (self.autoencoder.n_tokens, self.config.latent_width),
                                 self.config.diff_inference_steps, self._generator(seed))
        params = self.autoencoder.decode(self.latent_norm.unnormalize(latents))
        return ParameterProposal(params.float().cpu().numpy(), self.spec)

    # ---- persistence ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor of every module, keys prefixed by module name."""
        return {f"{name}.{key}": value for name, module in self._modules_by_name().items()
                for key, value in module.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, module in self._modules_by_name().items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        return self.state_dict(), {"config": config_to_dict(self.config), "spec": self.spec.to_dict(),
                                   "history": self.history, "fit_stats": getattr(self, "fit_stats", {})}

    @classmethod
    def from_state(
        cls, tensors: dict[str, torch.Tensor], meta: dict, config: Config | None, spec: PolicySpec
    ) -> "MakeAnAgent":
        """Rebuild a saved model. `config` may be None (use the saved one) or must match the saved
        one in every field but `device`."""
        saved = Config(**meta["config"])
        if PolicySpec(**meta["spec"]) != spec:
            raise UserError(f"saved for policy spec {meta['spec']}, asked for {spec.to_dict()}")
        if config is not None:
            mine = {k: v for k, v in config_to_dict(config).items() if k != "device"}
            theirs = {k: v for k, v in meta["config"].items() if k != "device"}
            differ = sorted(k for k in mine if mine[k] != theirs.get(k))
            if differ:
                raise UserError(f"saved with different settings ({', '.join(differ)})")
            saved = dataclasses.replace(saved, device=config.device)
        model = cls(saved, spec)
        model.load_state_dict({k: v.to(model.device) for k, v in tensors.items()})
        model.history, model.fit_stats = meta["history"], meta["fit_stats"]
        return model
