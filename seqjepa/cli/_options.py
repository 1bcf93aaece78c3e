"""Options several sub-commands share, defined once so their spelling and defaults agree."""

from __future__ import annotations

import argparse
import logging

__all__ = ["add_target_encoder_option", "include_target_encoder"]

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
