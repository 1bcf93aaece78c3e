"""Fine-tuning a pretrained seq-JEPA: a classifier and a pose regressor with their own save format.

A fine-tuned model is saved in the same Hugging Face layout as a pretrained one: ``config.json``
(the backbone's ``model`` section plus a ``finetune`` section saying which head, on what) and
``model.safetensors`` (backbone under ``backbone.``, head under ``head.``), written atomically and
loaded strictly after checking the recorded sha256.

Example::

    from seqjepa.train.finetune import Classifier

    model = seqjepa.load("tiny-toy3diebench")
    clf = Classifier(model, num_classes=10, on="equivariant", freeze_encoder=False)
    opt = torch.optim.AdamW(clf.param_groups(backbone_lr=1e-4, head_lr=1e-3))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

import torch
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from ..models.config import SeqJEPAConfig
from ..errors import ConfigError, WeightsNotAvailableError
from ..utils.files import atomic_write_bytes, atomic_write_text, check_safetensors_file, sha256_file, verify_sha256
from ..zoo._serialization import CONFIG_NAME, WEIGHTS_NAME, load_state_dict_strict
from ..models.model import SeqJEPA
from ..version import __version__
from ..utils.log import progress

__all__ = [
    "Classifier", "PoseRegressor", "load_finetuned", "fit_classifier", "evaluate_classifier", "stratified_subset",
    "FINETUNE_FORMAT",
]

FINETUNE_FORMAT = 1
PathLike = Union[str, "os.PathLike[str]"]
_ON = ("invariant", "equivariant", "both")


def _mlp(in_dim: int, out_dim: int, hidden: Sequence[int]) -> nn.Module:
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


class _FineTuned(nn.Module):
    """Backbone + head, freezing, parameter groups and the save format shared by the heads."""

    kind = ""
    backbone: SeqJEPA
    head: nn.Module

    def __init__(self, model: SeqJEPA, *, freeze_encoder: bool, freeze_aggregator: bool) -> None:
        super().__init__()
        if not isinstance(model, SeqJEPA):
            raise ValueError(f"model: expected a seqjepa.SeqJEPA, got {type(model).__name__}")
        self.backbone = model
        self.freeze_encoder = bool(freeze_encoder)
        self.freeze_aggregator = bool(freeze_aggregator)
        for module in self._frozen_modules():
            module.requires_grad_(False)

    def _frozen_modules(self) -> list[nn.Module]:
        out: list[nn.Module] = []
        if self.freeze_encoder:
            out.append(self.backbone.encoder)
        if self.freeze_aggregator:
            out += [self.backbone.aggregator]
            if self.backbone.action_embedding is not None:
                out.append(self.backbone.action_embedding)
        return out

    def train(self, mode: bool = True) -> "_FineTuned":
        """Like ``nn.Module.train``, but frozen parts stay in eval mode (their BatchNorm statistics do not move)."""
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        if self.backbone.target_encoder is not None:
            self.backbone.target_encoder.eval()
        return self

    def param_groups(self, backbone_lr: float, head_lr: float, weight_decay: float = 0.0) -> list[dict]:
        """Optimizer groups: trainable backbone parameters at ``backbone_lr``, the head at ``head_lr``.

        Frozen parameters (and the unused EMA target encoder) are left out; weight decay applies
        to weight matrices only, not to biases or normalization parameters.
        """
        for name, value in (("backbone_lr", backbone_lr), ("head_lr", head_lr)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name}: expected a learning rate >= 0, got {value!r}")
        groups = []
        backbone = [(n, p) for n, p in self.backbone.named_parameters() if p.requires_grad and not n.startswith("target_encoder.")]
        for params, lr in ((backbone, backbone_lr), (list(self.head.named_parameters()), head_lr)):
            decay = [p for _, p in params if p.ndim > 1]
            rest = [p for _, p in params if p.ndim <= 1]
            for ps, wd in ((decay, weight_decay), (rest, 0.0)):
                if ps:
                    groups.append({"params": ps, "lr": float(lr), "weight_decay": wd})
        return groups

    def _finetune_section(self) -> dict[str, Any]:
        raise NotImplementedError

    def save_pretrained(self, save_directory: PathLike, *, include_target_encoder: bool = False) -> str:
        """Write ``config.json`` (with a ``finetune`` section) and ``model.safetensors`` atomically."""
        out = Path(save_directory)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if include_target_encoder or not k.startswith("backbone.target_encoder.")
        }
        atomic_write_bytes(out / WEIGHTS_NAME, save_safetensors_bytes(tensors, metadata={"format": "pt", "library": "seqjepa"}))
        weights = out / WEIGHTS_NAME
        document = {
            "library": "seqjepa",
            "seqjepa_version": __version__,
            "model": self.backbone.config.to_dict(),
            "has_target_encoder": any(k.startswith("backbone.target_encoder.") for k in tensors),
            "finetune": {"format": FINETUNE_FORMAT, "kind": self.kind, "freeze_encoder": self.freeze_encoder,
                         "freeze_aggregator": self.freeze_aggregator, **self._finetune_section()},
            "weights": {WEIGHTS_NAME: {"sha256": sha256_file(weights), "size": weights.stat().st_size}},
        }
        atomic_write_text(out / CONFIG_NAME, json.dumps(document, indent=2, sort_keys=True) + "\n")
        return str(out)

    @classmethod
    def from_pretrained(cls, directory: PathLike, *, device: Union[str, torch.device] = "cpu") -> "_FineTuned":
        """Load a directory written by :meth:`save_pretrained` (sha256 checked, strict), in eval mode."""
        model = load_finetuned(directory, device=device)
        if cls is not _FineTuned and not isinstance(model, cls):
            raise ConfigError(f"{directory}: holds a fine-tuned {model.kind!r}, not a {cls.kind!r}")
        return model


class Classifier(_FineTuned):
    """A linear classification head on a seq-JEPA.

    ``on="invariant"``: z_AGG of a sequence (views (B, M, C, H, W) and actions (B, M-1, A); a
    single image batch (B, C, H, W) is a sequence of one view). ``on="equivariant"``: z of single
    images (B, C, H, W), or the mean z over the views of (B, M, C, H, W). ``on="both"``: the
    concatenation [z_AGG, mean z].
    """

    kind = "classifier"

    def __init__(self, model: SeqJEPA, num_classes: int, on: str = "invariant", *, freeze_encoder: bool = False,
                 freeze_aggregator: bool = False, dropout: float = 0.0) -> None:
        super().__init__(model, freeze_encoder=freeze_encoder, freeze_aggregator=freeze_aggregator)
        if on not in _ON:
            raise ValueError(f"on: expected one of {_ON}, got {on!r}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(f"num_classes: expected an integer >= 2, got {num_classes!r}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout: expected a number in [0, 1), got {dropout!r}")
        cfg = model.config
        self.on, self.num_classes, self.dropout_p = on, num_classes, float(dropout)
        in_dim = {"invariant": cfg.token_dim, "equivariant": cfg.encoder_dim, "both": cfg.token_dim + cfg.encoder_dim}[on]
        self.dropout = nn.Dropout(self.dropout_p)
        self.head = nn.Linear(in_dim, num_classes)

    def features(self, views: torch.Tensor, actions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The vector the head reads (see the class docstring)."""
        if not isinstance(views, torch.Tensor) or views.dim() not in (4, 5):
            got = tuple(views.shape) if isinstance(views, torch.Tensor) else type(views).__name__
            raise ValueError(f"views: expected (B, C, H, W) or (B, M, C, H, W), got {got}")
        if self.on == "equivariant":
            if actions is not None:
                raise ValueError("actions: the equivariant classifier reads images only; pass actions=None")
            z = self.backbone.equivariant_embedding(views)
            return z if z.dim() == 2 else z.mean(dim=1)
        seq = views if views.dim() == 5 else views[:, None]
        if actions is None and self.backbone.config.action_conditioned:
            if seq.shape[1] > 1:
                raise ValueError(f"actions: expected shape (B, {seq.shape[1] - 1}, {self.backbone.config.action_dim}), got None")
            actions = seq.new_zeros(seq.shape[0], 0, self.backbone.config.action_dim)
        out = self.backbone.encode_views(seq, actions)
        if self.on == "invariant":
            return out.invariant
        return torch.cat([out.invariant, out.equivariant.mean(dim=1)], dim=1)

    def forward(self, views: torch.Tensor, actions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Class logits (B, num_classes)."""
        return self.head(self.dropout(self.features(views, actions)))

    def _finetune_section(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "on": self.on, "dropout": self.dropout_p}


class PoseRegressor(_FineTuned):
    """Rotation (pose) regression on encoder outputs.

    ``mode="relative"``: the relative rotation between two views, from [z_0, z_1] of
    ``images`` (B, 2, C, H, W), with the official MLP 1024-1024 head. ``mode="absolute"``: the
    rotation of one view (B, C, H, W) from its z.
    """

    kind = "pose_regressor"

    def __init__(self, model: SeqJEPA, mode: str = "relative", out_dim: int = 4, hidden: Sequence[int] = (1024, 1024), *,
                 freeze_encoder: bool = False) -> None:
        super().__init__(model, freeze_encoder=freeze_encoder, freeze_aggregator=False)
        if mode not in ("relative", "absolute"):
            raise ValueError(f"mode: expected 'relative' or 'absolute', got {mode!r}")
        if not isinstance(out_dim, int) or out_dim < 1:
            raise ValueError(f"out_dim: expected a positive integer, got {out_dim!r}")
        hidden = tuple(hidden)
        if not all(isinstance(h, int) and h > 0 for h in hidden):
            raise ValueError(f"hidden: expected positive integers, got {hidden!r}")
        self.mode, self.out_dim, self.hidden = mode, out_dim, hidden
        d = model.config.encoder_dim
        self.head = _mlp(2 * d if mode == "relative" else d, out_dim, hidden)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 2, C, H, W) -> relative pose (B, out_dim); or (B, C, H, W) -> absolute pose."""
        if self.mode == "relative":
            if not isinstance(images, torch.Tensor) or images.dim() != 5 or images.shape[1] != 2:
                got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
                raise ValueError(f"images: expected a pair of views (B, 2, C, H, W), got {got}")
            z = self.backbone.equivariant_embedding(images)
            return self.head(z.flatten(1))
        return self.head(self.backbone.equivariant_embedding(images))

    def _finetune_section(self) -> dict[str, Any]:
        return {"mode": self.mode, "out_dim": self.out_dim, "hidden": list(self.hidden)}


def load_finetuned(directory: PathLike, *, device: Union[str, torch.device] = "cpu") -> _FineTuned:
    """Load a :class:`Classifier` or :class:`PoseRegressor` directory: sha256 checked, strict, eval mode."""
    d = Path(directory)
    config_path, weights_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (config_path, weights_path):
        if not p.is_file():
            raise WeightsNotAvailableError(f"{p} not found: a fine-tuned seqjepa directory holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid JSON: {exc}") from exc
    ft = document.get("finetune") if isinstance(document, dict) else None
    if not isinstance(ft, dict) or not isinstance(document.get("model"), dict):
        raise ConfigError(f"{config_path}: expected 'model' and 'finetune' sections (a fine-tuned seqjepa model); "
                          "load a pretrained directory with seqjepa.load instead")
    if ft.get("format") != FINETUNE_FORMAT:
        raise ConfigError(f"{config_path}: finetune.format {ft.get('format')!r} is not supported (expected {FINETUNE_FORMAT})")
    check_safetensors_file(weights_path)
    recorded = (document.get("weights") or {}).get(WEIGHTS_NAME) or {}
    if not recorded.get("sha256"):
        raise ConfigError(f"{config_path}: no sha256 recorded for {WEIGHTS_NAME}")
    verify_sha256(weights_path, recorded["sha256"], what="fine-tuned weights")
    config = SeqJEPAConfig.from_dict(document["model"])
    state = load_file(str(weights_path), device="cpu")
    backbone = SeqJEPA(config, with_target_encoder=any(k.startswith("backbone.target_encoder.") for k in state))
    kind = ft.get("kind")
    common = {"freeze_encoder": bool(ft.get("freeze_encoder", False))}
    if kind == "classifier":
        model: _FineTuned = Classifier(backbone, int(ft["num_classes"]), ft["on"], freeze_aggregator=bool(ft.get("freeze_aggregator", False)),
                                       dropout=float(ft.get("dropout", 0.0)), **common)
    elif kind == "pose_regressor":
        model = PoseRegressor(backbone, ft["mode"], int(ft["out_dim"]), tuple(ft["hidden"]), **common)
    else:
        raise ConfigError(f"{config_path}: finetune.kind {kind!r} is not 'classifier' or 'pose_regressor'")
    load_state_dict_strict(model, state, source=str(weights_path))
    return model.to(device).eval()


def stratified_subset(labels: Sequence[int], size: int, seed: int = 0) -> list[int]:
    """A seeded subset of ``size`` indices that keeps every class's share of ``labels``.

    Each class gets ``size * its share`` items rounded down, the items left over go to the classes with the
    largest remainders (ties to the smaller label), and each class's items are drawn at random with ``seed``.
    Taking the first ``size`` items instead would, in class-sorted data, keep only the first classes.
    Returns the indices in ascending order; all of them when ``size`` is at least ``len(labels)``.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a positive integer, got {size!r}")
    labels = [int(v) for v in labels]
    if size >= len(labels):
        return list(range(len(labels)))
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    exact = {c: size * len(ix) / len(labels) for c, ix in by_class.items()}
    counts = {c: int(v) for c, v in exact.items()}
    leftover = size - sum(counts.values())
    for c in sorted(by_class, key=lambda c: (-(exact[c] - counts[c]), c))[:leftover]:
        counts[c] += 1
    gen = torch.Generator().manual_seed(int(seed))
    chosen: list[int] = []
    for c in sorted(by_class):
        members = by_class[c]
        order = torch.randperm(len(members), generator=gen)[: counts[c]].tolist()
        chosen.extend(members[i] for i in order)
    return sorted(chosen)


def trainable_parameters(module: nn.Module) -> Iterable[nn.Parameter]:
    """Parameters with ``requires_grad`` (for optimizers that take a flat list)."""
    return (p for p in module.parameters() if p.requires_grad)


def _actions_for(clf: Classifier, actions: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """The classifier reads no actions from images alone, nor when its backbone was trained without them."""
    if clf.on == "equivariant" or not clf.backbone.config.action_conditioned:
        return None
    return actions


def _unpack(batch: Any, device: Union[str, torch.device]) -> "tuple[torch.Tensor, Optional[torch.Tensor], torch.Tensor]":
    """(images, labels) from an image folder, or a contract dict (views, actions between them, label)."""
    if isinstance(batch, dict):
        views = batch["views"].to(device)
        actions = batch["actions"][:, : views.shape[1] - 1].to(device)
        return views, actions, torch.as_tensor(batch["label"]).reshape(-1).to(device)
    images, labels = batch
    return images.to(device), None, labels.to(device)


def _length(loader: Iterable) -> Optional[int]:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def fit_classifier(clf: Classifier, loader: Iterable, optimizer: torch.optim.Optimizer, *,
                   device: Union[str, torch.device] = "cpu") -> float:
    """One epoch of cross-entropy training; returns the mean loss."""
    clf.train()
    total, count = 0.0, 0
    for batch in progress(loader, desc="fine-tuning", total=_length(loader), unit="batch"):
        views, actions, labels = _unpack(batch, device)
        actions = _actions_for(clf, actions)
        loss = nn.functional.cross_entropy(clf(views, actions), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * labels.shape[0]
        count += labels.shape[0]
    return total / max(count, 1)


@torch.no_grad()
def evaluate_classifier(clf: Classifier, loader: Iterable, *, device: Union[str, torch.device] = "cpu") -> float:
    """Top-1 accuracy (%) over ``loader``."""
    clf.eval()
    correct, count = 0, 0
    for batch in progress(loader, desc="evaluating", total=_length(loader), unit="batch"):
        views, actions, labels = _unpack(batch, device)
        actions = _actions_for(clf, actions)
        correct += int((clf(views, actions).argmax(dim=1) == labels).sum())
        count += labels.shape[0]
    return 100.0 * correct / max(count, 1)
