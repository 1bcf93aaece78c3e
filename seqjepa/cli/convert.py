"""``seqjepa convert CHECKPOINT.pth OUT_DIR``: official checkpoint -> Hugging Face layout."""

from __future__ import annotations

import argparse

from ..utils.assignments import parse_assignments
from ..zoo.factory import convert_official
from ._options import add_target_encoder_option, include_target_encoder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert an official seq-JEPA .pth to config.json + model.safetensors")
    p.add_argument("checkpoint", help="official checkpoint (.pth), read with weights_only=True")
    p.add_argument("out_dir", help="directory to write config.json, model.safetensors and README.md to")
    add_target_encoder_option(p)
    p.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE",
        help="override an inferred config field, e.g. --set num_heads=4 (VALUE is JSON, or else a string; repeatable)",
    )
    p.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict:
    """``--set FIELD=VALUE`` items as a dict (the parser the recipes' ``--set`` uses too)."""
    return dict(parse_assignments(items, form="FIELD=VALUE"))


def run(args: argparse.Namespace) -> int:
    report = convert_official(
        args.checkpoint, args.out_dir, overrides=parse_overrides(args.set), include_target_encoder=include_target_encoder(args)
    )
    print(f"converted {report.source} (sha256 {report.source_sha256}) -> {args.out_dir}")
    if report.dropped_keys:
        print(f"dropped {len(report.dropped_keys)} probe tensors: {', '.join(sorted({k.split('.')[0] for k in report.dropped_keys}))}")
    for key, value in report.assumed.items():
        print(f"assumed {key} = {value} (not recorded in the checkpoint)")
    return 0
