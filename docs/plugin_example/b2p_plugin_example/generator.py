"""ZooGaussian: sample policies from a diagonal Gaussian fitted to the zoo's checkpoints.

A deliberately simple generator that ignores its condition trajectories' content (it uses
only their number): it shows everything a plug-in must provide, not a good method.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmark.api import ConditionView, Method, ParameterProposal, TrainingZoo
from benchmark.errors import UserError
from benchmark.policy import PolicySpec


@dataclass
class Config:
    """ZooGaussian hyperparameters (a profile's `methods: {zoo-gaussian: {...}}` fills them)."""

    scale: float = 1.0
    """Multiplier of the fitted per-parameter standard deviation when sampling."""


class ZooGaussian(Method):
    """One policy per condition trajectory: mean + scale * std * N(0, 1), per parameter."""

    name = "zoo-gaussian"
    Config = Config
    reads = ()  # the number of condition trajectories only

    def __init__(self, config: Config, spec: PolicySpec):
        super().__init__(config, spec)
        self.mean = self.std = None

    def fit(self, zoo: TrainingZoo, seed: int) -> dict:
        if zoo.spec != self.spec:
            raise UserError(f"zoo-gaussian: zoo spec {zoo.spec} differs from {self.spec}")
        self.mean = zoo.checkpoints.params.mean(axis=0)
        self.std = zoo.checkpoints.params.std(axis=0)
        return {"n_checkpoints": len(zoo.checkpoints), "mean_std": float(self.std.mean())}

    def propose(self, conditions: ConditionView, seed: int) -> ParameterProposal:
        if self.mean is None:
            raise UserError("zoo-gaussian: propose called before fit or load")
        noise = np.random.default_rng(seed).standard_normal((len(conditions), self.spec.n_params))
        params = self.mean + self.config.scale * self.std * noise
        return ParameterProposal(params.astype(np.float32), self.spec)

    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"mean": self.mean, "std": self.std}, str(directory / "gaussian.safetensors"))
        (directory / "gaussian.json").write_text(json.dumps({"config": asdict(self.config)}))

    @classmethod
    def load(cls, directory: Path, config: Config | None, spec: PolicySpec) -> "ZooGaussian":
        from safetensors.numpy import load_file

        directory = Path(directory)
        saved = json.loads((directory / "gaussian.json").read_text())["config"]
        model = cls(config or Config(**saved), spec)
        arrays = load_file(str(directory / "gaussian.safetensors"))
        model.mean, model.std = arrays["mean"], arrays["std"]
        return model
