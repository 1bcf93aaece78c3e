"""Fast inference path vs plain float32: ``seqjepa.models.inference.embed(fast=True)`` against
``model.encode_views`` in float32 under ``torch.inference_mode``, same weights, same batch.

Target: >= 1.8x on CPU at 128 px (paper config). Also prints how far the fast outputs are from
float32 (max abs diff relative to the float32 magnitude, minimum per-row cosine similarity).

    python benchmarks/bench_fast_inference.py            # paper config, 128 px, B=8, M=3
    python benchmarks/bench_fast_inference.py --quick    # tiny model, smoke run
    python benchmarks/bench_fast_inference.py --compile  # also torch.compile the encoder
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "fast_inference"
TARGET = 1.8


def quick_config():
    from seqjepa import SeqJEPAConfig

    return SeqJEPAConfig(
        backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
        encoder_dim=32, image_size=32, action_embed_dim=8, num_layers=1, predictor_hidden=32, dropout=0.0,
    )


def closeness(ref, out) -> tuple[float, float]:
    """(max abs diff / max |ref|, minimum per-row cosine similarity)."""
    import torch.nn.functional as F

    rel = float((out.float() - ref).abs().max() / ref.abs().max().clamp_min(1e-12))
    cos = float(F.cosine_similarity(out.float().flatten(1), ref.flatten(1), dim=-1).min())
    return rel, cos


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=7)
    parser.add_argument("--batch", type=int, default=8, help="sequences per batch (default 8)")
    parser.add_argument("--views", type=int, default=3, help="views per sequence M (default 3)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile the encoder (slow first call)")
    args = parser.parse_args(argv)

    import torch

    from seqjepa import SeqJEPA, SeqJEPAConfig
    from seqjepa.models.inference import embed, optimize, supports_dtype

    h.set_threads(args.threads)
    config = quick_config() if args.quick else SeqJEPAConfig()
    batch, views, repeats = (2, 2, 2) if args.quick else (args.batch, args.views, args.repeats)
    torch.manual_seed(0)
    base = SeqJEPA(config, with_target_encoder=False).eval()
    fast = optimize(copy.deepcopy(base), channels_last=True, compile=args.compile)
    x = torch.randn(batch, views, config.in_channels, config.image_size, config.image_size)
    a = torch.randn(batch, views - 1, config.action_dim)
    bf16 = supports_dtype("cpu")
    h.print_hardware({
        "model": f"{'tiny' if args.quick else 'paper'} config, {config.image_size} px, B={batch}, M={views}",
        "bf16 autocast": "native" if bf16 else "not supported: fast path = channels_last + inference_mode only",
        "torch.compile": args.compile,
    })

    def run_base():
        with torch.inference_mode():
            return base.encode_views(x, a)

    def run_fast():
        return embed(fast, x, a, fast=True, dtype=torch.bfloat16 if bf16 else None)

    times = h.interleaved_times({"fp32": run_base, "fast": run_fast}, repeats=repeats, warmup=2 if args.compile else 1)
    ref, out = run_base(), run_fast()
    rel_z, cos_z = closeness(ref.equivariant, out.equivariant)
    rel_a, cos_a = closeness(ref.invariant, out.invariant)
    t_base, t_fast = h.median(times["fp32"]), h.median(times["fast"])
    images = batch * views
    rows = [
        ["fp32 encode_views (inference_mode)", f"{t_base * 1e3:.1f}", f"{images / t_base:.1f}", "1.00x", "-", "-"],
        [
            f"fast: {'bf16 autocast + ' if bf16 else ''}channels_last{' + compile' if args.compile else ''}",
            f"{t_fast * 1e3:.1f}", f"{images / t_fast:.1f}", f"{t_base / t_fast:.2f}x",
            f"z {rel_z:.4f} / z_AGG {rel_a:.4f}", f"z {cos_z:.5f} / z_AGG {cos_a:.5f}",
        ],
    ]
    print(h.format_table(
        ["variant", "median ms/batch", "images/s", "speed vs fp32", "max|diff|/max|fp32|", "min cosine"], rows
    ))
    checks = [
        h.Check("fast vs fp32 speed", t_base / t_fast, ">=", TARGET),
        h.Check("fast z_AGG min cosine vs fp32", cos_a, ">=", 0.99, unit="", digits=4),
        h.Check("fast z min cosine vs fp32", cos_z, ">=", 0.99, unit="", digits=4),
    ]
    h.print_checks(checks)
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
