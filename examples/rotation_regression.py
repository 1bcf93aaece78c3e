"""Regress the relative rotation between two views from their equivariant embeddings [z_i, z_j].

    python examples/rotation_regression.py                               # the default model, in its own scene
    python examples/rotation_regression.py --model resnet18-3diebench --face-colors random --light 3diebench --max-angle 90

This is the paper's equivariance probe in miniature: freeze the model, embed two views of the same
object, concatenate their z, and fit a regressor of the rotation that takes view i to view j. The
views are procedural 3DIEBench objects (``seqjepa.data.synthetic``) rendered in memory, by default
in the scene the default model was trained on (``--face-colors independent --light white
--max-angle 45``: every face draws its own colour, so the colours tell neither the class nor the
pose); the objects are new ones, drawn from ``--seed``. The target is the relative quaternion
R(a_i)^-1 R(a_j), as in the model's actions. The paper fits an MLP 1024 -> 1024 -> 1024 -> 4 on
3DIEBench; this script fits a ridge regression (closed form, no tuning) and reports sklearn's R²
(the mean over output dimensions of 1 - SS_res / SS_tot) on held-out objects. One run is one data
seed: compare a few ``--seed`` values, and an untrained network of the same architecture
(``SeqJEPA(model.config).save_pretrained(DIR)``, then ``--model DIR``), before reading anything into
a number. The default model's measured numbers (a mean and spread over fresh data seeds, beside the
untrained floor) are in its card and in ``docs/toy-benchmark.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procedural import load_model, views_tensor  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.models.actions import relative_rotation  # noqa: E402
from seqjepa.data.synthetic import (  # noqa: E402
    FACE_COLORS, LIGHT_COLORS, SHAPE_CLASSES, make_mesh, render_view, sample_latents,
)
from seqjepa.utils.files import atomic_write_text  # noqa: E402


def make_pairs(
    model, n: int, *, seed: int, classes: int = len(SHAPE_CLASSES), face_colors: str = "independent",
    light_color: str = "white", max_angle: float = math.pi / 4, batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Features [z_i, z_j] (n, 2D) of two views of n new objects, and their relative quaternions (n, 4)."""
    rng = np.random.default_rng(seed)
    size, channels = model.config.image_size, model.config.in_channels
    feats, targets = [], []
    for start in range(0, n, batch_size):
        images = []
        for k in range(start, min(n, start + batch_size)):
            mesh = make_mesh(SHAPE_CLASSES[k % classes], rng, face_colors=face_colors)
            latents = sample_latents(rng, 2, max_angle=max_angle)
            images += [Image.fromarray(render_view(mesh, lat, size, light_color=light_color)) for lat in latents]
            targets.append(relative_rotation(latents[:, :3])[0])
        views = views_tensor(model, images).reshape(-1, 2, channels, size, size)
        with torch.no_grad():
            z = model.equivariant_embedding(views)  # (B, 2, D)
        feats.append(z.reshape(z.shape[0], -1).numpy())
    return np.concatenate(feats).astype(np.float64), np.asarray(targets)


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression on standardized features with an unpenalized intercept: (W, b, mean, scale)."""
    if alpha < 0:
        raise ValueError(f"alpha: expected >= 0, got {alpha}")
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-8
    xs = (x - mean) / scale
    y_mean = y.mean(axis=0)
    w = np.linalg.solve(xs.T @ xs + alpha * len(x) * np.eye(x.shape[1]), xs.T @ (y - y_mean))
    return w, y_mean, mean, scale


def predict_ridge(model: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    w, b, mean, scale = model
    return ((x - mean) / scale) @ w + b


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """sklearn's R² with ``multioutput="uniform_average"``: per-dimension R², then their mean."""
    if y_true.shape != y_pred.shape or y_true.ndim != 2:
        raise ValueError(f"y_pred: expected the shape of y_true {y_true.shape} (N, K), got {y_pred.shape}")
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    if np.any(ss_tot == 0):
        raise ValueError("y_true: a target dimension is constant, so its R² is undefined")
    return float(np.mean(1.0 - ss_res / ss_tot))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=seqjepa.DEFAULT_MODEL, help="registry name, directory or .pth")
    parser.add_argument("--train-size", type=int, default=2048, help="training pairs")
    parser.add_argument("--test-size", type=int, default=512, help="held-out pairs (other objects)")
    parser.add_argument("--classes", type=int, default=len(SHAPE_CLASSES), help="shape classes drawn (1..8)")
    parser.add_argument("--face-colors", choices=FACE_COLORS, default="independent",
                        help="scene: face colours (default independent, the default model's training scene)")
    parser.add_argument("--light", choices=LIGHT_COLORS, default="white", help="scene: light (default white)")
    parser.add_argument("--max-angle", type=float, default=45.0, metavar="DEGREES",
                        help="scene: Euler angles within +-DEGREES (default 45; 3DIEBench draws 90)")
    parser.add_argument("--alpha", type=float, default=1e-2, help="ridge penalty (times the sample count)")
    parser.add_argument("--json", type=Path, help="write the R² values here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="64/32 pairs (for tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.train_size, args.test_size = 64, 32
    if not 1 <= args.classes <= len(SHAPE_CLASSES):
        parser.error(f"--classes: expected 1..{len(SHAPE_CLASSES)}, got {args.classes}")
    if not 0 < args.max_angle <= 90:
        parser.error(f"--max-angle: expected degrees in (0, 90], got {args.max_angle}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    model = load_model(args.model)
    scene = dict(classes=args.classes, face_colors=args.face_colors, light_color=args.light,
                 max_angle=math.radians(args.max_angle))
    x_train, y_train = make_pairs(model, args.train_size, seed=args.seed, **scene)
    x_test, y_test = make_pairs(model, args.test_size, seed=args.seed + 1, **scene)
    ridge = fit_ridge(x_train, y_train, args.alpha)
    result = {
        "r2_train": r2_score(y_train, predict_ridge(ridge, x_train)),
        "r2_test": r2_score(y_test, predict_ridge(ridge, x_test)),
        "features": int(x_train.shape[1]),
        "train_pairs": args.train_size,
        "test_pairs": args.test_size,
    }
    print(f"relative rotation from [z_i, z_j] ({result['features']}-d), ridge alpha={args.alpha}: "
          f"R² train {result['r2_train']:.3f}, held-out {result['r2_test']:.3f} (sklearn definition)")
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
