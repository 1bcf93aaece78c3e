"""Offline probes: heads trained on a frozen model's features after pretraining, and the paper's metrics (top-1, R²).

Probes train on features that are already computed (frozen backbone), so a whole probe run is a
few seconds of small matrix products. Two R² definitions are provided because the codebases
disagree (paper-notes §3.4): :func:`r2_score` is scikit-learn's (the seq-JEPA code's metric), and
:func:`r2_sie` is SIE's (one scalar mean over every output dimension), which scores a constant
per-dimension-mean predictor above zero on quaternion targets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from ..utils.log import progress

__all__ = [
    "ProbeSettings",
    "make_head",
    "train_probe",
    "predict",
    "r2_score",
    "r2_sie",
    "top1_accuracy",
    "bootstrap_std",
]

ArrayLike = Union[np.ndarray, torch.Tensor]
#: ``epoch -> (inputs, targets)``; lets a probe see a freshly drawn training set every epoch.
EpochData = Callable[[int], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass
class ProbeSettings:
    """How a probe is optimized.

    Defaults follow the official offline evaluation (paper-notes §3.2: AdamW, lr 4e-4, weight
    decay 1e-3 on weights and 0 on biases, constant LR); ``optimizer="adam", lr=1e-3,
    weight_decay=0`` gives SIE's reference probe (§3.4). ``epochs`` counts passes over the
    cached training features in mini-batches of ``batch_size``.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 4e-4
    weight_decay: float = 1e-3
    optimizer: str = "adamw"
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs: expected a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {self.batch_size!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay: expected a number >= 0, got {self.weight_decay!r}")
        if self.optimizer not in ("adamw", "adam"):
            raise ValueError(f"optimizer: expected 'adamw' or 'adam', got {self.optimizer!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def make_head(in_dim: int, out_dim: int, hidden: Sequence[int] = ()) -> nn.Module:
    """``Linear`` when ``hidden`` is empty, else an MLP ``Linear-ReLU-...-Linear`` (no normalization).

    The official rotation regressor on [z_i, z_j] is ``make_head(1024, 4, (1024, 1024))``.
    """
    for name, value in (("in_dim", in_dim), ("out_dim", out_dim)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(dims[-1], out_dim))
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def _param_groups(head: nn.Module, weight_decay: float) -> list[dict]:
    decay = [p for p in head.parameters() if p.ndim > 1]
    no_decay = [p for p in head.parameters() if p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _as_tensor(name: str, x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name}: expected a numpy array or a torch tensor, got {type(x).__name__}")
    return x


def train_probe(
    head: nn.Module,
    data: Union["tuple[ArrayLike, ArrayLike]", EpochData],
    *,
    task: str,
    settings: Optional[ProbeSettings] = None,
) -> nn.Module:
    """Fit ``head`` with cross-entropy (``task="classification"``) or MSE (``"regression"``).

    ``data`` is ``(inputs (N, F), targets)`` or a callable ``epoch -> (inputs, targets)`` for the
    protocol that redraws views every epoch. Returns the head in eval mode.
    """
    settings = settings or ProbeSettings()
    if task not in ("classification", "regression"):
        raise ValueError(f"task: expected 'classification' or 'regression', got {task!r}")
    device = torch.device(settings.device)
    head = head.to(device).train()
    groups = _param_groups(head, settings.weight_decay)
    opt_cls = torch.optim.AdamW if settings.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(groups, lr=settings.lr)
    loss_fn = nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
    gen = torch.Generator().manual_seed(settings.seed)
    fixed = None if callable(data) else _check_pair(data, task)
    for epoch in progress(range(settings.epochs), desc=f"{task} probe ({type(head).__name__})", unit="epoch"):
        x, y = fixed if fixed is not None else _check_pair(data(epoch), task)
        x, y = x.to(device), y.to(device)
        order = torch.randperm(x.shape[0], generator=gen).to(device)
        for start in range(0, x.shape[0], settings.batch_size):
            idx = order[start : start + settings.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(head(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
    return head.eval()


def _check_pair(pair: object, task: str) -> "tuple[torch.Tensor, torch.Tensor]":
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"data: expected (inputs, targets), got {type(pair).__name__}")
    x, y = _as_tensor("inputs", pair[0]).float(), _as_tensor("targets", pair[1])
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"inputs: expected a non-empty (N, F) array, got shape {tuple(x.shape)}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"targets: expected {x.shape[0]} rows like inputs, got {y.shape[0]}")
    if task == "classification":
        if y.dim() != 1 or y.is_floating_point():
            raise ValueError(f"targets: expected (N,) integer class labels, got {y.dtype} of shape {tuple(y.shape)}")
        y = y.long()
    else:
        if y.dim() != 2:
            raise ValueError(f"targets: expected (N, K) regression targets, got shape {tuple(y.shape)}")
        y = y.float()
    return x, y


@torch.no_grad()
def predict(head: nn.Module, inputs: ArrayLike, *, batch_size: int = 8192) -> torch.Tensor:
    """Head outputs for ``inputs`` (N, F), computed in chunks, returned on the CPU."""
    x = _as_tensor("inputs", inputs).float()
    device = next(head.parameters()).device
    head = head.eval()
    return torch.cat([head(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)])


def _to_numpy(name: str, x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    if isinstance(x, np.ndarray):
        return x.astype(np.float64)
    raise ValueError(f"{name}: expected a numpy array or a torch tensor, got {type(x).__name__}")


def _pair_for_metric(y_true: ArrayLike, y_pred: ArrayLike) -> "tuple[np.ndarray, np.ndarray]":
    t, p = _to_numpy("y_true", y_true), _to_numpy("y_pred", y_pred)
    if t.ndim == 1:
        t = t[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if t.shape != p.shape:
        raise ValueError(f"y_pred: expected the shape of y_true {t.shape}, got {p.shape}")
    if t.shape[0] < 2:
        raise ValueError(f"y_true: R² needs at least 2 samples, got {t.shape[0]}")
    return t, p


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """scikit-learn's R²: per-output ``1 - SS_res / SS_tot`` averaged uniformly over outputs.

    A constant output scores 1.0 if predicted exactly and 0.0 otherwise (sklearn's
    ``force_finite`` convention).
    """
    t, p = _pair_for_metric(y_true, y_pred)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    per_dim = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(per_dim.mean())


def r2_sie(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """SIE's R²: ``1 - Σ(y - ŷ)² / Σ(y - ȳ)²`` with ONE scalar mean ȳ over all samples and outputs."""
    t, p = _pair_for_metric(y_true, y_pred)
    ss_tot = ((t - t.mean()) ** 2).sum()
    ss_res = ((t - p) ** 2).sum()
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1.0 - ss_res / ss_tot)


def top1_accuracy(labels: ArrayLike, logits: ArrayLike) -> float:
    """Top-1 accuracy in percent."""
    y = _as_tensor("labels", labels).reshape(-1).long()
    out = _as_tensor("logits", logits)
    if out.dim() != 2 or out.shape[0] != y.shape[0] or y.numel() == 0:
        raise ValueError(f"logits: expected shape ({y.shape[0]}, num_classes), got {tuple(out.shape)}")
    return float((out.argmax(dim=1).cpu() == y.cpu()).double().mean() * 100.0)


def _rows(name: str, x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise ValueError(f"{name}: expected a numpy array or a torch tensor, got {type(x).__name__}")


def bootstrap_std(
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    resamples: int = 200,
    seed: int = 0,
) -> float:
    """Bootstrap standard deviation of ``metric_fn(y_true, y_pred)`` over the rows (the test samples).

    Draws ``resamples`` sets of N row indices with replacement (``numpy.random.default_rng(seed)``),
    scores each resampled pair with ``metric_fn`` and returns the standard deviation of the scores
    (``ddof=1``). Nothing is retrained: it measures how much the number moves with the choice of
    test samples, not with probe training. The same ``seed`` and N give the same resamples, so the
    spreads of several metrics on one test set are computed on identical draws.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2:
        raise ValueError(f"resamples: expected an integer >= 2, got {resamples!r}")
    t, p = _rows("y_true", y_true), _rows("y_pred", y_pred)
    if t.shape[0] != p.shape[0] or t.shape[0] == 0:
        raise ValueError(f"y_pred: expected {t.shape[0]} rows like y_true (at least one), got {p.shape[0]}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, t.shape[0], size=(resamples, t.shape[0]))
    scores = np.array([metric_fn(t[idx], p[idx]) for idx in draws], dtype=np.float64)
    return float(scores.std(ddof=1))
