"""Options several sub-commands share, defined once so their spelling and defaults agree."""

from __future__ import annotations

import argparse
import logging
import math
import re

__all__ = [
    "add_target_encoder_option", "include_target_encoder", "positive_int", "non_negative_int", "non_negative_float",
    "resolve_device",
]

_log = logging.getLogger("seqjepa.cli")


def add_target_encoder_option(parser: argparse.ArgumentParser, *, legacy_include_flag: bool = False) -> None:
    """``--inference-only``: leave out the EMA target encoder (default: keep it, a complete checkpoint)."""
    parser.add_argument(
        "--inference-only", action="store_true",
        help="leave out the EMA target encoder, which only continued self-supervised training needs "
             "(about half the size; loading, features and fine-tuning work without it). Default: keep it",
    )
    if legacy_include_flag:
        # export-run's old spelling of what is now the default, accepted for one release
        parser.add_argument("--include-target-encoder", action="store_true", help=argparse.SUPPRESS)


def include_target_encoder(args: argparse.Namespace) -> bool:
    """What the target-encoder options ask for; ``--inference-only`` with ``--include-target-encoder`` is refused."""
    legacy = getattr(args, "include_target_encoder", False)
    if legacy and args.inference_only:
        raise ValueError("--inference-only and --include-target-encoder contradict each other; give one")
    if legacy:
        _log.warning("--include-target-encoder is deprecated: keeping the target encoder is now the default")
    return not args.inference_only


# ---------------------------------------------------------------- argument types (checked by argparse, before any work)
_INT_LIMIT = 2**62


def _int_type(low: int, what: str, high: int = _INT_LIMIT, too_high: str = ""):
    """``too_high``: what to say of a value above ``high`` (default: ``what``)."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text[:80]!r}") from None
        if not low <= value <= high:
            expected = too_high if value > high and too_high else what
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


#: ``type=`` for counts that must be at least 1 (batch sizes, epochs, widths).
positive_int = _int_type(1, "an integer >= 1")
#: ``type=`` for counts that may be 0 (workers, seeds, redraws).
non_negative_int = _int_type(0, "an integer >= 0")
#: The most data-loading worker processes a command starts (the recipes' train.num_workers takes up to 1024 for
#: large multi-GPU nodes; one evaluation or extraction never needs more than this, and 1000 processes exhaust memory).
MAX_WORKERS = 64
#: ``type=`` for ``--workers``.
worker_count = _int_type(0, "an integer >= 0", MAX_WORKERS, f"an integer in [0, {MAX_WORKERS}]")


def non_negative_float(text: str) -> float:
    """``type=`` for learning rates and weight decays: a finite number >= 0 (``nan``, ``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


_DEVICE_RE = re.compile(r"^(auto|cpu|cuda|cuda:\d{1,4}|mps)$")


def resolve_device(name: str, option: str = "--device") -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cpu``, ``cuda``, ``cuda:N``, ``mps`` checked to exist here.

    Raises:
        ValueError: an unknown device name, or a device this machine does not have (one line, exit 2).
    """
    import torch

    if not isinstance(name, str) or not _DEVICE_RE.match(name):
        raise ValueError(f"{option}: expected auto, cpu, cuda, cuda:N or mps, got {name!r}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"{option} {name}: no CUDA device is available here (torch.cuda.is_available() is False); use --device cpu")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"{option} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise ValueError(f"{option} mps: the MPS backend is not available here; use --device cpu")
    return name
