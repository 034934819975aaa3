"""The learning-rate schedule of the release's autoencoder and diffusion trainings."""
from __future__ import annotations

import torch


def warm_restarts(optimizer: torch.optim.Optimizer, period: int, mult: int):
    """Cosine annealing with warm restarts (T_0=period, T_mult=mult), to be stepped once per
    optimisation step as in the release; period 0 keeps the learning rate constant.

    Cycles end after period * (mult**k - 1) / (mult - 1) steps (10, 30, 70, 150, ... for 10, 2):
    a budget that stops mid-cycle leaves the learning rate high, so budgets are chosen to end
    on a boundary (`restart_boundary`)."""
    if period <= 0:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=period, T_mult=mult)


def restart_boundary(steps: int, period: int, mult: int) -> int:
    """The first end of a warm-restart cycle at or after `steps` optimisation steps."""
    if period <= 0:
        return steps
    end, length = period, period
    while end < steps:
        length *= mult
        end += length
    return end


def planned_steps(n_rows: int, batch_size: int, epochs: int, period: int, mult: int, end_on_restart: bool) -> int:
    """Optimisation steps of a training of `epochs` epochs over n_rows rows, extended to the
    end of its warm-restart cycle when `end_on_restart`."""
    steps = epochs * -(-n_rows // batch_size)
    return restart_boundary(steps, period, mult) if end_on_restart else steps
