"""Official seq-JEPA ``.pth`` checkpoints -> seqjepa config + safetensors weights.

The official file is ``torch.save({"model", "optimizer", "epoch", "min_loss", "args"})`` with an
``argparse.Namespace`` in ``args``. It is unpickled with ``weights_only=True`` and an explicit
allow-list; a pickle that names any other global is refused before anything of it runs.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import zipfile
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import torch

from ..errors import CheckpointMismatchError, ConfigError, IntegrityError, UnsafeCheckpointError
from ..models.config import THREEDIEBENCH_MEAN, THREEDIEBENCH_STD, SeqJEPAConfig
from ..utils.files import LFS_POINTER_PREFIX, sha256_bytes, sha256_mismatch
from ._serialization import model_from_state_dict, write_model_directory

__all__ = [
    "ConversionReport",
    "ALLOWED_GLOBALS",
    "PROBE_PREFIXES",
    "official_to_seqjepa_key",
    "seqjepa_to_official_key",
    "convert_official_state_dict",
    "read_official_checkpoint",
    "convert_to_directory",
]

PathLike = Union[str, "os.PathLike[str]"]

#: The only globals an official checkpoint may reference besides torch's own tensor machinery.
ALLOWED_GLOBALS: tuple[Any, ...] = (argparse.Namespace,)

#: Heads the official scripts attach to the model (online probes, eval probes); never part of seq-JEPA.
PROBE_PREFIXES = (
    "online_linprobe.",
    "online_equiprobe.",
    "online_res_probe.",
    "online_agg_probe.",
    "rot_regressor.",
    "color_regressor.",
    "crop_regressor.",
    "jitter_regressor.",
    "blur_regressor.",
    "pos_regressor.",
    "agg_classifier.",
    "res_classifier.",
)

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")

# (official prefix, seqjepa prefix); the first match wins, in both directions.
_PREFIX_MAP: tuple[tuple[str, str], ...] = (
    ("encoder.", "encoder."),
    ("target_encoder.", "target_encoder."),
    ("transformer_encoder.transformer_encoder.layers.", "aggregator.layers."),
    ("transformer_encoder.norm.", "aggregator.norm."),
    ("action_proj.0.", "action_embedding.proj."),
    ("action_proj.1.", "action_embedding.norm."),
    ("predictor.0.", "predictor.fc1."),
    ("predictor.1.", "predictor.bn."),
    ("predictor.3.", "predictor.fc2."),
)
_EXACT_MAP = {"agg_token": "aggregator.agg_token"}

_DATASET_NORMALIZATION = {
    "3diebench": (THREEDIEBENCH_MEAN, THREEDIEBENCH_STD),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    "tinyimagenet": ((0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2241, 0.2215, 0.2239)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
_LATENT_TYPE_DIMS = {"rot": 4, "rotcolor": 6, "aug": 9, "crop": 4, "colorjitter": 4, "blur": 1}
_ACTION_SPACES = {
    "rot": "rotation",
    "rotcolor": "rotation_color",
    "aug": "augmentation",
    "crop": "crop",
    "colorjitter": "jitter",
    "blur": "blur",
}


def official_to_seqjepa_key(key: str) -> str:
    """Map one official state-dict key to ours (raises ``KeyError`` for keys that have no counterpart)."""
    if key in _EXACT_MAP:
        return _EXACT_MAP[key]
    for official, ours in _PREFIX_MAP:
        if key.startswith(official):
            return ours + key[len(official):]
    raise KeyError(key)


def seqjepa_to_official_key(key: str) -> str:
    """Map one of our state-dict keys back to the official name."""
    for official, ours in _EXACT_MAP.items():
        if key == ours:
            return official
    for official, ours in _PREFIX_MAP:
        if key.startswith(ours):
            return official + key[len(ours):]
    raise KeyError(key)


@dataclass
class ConversionReport:
    """What a conversion did: the dropped probe keys and the config fields that were assumed."""

    dropped_keys: list[str] = field(default_factory=list)
    assumed: dict[str, Any] = field(default_factory=dict)
    source: Optional[str] = None
    source_sha256: Optional[str] = None
    epoch: Optional[int] = None


def _arg(a: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    """``args.<key>`` of an official checkpoint as ``kind`` (int, float or str); anything else is a ConfigError."""
    value = a.get(key, default)
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ConfigError(
            f"checkpoint field 'args.{key}': expected {'a finite number' if kind is float else 'an ' + kind.__name__ if kind is int else 'a string'}, "
            f"got {type(value).__name__} {value!r:.80}"
        )
    return float(value) if kind is float else value


def _args_dict(args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    if isinstance(args, argparse.Namespace):
        return vars(args)
    if isinstance(args, Mapping):
        return dict(args)
    raise ConfigError(f"checkpoint field 'args': expected an argparse.Namespace or dict, got {type(args).__name__}")


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    args: Any = None,
    *,
    overrides: Optional[Mapping[str, Any]] = None,
) -> tuple[SeqJEPAConfig, dict[str, torch.Tensor], ConversionReport]:
    """Rename an official ``SeqJEPA_Transforms``/``SeqJEPA_PLS`` state dict and infer its config.

    Sizes come from tensor shapes; what shapes cannot tell (heads, image size, dataset
    normalization, action space, training length) comes from ``args``, then ``overrides``.
    Probe heads are dropped and listed in the report; any other unknown key is an error.
    """
    report = ConversionReport()
    a = _args_dict(args)
    renamed: dict[str, torch.Tensor] = {}
    unknown = []
    bad = [repr(k) for k, v in state_dict.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointMismatchError(
            f"a state dict maps string keys to tensors; {len(bad)} entr(ies) do not: {bad[:5]} (is this a seq-JEPA checkpoint?)"
        )
    for raw_key, value in state_dict.items():
        key = raw_key
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith(PROBE_PREFIXES):
            report.dropped_keys.append(key)
            continue
        try:
            renamed[official_to_seqjepa_key(key)] = value
        except KeyError:
            unknown.append(raw_key)
    if unknown:
        raise CheckpointMismatchError(
            f"{len(unknown)} key(s) of the checkpoint belong to no seq-JEPA module: {unknown[:5]}"
            " (is this a seq-JEPA checkpoint?)"
        )
    config = SeqJEPAConfig.from_dict({**_infer_config(renamed, a, report), **dict(overrides or {})})
    return config, renamed, report


def _shape(state: Mapping[str, torch.Tensor], key: str) -> Optional[tuple[int, ...]]:
    t = state.get(key)
    return tuple(t.shape) if t is not None else None


def _infer_config(state: Mapping[str, torch.Tensor], a: Mapping[str, Any], report: ConversionReport) -> dict[str, Any]:
    conv1 = _shape(state, "encoder.conv1.weight")
    agg = _shape(state, "aggregator.agg_token")
    fc1 = _shape(state, "predictor.fc1.weight")
    if conv1 is None or agg is None or fc1 is None:
        raise CheckpointMismatchError(
            "not a seq-JEPA state dict: expected encoder.conv1.weight, agg_token and predictor.0.weight"
        )
    # the predictor maps back to the encoder's feature size
    encoder_dim = (_shape(state, "predictor.fc2.weight") or fc1)[0]
    token_dim = agg[-1]
    layers = {int(m.group(1)) for k in state if (m := re.match(r"aggregator\.layers\.(\d+)\.", k))}
    dataset = _arg(a, "dataset", str, "3diebench").lower()
    if "fovea_size" in a or "num_saccades" in a:
        dataset = dataset if dataset in _DATASET_NORMALIZATION else "stl10"
    mean, std = _DATASET_NORMALIZATION.get(dataset, _DATASET_NORMALIZATION["3diebench"])
    if dataset not in _DATASET_NORMALIZATION:
        report.assumed["mean/std"] = f"3DIEBench values (unknown dataset {dataset!r})"
    latent_type = _arg(a, "latent_type", str, "rot")
    out: dict[str, Any] = {
        "backbone": "resnet18",
        "cifar_stem": conv1[-1] == 3,
        "in_channels": conv1[1],
        "encoder_dim": encoder_dim,
        "num_layers": len(layers),
        "predictor_hidden": fc1[0] if "predictor.fc2.weight" in state else 0,
        "use_target_encoder": any(k.startswith("target_encoder.") for k in state),
        "mean": list(mean),
        "std": list(std),
        "ema_momentum": _arg(a, "ema_decay", float, 0.996),
    }
    if "num_heads" in a:
        out["num_heads"] = _arg(a, "num_heads", int, 4)
    else:
        out["num_heads"] = 4
        report.assumed["num_heads"] = 4
    if "fovea_size" in a:
        out["image_size"] = _arg(a, "fovea_size", int, 0)
        out["action_space"] = "saccade"
        out["last_slot_in_batchnorm"] = "zeros"
        out["train_seq_len"] = _arg(a, "num_saccades", int, 5) - 1
    else:
        out["image_size"] = _arg(a, "img_size", int, 128)
        out["action_space"] = _ACTION_SPACES.get(latent_type, latent_type)
        out["last_slot_in_batchnorm"] = "next_action" if dataset == "3diebench" else "zeros"
        out["train_seq_len"] = _arg(a, "seq_len", int, 3)
    for key in ("image_size", "train_seq_len"):
        if (key == "image_size" and "img_size" not in a and "fovea_size" not in a) or (
            key == "train_seq_len" and "seq_len" not in a and "num_saccades" not in a
        ):
            report.assumed[key] = out[key]

    proj = _shape(state, "action_embedding.proj.weight")
    if proj is not None:
        out.update(action_conditioned=True, learn_action_embedding=True, action_embed_dim=proj[0], action_dim=proj[1])
    elif token_dim == encoder_dim:
        out.update(action_conditioned=False, learn_action_embedding=False, action_dim=_arg(a, "act_latentdim", int, 4))
    else:
        # raw concatenation: the width holds A plus zero padding, which shapes cannot separate
        if "latent_type" in a and latent_type in _LATENT_TYPE_DIMS:
            action_dim = _LATENT_TYPE_DIMS[latent_type]
        elif "act_latentdim" in a:
            action_dim = _arg(a, "act_latentdim", int, 4)
        else:
            raise ConfigError(
                "a checkpoint with raw (not learned) action concatenation needs its action dimension: "
                "pass overrides={'action_dim': A}"
            )
        out.update(action_conditioned=True, learn_action_embedding=False, action_dim=action_dim)
    return out


def check_torch_magic(data: bytes, path: PathLike, error: type = CheckpointMismatchError) -> None:
    """``error`` unless ``data`` starts as a torch checkpoint does: a zip archive or (the legacy format) a
    pickle. A text file would otherwise fail deep inside torch with, say, ``KeyError: 101``."""
    if not (data.startswith(b"PK\x03\x04") or data.startswith(b"\x80")):
        raise error(f"{os.fspath(path)} is not a torch checkpoint: neither a zip archive nor a pickle "
                             f"(it starts with {data[:16]!r})")


def _safe_torch_load(data: bytes, path: PathLike) -> Any:
    """``torch.load`` of ``data`` (the bytes of ``path``) with ``weights_only=True`` and our allow-list."""
    check_torch_magic(data, path)
    _check_zip_sizes(data, path)
    blocked: list[str] = []
    get_unsafe = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    allowed_names = {f"{g.__module__}.{g.__qualname__}" for g in ALLOWED_GLOBALS}
    if get_unsafe is not None:
        try:
            blocked = [g for g in get_unsafe(io.BytesIO(data)) if g not in allowed_names]
        except Exception:  # noqa: BLE001 - not a zip checkpoint: fall through to torch.load's own check
            blocked = []
    if blocked:
        raise UnsafeCheckpointError(
            f"{os.fspath(path)} references global(s) outside the allow-list: {', '.join(sorted(blocked))}. "
            "It was not loaded and none of its code ran. Only tensors, plain containers and "
            "argparse.Namespace are accepted."
        )
    try:
        with torch.serialization.safe_globals(list(ALLOWED_GLOBALS)):
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        match = re.search(r"GLOBAL ([\w.]+)", str(exc)) or re.search(r"global ([\w.]+)", str(exc))
        if match is None:  # not a refused global: an opcode the safe unpickler does not take, or garbage
            raise CheckpointMismatchError(
                f"{os.fspath(path)} is not a torch checkpoint the safe unpickler can read "
                f"(weights_only=True refused it: {_last_line(exc)}). Nothing of it was run."
            ) from None
        raise UnsafeCheckpointError(
            f"{os.fspath(path)} references {match.group(1)}, which is outside the allow-list. It was not loaded and "
            "none of its code ran."
        ) from None
    except EOFError as exc:
        raise IntegrityError(f"{os.fspath(path)} ends early: the checkpoint is truncated") from exc
    except (RuntimeError, KeyError, IndexError, ValueError, TypeError, AttributeError, OverflowError, MemoryError) as exc:
        # the weights-only unpickler runs no code, but corrupt bytes make it fail in many ways
        raise CheckpointMismatchError(
            f"{os.fspath(path)} is not a readable torch checkpoint: {type(exc).__name__}: {_last_line(exc)}"
        ) from exc


#: a torch zip checkpoint stores its tensors uncompressed; declared sizes far above the file's are a zip bomb
_MAX_INFLATION = 2
_INFLATION_SLACK = 64 << 20


def _check_zip_sizes(data: bytes, path: PathLike) -> None:
    """Refuse a zip checkpoint that is cut short or declares far more bytes than it holds, before unpacking it."""
    if not data.startswith(b"PK\x03\x04"):
        return  # the legacy (pre-1.6) pickle format: no archive to inspect
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise CheckpointMismatchError(
            f"{os.fspath(path)} is not a readable torch checkpoint: its zip archive is truncated or damaged "
            f"({exc}); nothing of it was run. Download it again"
        ) from None
    if declared > _MAX_INFLATION * len(data) + _INFLATION_SLACK:
        raise IntegrityError(
            f"{os.fspath(path)} declares {declared} bytes of content in a {len(data)}-byte archive; a torch "
            "checkpoint stores its tensors uncompressed, so this is refused as a possible zip bomb"
        )


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and "documentation" not in line]
    return lines[-1] if lines else type(exc).__name__


def _check_checkpoint_bytes(data: bytes, p: Path) -> None:
    """Name an empty file or a Git LFS pointer before the unpickler sees it."""
    if data.startswith(LFS_POINTER_PREFIX):
        raise IntegrityError(
            f"{p} is a Git LFS pointer, not the checkpoint: fetch the real file (git lfs pull, or download it)"
        )
    if not data:
        raise IntegrityError(f"{p} is empty: not a checkpoint (an interrupted download?)")


def read_official_checkpoint(
    path: PathLike,
    *,
    overrides: Optional[Mapping[str, Any]] = None,
    expected_sha256: Optional[str] = None,
) -> tuple[SeqJEPAConfig, dict[str, torch.Tensor], ConversionReport]:
    """Safely read an official ``.pth`` and convert it in memory (nothing is written).

    The file is read once; ``expected_sha256`` (when given) is checked on those bytes, and the
    same bytes are unpickled.
    """
    p = Path(path)
    if not p.is_file():
        from ..utils.files import path_problem

        raise FileNotFoundError(f"checkpoint: {path_problem(p, 'a .pth file')}")
    with open(p, "rb") as fh:
        data = fh.read()
    _check_checkpoint_bytes(data, p)
    digest = sha256_bytes(data)
    if expected_sha256 and digest != expected_sha256.lower():
        raise IntegrityError(sha256_mismatch("official checkpoint", str(p), digest, expected_sha256))
    payload = _safe_torch_load(data, p)
    if isinstance(payload, Mapping) and "model" in payload:
        state, args = payload["model"], payload.get("args")
    elif isinstance(payload, Mapping) and all(isinstance(v, torch.Tensor) for v in payload.values()):
        state, args = payload, None
    else:
        raise CheckpointMismatchError(
            f"{p}: expected an official seq-JEPA checkpoint (a dict with 'model' and 'args'), got {type(payload).__name__}"
        )
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError(f"{p}: field 'model' should be a state dict, got {type(state).__name__}")
    config, renamed, report = convert_official_state_dict(state, args, overrides=overrides)
    report.source, report.source_sha256 = p.name, digest
    if isinstance(payload, Mapping) and "epoch" in payload:
        try:
            report.epoch = int(payload["epoch"])
        except (TypeError, ValueError):
            report.epoch = None
    return config, renamed, report


def convert_to_directory(
    checkpoint: PathLike,
    out_dir: PathLike,
    *,
    model_class: type,
    metadata: Callable[[ConversionReport], Mapping[str, Any]],
    overrides: Optional[Mapping[str, Any]] = None,
    expected_sha256: Optional[str] = None,
    include_target_encoder: bool = True,
) -> tuple[ConversionReport, str]:
    """Official ``.pth`` -> ``out_dir`` in our layout, checked strictly against ``model_class(config)``.

    ``metadata(report)`` goes into config.json and the README, with the conversion's dropped keys
    and epoch added. Returns the report and the sha256 of the written ``model.safetensors``.
    """
    config, state, report = read_official_checkpoint(checkpoint, overrides=overrides, expected_sha256=expected_sha256)
    model = model_from_state_dict(config, state, source=os.fspath(checkpoint), model_class=model_class)
    meta = {**dict(metadata(report)), "dropped_keys": report.dropped_keys, "epoch": report.epoch}
    digest = write_model_directory(model, out_dir, include_target_encoder=include_target_encoder, dtype=None, metadata=meta,
                                   card=None)
    return report, digest
