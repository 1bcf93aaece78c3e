"""End-to-end ``seqjepa.extract`` over a folder of 256-px JPEGs vs the model alone and vs a naive loop.

Two cases, fp32, the same threads for every variant (``--threads``, default 2: the same total cores):

1. compute-bound: the paper architecture (ResNet-18) at 128 px. ``seqjepa.extract`` end to end (listing,
   decoding, model, shard files, meta.json) vs the model alone on pre-decoded tensors in batches of the
   same size (channels-last, as extract runs it: the fastest the model goes here). Target >= 0.9x.
2. decode-bound: the default model (narrow ResNet) at 32 px. ``seqjepa.extract`` vs a naive loop that
   opens each image with PIL, applies ``model.transform`` and calls ``model.equivariant_embedding``
   one batch at a time. Target >= 1.5x.

Both cases report every variant (model alone, naive, decoding + transform alone, extract with
``decode="exact"`` (pixels identical to ``model.transform``) and ``"draft"``); the checks use
``--decode`` (default exact). Peak memory: extract runs in fresh subprocesses over N and 4N images (default
model); each reports the resident memory the extraction added at its peak (VmHWM after a reset, minus VmRSS
before) and the process's peak; target: 4N needs <= 1.25x the extra memory of N (memory that grew
with the images would need 4x; the decoding threads' malloc arenas vary by a few MiB from run to run).

    python benchmarks/bench_extract_files.py                    # CPU, 2 threads (a few minutes)
    python benchmarks/bench_extract_files.py --device cuda      # GPU: images/s and ratio to the naive loop
    python benchmarks/bench_extract_files.py --quick            # tiny model, smoke run
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _harness as h  # noqa: E402

NAME = "extract_files"
TARGET_VS_MODEL = 0.9
TARGET_VS_NAIVE = 1.5
MAX_MEMORY_GROWTH = 1.25  # 4x the images; growing with them would be 4x

# Peak memory of the extraction itself: after the model is loaded, the kernel's resident high-water mark is
# reset (echo 5 > /proc/self/clear_refs), then VmHWM after extract minus VmRSS before it is the extra memory
# the extraction needed (as benchmarks/bench_scaling.py measures a forward). Without clear_refs: ru_maxrss.
_MEMORY_CHILD = r"""
import json, resource, sys, torch
import seqjepa

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
model = seqjepa.load(args["model"]) if args["model"] else seqjepa.load()
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before, method = status("VmRSS"), "VmHWM"
except OSError:
    before, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
r = seqjepa.extract(model, args["source"], args["out"], decode=args["decode"], device=args["device"], progress=False,
                    shard_size=args["shard_size"])
peak = status("VmHWM") if method == "VmHWM" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": r.rows_extracted, "extra_kib": peak - before, "peak_kib": peak, "method": method}))
"""


def make_images(folder: Path, n: int, size: int = 256, seed: int = 0) -> None:
    """``n`` photo-like JPEGs (smooth colour fields, edges and sensor-like noise), quality 90."""
    import numpy as np
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        low = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
        draw = ImageDraw.Draw(low)
        for _ in range(4):
            x0, y0 = rng.integers(0, size, 2)
            x1, y1 = x0 + rng.integers(8, size // 2), y0 + rng.integers(8, size // 2)
            draw.ellipse([int(x0), int(y0), int(x1), int(y1)], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        arr = np.asarray(low, dtype=np.float32) + rng.normal(0, 10, (size, size, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(folder / f"{i:06d}.jpg", quality=90)


def subset(folder: Path, n: int, work: Path) -> Path:
    """A folder of links to the first ``n`` images of ``folder``."""
    out = work / f"first-{n}"
    if not out.is_dir():
        out.mkdir()
        for p in sorted(folder.glob("*.jpg"))[:n]:
            os.symlink(p, out / p.name)
    return out


def run_case(label: str, model, folder: Path, n: int, batch: int, device: str, repeats: int, work: Path):
    """Images/s of every variant over the first ``n`` images, interleaved; returns {variant: images/s}."""
    import torch
    from PIL import Image

    import seqjepa

    folder = subset(folder, n, work)
    paths = sorted(folder.glob("*.jpg"))
    assert len(paths) == n
    naive_model = copy.deepcopy(model).to(device).eval()  # what a user holds: NCHW, as loaded
    fast_model = copy.deepcopy(model).to(device).eval().to(memory_format=torch.channels_last)
    with torch.no_grad():
        pre = torch.stack([model.transform(Image.open(p).convert("RGB")) for p in paths])
    pre = pre.to(device).contiguous(memory_format=torch.channels_last)
    counter = [0]

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    def model_alone():
        with torch.inference_mode():
            for i in range(0, n, batch):
                fast_model.equivariant_embedding(pre[i:i + batch])
        sync()

    def naive():
        with torch.no_grad():
            for i in range(0, n, batch):
                x = torch.stack([naive_model.transform(Image.open(p).convert("RGB")) for p in paths[i:i + batch]])
                naive_model.equivariant_embedding(x.to(device))
        sync()

    def decode_only():
        for p in paths:
            naive_model.transform(Image.open(p).convert("RGB"))

    def extractor(decode: str):
        def run():
            counter[0] += 1
            out = work / f"out-{label}-{decode}-{counter[0]}"
            seqjepa.extract(fast_model, folder, out, decode=decode, batch_size=batch, device=device, progress=False,
                            precision="fp32")
            shutil.rmtree(out)
        return run

    fns = {"model alone (pre-decoded)": model_alone, "naive loop": naive, "decode + transform alone": decode_only,
           "extract (exact)": extractor("exact"), "extract (draft)": extractor("draft")}
    times = h.interleaved_times(fns, repeats=repeats, warmup=1)
    return {name: n / h.median(t) for name, t in times.items()}


def peak_memory(folder: Path, counts: Sequence[int], threads: int, device: str, model: Optional[str], decode: str,
                work: Path, *, shard_size: int) -> list[tuple[int, float, float]]:
    """(images, extra MiB the extraction needed, peak resident MiB) of a fresh process extracting the first
    ``count`` images with the default model, for each count."""
    results = []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    for count in counts:
        src = subset(folder, count, work)
        out = Path(tempfile.mkdtemp(prefix=f"mem-out-{count}-", dir=work)) / "feats"  # always a fresh run
        args = {"model": model, "source": str(src), "out": str(out), "threads": threads,
                "device": device, "decode": decode, "shard_size": shard_size}
        done = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, json.dumps(args)], env=env, capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"memory child failed:\n{done.stdout}\n{done.stderr}")
        record = json.loads(done.stdout.strip().splitlines()[-1])
        results.append((record["rows"], record["extra_kib"] / 1024, record["peak_kib"] / 1024))
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=3)
    parser.set_defaults(threads=2)
    parser.add_argument("--images", type=int, default=1024, help="images for the decode-bound case (default 1024)")
    parser.add_argument("--images-paper", type=int, default=384, help="images for the paper-architecture case (default 384)")
    parser.add_argument("--batch", type=int, default=64, help="images per forward pass, every variant (default 64)")
    parser.add_argument("--decode", choices=("exact", "draft"), default="exact", help="the extract variant the checks use")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--memory-images", type=int, default=256, help="N of the peak-memory check (N and 4N images)")
    parser.add_argument("--only", choices=("paper", "default", "memory"), action="append",
                        help="run only these parts (repeatable; default: all three)")
    args = parser.parse_args(argv)

    import torch

    import seqjepa
    from seqjepa import SeqJEPA, SeqJEPAConfig

    threads = h.set_threads(1 if args.quick else args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    torch.manual_seed(0)
    if args.quick:
        tiny = dict(backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
                    encoder_dim=32, action_embed_dim=8, num_layers=1, predictor_hidden=32, dropout=0.0)
        paper = SeqJEPA(SeqJEPAConfig(image_size=64, **tiny), with_target_encoder=False).eval()
        small = SeqJEPA(SeqJEPAConfig(image_size=32, **tiny), with_target_encoder=False).eval()
        n_small, n_paper, batch, repeats, mem_counts = 16, 8, 8, 1, (8, 16)
    else:
        paper = SeqJEPA(SeqJEPAConfig(), with_target_encoder=False).eval()
        small = seqjepa.load()
        n_small, n_paper, batch, repeats = args.images, args.images_paper, args.batch, args.repeats
        mem_counts = (args.memory_images, 4 * args.memory_images)
    h.print_hardware({
        "device": args.device,
        "cases": f"paper arch {paper.config.image_size} px x {n_paper} images; default model "
                 f"{small.config.image_size} px x {n_small} images; 256-px JPEGs; batch {batch}; fp32",
        "extract workers": "0 (CPU default: the next batch decodes on low-priority threads while the model runs)"
                           if args.device == "cpu" else "CUDA default (DataLoader workers)",
    })

    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        work = Path(tmp)
        folder = work / "jpegs"
        make_images(folder, max(n_small, n_paper, *mem_counts), size=64 if args.quick else 256)
        rows, checks = [], []
        parts = set(args.only or ("paper", "default", "memory"))
        cases = [("paper", paper, n_paper, "model alone (pre-decoded)", TARGET_VS_MODEL),
                 ("default", small, n_small, "naive loop", TARGET_VS_NAIVE)]
        for label, model, n, baseline, target in cases:
            if label not in parts:
                continue
            ips = run_case(label, model, folder, n, batch, args.device, repeats, work)
            for variant, value in ips.items():
                rows.append([f"{label} ({model.config.image_size} px)", variant, f"{value:.0f}",
                             f"{value / ips['model alone (pre-decoded)']:.2f}x", f"{value / ips['naive loop']:.2f}x"])
            checked = ips[f"extract ({args.decode})"]
            checks.append(h.Check(f"{label} arch {model.config.image_size} px: extract ({args.decode}) vs {baseline}",
                                  checked / ips[baseline], ">=", target))
        if rows:
            print(h.format_table(["case", "variant", "images/s", "vs model alone", "vs naive"], rows))
        if "memory" not in parts:
            h.print_checks(checks)
            print(h.summary_line(NAME, checks, quick=args.quick))
            return 0

        mem_model = None  # the default model, loaded by name in the child
        if args.quick:
            mem_model = str(work / "quick-model")
            small.save_pretrained(mem_model)
        mem = peak_memory(folder, mem_counts, threads, args.device, mem_model, args.decode, work,
                          shard_size=4 if args.quick else 128)
        print(h.format_table(["images", "extra MiB during extract", "peak resident MiB of the process"],
                             [[n, f"{extra:.1f}", f"{peak:.0f}"] for n, extra, peak in mem]))
        checks.append(h.Check(f"peak extra memory, {mem[-1][0]} vs {mem[0][0]} images", mem[-1][1] / mem[0][1], "<=",
                              MAX_MEMORY_GROWTH))
    h.print_checks(checks)
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
