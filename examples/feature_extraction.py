"""Feature extraction: image files -> per-view z (equivariant) and the sequence's z_AGG (invariant).

    python examples/feature_extraction.py view0.png view1.png view2.png --actions actions.npy --out feats.npz
    python examples/feature_extraction.py                  # makes a few procedural views and uses those

The images are one sequence of views of one object, in order; ``--actions`` is a ``.npy`` array of
shape (M-1, A) whose row j is the relative action from view j to view j+1 (for the 3DIEBench
models, the quaternion x, y, z, w of the relative rotation). Without image files the script draws
a polygon at a few known rotations, writes them as PNGs and uses their exact relative rotations.

Writes ``z`` (M, D) and ``z_agg`` (E,) to ``--out`` (a ``.npz``) when given.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procedural import ToyObject, load_model, model_actions, polygon_view, sequence_actions, views_tensor  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.utils.files import atomic_open  # noqa: E402


def make_procedural_views(out_dir: Path, num_views: int) -> tuple[list[Path], np.ndarray]:
    """Write ``num_views`` PNGs of one polygon turned by 40 degrees each; return their paths and actions."""
    obj = ToyObject(sides=5, hue=0.08)
    angles = [math.radians(40.0 * j) for j in range(num_views)]
    paths = []
    for j, angle in enumerate(angles):
        path = out_dir / f"view{j}.png"
        polygon_view(obj, angle, size=96).save(path)
        paths.append(path)
    return paths, sequence_actions(angles)


def extract(model: seqjepa.SeqJEPA, paths: Sequence[Path], actions: Optional[np.ndarray]) -> dict[str, np.ndarray]:
    """z (M, D) of every image and z_AGG (E,) of the sequence they form."""
    images = [Image.open(p).convert("RGB") for p in paths]
    views = views_tensor(model, images)  # (M, C, H, W), the checkpoint's own preprocessing
    acts = model_actions(model, actions)
    with torch.no_grad():
        out = model.encode_views(views[None], None if acts is None else acts[None])
    return {"z": out.equivariant[0].numpy(), "z_agg": out.invariant[0].numpy()}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path, help="views of one object, in sequence order")
    parser.add_argument("--actions", type=Path, help=".npy of shape (M-1, A): relative action view j -> j+1")
    parser.add_argument("--model", default=seqjepa.DEFAULT_MODEL, help="registry name, directory or .pth")
    parser.add_argument("--out", type=Path, help="write z and z_agg to this .npz")
    parser.add_argument("--fast", action="store_true", help="3 procedural views instead of 5 (for tests)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        if args.images:
            paths = list(args.images)
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise SystemExit(f"images: no such file(s): {', '.join(missing)}")
            actions = np.load(args.actions) if args.actions else None
            if actions is None and model.config.action_conditioned and len(paths) > 1:
                raise SystemExit(
                    f"--actions: the model is action-conditioned; pass a .npy of shape ({len(paths) - 1}, "
                    f"{model.config.action_dim}) with the relative action between consecutive views"
                )
            if actions is None and model.config.action_conditioned:
                actions = np.zeros((0, model.config.action_dim), dtype=np.float32)
        else:
            paths, actions = make_procedural_views(Path(tmp), 3 if args.fast else 5)
            print(f"no images given: drew {len(paths)} procedural views, each turned 40 degrees from the last")
        feats = extract(model, paths, actions)
    print(f"z: {feats['z'].shape} (one row per view; keeps pose)")
    print(f"z_agg: {feats['z_agg'].shape} (the whole sequence; knows the object)")
    for j in range(len(feats["z"]) - 1):
        a, b = feats["z"][j], feats["z"][j + 1]
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
        print(f"cos(z_{j}, z_{j + 1}) = {cos:+.3f}")
    if args.out:
        with atomic_open(args.out, "wb") as fh:
            np.savez(fh, **feats)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
