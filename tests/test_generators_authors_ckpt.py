"""Loading the authors' checkpoint layout, with synthetic files built here key by key.

The key names and shapes below are written from the release's module structure
(EncoderDecoder, Embedding, ConditionalUnet1D inside PolicyGenerator, LinearNormalizer),
independently of this package's modules, so a naming mismatch fails the strict load.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from test_generators_synthetic import synthetic_zoo

from benchmark.errors import UserError
from benchmark.policy import METAWORLD_SPEC
from generators.make_an_agent.authors_ckpt import load_autoencoder, load_embedding, load_make_an_agent

WIDTH, FEATURE, TIME, DOWN, KERNEL = 16, 8, 8, (16, 32), 3


def _rand(g, *shape):
    return torch.randn(*shape, generator=g) * 0.1


def release_autoencoder_state(g) -> dict:
    state = {}
    for i, size in enumerate(METAWORLD_SPEC.chunk_sizes):
        state[f"model.input_parameter_projections.{i}.0.weight"] = _rand(g, WIDTH, size)
        state[f"model.output_parameter_projections.{i}.0.weight"] = _rand(g, size, WIDTH)
    state["model.ln_in.weight"] = 1 + _rand(g, WIDTH)
    state["model.ln_in.bias"] = _rand(g, WIDTH)
    return state


def release_embedding_state(g) -> dict:
    shapes = {"traj_embed.0.weight": (32, 1020), "traj_embed.0.bias": (32,),
              "traj_embed.2.weight": (32, 32), "traj_embed.2.bias": (32,),
              "traj_embed.4.weight": (FEATURE, 32), "traj_embed.4.bias": (FEATURE,),
              "task_embed.0.weight": (256, 117), "task_embed.0.bias": (256,),
              "task_embed.1.weight": (256,), "task_embed.1.bias": (256,),
              "task_embed.3.weight": (FEATURE, 256), "task_embed.3.bias": (FEATURE,),
              "W": (FEATURE, FEATURE)}
    return {f"model.{k}": _rand(g, *s) for k, s in shapes.items()}


def release_unet_state(g, cond_dim: int) -> dict:
    film = TIME + cond_dim
    shapes = {"diffusion_step_encoder.1.weight": (4 * TIME, TIME), "diffusion_step_encoder.1.bias": (4 * TIME,),
              "diffusion_step_encoder.3.weight": (TIME, 4 * TIME), "diffusion_step_encoder.3.bias": (TIME,)}

    def res(prefix, c_in, c_out):
        shapes.update({f"{prefix}.blocks.0.block.0.weight": (c_out, c_in, KERNEL), f"{prefix}.blocks.0.block.0.bias": (c_out,),
                       f"{prefix}.blocks.0.block.1.weight": (c_out,), f"{prefix}.blocks.0.block.1.bias": (c_out,),
                       f"{prefix}.blocks.1.block.0.weight": (c_out, c_out, KERNEL), f"{prefix}.blocks.1.block.0.bias": (c_out,),
                       f"{prefix}.blocks.1.block.1.weight": (c_out,), f"{prefix}.blocks.1.block.1.bias": (c_out,),
                       f"{prefix}.cond_encoder.1.weight": (2 * c_out, film), f"{prefix}.cond_encoder.1.bias": (2 * c_out,)})
        if c_in != c_out:
            shapes.update({f"{prefix}.residual_conv.weight": (c_out, c_in, 1), f"{prefix}.residual_conv.bias": (c_out,)})

    in_out = list(zip((WIDTH,) + DOWN[:-1], DOWN))
    for i, (c_in, c_out) in enumerate(in_out):
        res(f"down_modules.{i}.0", c_in, c_out)
        res(f"down_modules.{i}.1", c_out, c_out)
        if i < len(in_out) - 1:  # Downsample1d
            shapes.update({f"down_modules.{i}.2.conv.weight": (c_out, c_out, 2), f"down_modules.{i}.2.conv.bias": (c_out,)})
    res("mid_modules.0", DOWN[-1], DOWN[-1])
    res("mid_modules.1", DOWN[-1], DOWN[-1])
    for i, (c_in, c_out) in enumerate(reversed(in_out[1:])):
        res(f"up_modules.{i}.0", 2 * c_out, c_in)
        res(f"up_modules.{i}.1", c_in, c_in)
        shapes.update({f"up_modules.{i}.2.conv.weight": (c_in, c_in, 2), f"up_modules.{i}.2.conv.bias": (c_in,)})
    shapes.update({"final_conv.0.block.0.weight": (DOWN[0], DOWN[0], KERNEL), "final_conv.0.block.0.bias": (DOWN[0],),
                   "final_conv.0.block.1.weight": (DOWN[0],), "final_conv.0.block.1.bias": (DOWN[0],),
                   "final_conv.1.weight": (WIDTH, DOWN[0], 1), "final_conv.1.bias": (WIDTH,)})
    return {f"model.{k}": _rand(g, *s) for k, s in shapes.items()}


def release_normalizer_state(g) -> dict:
    state = {}
    for name, dim in [("param", WIDTH), ("traj", FEATURE), ("task", FEATURE)]:
        state[f"params_dict.{name}.scale"] = 1 + _rand(g, dim).abs()
        state[f"params_dict.{name}.offset"] = _rand(g, dim)
        for stat in ("min", "max", "mean", "std"):
            state[f"params_dict.{name}.input_stats.{stat}"] = _rand(g, dim)
    return state


@pytest.fixture(scope="module")
def release_files(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    root = tmp_path_factory.mktemp("release")
    ae, emb = release_autoencoder_state(g), release_embedding_state(g)
    unet, normalizer = release_unet_state(g, 2 * FEATURE), release_normalizer_state(g)
    torch.save({"state_dict": ae, "epoch": 3, "global_step": 10}, root / "ae.ckpt")
    torch.save({"state_dict": emb, "epoch": 3}, root / "embed.ckpt")
    model_state = dict(unet, **{f"normalizer.{k}": v for k, v in normalizer.items()})
    optimizer = {"state": {}, "param_groups": [{"lr": 2e-4, "params": list(range(len(unet)))}]}
    torch.save({"model": model_state, "optimizer": optimizer, "normalizer": normalizer}, root / "generator.pt")
    return root, ae, emb, unet, normalizer


def test_autoencoder_weights_land_in_place(release_files):
    root, ae, *_ = release_files
    model = load_autoencoder(root / "ae.ckpt")
    assert model.chunk_sizes == METAWORLD_SPEC.chunk_sizes and model.width == WIDTH
    params = torch.randn(3, METAWORLD_SPEC.n_params, generator=torch.Generator().manual_seed(1))
    first, second = params.split(list(METAWORLD_SPEC.chunk_sizes), dim=1)
    tokens = torch.stack([first @ ae["model.input_parameter_projections.0.0.weight"].T,
                          second @ ae["model.input_parameter_projections.1.0.weight"].T], dim=1)
    expected = torch.nn.functional.layer_norm(tokens, (WIDTH,), ae["model.ln_in.weight"], ae["model.ln_in.bias"])
    with torch.no_grad():
        torch.testing.assert_close(model.encode(params), expected)
        torch.testing.assert_close(model.decode(expected)[:, :5120],
                                   expected[:, 0] @ ae["model.output_parameter_projections.0.0.weight"].T)


def test_embedding_weights_land_in_place(release_files):
    root, _, emb, *_ = release_files
    model = load_embedding(root / "embed.ckpt")
    torch.testing.assert_close(model.W.data, emb["model.W"])
    torch.testing.assert_close(model.task_embed[3].weight.data, emb["model.task_embed.3.weight"])


def test_full_generator_loads_and_proposes(release_files):
    root, _, _, unet, normalizer = release_files
    zoo = synthetic_zoo(spec=METAWORLD_SPEC, per_task=6)
    model = load_make_an_agent(root / "ae.ckpt", root / "embed.ckpt", root / "generator.pt", METAWORLD_SPEC, fit_on=zoo)
    assert model.config.condition == "h+v" and model.config.unet_down_dims == list(DOWN)
    torch.testing.assert_close(model.unet.final_conv[1].weight.data, unet["model.final_conv.1.weight"])
    torch.testing.assert_close(model.latent_norm.scale, normalizer["params_dict.param.scale"])
    torch.testing.assert_close(model.cond_encoder.norm.offset[FEATURE:], normalizer["params_dict.task.offset"])
    first = model.propose(zoo.conditions, seed=0).params
    assert first.shape == (len(zoo.conditions), METAWORLD_SPEC.n_params) and np.isfinite(first).all()
    np.testing.assert_array_equal(model.propose(zoo.conditions, seed=0).params, first)


class NotATensor:
    pass


def test_refuses_pickled_objects_and_wrong_files(release_files, tmp_path):
    root, ae, *_ = release_files
    torch.save({"state_dict": ae, "hyper_parameters": NotATensor()}, tmp_path / "pickled.ckpt")
    with pytest.raises(UserError, match="weights_only"):
        load_autoencoder(tmp_path / "pickled.ckpt")
    with pytest.raises(UserError, match="not a Make-An-Agent autoencoder"):
        load_autoencoder(root / "embed.ckpt")
    with pytest.raises(UserError, match="no such"):
        load_embedding(tmp_path / "missing.ckpt")
