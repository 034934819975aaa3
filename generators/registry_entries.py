"""Registry entries of the generators: where each class lives and how reports show it.

pyproject.toml's entry points ("benchmark.generators") name these objects, so the harness
finds in-repo methods exactly as it finds plug-ins, and listing them imports no torch code.
"""
from benchmark.api import MethodEntry

MAKE_AN_AGENT = MethodEntry(
    "generators.make_an_agent.model:MakeAnAgent", display="Make-An-Agent", rank=0,
    axis_labels={"traj_steps": "condition-trajectory length (steps)",
                 "zoo_hidden": "policy hidden width (units)",
                 "checkpoints_per_task": "training checkpoints per task (count)",
                 "latent_width": "latent token width (units)",
                 "condition": "condition given to the generator"},
    value_order={"condition": ["h", "v", "h+v", "raw"]})
P_DIFF = MethodEntry("generators.pdiff:PDiff", display="p-diff", rank=1)
NEAREST_CHECKPOINT = MethodEntry("generators.controls:NearestCheckpoint", display="nearest ckpt", rank=6)
NOISY_CHECKPOINT = MethodEntry(
    "generators.controls:NoisyCheckpoint", display="noisy ckpt", rank=7,
    axis_labels={"noise_std": "noise std (parameter units)"},
    # generators.controls.NOISE_SWEEP as variant values are written (importing it would import torch)
    value_order={"noise_std": ["0.001", "0.003", "0.01", "0.03", "0.1"]})
MEAN_CHECKPOINT = MethodEntry("generators.controls:MeanCheckpoint", display="mean ckpt", rank=8)
K_MEAN_CHECKPOINT = MethodEntry(
    "generators.controls:KMeanCheckpoint", display="k-mean ckpt", rank=9,
    axis_labels={"k": "checkpoints averaged (count)", "aligned": "hidden units aligned before averaging"},
    value_order={"aligned": ["false", "true"]})
GAUSSIAN_CHECKPOINT = MethodEntry(
    "generators.controls:GaussianCheckpoint", display="Gaussian ckpt", rank=10,
    axis_labels={"scale": "std scale (x the task's per-parameter std)"})
PROMPT_SOURCE = MethodEntry("generators.controls:PromptSource", display="prompt source", rank=11)
