"""Memorisation controls (Zeng et al. 2025, "Generalization or Memorization?"): methods that
only look training checkpoints up, against which a weight generator must show it does more.

All of them read the same behaviour features of every trajectory: the inputs of
Make-An-Agent's embedding (trajectory features of the first `traj_steps` steps and the
`success_states` states from the first success, benchmark.zoo.features), concatenated and
min-max normalised to [-1, 1] with statistics of the training checkpoints. It is a fixed
featurisation (nothing is learned), so a control's quality does not depend on training luck.
Distances are Euclidean in that space.

- nearest-checkpoint: the training checkpoint whose own trajectory is nearest the condition
  trajectory; its parameters are returned unchanged (an exact zoo row).
- noisy-checkpoint: the "nearest task" is the task of that nearest checkpoint; a seeded random
  checkpoint of that task plus Gaussian noise of std `noise_std` on every parameter. Run at
  the amplitudes of NOISE_SWEEP it traces the critique's success-novelty frontier.
- mean-checkpoint: the element-wise mean of all checkpoints of the nearest task.
- k-mean-checkpoint: the element-wise mean of `k` seeded random checkpoints of the nearest task
  (all of them when it has fewer), as they are or, with `aligned`, each first permuted into
  the hidden-unit order of the first one (benchmark.align.align_to).
- gaussian-checkpoint: a sample of a per-coordinate Gaussian fitted to the nearest task's
  checkpoints: mean + scale * std * N(0, 1) on every parameter.

Each proposes one policy per condition trajectory, in row order; the random ones draw from
`np.random.default_rng([seed, i])` for condition row i, so proposal i depends on the seed,
i and that row's trajectory only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from benchmark.align import align_to
from benchmark.api import Method, ParameterProposal, config_to_dict
from benchmark.errors import UserError
from benchmark.policy import PolicySpec
from benchmark.zoo.features import success_features, trajectory_features
from benchmark.zoo.format import PolicySet, Zoo


@dataclass
class FeatureConfig:
    """Behaviour features the controls compare trajectories by."""

    traj_steps: int = 60
    """Trajectory steps read (Make-An-Agent's n)."""
    traj_group: int = 3
    """Actions per group of the trajectory features."""
    success_states: int = 3
    """States from the first success (Make-An-Agent's m)."""


@dataclass
class NoisyConfig(FeatureConfig):
    """Features plus the noise of noisy-checkpoint."""

    noise_std: float = 0.01
    """Std of the Gaussian noise added to every parameter (zoo parameters have std ~0.1)."""


NOISE_SWEEP = (0.001, 0.003, 0.01, 0.03, 0.1)
"""noise_std values of the success-novelty frontier (the novelty report's noise sweep): one
variant each, written `noisy-checkpoint[noise_std=0.001]` ... `noisy-checkpoint[noise_std=0.1]`.
Half a decade apart from well inside a checkpoint's own neighbourhood (0.001) to the size of
the zoo's parameters themselves (0.1, their std is ~0.1); the default 0.01 is one of them."""


@dataclass
class KMeanConfig(FeatureConfig):
    """Features plus the averaging of k-mean-checkpoint."""

    k: int = 16
    """Checkpoints of the nearest task averaged (all of them when the task has fewer); at least 1."""
    aligned: bool = False
    """Permute every one of the k into the hidden-unit order of the first before averaging."""


@dataclass
class GaussianConfig(FeatureConfig):
    """Features plus the spread of gaussian-checkpoint."""

    scale: float = 1.0
    """Factor on the fitted per-parameter std (0 gives the task's mean checkpoint)."""


def behaviour_features(data: PolicySet, config: FeatureConfig) -> np.ndarray:
    """(N, traj_dim + success_dim) raw features of every row of `data`."""
    traj = trajectory_features(data.states, data.actions, data.lengths, config.traj_steps, config.traj_group)
    success, _ = success_features(data.states, data.successes, data.lengths, config.success_states)
    return np.concatenate([traj, success], axis=1)


class CheckpointLookup(Method):
    """Shared part of the controls: the zoo's checkpoints and their normalised features."""

    Config = FeatureConfig
    reads = ("states", "actions", "successes")  # Make-An-Agent's embedding inputs

    def __init__(self, config, spec: PolicySpec):
        if config.traj_steps % config.traj_group:
            raise UserError(f"{self.name}: traj_steps={config.traj_steps} is not a multiple of traj_group={config.traj_group}")
        super().__init__(config, spec)
        self.params = np.zeros((0, spec.n_params), np.float32)
        self.features = np.zeros((0, 0), np.float32)
        self.tasks = np.zeros((0,), dtype=object)
        self.low = self.span = np.zeros((0,), np.float32)

    def _normalise(self, features: np.ndarray) -> np.ndarray:
        return (2 * (features - self.low) / self.span - 1).astype(np.float32)

    def fit(self, zoo: Zoo, seed: int) -> dict:
        if zoo.spec != self.spec:
            raise UserError(f"{self.name}: zoo policy spec {zoo.spec} differs from the method's {self.spec}")
        if len(zoo.checkpoints) == 0:
            raise UserError(f"{self.name}: the zoo has no checkpoints")
        raw = behaviour_features(zoo.checkpoints, self.config)
        self.low = raw.min(axis=0)
        span = raw.max(axis=0) - self.low
        self.span = np.where(span < 1e-4, 2.0, span).astype(np.float32)  # constant features map to ~-1
        self.features = self._normalise(raw)
        self.params = zoo.checkpoints.params.astype(np.float32)
        self.tasks = zoo.checkpoints.tasks
        return {"n_checkpoints": len(self.params)}

    def nearest_rows(self, conditions: PolicySet) -> np.ndarray:
        """(len(conditions),) index of the nearest training checkpoint of every condition row."""
        if len(self.params) == 0:
            raise UserError(f"{self.name}: propose called before fit or load")
        query = self._normalise(behaviour_features(conditions, self.config))
        # squared distances without the (B, N, D) difference tensor
        d2 = (query ** 2).sum(1)[:, None] - 2 * query @ self.features.T + (self.features ** 2).sum(1)[None, :]
        return d2.argmin(axis=1)

    def task_rows(self, nearest_row: int) -> np.ndarray:
        """Rows of every training checkpoint of the task of checkpoint `nearest_row`, in zoo order."""
        return np.flatnonzero(self.tasks == self.tasks[nearest_row])

    def propose(self, conditions: PolicySet, seed: int) -> ParameterProposal:
        if len(conditions) == 0:
            return ParameterProposal(np.zeros((0, self.spec.n_params), np.float32), self.spec)
        rows = self.nearest_rows(conditions)
        params = np.stack([self._policy(row, np.random.default_rng([seed, i])) for i, row in enumerate(rows)])
        return ParameterProposal(params.astype(np.float32), self.spec)

    def _policy(self, nearest_row: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        arrays = {"params": self.params, "features": self.features, "low": self.low.astype(np.float32), "span": self.span}
        meta = {"method": self.name, "config": config_to_dict(self.config), "spec": self.spec.to_dict(),
                "tasks": [str(t) for t in self.tasks]}
        return arrays, meta

    @classmethod
    def from_state(cls, tensors: dict[str, torch.Tensor], meta: dict, config, spec: PolicySpec) -> "CheckpointLookup":
        if meta["method"] != cls.name or PolicySpec(**meta["spec"]) != spec:
            raise UserError(f"saved by {meta['method']} for spec {meta['spec']}, asked for {cls.name} {spec.to_dict()}")
        model = cls(config if config is not None else cls.Config(**meta["config"]), spec)
        arrays = {key: value.numpy() for key, value in tensors.items()}  # the lookup is numpy throughout
        model.params, model.features = arrays["params"], arrays["features"]
        model.low, model.span = arrays["low"], arrays["span"]
        model.tasks = np.array(meta["tasks"], dtype=object)
        return model


class NearestCheckpoint(CheckpointLookup):
    """The nearest training checkpoint, unchanged."""

    name = "nearest-checkpoint"

    def _policy(self, nearest_row, rng):
        return self.params[nearest_row]


class NoisyCheckpoint(CheckpointLookup):
    """A random checkpoint of the nearest task plus N(0, noise_std^2) on every parameter.

    The critique's success-novelty frontier: as noise_std grows a proposal moves away from
    every training checkpoint (more "novel") and, past some amplitude, stops succeeding. A
    generator whose policies are as novel as noisy-checkpoint's at some amplitude but succeed
    less often does no better than perturbing a memorised checkpoint. The novelty report runs
    the amplitudes of NOISE_SWEEP as variants, `noisy-checkpoint[noise_std=0.03]` and so on.
    """

    name = "noisy-checkpoint"
    Config = NoisyConfig

    def _policy(self, nearest_row, rng):
        base = self.params[rng.choice(self.task_rows(nearest_row))]
        return base + rng.normal(0.0, self.config.noise_std, base.shape).astype(np.float32)


class MeanCheckpoint(CheckpointLookup):
    """The mean of the nearest task's checkpoints."""

    name = "mean-checkpoint"

    def _policy(self, nearest_row, rng):
        return self.params[self.task_rows(nearest_row)].mean(axis=0)


class KMeanCheckpoint(CheckpointLookup):
    """The mean of k random checkpoints of the nearest task (the critique's averaging control).

    The k rows are drawn without replacement (all of the task's when it has at most k), in
    random order. Unaligned, the mean of independently trained networks mixes unrelated hidden
    units and usually fails; with `aligned`, each of the k is first permuted into the hidden-unit
    order of the first drawn (benchmark.align.align_to, which leaves its function unchanged), so
    the mean averages matching units. k=1 returns one checkpoint unchanged. Averages are taken in
    float64.
    """

    name = "k-mean-checkpoint"
    Config = KMeanConfig

    def __init__(self, config, spec: PolicySpec):
        if isinstance(config.k, bool) or not isinstance(config.k, int) or config.k < 1:
            raise UserError(f"{self.name}: k must be a positive integer, got {config.k!r}")
        super().__init__(config, spec)

    def _policy(self, nearest_row, rng):
        rows = self.task_rows(nearest_row)
        chosen = rng.choice(rows, size=min(self.config.k, len(rows)), replace=False)
        members = self.params[chosen].astype(np.float64)
        if self.config.aligned and len(members) > 1:
            members[1:] = [align_to(m, members[0], self.spec) for m in members[1:]]
        return members.mean(axis=0)


class GaussianCheckpoint(CheckpointLookup):
    """A sample of a per-coordinate Gaussian fitted to the nearest task's checkpoints.

    Every parameter independently: task mean + scale * task std * N(0, 1), the mean and
    (population, ddof=0) std over all of the task's training checkpoints. The statistics are
    computed from the stored checkpoints on first use per task, so the saved state is that of
    the other controls.
    """

    name = "gaussian-checkpoint"
    Config = GaussianConfig

    def __init__(self, config, spec: PolicySpec):
        if config.scale < 0:
            raise UserError(f"{self.name}: scale must be >= 0, got {config.scale!r}")
        super().__init__(config, spec)
        self._stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def fit(self, zoo: Zoo, seed: int) -> dict:
        self._stats = {}
        return super().fit(zoo, seed)

    def task_statistics(self, nearest_row: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean (P,), std (P,)) float64 over the checkpoints of the task of `nearest_row`."""
        task = str(self.tasks[nearest_row])
        if task not in self._stats:
            members = self.params[self.task_rows(nearest_row)].astype(np.float64)
            self._stats[task] = (members.mean(axis=0), members.std(axis=0))
        return self._stats[task]

    def _policy(self, nearest_row, rng):
        mean, std = self.task_statistics(nearest_row)
        return mean + self.config.scale * std * rng.standard_normal(mean.shape)


@dataclass
class NoConfig:
    """The prompt source has no hyperparameters."""


class PromptSource(Method):
    """A reference row, not a method: the policy that produced each condition trajectory.

    No method ever receives those parameters. For this one class the harness fills the
    proposal in itself from the rows it holds (benchmark.cells, PROMPT_SOURCE), so the row
    shows what reproducing each prompt's own policy exactly would score. It reads nothing and
    trains nothing; called outside the harness, `propose` refuses.
    """

    name = "prompt-source"
    Config = NoConfig
    reads = ()

    def fit(self, zoo, seed: int) -> dict:
        return {}

    def propose(self, conditions, seed: int) -> ParameterProposal:
        raise UserError("prompt-source: the harness fills this control's proposals in (it holds the condition policies)")

    def state(self) -> tuple[dict, dict]:
        return {}, {"method": self.name}

    @classmethod
    def from_state(cls, tensors, meta, config, spec: PolicySpec) -> "PromptSource":
        return cls(config or NoConfig(), spec)
