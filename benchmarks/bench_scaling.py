"""How ``encode_views`` time and peak memory grow with the number of views M and the batch size B.

Time: every grid point is timed in this process, repeats interleaved across points, and each
point is reported as a ratio against the smallest point (B=1... see table) and as time per image.
Peak memory: each point runs once more in a fresh subprocess (a clean allocator), which resets
the kernel's resident-set high-water mark after building the model and inputs (no warm-up
forward: its freed blocks would stay resident and hide the growth; so the figure includes a
constant one-time kernel set-up, visible at the smallest point)
(``echo 5 > /proc/self/clear_refs``) and reports ``VmHWM - VmRSS`` around one forward: the extra
resident memory the forward needs. Where clear_refs is unavailable it falls back to the
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` delta (an underestimate when setup peaked
higher). tracemalloc does not see torch's CPU allocations, so it is not used.

Target: time per image at M=8 within 10 % of M=1 (same B): the aggregator must not make
long sequences disproportionately slow (throughput ratio >= 0.9x).

    python benchmarks/bench_scaling.py --out bench-out      # paper config at 64 px; table + scaling.png
    python benchmarks/bench_scaling.py --quick --out /tmp/x # tiny model, smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "scaling"
MIN_THROUGHPUT_RATIO = 0.9


def build(quick: bool, size: int):
    from seqjepa import SeqJEPAConfig

    if quick:
        return SeqJEPAConfig(
            backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
            encoder_dim=32, image_size=size, action_embed_dim=8, num_layers=1, predictor_hidden=32, dropout=0.0,
        )
    return SeqJEPAConfig(image_size=size)


def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="utf-8") as fh:
        match = re.search(rf"^{key}:\s+(\d+) kB", fh.read(), re.MULTILINE)
    if match is None:
        raise OSError(f"{key} not in /proc/self/status")
    return int(match.group(1))


def measure_point_memory(quick: bool, size: int, batch: int, views: int, threads: int) -> dict:
    """Run in a fresh process: extra resident memory (MiB) of one encode_views forward."""
    import gc

    import torch

    from seqjepa import SeqJEPA

    torch.set_num_threads(threads)
    config = build(quick, size)
    torch.manual_seed(0)
    model = SeqJEPA(config, with_target_encoder=False).eval()
    x = torch.randn(batch, views, config.in_channels, size, size)
    a = torch.randn(batch, views - 1, config.action_dim)
    # No warm-up forward: its freed blocks would stay resident in the heap and hide the next
    # forward's growth. The first forward's figure thus includes one-time kernel/oneDNN set-up,
    # a constant offset visible at the smallest point.
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        before, method = _status_kib("VmRSS"), "VmHWM - VmRSS (clear_refs reset)"
    except OSError:
        before, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss delta"
    with torch.inference_mode():
        model.encode_views(x, a)
    after = _status_kib("VmHWM") if method.startswith("VmHWM") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_mib": max(after - before, 0) / 1024, "method": method}


def point_memory(quick: bool, size: int, batch: int, views: int, threads: int) -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory-point", f"{int(quick)},{size},{batch},{views},{threads}"]
    out = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def plot(points: list[dict], out_dir: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax, label in (("ms", axes[0], "median time per batch (ms)"), ("peak_mib", axes[1], "peak extra memory (MiB)")):
        for batch in sorted({p["B"] for p in points}):
            row = sorted((p for p in points if p["B"] == batch), key=lambda p: p["M"])
            if len(row) > 1:
                ax.plot([p["M"] for p in row], [p[key] for p in row], marker="o", label=f"B={batch}")
            else:
                ax.scatter([row[0]["M"]], [row[0][key]], label=f"B={batch}")
        ax.set_xlabel("views per sequence M")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "scaling.png"
    tmp = out_dir / f".scaling.{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=5)
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64, to fit the time)")
    parser.add_argument("--out", type=Path, default=None, help="directory for scaling.png and scaling.json")
    parser.add_argument("--_memory-point", dest="memory_point", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_point is not None:
        quick, size, batch, views, threads = (int(v) for v in args.memory_point.split(","))
        print(json.dumps(measure_point_memory(bool(quick), size, batch, views, threads)))
        return 0

    import torch

    from seqjepa import SeqJEPA

    threads = h.set_threads(args.threads)
    size = 16 if args.quick else args.size
    if size < 16:
        raise ValueError(f"--size: expected >= 16 pixels, got {size}")
    config = build(args.quick, size)
    if args.quick:
        views_grid, batch_grid, fixed_b, fixed_m, repeats = (1, 2), (1,), 1, 2, 2
    else:
        views_grid, batch_grid, fixed_b, fixed_m, repeats = tuple(range(1, 9)), (1, 4, 16), 4, 3, args.repeats
    grid = sorted({(fixed_b, m) for m in views_grid} | {(b, fixed_m) for b in batch_grid}, key=lambda p: (p[0], p[1]))
    torch.manual_seed(0)
    model = SeqJEPA(config, with_target_encoder=False).eval()
    inputs = {
        (b, m): (torch.randn(b, m, config.in_channels, size, size), torch.randn(b, m - 1, config.action_dim))
        for b, m in grid
    }
    h.print_hardware({
        "model": f"{'tiny' if args.quick else 'paper'} config at {size} px, fp32, eval, inference_mode",
        "grid": f"M in {list(views_grid)} at B={fixed_b}; B in {list(batch_grid)} at M={fixed_m}",
        "memory method": "fresh subprocess per point; VmHWM - VmRSS around one forward (clear_refs reset)",
    })
    with torch.inference_mode():
        times = h.interleaved_times(
            {p: (lambda p=p: model.encode_views(*inputs[p])) for p in grid}, repeats=repeats
        )
    base = grid[0]
    t_base = h.median(times[base])
    points, rows = [], []
    for b, m in grid:
        t = h.median(times[(b, m)])
        mem = point_memory(args.quick, size, b, m, threads)
        points.append({"B": b, "M": m, "ms": t * 1e3, "ms_per_image": t * 1e3 / (b * m), "peak_mib": mem["peak_mib"]})
        rows.append([b, m, b * m, f"{t * 1e3:.1f}", f"{t * 1e3 / (b * m):.2f}", f"{t / t_base:.2f}x", f"{mem['peak_mib']:.1f}"])
    print(h.format_table(
        ["B", "M", "images", "median ms", "ms/image", f"time vs B={base[0]},M={base[1]}", "peak extra MiB"], rows
    ))
    first = next(p for p in points if p["B"] == fixed_b and p["M"] == min(views_grid))
    last = next(p for p in points if p["B"] == fixed_b and p["M"] == max(views_grid))
    ratio = first["ms_per_image"] / last["ms_per_image"]
    checks = [h.Check(f"per-image throughput M={last['M']} vs M={first['M']} (B={fixed_b})", ratio, ">=", MIN_THROUGHPUT_RATIO)]
    if args.out is not None:
        title = f"encode_views scaling, {'tiny' if args.quick else 'paper'} config, {size} px, {threads} thread(s)"
        png = plot(points, args.out, title)
        from seqjepa.utils.files import atomic_write_text

        atomic_write_text(args.out / "scaling.json", json.dumps({"size": size, "threads": threads, "points": points}, indent=2) + "\n")
        print(f"wrote {png} and {args.out / 'scaling.json'}")
    h.print_checks(checks)
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
