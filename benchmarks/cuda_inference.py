"""CUDA inference throughput: fp32 vs the fast path (bf16 autocast + channels_last [+ torch.compile]).

Prints images/s and peak GPU memory (``torch.cuda.max_memory_allocated``) for each variant, the
speed ratio of the fast path against fp32 measured in the same process, and the usual SUMMARY
line. Needs a CUDA GPU; not run by the test suite or ``seqjepa bench`` (no ``bench_`` prefix).

    python benchmarks/cuda_inference.py --batch 64 --views 3            # paper config, 128 px
    python benchmarks/cuda_inference.py --batch 64 --views 3 --compile
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "cuda_inference"
TARGET = 1.8


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="sequences per batch (default 64)")
    parser.add_argument("--views", type=int, default=3, help="views per sequence M (default 3)")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats per variant (default 20)")
    parser.add_argument("--compile", action="store_true", help="also torch.compile the encoder of the fast model")
    parser.add_argument("--device", default="cuda", help="CUDA device (default cuda)")
    args = parser.parse_args(argv)
    for name in ("batch", "views", "repeats"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name}: expected a positive integer, got {getattr(args, name)}")

    import torch

    from seqjepa import SeqJEPA, SeqJEPAConfig
    from seqjepa.models.inference import embed, optimize, supports_dtype

    if not torch.cuda.is_available():
        print("SUMMARY cuda_inference: skipped (no CUDA device)")
        return 0
    device = torch.device(args.device)
    dtype = torch.bfloat16 if supports_dtype(device, torch.bfloat16) else torch.float16
    config = SeqJEPAConfig()
    torch.manual_seed(0)
    base = SeqJEPA(config, with_target_encoder=False).eval().to(device)
    fast = optimize(copy.deepcopy(base), channels_last=True, compile=args.compile)
    x = torch.randn(args.batch, args.views, 3, config.image_size, config.image_size, device=device)
    a = torch.randn(args.batch, args.views - 1, config.action_dim, device=device)
    h.print_hardware({"model": f"paper config, {config.image_size} px, B={args.batch}, M={args.views}",
                      "fast dtype": str(dtype).replace("torch.", ""), "torch.compile": args.compile})

    def timed(fn):
        def run():
            fn()
            torch.cuda.synchronize(device)
        return run

    def run_base():
        with torch.inference_mode():
            return base.encode_views(x, a)

    def run_fast():
        return embed(fast, x, a, fast=True, dtype=dtype)

    peaks = {}
    for name, fn in (("fp32", run_base), ("fast", run_fast)):
        fn()  # warm-up (and compilation)
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        peaks[name] = torch.cuda.max_memory_allocated(device) / 2**20
    times = h.interleaved_times({"fp32": timed(run_base), "fast": timed(run_fast)}, repeats=args.repeats, warmup=2)
    images = args.batch * args.views
    t_base, t_fast = h.median(times["fp32"]), h.median(times["fast"])
    rows = [
        ["fp32", f"{t_base * 1e3:.2f}", f"{images / t_base:.0f}", "1.00x", f"{peaks['fp32']:.0f}"],
        [f"fast ({str(dtype).replace('torch.', '')} + channels_last{' + compile' if args.compile else ''})",
         f"{t_fast * 1e3:.2f}", f"{images / t_fast:.0f}", f"{t_base / t_fast:.2f}x", f"{peaks['fast']:.0f}"],
    ]
    print(h.format_table(["variant", "median ms/batch", "images/s", "speed vs fp32", "peak MiB"], rows))
    checks = [h.Check("fast vs fp32 speed on CUDA", t_base / t_fast, ">=", TARGET)]
    h.print_checks(checks)
    print(h.summary_line(NAME, checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
