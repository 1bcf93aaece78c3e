"""Per-epoch learning-rate and EMA-momentum schedules.

Two learning-rate schedules (paper-notes §2.2):

* ``"as_run"`` — what the official scripts actually execute: a linear warm-up per epoch from
  ``initial_lr`` to ``lr`` over ``warmup_epochs``, then a constant ``lr`` (the official
  ``CosineAnnealingLR`` is overwritten at the start of every epoch, so it never takes effect).
* ``"paper"`` — the schedule the flags describe: the same warm-up, then a cosine decay from
  ``lr`` to ``min_lr`` at the last epoch.

Both are functions of the epoch only, as officially (the LR changes between epochs, not steps).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "learning_rate", "ema_momentum"]

SCHEDULES = ("as_run", "paper")


def learning_rate(
    epoch: int,
    *,
    epochs: int,
    lr: float,
    initial_lr: float,
    warmup_epochs: int,
    min_lr: float,
    schedule: str = "as_run",
) -> float:
    """Learning rate for the whole of ``epoch`` (0-based).

    Warm-up: ``initial_lr + (lr - initial_lr) * epoch / warmup_epochs`` for ``epoch < warmup_epochs``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {schedule!r}")
    if epoch < 0 or epochs < 1:
        raise ValueError(f"epoch/epochs: expected 0 <= epoch and epochs >= 1, got epoch={epoch}, epochs={epochs}")
    if epoch < warmup_epochs:
        return initial_lr + (lr - initial_lr) * epoch / warmup_epochs
    if schedule == "as_run":
        return lr
    span = max(1, epochs - warmup_epochs)
    progress = min(1.0, (epoch - warmup_epochs) / span)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def ema_momentum(epoch: int, *, epochs: int, base: float) -> float:
    """Cosine EMA momentum from ``base`` (epoch 0) towards 1: ``1 - (1 - base) * (cos(pi*epoch/epochs) + 1) / 2``."""
    if epochs < 1:
        raise ValueError(f"epochs: expected >= 1, got {epochs}")
    return 1.0 - (1.0 - base) * (math.cos(math.pi * epoch / epochs) + 1.0) / 2.0
