"""What :func:`seqjepa.demo.run_demo` hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

__all__ = ["DemoResult"]


@dataclass
class DemoResult:
    """Everything the demo computed (also what it printed and drew)."""

    model_name: str
    actions: np.ndarray  # (V-1, A): view j -> j+1, the last row leads to the held-out target
    equivariant: torch.Tensor  # (M, D) z of the observed views
    invariant: torch.Tensor  # (E,) z_AGG of the observed sequence
    prediction: Optional[torch.Tensor]  # (D,) predicted embedding of the held-out view
    target_embedding: torch.Tensor  # (D,) its actual embedding
    cos_true: float  # cosine(prediction with the true action, target embedding)
    cos_random: list = field(default_factory=list)  # the same with random actions
    nearest: list = field(default_factory=list)  # [(class name, cosine)], best first, all classes
    gallery_cos_true: Optional[float] = None  # the same contrast averaged over the gallery's sequences
    gallery_cos_random: Optional[float] = None
    gallery_true_best: Optional[int] = None  # sequences where the true action beats every random one
    figure: Optional[Path] = None
    elapsed_s: float = 0.0

    @property
    def true_action_rank(self) -> int:
        """1 + the number of random actions whose prediction is closer to the target than the true action's."""
        return 1 + sum(c > self.cos_true for c in self.cos_random)
