"""Regress the relative rotation between two views from their equivariant embeddings [z_i, z_j].

    python examples/rotation_regression.py --model resnet18-3diebench

This is the paper's equivariance probe in miniature: freeze the model, embed two views of the same
object, concatenate their z, and fit a regressor of the rotation that takes view i to view j. The
paper fits an MLP 1024 -> 1024 -> 1024 -> 4 on 3DIEBench quaternions; this script fits a ridge
regression (closed form, no tuning) of (cos Δθ, sin Δθ) on procedural polygons turned in the image
plane, and reports sklearn's R² (the mean over output dimensions of 1 - SS_res / SS_tot) on
held-out objects. An untrained or tiny model gives an R² near or below 0; a model whose z keeps
pose gives a clearly positive one.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procedural import load_model, polygon_view, random_objects, views_tensor  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.fileio import atomic_write_text  # noqa: E402


def make_pairs(model, n: int, *, classes: int, seed: int, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Features [z_i, z_j] (n, 2D) of two views of n objects and targets (cos Δθ, sin Δθ) (n, 2)."""
    rng = np.random.default_rng(seed)
    objects = random_objects(n, classes=classes, rng=rng)
    angles = rng.uniform(-math.pi, math.pi, size=(n, 2))
    feats = []
    for start in range(0, n, batch_size):
        images = []
        for obj, (a, b) in zip(objects[start:start + batch_size], angles[start:start + batch_size]):
            images += [polygon_view(obj, a), polygon_view(obj, b)]
        views = views_tensor(model, images).reshape(-1, 2, model.config.in_channels,
                                                    model.config.image_size, model.config.image_size)
        with torch.no_grad():
            z = model.equivariant_embedding(views)  # (B, 2, D)
        feats.append(z.reshape(z.shape[0], -1).numpy())
    delta = angles[:, 1] - angles[:, 0]
    return np.concatenate(feats).astype(np.float64), np.stack([np.cos(delta), np.sin(delta)], axis=1)


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
    parser.add_argument("--train-size", type=int, default=1024, help="training pairs")
    parser.add_argument("--test-size", type=int, default=512, help="held-out pairs (other objects)")
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=1e-2, help="ridge penalty (times the sample count)")
    parser.add_argument("--json", type=Path, help="write the R² values here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="64/32 pairs (for tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.train_size, args.test_size = 64, 32
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    model = load_model(args.model)
    x_train, y_train = make_pairs(model, args.train_size, classes=args.classes, seed=args.seed)
    x_test, y_test = make_pairs(model, args.test_size, classes=args.classes, seed=args.seed + 1)
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
