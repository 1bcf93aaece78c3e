"""Online probes trained alongside pretraining (as the official trainer), never part of an export.

* ``linear``: Linear(E -> classes) on the detached z_AGG.
* ``equivariance``: MLP 2D -> H -> H -> A on the detached [z_1, z_2], regressing the relative
  action from view 0 to view 1 (``actions[:, 0]`` in the data contract) with MSE.

Both are optimized by the main optimizer; their losses are added to the SSL loss but see only
detached inputs, so they do not shape the representation. Metrics are accumulated as sums so
they can be all-reduced across ranks: top-1 accuracy and R² with scikit-learn's definition
(per output dimension, uniform average; a constant target dimension scores 1 if predicted
exactly, else 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OnlineProbes", "ProbeMetrics"]


class OnlineProbes(nn.Module):
    """The two online probes of the official trainer."""

    def __init__(self, token_dim: int, encoder_dim: int, action_dim: int, num_classes: int, hidden: int = 1024) -> None:
        super().__init__()
        if num_classes < 1 or action_dim < 1 or hidden < 1:
            raise ValueError(
                f"num_classes/action_dim/hidden: expected >= 1, got {num_classes}/{action_dim}/{hidden}"
            )
        self.linear = nn.Linear(token_dim, num_classes)
        self.equivariance = nn.Sequential(
            nn.Linear(2 * encoder_dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, action_dim),
        )

    def forward(self, z_agg: torch.Tensor, z_pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits from z_AGG (B, E) and relative-action predictions from [z_1, z_2] (B, 2D); inputs detached."""
        return self.linear(z_agg.detach()), self.equivariance(z_pair.detach())

    @staticmethod
    def losses(logits: torch.Tensor, labels: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy + MSE, both in float32."""
        return F.cross_entropy(logits.float(), labels) + F.mse_loss(pred.float(), target.float())


class ProbeMetrics:
    """Running sums for accuracy and scikit-learn R², in float64, on any device."""

    def __init__(self, action_dim: int, device: torch.device) -> None:
        self.sums = torch.zeros(2 + 4 * action_dim, dtype=torch.float64, device=device)
        self.action_dim = action_dim

    def update(self, logits: torch.Tensor, labels: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> None:
        a = self.action_dim
        y, p = target.double(), pred.double()
        s = self.sums
        s[0] += (logits.argmax(dim=1) == labels).sum()
        s[1] += labels.numel()
        s[2:2 + a] += y.sum(0)
        s[2 + a:2 + 2 * a] += (y * y).sum(0)
        s[2 + 2 * a:2 + 3 * a] += ((y - p) ** 2).sum(0)
        s[2 + 3 * a:] += 1.0 * y.shape[0]

    def all_reduce(self) -> None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.sums)

    def compute(self) -> dict[str, float]:
        a = self.action_dim
        s = self.sums.cpu()
        n = s[1].item()
        if n == 0:
            return {"acc": float("nan"), "r2": float("nan")}
        sum_y, sum_y2, ss_res, count = s[2:2 + a], s[2 + a:2 + 2 * a], s[2 + 2 * a:2 + 3 * a], s[2 + 3 * a:]
        ss_tot = (sum_y2 - sum_y * sum_y / count).clamp_min(0.0)
        # scikit-learn's force_finite rule for constant target columns
        tiny = ss_tot <= 1e-12 * count.clamp_min(1.0)
        r2 = torch.where(tiny, (ss_res <= 1e-12).double(), 1.0 - ss_res / torch.where(tiny, torch.ones_like(ss_tot), ss_tot))
        return {"acc": 100.0 * s[0].item() / n, "r2": r2.mean().item()}
