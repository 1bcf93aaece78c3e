"""`SeqJEPAConfig`: every architecture, preprocessing and action-space field of a seq-JEPA model.

The config travels with the weights (``config.json`` beside ``model.safetensors``), so a model
loaded from a file always gets the numerics and preprocessing it was trained with.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConfigError

__all__ = ["SeqJEPAConfig", "THREEDIEBENCH_MEAN", "THREEDIEBENCH_STD", "CONFIG_FORMAT_VERSION"]

#: 3DIEBench normalization used by SIE and the official seq-JEPA code (paper-notes §2.3).
THREEDIEBENCH_MEAN = (0.5016, 0.5037, 0.5060)
THREEDIEBENCH_STD = (0.1030, 0.0999, 0.0969)

CONFIG_FORMAT_VERSION = 1

_LAST_SLOT_MODES = ("next_action", "zeros")
# A config.json may come from an untrusted repository: the backbone must be a plain timm registry
# name (timm resolves "hf-hub:..." and "local-dir:..." names by downloading or reading files), and
# backbone_kwargs must not carry timm's own loading arguments.
_BACKBONE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_FORBIDDEN_BACKBONE_KWARGS = (
    "pretrained", "pretrained_cfg", "pretrained_cfg_overlay", "checkpoint_path", "cache_dir",
    "num_classes", "in_chans",
)
_INTERPOLATIONS = ("bilinear", "bicubic", "nearest")
# Upper bounds far beyond any real seq-JEPA, low enough that a hostile config.json cannot make the
# model (or its meta-device twin) ask for absurd memory before the weights are compared with it.
_INT_RANGES = {
    "image_size": (1, 4096), "in_channels": (1, 16), "encoder_dim": (1, 16384), "action_dim": (0, 1024),
    "action_embed_dim": (0, 16384), "num_layers": (1, 64), "num_heads": (1, 256), "predictor_hidden": (0, 65536),
    "train_seq_len": (1, 4096),
}
_MAX_MLP_RATIO = 64.0
_MAX_BACKBONE_KWARGS_CHARS = 4096


@dataclass
class SeqJEPAConfig:
    """Architecture + preprocessing + action space of one seq-JEPA model.

    Defaults are the paper's 3DIEBench rotation model (ResNet-18 at 128 px, 4-d quaternion
    actions, 128-d learned action embedding, 3-layer aggregator, predictor hidden 1024).

    Attributes:
        backbone: timm model name of the encoder (any timm model that gives pooled features).
        backbone_kwargs: extra keyword arguments for ``timm.create_model`` (e.g. narrower widths).
        cifar_stem: replace conv1 by a 3x3 stride-1 conv and drop the max-pool (CIFAR/STL patches).
        image_size: side of the square input images, in pixels.
        in_channels: image channels.
        encoder_dim: D, the encoder's pooled feature size (512 for ResNet-18).
        action_dim: A, size of one relative action (4 for a quaternion).
        action_embed_dim: size of the learned action embedding (128 in the paper).
        learn_action_embedding: embed actions with Linear(no bias)+BatchNorm1d(no affine);
            if False the raw action is concatenated, zero-padded so that the token width is a
            multiple of ``num_heads`` (as the official code does).
        action_conditioned: feed actions to the aggregator and predictor at all (the paper's ablation).
        num_layers, num_heads, mlp_ratio, dropout: the post-norm transformer aggregator.
        predictor_hidden: hidden width of the predictor MLP; 0 gives the official single
            Linear(no bias)+BatchNorm1d predictor.
        use_target_encoder: predict an EMA target encoder's embedding (official ``--ema``);
            if False the target is the online encoder's embedding with stop-gradient.
        ema_momentum: base EMA momentum (cosine-scheduled to 1 by the trainer).
        last_slot_in_batchnorm: what the action BatchNorm sees in the last observation's slot
            during training before that slot is zeroed: ``"next_action"`` (official 3DIEBench
            path, the action to the unseen view) or ``"zeros"`` (official augmentation and
            saccade paths). Irrelevant in eval mode.
        mean, std, interpolation: preprocessing (resize to ``image_size``, normalize).
        action_space: name of the action space in :mod:`seqjepa.models.actions`.
        train_seq_len: M_tr, the number of observed views the model was trained with.
    """

    backbone: str = "resnet18"
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)
    cifar_stem: bool = False
    image_size: int = 128
    in_channels: int = 3
    encoder_dim: int = 512
    action_dim: int = 4
    action_embed_dim: int = 128
    learn_action_embedding: bool = True
    action_conditioned: bool = True
    num_layers: int = 3
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    predictor_hidden: int = 1024
    use_target_encoder: bool = True
    ema_momentum: float = 0.996
    last_slot_in_batchnorm: str = "next_action"
    mean: tuple[float, ...] = THREEDIEBENCH_MEAN
    std: tuple[float, ...] = THREEDIEBENCH_STD
    interpolation: str = "bilinear"
    action_space: str = "rotation"
    train_seq_len: int = 3

    def __post_init__(self) -> None:
        self.mean = _float_tuple(self.mean)
        self.std = _float_tuple(self.std)
        self.backbone_kwargs = dict(self.backbone_kwargs) if isinstance(self.backbone_kwargs, Mapping) else self.backbone_kwargs
        self.validate()

    # ----------------------------------------------------------------- derived sizes
    @property
    def action_pad(self) -> int:
        """Zero columns appended to a raw (not learned) action so the token width divides by the head count."""
        if not self.action_conditioned or self.learn_action_embedding:
            return 0
        return (-(self.encoder_dim + self.action_dim)) % self.num_heads

    @property
    def action_slot_dim(self) -> int:
        """Width of the action part of one observation token (0 without action conditioning)."""
        if not self.action_conditioned:
            return 0
        if self.learn_action_embedding:
            return self.action_embed_dim
        return self.action_dim + self.action_pad

    @property
    def token_dim(self) -> int:
        """E: width of an observation token, of [AGG] and of z_AGG."""
        return self.encoder_dim + self.action_slot_dim

    @property
    def predictor_in_dim(self) -> int:
        """Input width of the predictor: z_AGG plus the embedded next action."""
        return self.token_dim + self.action_slot_dim

    @property
    def ffn_dim(self) -> int:
        """Hidden width of each transformer layer's feed-forward block."""
        return int(round(self.token_dim * self.mlp_ratio))

    # ----------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise :class:`~seqjepa.errors.ConfigError` naming the fields that are wrong or clash."""
        _expect_type("backbone", self.backbone, str)
        _expect_type("backbone_kwargs", self.backbone_kwargs, dict)
        if not _BACKBONE_NAME.fullmatch(self.backbone):
            raise ConfigError(
                f"config field 'backbone': expected a timm model name (letters, digits, '_', '.', '-'), got "
                f"{self.backbone!r}; hub or local-directory backbones are not accepted"
            )
        forbidden = sorted(str(k) for k in self.backbone_kwargs if not isinstance(k, str) or k in _FORBIDDEN_BACKBONE_KWARGS)
        if forbidden:
            raise ConfigError(
                f"config field 'backbone_kwargs': {forbidden} may not be set (seqjepa builds the encoder itself "
                "and loads its weights only from model.safetensors)"
            )
        _expect_type("interpolation", self.interpolation, str)
        _expect_type("action_space", self.action_space, str)
        _expect_type("last_slot_in_batchnorm", self.last_slot_in_batchnorm, str)
        for name in ("cifar_stem", "learn_action_embedding", "action_conditioned", "use_target_encoder"):
            _expect_type(name, getattr(self, name), bool)
        for name in (
            "image_size", "in_channels", "encoder_dim", "action_dim", "action_embed_dim",
            "num_layers", "num_heads", "predictor_hidden", "train_seq_len",
        ):
            _expect_type(name, getattr(self, name), int)
        for name in ("mlp_ratio", "dropout", "ema_momentum"):
            _expect_type(name, getattr(self, name), (int, float))
        for name in ("mean", "std"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, float) for v in value):
                raise ConfigError(f"config field {name!r}: expected a list of numbers, got {value!r}")

        for name, (low, high) in _INT_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                shown = value if abs(value) < 10**12 else f"an integer of {len(str(abs(value)))} digits"
                extra = " (0 = single linear layer)" if name == "predictor_hidden" else ""
                raise ConfigError(f"config field {name!r}: expected an integer in [{low}, {high}]{extra}, got {shown}")
        if not 0.0 <= self.dropout < 1.0:  # also false for NaN
            raise ConfigError(f"config field 'dropout': expected a value in [0, 1), got {self.dropout}")
        if not 0.0 <= self.ema_momentum <= 1.0:
            raise ConfigError(f"config field 'ema_momentum': expected a value in [0, 1], got {self.ema_momentum}")
        if not (math.isfinite(self.mlp_ratio) and 0 < self.mlp_ratio <= _MAX_MLP_RATIO):
            raise ConfigError(f"config field 'mlp_ratio': expected a number in (0, {_MAX_MLP_RATIO:g}], got {self.mlp_ratio}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if not all(math.isfinite(v) for v in values):
                raise ConfigError(f"config field {name!r}: expected finite numbers, got {list(values)}")
        if any(not -10.0 <= m <= 10.0 for m in self.mean):
            raise ConfigError(f"config field 'mean': expected per-channel means of [0, 1] pixels (within [-10, 10]), got {list(self.mean)}")
        if any(not 1e-6 <= s <= 10.0 for s in self.std):
            raise ConfigError(f"config field 'std': expected per-channel standard deviations in [1e-6, 10], got {list(self.std)}")
        from .actions import list_action_spaces

        if self.action_space not in list_action_spaces():
            raise ConfigError(f"config field 'action_space': expected one of {list_action_spaces()}, got {self.action_space!r}")
        _check_backbone_kwargs(self.backbone_kwargs)
        if self.last_slot_in_batchnorm not in _LAST_SLOT_MODES:
            raise ConfigError(
                f"config field 'last_slot_in_batchnorm': expected one of {_LAST_SLOT_MODES}, got {self.last_slot_in_batchnorm!r}"
            )
        if self.interpolation not in _INTERPOLATIONS:
            raise ConfigError(f"config field 'interpolation': expected one of {_INTERPOLATIONS}, got {self.interpolation!r}")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ConfigError(
                f"config fields 'mean'/'std' clash with 'in_channels': expected {self.in_channels} values each, "
                f"got {len(self.mean)} and {len(self.std)}"
            )

        if self.action_conditioned:
            if self.action_dim < 1:
                raise ConfigError(
                    f"config fields 'action_conditioned' and 'action_dim' clash: an action-conditioned model "
                    f"needs action_dim >= 1, got {self.action_dim}"
                )
            if self.learn_action_embedding and self.action_embed_dim < 1:
                raise ConfigError(
                    "config fields 'learn_action_embedding' and 'action_embed_dim' clash: a learned action "
                    f"embedding needs action_embed_dim >= 1, got {self.action_embed_dim}"
                )
        elif self.learn_action_embedding:
            raise ConfigError(
                "config fields 'action_conditioned' and 'learn_action_embedding' clash: a model without action "
                "conditioning has no action embedding; set learn_action_embedding=False"
            )
        if self.token_dim % self.num_heads:
            raise ConfigError(
                f"config fields 'encoder_dim', 'action_embed_dim' and 'num_heads' clash: the token width "
                f"{self.token_dim} ({self.encoder_dim} + {self.action_slot_dim}) is not divisible by num_heads={self.num_heads}"
            )
        if abs(self.token_dim * self.mlp_ratio - self.ffn_dim) > 1e-6:
            raise ConfigError(
                f"config fields 'mlp_ratio' and 'token_dim' clash: {self.token_dim} x {self.mlp_ratio} is not an integer"
            )

    # ----------------------------------------------------------------- JSON round trip
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field, plus ``config_format_version``."""
        out: dict[str, Any] = {"config_format_version": CONFIG_FORMAT_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SeqJEPAConfig":
        """Build a config from :meth:`to_dict` output; unknown or ill-typed fields raise :class:`ConfigError`."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a seqjepa config must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("config_format_version", CONFIG_FORMAT_VERSION)
        if version != CONFIG_FORMAT_VERSION:
            raise ConfigError(
                f"config field 'config_format_version': this seqjepa reads version {CONFIG_FORMAT_VERSION}, got {version!r}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s) {unknown}; known fields are {sorted(known)}")
        for key in ("mean", "std"):
            if key in data and isinstance(data[key], list):
                data[key] = tuple(data[key])
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - dataclass signature errors
            raise ConfigError(f"invalid config: {exc}") from exc

    def to_json(self) -> str:
        """Serialize to an indented, key-sorted JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "SeqJEPAConfig":
        """Parse :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "SeqJEPAConfig":
        """Read a ``config.json`` (either a bare config or one with a ``"model"`` section)."""
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{os.fspath(path)} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and "model" in data and isinstance(data["model"], dict):
            data = data["model"]
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{os.fspath(path)}: {exc}") from exc

    def replace(self, **changes: Any) -> "SeqJEPAConfig":
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _float_tuple(value: Any) -> Any:
    """Lists/tuples of real numbers become float tuples; anything else is left for validate() to name."""
    if _is_sequence(value) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return tuple(float(v) for v in value)
    return value


def _check_backbone_kwargs(kwargs: dict[str, Any]) -> None:
    """Plain JSON values only (strings, booleans, finite numbers, lists of them), small, integers bounded."""
    def walk(value: Any, path: str, depth: int) -> None:
        if depth > 4:
            raise ConfigError(f"config field 'backbone_kwargs': {path} is nested too deeply")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return
        if isinstance(value, int):
            if abs(value) > 65536:
                raise ConfigError(f"config field 'backbone_kwargs': {path} = {value} is out of range (|value| <= 65536)")
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ConfigError(f"config field 'backbone_kwargs': {path} must be finite, got {value}")
            return
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]", depth + 1)
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}", depth + 1)
            return
        raise ConfigError(f"config field 'backbone_kwargs': {path} has an unsupported type {type(value).__name__}")

    for key, value in kwargs.items():
        walk(value, str(key), 0)
    try:
        size = len(json.dumps(kwargs))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config field 'backbone_kwargs': expected JSON values, got {exc}") from None
    if size > _MAX_BACKBONE_KWARGS_CHARS:
        raise ConfigError(f"config field 'backbone_kwargs': {size} characters of JSON, expected at most {_MAX_BACKBONE_KWARGS_CHARS}")


def _expect_type(name: str, value: Any, types: type | tuple[type, ...]) -> None:
    # bool is an int subclass: a True where a number is wanted (or 1 where a flag is wanted) is a mistake
    wants_bool = types is bool
    ok = isinstance(value, types) and (wants_bool or not isinstance(value, bool))
    if not ok:
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise ConfigError(f"config field {name!r}: expected {names}, got {type(value).__name__} {value!r}")
