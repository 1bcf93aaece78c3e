"""World-model queries: one ``infer_action`` with the default model, and batched throughput.

1. One query (M=3 views, 32 px, the default 4096-point rotation grid, refinement on) with
   ``seqjepa.load()``: its median wall time must be <= 1 s on two CPU threads. Beside it, as the
   baseline, one ``model.predict_next`` forward of the same query (what one grid point would cost
   if every candidate re-ran the encoder).
2. Batched throughput: queries per second at B=32 against one query at a time, interleaved in this
   process; the ratio must be >= 2x.
3. ``rollout`` (8 steps) and ``rank_candidates`` (8 candidates) per query, reported.

    python benchmarks/bench_world.py            # default model, 2 threads
    python benchmarks/bench_world.py --quick    # smoke run (small grid, few repeats)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "world"
MAX_ONE_QUERY_S = 1.0
MIN_BATCH_RATIO = 2.0
BATCH = 32


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=5)
    parser.set_defaults(threads=2)
    args = parser.parse_args(argv)

    import torch

    import seqjepa
    from seqjepa.world import infer_action, rank_candidates, rollout

    threads = h.set_threads(args.threads)
    grid, repeats = (256, 2) if args.quick else (4096, args.repeats)
    model = seqjepa.load()
    size, a = model.config.image_size, model.config.action_dim
    g = torch.Generator().manual_seed(0)
    views = torch.randn(BATCH, 3, 3, size, size, generator=g)
    actions = torch.nn.functional.normalize(torch.randn(BATCH, 10, a, generator=g), dim=-1)
    target = torch.randn(BATCH, 3, size, size, generator=g)
    one = (views[:1], actions[:1, :2], target[:1])
    h.print_hardware({"model": f"{seqjepa.DEFAULT_MODEL} ({size} px, A={a})", "rotation grid": grid,
                      "query": "M=3 views -> 1 target", "batch": BATCH})

    def one_query():
        infer_action(model, *one, grid_size=grid)

    def forward():
        with torch.no_grad():
            model.predict_next(views[:1], actions[:1, :3])

    def batched():
        infer_action(model, views, actions[:, :2], target, grid_size=grid)

    times = h.interleaved_times({"forward": forward, "one": one_query}, repeats=repeats)
    t_fwd, t_one = h.median(times["forward"]), h.median(times["one"])
    batch_times = h.interleaved_times({"one": one_query, "batched": batched}, repeats=max(2, repeats // 2))
    t_one_b, t_batch = h.median(batch_times["one"]), h.median(batch_times["batched"]) / BATCH
    roll = h.median(h.interleaved_times({"r": lambda: rollout(model, views[:1], actions[:1, :2], actions[:1, 2:10])},
                                        repeats=repeats)["r"])
    rank = h.median(h.interleaved_times({"r": lambda: rank_candidates(model, views[:1], actions[:1, :2], actions[:1, 2],
                                                                      views[1:9, 0])}, repeats=repeats)["r"])
    rows = [
        ["predict_next, one query (baseline)", f"{t_fwd * 1e3:.1f}", "1.00x"],
        ["infer_action, one query", f"{t_one * 1e3:.1f}", f"{t_one / t_fwd:.1f}x"],
        [f"infer_action, B={BATCH}, per query", f"{t_batch * 1e3:.1f}", f"{t_batch / t_fwd:.1f}x"],
        ["rollout, 8 steps, one query", f"{roll * 1e3:.1f}", f"{roll / t_fwd:.1f}x"],
        ["rank_candidates, 8 candidates, one query", f"{rank * 1e3:.1f}", f"{rank / t_fwd:.1f}x"],
    ]
    print(h.format_table(["what", "median ms", "vs predict_next"], rows))
    checks = [
        h.Check(f"one infer_action query on {threads} threads", t_one, "<=", MAX_ONE_QUERY_S, unit=" s", digits=3),
        h.Check(f"throughput B={BATCH} vs one query at a time", t_one_b / t_batch, ">=", MIN_BATCH_RATIO),
    ]
    h.print_checks(checks)
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
