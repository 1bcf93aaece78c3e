"""Linear probe and k-NN on extracted features: ``seqjepa extract`` an ImageFolder, then scikit-learn.

    python examples/linear_probe_on_features.py --data ROOT            # ROOT/train/<class>/..., ROOT/val/<class>/...
    python examples/linear_probe_on_features.py --data ROOT --on z_agg --model resnet18-3diebench
    python examples/linear_probe_on_features.py                        # draws a procedural ImageFolder first

Each split is extracted once into ``--features`` (default ``ROOT-features`` beside ROOT); rerunning skips the
work already done. The features are read with ``seqjepa.read_features``; a logistic regression and
a k-nearest-neighbour classifier (cosine) are fit on train and scored on val (top-1).

Without ``--data`` the script writes an ImageFolder of procedural polygons (the number of sides is the
class, at random rotations) and uses that: an illustration of the workflow, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procedural import polygon_view, random_objects  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.utils.files import atomic_write_text  # noqa: E402


def make_image_folder(root: Path, *, per_class: int, classes: int, seed: int) -> None:
    """ROOT/{train,val}/<sides>-gon/<i>.png: polygons at random rotations, ``per_class`` per class and split."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", per_class), ("val", max(2, per_class // 2))):
        for obj in random_objects(count * classes, classes=classes, rng=rng):
            folder = root / split / f"{obj.sides}-gon"
            folder.mkdir(parents=True, exist_ok=True)
            index = len(list(folder.iterdir()))
            polygon_view(obj, float(rng.uniform(-math.pi, math.pi)), size=64).save(folder / f"{index:04d}.png")


def load_split(model: str, root: Path, features: Path, split: str, on: str, batch_size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features, labels, class names) of ROOT/<split>, extracted into FEATURES/<split> unless already there."""
    out = features / split
    seqjepa.extract(model, root / split, out, invariant=on == "z_agg", batch_size=batch_size, progress=False)
    feats = seqjepa.read_features(out)
    if "label" not in feats:
        raise ValueError(f"--data: {root / split} has images outside class folders; expected <split>/<class>/<image>")
    return np.asarray(feats[on], dtype=np.float32), np.asarray(feats["label"]), feats.meta["classes"]


def probe(x_train, y_train, x_val, y_val, *, k: int, seed: int = 0) -> dict[str, float]:
    """Top-1 (%) on val of a standardized logistic regression and of a cosine k-NN, both fit on train."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not 1 <= k <= len(x_train):
        raise ValueError(f"--k: expected 1 <= k <= {len(x_train)} (the training set size), got {k}")
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    linear.fit(x_train, y_train)
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(x_train, y_train)
    return {"linear_top1": 100.0 * float(linear.score(x_val, y_val)), "knn_top1": 100.0 * float(knn.score(x_val, y_val))}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="ImageFolder root with train/ and val/ (default: draw one)")
    parser.add_argument("--features", type=Path, help="where the features go (default: next to --data)")
    parser.add_argument("--model", default=seqjepa.DEFAULT_MODEL, help="registry name, directory or .pth")
    parser.add_argument("--on", choices=("z", "z_agg"), default="z", help="z (equivariant, default) or z_agg of each image")
    parser.add_argument("--k", type=int, default=5, help="neighbours of the k-NN classifier (default 5)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, help="write the scores here")
    parser.add_argument("--fast", action="store_true", help="a tiny procedural folder (for tests)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = Path(tmp) / "images"
            make_image_folder(root, per_class=4 if args.fast else 40, classes=3 if args.fast else 4, seed=0)
            print(f"no --data given: drew a procedural ImageFolder in {root}")
        if not (root / "train").is_dir() or not (root / "val").is_dir():
            raise SystemExit(f"--data: expected {root}/train/<class>/... and {root}/val/<class>/...")
        features = args.features or (Path(tmp) / "features" if args.data is None else root.parent / f"{root.name}-features")
        x_train, y_train, classes = load_split(args.model, root, features, "train", args.on, args.batch_size)
        x_val, y_val, val_classes = load_split(args.model, root, features, "val", args.on, args.batch_size)
        if classes != val_classes:
            raise SystemExit(f"--data: train and val have different class folders ({classes} vs {val_classes})")
        k = min(args.k, len(x_train))
        scores = probe(x_train, y_train, x_val, y_val, k=k)
    result = {"on": args.on, "k": k, "classes": len(classes), "train": int(len(y_train)), "val": int(len(y_val)),
              "chance_top1": 100.0 / len(classes), **scores}
    print(f"{args.on}: {result['train']} train / {result['val']} val images, {result['classes']} classes")
    print(f"logistic regression top-1 {scores['linear_top1']:.1f} %, {k}-NN top-1 {scores['knn_top1']:.1f} % "
          f"(chance {result['chance_top1']:.1f} %)")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
