"""Views per second: seqjepa's ThreeDIEBench loader vs an official-style one-image-at-a-time loader.

Both run in this process on the same procedural 3DIEBench (256-px JPEGs like the real renders,
resized to 128), over the same items and view draws, one thread, no DataLoader workers. The
baseline does what the official ``Dataset_3DIEBench_MultipleViews`` does per view: ``Image.open ->
convert("RGB") -> Resize((128, 128)) -> ToTensor -> Normalize`` and ``np.load`` + scipy rotations
for the actions. Our loader is timed with and without JPEG draft-mode decoding, and with the split
decoded into memory once (``in_memory=True``; the one-time decode is timed apart).

    python benchmarks/bench_loader.py            # 48 objects x 10 views at 256 px
    python benchmarks/bench_loader.py --quick    # a few seconds, for the test suite
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seqjepa.data import THREEDIEBENCH_MEAN, THREEDIEBENCH_STD, ThreeDIEBench, make_toy_3diebench  # noqa: E402


class OfficialStyleLoader:
    """The official per-view path, reimplemented plainly (PIL + torchvision + scipy per view)."""

    def __init__(self, root: Path, samples: list[str], image_size: int):
        from scipy.spatial.transform import Rotation

        self.rotation = Rotation
        self.root = root
        self.samples = samples
        self.transform = T.Compose(
            [T.Resize((image_size, image_size)), T.ToTensor(), T.Normalize(THREEDIEBENCH_MEAN, THREEDIEBENCH_STD)]
        )

    def load(self, index: int, view_ids: np.ndarray):
        folder = self.root / self.samples[index]
        imgs = []
        for v in view_ids:
            with open(folder / f"image_{v}.jpg", "rb") as fh:
                imgs.append(self.transform(Image.open(fh).convert("RGB")))
        angles = [np.load(folder / f"latent_{v}.npy").astype(np.float32)[:3] for v in view_ids]
        rel = [
            (self.rotation.from_euler("xyz", angles[j]).inv() * self.rotation.from_euler("xyz", angles[j + 1]))
            .as_quat().astype(np.float32)
            for j in range(len(view_ids) - 1)
        ]
        return torch.stack(imgs), torch.from_numpy(np.stack(rel))


def _time(fn, items, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i, ids in items:
            fn(i, ids)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny dataset and few repeats (a few seconds)")
    parser.add_argument("--root", type=Path, default=None, help="use this 3DIEBench-layout root instead of generating one")
    parser.add_argument("--objects", type=int, default=48)
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--size", type=int, default=256, help="stored image side (real 3DIEBench: 256)")
    parser.add_argument("--image-size", type=int, default=128, help="model input side (paper: 128)")
    parser.add_argument("--num-views", type=int, default=3, help="M; M+1 views are read per item")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: loaders run one per worker)")
    args = parser.parse_args(argv)
    if args.quick:
        args.objects, args.views, args.repeat = 6, 5, 1
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = Path(tmp) / "toy"
            start = time.perf_counter()
            make_toy_3diebench(root, objects=args.objects, views=args.views, classes=min(4, args.objects),
                               size=args.size, seed=0, workers=1 if args.quick else None)
            print(f"generated {args.objects} objects x {args.views} views at {args.size}px in "
                  f"{time.perf_counter() - start:.1f} s")
        fast = ThreeDIEBench(root, "train", num_views=args.num_views, image_size=args.image_size)
        exact = ThreeDIEBench(root, "train", num_views=args.num_views, image_size=args.image_size, fast_decode=False)
        start = time.perf_counter()
        memory = ThreeDIEBench(root, "train", num_views=args.num_views, image_size=args.image_size, in_memory=True)
        decode_s = time.perf_counter() - start
        official = OfficialStyleLoader(root, fast.samples, args.image_size)
        items = [(i, fast.draw_views(i)) for i in range(len(fast))]
        n_views = sum(len(ids) for _, ids in items)
        for i, ids in items:  # warm the page cache for everyone
            official.load(i, ids)

        rows = [
            ("official-style (PIL + torchvision Resize + scipy, per view)", _time(official.load, items, args.repeat)),
            ("seqjepa ThreeDIEBench, fast_decode=False", _time(exact.load_views, items, args.repeat)),
            ("seqjepa ThreeDIEBench (JPEG draft mode)", _time(fast.load_views, items, args.repeat)),
            ("seqjepa ThreeDIEBench, in_memory=True", _time(memory.load_views, items, args.repeat)),
        ]
        base = rows[0][1]
        print(f"\n{n_views} views ({len(items)} items x {args.num_views + 1}), {args.size}px JPEG -> {args.image_size}px, "
              "1 thread, best of", args.repeat)
        print(f"{'loader':<62} {'views/s':>10} {'ratio':>7}")
        for name, seconds in rows:
            print(f"{name:<62} {n_views / seconds:>10.0f} {base / seconds:>6.2f}x")
        print(f"in_memory=True: the split ({len(memory)} objects x {args.views} views) decoded once in {decode_s:.2f} s")
        sample = fast.load_views(*items[0])["views"]
        ref = exact.load_views(*items[0])["views"]
        std = torch.tensor(THREEDIEBENCH_STD).view(1, 3, 1, 1)
        print(f"mean |fast - exact| pixel difference: {((sample - ref) * std).abs().mean().item() * 255:.2f} / 255 levels")
        print(f"summary: ThreeDIEBench {n_views / rows[2][1]:.0f} views/s vs official-style "
              f"{n_views / base:.0f} views/s: ratio {base / rows[2][1]:.2f}x")
        ratio = base / rows[2][1]
        note = "; quick: smoke run, not a measurement" if args.quick else ""
        print(f"SUMMARY loader: ratio={ratio:.2f}x (target >= 2.00x) {'PASS' if ratio >= 2.0 else 'FAIL'} "
              f"[ThreeDIEBench vs one-PIL-image-at-a-time loader{note}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
