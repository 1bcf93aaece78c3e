"""The features the probes read: a frozen model run over a contract dataset, and their on-disk cache.

One encoder pass per sequence gives everything the probes need: the per-view encoder outputs z,
z_AGG for every prefix length M_val = 1..M (the aggregator is re-run on z, not the encoder), and
for path integration z_AGG with the actions zeroed ("vision only") and with every view replaced
by one constant image ("action only").

The model is always in eval mode here. The official offline evaluation leaves the "frozen"
backbone in train mode during the probe pass, so its BatchNorm running statistics drift with the
probe data (paper-notes §3.2); we deliberately do not reproduce that.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch.utils.data import DataLoader, Dataset, Subset

from ..models.inference import resolve_precision
from ..utils.files import atomic_write_bytes
from ..utils.log import progress

__all__ = [
    "FeatureSet",
    "FeatureCache",
    "compute_probe_features",
    "model_fingerprint",
    "resolve_precision",
    "CONDITIONS",
]

#: Extra z_AGG variants for path integration.
CONDITIONS = ("noaction", "novision")
_CACHE_FORMAT = 1


@dataclass
class FeatureSet:
    """Features of N sequences of M views.

    Tensors: ``z`` (N, M, D); ``z_agg`` (N, M, E) where ``z_agg[:, m-1]`` aggregates the first m
    views and the m-1 actions between them; optionally ``z_agg_noaction`` / ``z_agg_novision``
    (same layout); ``actions`` (N, M-1, A), ``actions[:, j]`` from view j to j+1; ``latents``
    (N, M, K); ``labels`` (N,).
    """

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> torch.Tensor:
        if key not in self.tensors:
            raise KeyError(f"feature {key!r} not extracted; have {sorted(self.tensors)}")
        return self.tensors[key]

    def __contains__(self, key: str) -> bool:
        return key in self.tensors

    @property
    def num_samples(self) -> int:
        return int(self.tensors["labels"].shape[0])

    @property
    def num_views(self) -> int:
        return int(self.tensors["z"].shape[1])


def model_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over the state dict (names, dtypes, shapes, bytes) and the config: the cache key's model part."""
    h = hashlib.sha256()
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "to_dict"):
        h.update(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode())
    for key, value in sorted(model.state_dict().items()):
        t = value.detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


@torch.no_grad()
def compute_probe_features(
    model: torch.nn.Module,
    dataset: Dataset,
    *,
    batch_size: int = 64,
    device: Union[str, torch.device] = "cpu",
    precision: str = "auto",
    num_workers: int = 0,
    conditions: Sequence[str] = (),
    max_samples: Optional[int] = None,
    seed: int = 0,
) -> FeatureSet:
    """The features the probes read: the frozen ``model`` run over a contract dataset (observed views +
    target = M views).

    Args:
        model: a :class:`~seqjepa.SeqJEPA`; it is put in eval mode.
        dataset: yields dicts with ``views`` (M-1, C, H, W), ``target``, ``actions`` (M-1, A),
            ``label`` and ``latents`` (M, K) (the shared data contract).
        conditions: any of ``"noaction"``, ``"novision"`` for the path-integration variants.
        max_samples: evaluate a seeded random subset of this many sequences.
    """
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad:
        raise ValueError(f"conditions: expected a subset of {CONDITIONS}, got {bad}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    device = torch.device(device)
    amp = resolve_precision(precision, device)
    model = model.to(device).eval()
    if max_samples is not None:
        if not isinstance(max_samples, int) or max_samples < 1:
            raise ValueError(f"max_samples: expected a positive integer, got {max_samples!r}")
        if max_samples < len(dataset):
            gen = torch.Generator().manual_seed(seed)
            idx = torch.randperm(len(dataset), generator=gen)[:max_samples].sort().values.tolist()
            dataset = Subset(dataset, idx)
    if len(dataset) == 0:
        raise ValueError("dataset: expected at least one sequence, got an empty dataset")
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    conditioned = bool(getattr(model.config, "action_conditioned", True))
    out: dict[str, list[torch.Tensor]] = {}
    z_const: Optional[torch.Tensor] = None
    for batch in progress(loader, desc="features", total=len(loader), unit="batch"):
        views, actions = _sequence_from_batch(batch)
        b, m = views.shape[:2]
        views = views.to(device)
        acts = actions.to(device) if conditioned else None
        with torch.autocast(device.type, dtype=amp) if amp is not None else contextlib.nullcontext():
            z = model.equivariant_embedding(views)
            pieces = {"z": z, "z_agg": _prefix_aggregates(model, z, acts)}
            if "noaction" in conditions:
                pieces["z_agg_noaction"] = _prefix_aggregates(model, z, torch.zeros_like(acts) if acts is not None else None)
            if "novision" in conditions:
                if z_const is None:
                    blank = torch.zeros(1, *views.shape[2:], device=device, dtype=views.dtype)
                    z_const = model.equivariant_embedding(blank)
                pieces["z_agg_novision"] = _prefix_aggregates(model, z_const.expand(b, m, -1).contiguous(), acts)
        for key, value in pieces.items():
            out.setdefault(key, []).append(value.float().cpu())
        out.setdefault("actions", []).append(actions.float().cpu())
        out.setdefault("labels", []).append(torch.as_tensor(batch["label"]).reshape(-1).long())
        out.setdefault("latents", []).append(torch.as_tensor(batch["latents"]).float())
    tensors = {k: torch.cat(v) for k, v in out.items()}
    if tensors["latents"].shape[1] != tensors["z"].shape[1]:
        raise ValueError(
            f"latents: expected one row per view ({tensors['z'].shape[1]} = views + target), got {tensors['latents'].shape[1]}"
        )
    meta = {"precision": str(amp) if amp else "float32", "num_views": int(tensors["z"].shape[1])}
    return FeatureSet(tensors, meta)


def _sequence_from_batch(batch: Mapping[str, Any]) -> "tuple[torch.Tensor, torch.Tensor]":
    """Observed views + target as one sequence of M views, with the M-1 actions between them."""
    for key in ("views", "target", "actions", "label", "latents"):
        if key not in batch:
            raise ValueError(f"dataset: expected items with key {key!r} (the seqjepa data contract), got {sorted(batch)}")
    views, target, actions = batch["views"], batch["target"], batch["actions"]
    if views.dim() != 5 or target.dim() != 4 or actions.dim() != 3 or actions.shape[1] != views.shape[1]:
        raise ValueError(
            "dataset: expected views (M, C, H, W), target (C, H, W) and actions (M, A) per item, got "
            f"batched views {tuple(views.shape)}, target {tuple(target.shape)}, actions {tuple(actions.shape)}"
        )
    return torch.cat([views, target[:, None]], dim=1), actions


def _prefix_aggregates(model, z: torch.Tensor, actions: Optional[torch.Tensor]) -> torch.Tensor:
    """(B, M, E): z_AGG of the first m views for every m = 1..M."""
    outs = []
    for m in range(1, z.shape[1] + 1):
        acts = actions[:, : m - 1] if actions is not None else None
        outs.append(model.aggregate(z[:, :m], acts))
    return torch.stack(outs, dim=1)


class FeatureCache:
    """Feature sets on disk, one safetensors file per key; written atomically, verified on read."""

    def __init__(self, root: Union[str, "os.PathLike[str]"]) -> None:
        self.root = Path(root)

    @staticmethod
    def key(parts: Mapping[str, Any]) -> str:
        """Stable hex key of a JSON-able description (model sha, config, dataset, protocol, seed...)."""
        blob = json.dumps({"format": _CACHE_FORMAT, **parts}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"features-{key}.safetensors"

    def load(self, key: str) -> Optional[FeatureSet]:
        """The cached set for ``key``, or None when absent. A corrupt file raises."""
        p = self.path(key)
        if not p.is_file():
            return None
        data = p.read_bytes()
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get("seqjepa", "{}"))
        if meta.get("key") != key:
            raise ValueError(f"{p}: cache entry records key {meta.get('key')!r}, expected {key!r}; delete the file")
        return FeatureSet(dict(load_safetensors_bytes(data)), meta.get("meta", {}))

    def save(self, key: str, features: FeatureSet) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        blob = save_safetensors_bytes(
            {k: v.contiguous() for k, v in features.tensors.items()},
            metadata={"seqjepa": json.dumps({"key": key, "meta": features.meta}, default=str)},
        )
        atomic_write_bytes(self.path(key), blob)
        return self.path(key)

    def get_or_compute(self, parts: Mapping[str, Any], compute) -> "tuple[FeatureSet, bool]":
        """Load the set described by ``parts`` or compute and store it; returns (set, was_cached)."""
        key = self.key(parts)
        cached = self.load(key)
        if cached is not None:
            return cached, True
        features = compute()
        self.save(key, features)
        return features, False
