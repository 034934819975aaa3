"""Load the authors' released Make-An-Agent checkpoints into this package's modules.

Files (GitHub cheryyunl/Make-An-Agent, weights on the Hugging Face hub under the same name):

- autoencoder: a Lightning `.ckpt` dict whose "state_dict" holds the `EncoderDecoder` under
  the prefix "model.";
- behaviour embedding: a Lightning `.ckpt` dict, "state_dict" with the `Embedding` under "model.";
- generator: a dict {"model": PolicyGenerator.state_dict(), "optimizer": ..., "normalizer":
  LinearNormalizer.state_dict()}; the UNet is under "model.model." inside "model" ("model."
  stripped below), the normaliser's per-field tensors under "params_dict.<field>.scale|offset".

Key mapping (after the prefix is stripped the names are identical by construction):

    release                                         here
    input_parameter_projections.{i}.0.weight        ParameterAutoencoder (same name), (width, chunk_i)
    output_parameter_projections.{i}.0.weight       ParameterAutoencoder (same name), (chunk_i, width)
    ln_in.weight / ln_in.bias                       ParameterAutoencoder.ln_in, (width,)
    traj_embed.{0,2,4}.*, task_embed.{0,1,3}.*, W   BehaviourEmbedding (same names)
    diffusion_step_encoder.*, down_modules.*,       ConditionalUnet1D (same names; FiLM blocks'
      mid_modules.*, up_modules.*, final_conv.*       cond_encoder.1 is the Linear)
    normalizer params_dict.param.{scale,offset}     MakeAnAgent.latent_norm (per latent feature)
    normalizer params_dict.traj / .task             EmbeddingCondition.norm, [h | v] concatenated

What does not carry over: the embedding's input normalisers are not in the release's
checkpoint (its normaliser is refitted at run time, see model.py), so the inputs must be
normalised with statistics of a zoo (`fit_on`); GroupNorm's group count is not stored (the
release uses 8). Every size (chunk sizes, widths, down dims, kernel, condition size) is read
from the tensors' shapes. Files are read with torch.load(weights_only=True): a checkpoint
holding pickled Python objects other than tensors and plain containers is refused with a
one-line UserError.
"""
from __future__ import annotations

from pathlib import Path

import torch

from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from benchmark.zoo.format import Zoo
from generators.make_an_agent.autoencoder import ParameterAutoencoder
from generators.make_an_agent.embedding import BehaviourEmbedding, behaviour_inputs
from generators.make_an_agent.model import Config, MakeAnAgent


def _read(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or ValueError here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: not loadable with weights_only=True ({first}); re-save its "
                        "state_dict alone in a trusted environment") from None


def _strip(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _lightning_state(path) -> dict:
    ckpt = _read(path)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise UserError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    state = _strip(ckpt["state_dict"], "model.")
    if not state:
        raise UserError(f"{path}: no 'model.'-prefixed keys in its state_dict")
    return state


def _load_strict(module: torch.nn.Module, state: dict, path, allow_missing=()) -> None:
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(tuple(allow_missing))]
    if missing or unexpected:
        raise UserError(f"{path}: keys do not match ({len(missing)} missing, e.g. {missing[:2]}; "
                        f"{len(unexpected)} unexpected, e.g. {unexpected[:2]})")


def load_autoencoder(path, clamp_when_encoding: bool = False) -> ParameterAutoencoder:
    """The release's parameter autoencoder (clamping in training only, as it was trained)."""
    state = _lightning_state(path)
    chunks, i = [], 0
    while f"input_parameter_projections.{i}.0.weight" in state:
        chunks.append(state[f"input_parameter_projections.{i}.0.weight"].shape[1])
        i += 1
    if not chunks or "ln_in.weight" not in state:
        raise UserError(f"{path}: not a Make-An-Agent autoencoder (no input_parameter_projections / ln_in)")
    model = ParameterAutoencoder(tuple(chunks), state["ln_in.weight"].shape[0],
                                 clamp_when_encoding=clamp_when_encoding)
    _load_strict(model, state, path)
    return model.eval()


def load_embedding(path) -> BehaviourEmbedding:
    """The release's behaviour embedding; its input normalisers are identity until fitted."""
    state = _lightning_state(path)
    try:
        traj_dim = state["traj_embed.0.weight"].shape[1]
        hidden = state["traj_embed.0.weight"].shape[0]
        success_dim = state["task_embed.0.weight"].shape[1]
        success_hidden = state["task_embed.0.weight"].shape[0]
        feature_dim = state["W"].shape[0]
    except KeyError as exc:
        raise UserError(f"{path}: not a Make-An-Agent embedding (missing {exc})") from None
    model = BehaviourEmbedding(traj_dim, success_dim, hidden, success_hidden, feature_dim)
    _load_strict(model, state, path, allow_missing=("traj_norm.", "success_norm."))
    return model.eval()


def _unet_sizes(state: dict, path) -> dict:
    try:
        down, i = [], 0
        while f"down_modules.{i}.0.blocks.0.block.0.weight" in state:
            down.append(state[f"down_modules.{i}.0.blocks.0.block.0.weight"].shape[0])
            i += 1
        first = state["down_modules.0.0.blocks.0.block.0.weight"]
        time_dim = state["diffusion_step_encoder.3.weight"].shape[0]
        film_in = state["down_modules.0.0.cond_encoder.1.weight"].shape[1]
        return {"latent_width": first.shape[1], "unet_down_dims": down, "unet_kernel": first.shape[2],
                "time_emb_dim": time_dim, "cond_dim": film_in - time_dim}
    except KeyError as exc:
        raise UserError(f"{path}: not a Make-An-Agent generator (missing {exc})") from None


def load_make_an_agent(autoencoder_path, embedding_path, generator_path, spec: PolicySpec,
                       fit_on: Zoo | None = None, traj_steps: int = 60, traj_group: int = 3,
                       success_states: int = 3, device: str = "cpu") -> MakeAnAgent:
    """A ready MakeAnAgent from the three released files.

    `fit_on`: a zoo whose checkpoints' trajectories give the embedding's input normalisers
    (required to propose; the release does not store them). The generator's condition is "h"
    for a 128-d condition and "h+v" for 256-d, read from its tensor shapes.
    """
    autoencoder = load_autoencoder(autoencoder_path)
    embedding = load_embedding(embedding_path)
    if autoencoder.chunk_sizes != tuple(spec.chunk_sizes):
        raise UserError(f"{autoencoder_path}: chunks {autoencoder.chunk_sizes} do not fit policy spec {spec.to_dict()}")
    ckpt = _read(generator_path)
    if not isinstance(ckpt, dict) or "model" not in ckpt or "normalizer" not in ckpt:
        raise UserError(f"{generator_path}: expected a dict with 'model' and 'normalizer'")
    unet_state = _strip(ckpt["model"], "model.")
    sizes = _unet_sizes(unet_state, generator_path)
    emb_dim = embedding.W.shape[0]
    conditions = {emb_dim: "h", 2 * emb_dim: "h+v"}
    if sizes["cond_dim"] not in conditions:
        raise UserError(f"{generator_path}: condition size {sizes['cond_dim']} is neither {emb_dim} nor {2 * emb_dim}")
    config = Config(
        condition=conditions[sizes["cond_dim"]], traj_steps=traj_steps, traj_group=traj_group,
        success_states=success_states, latent_width=sizes["latent_width"], ae_clamp_when_encoding=False,
        emb_hidden=embedding.traj_embed[0].out_features, emb_success_hidden=embedding.task_embed[0].out_features,
        emb_dim=emb_dim, unet_down_dims=sizes["unet_down_dims"], unet_kernel=sizes["unet_kernel"],
        time_emb_dim=sizes["time_emb_dim"], device=device)
    model = MakeAnAgent(config, spec)
    if embedding.traj_norm.scale.shape[0] != model.embedding.traj_norm.scale.shape[0]:
        raise UserError(f"{embedding_path}: trajectory input {embedding.traj_norm.scale.shape[0]} does not match "
                        f"traj_steps={traj_steps}, traj_group={traj_group} for this spec")
    model.autoencoder.load_state_dict(autoencoder.state_dict())
    model.embedding.load_state_dict(embedding.state_dict())
    _load_strict(model.unet, unet_state, generator_path)

    norm = ckpt["normalizer"]
    try:
        model.latent_norm.scale.copy_(norm["params_dict.param.scale"])
        model.latent_norm.offset.copy_(norm["params_dict.param.offset"])
        fields = ["traj"] if config.condition == "h" else ["traj", "task"]
        model.cond_encoder.norm.scale.copy_(torch.cat([norm[f"params_dict.{f}.scale"] for f in fields]))
        model.cond_encoder.norm.offset.copy_(torch.cat([norm[f"params_dict.{f}.offset"] for f in fields]))
    except (KeyError, RuntimeError) as exc:
        raise UserError(f"{generator_path}: normalizer does not fit ({str(exc).splitlines()[0]})") from None

    if fit_on is not None:
        traj, success = behaviour_inputs(fit_on.checkpoints, traj_steps, traj_group, success_states)
        model.embedding.fit_normalizers(torch.as_tensor(traj), torch.as_tensor(success))
    for module in model._modules_by_name().values():
        module.to(model.device).eval()
    return model
