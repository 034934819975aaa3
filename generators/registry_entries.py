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
NEAREST_CHECKPOINT = MethodEntry("generators.controls:NearestCheckpoint", display="nearest ckpt", rank=5)
NOISY_CHECKPOINT = MethodEntry("generators.controls:NoisyCheckpoint", display="noisy ckpt", rank=6)
MEAN_CHECKPOINT = MethodEntry("generators.controls:MeanCheckpoint", display="mean ckpt", rank=7)
