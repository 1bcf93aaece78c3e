"""EMA target-encoder update with the official step/momentum order.

The official trainer, after every optimizer step, first updates the target with the momentum it
currently holds, and only then sets the momentum for the current epoch from the cosine schedule
(paper-notes §2.1). So the first step of epoch ``e`` still uses epoch ``e-1``'s momentum and the
very first step uses the base momentum. :class:`TargetEMA` reproduces exactly that and carries the
held momentum in its state, so a resumed run continues with the same value.
"""

from __future__ import annotations

from typing import Any

import torch

from ..models.model import ema_update_
from .schedule import ema_momentum

__all__ = ["TargetEMA"]


class TargetEMA:
    """Holds the current EMA momentum and applies ``target <- m * target + (1 - m) * online``.

    Only parameters are averaged, with :func:`seqjepa.models.model.ema_update_` (the arithmetic
    :meth:`SeqJEPA.update_target` uses too); BatchNorm buffers of the target encoder stay its own,
    as officially.
    """

    def __init__(self, base: float, epochs: int) -> None:
        if not 0.0 <= base <= 1.0:
            raise ValueError(f"base: expected a momentum in [0, 1], got {base}")
        self.base = float(base)
        self.epochs = int(epochs)
        self.momentum = float(base)

    def step(self, online: list[torch.Tensor], target: list[torch.Tensor], epoch: int) -> float:
        """Update ``target`` with the held momentum, then set the momentum for ``epoch``; returns the one used."""
        used = self.momentum
        ema_update_(target, online, used)
        self.momentum = ema_momentum(epoch, epochs=self.epochs, base=self.base)
        return used

    def state_dict(self) -> dict[str, Any]:
        return {"base": self.base, "epochs": self.epochs, "momentum": self.momentum}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base = float(state["base"])
        self.epochs = int(state["epochs"])
        self.momentum = float(state["momentum"])
