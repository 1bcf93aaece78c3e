"""Retrieval: nearest neighbours of whole sequences by the cosine similarity of their z_AGG.

    python examples/retrieval.py --model resnet18-3diebench --k 5

z_AGG summarizes a sequence of views and the actions between them into one vector that knows the
object, not its pose. This script embeds a gallery and a query set of procedural sequences
(polygons at random rotations; the number of sides is the class), finds each query's k nearest
gallery sequences by cosine similarity, and reports precision@k: the fraction of neighbours that
share the query's class (chance is 1 / classes).
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
from _procedural import load_model, model_actions, polygon_view, random_objects, sequence_actions, views_tensor  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.utils.files import atomic_write_text  # noqa: E402


def embed_sequences(model, n: int, *, classes: int, num_views: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """z_AGG (n, E) of n procedural sequences and their class labels (n,)."""
    rng = np.random.default_rng(seed)
    objects = random_objects(n, classes=classes, rng=rng)
    out = []
    for obj in objects:
        angles = list(rng.uniform(-math.pi, math.pi, size=num_views))
        views = views_tensor(model, [polygon_view(obj, a) for a in angles])[None]
        actions = model_actions(model, sequence_actions(angles))
        with torch.no_grad():
            out.append(model.invariant_embedding(views, None if actions is None else actions[None]))
    return torch.cat(out), np.array([obj.label for obj in objects])


def nearest_neighbours(queries: torch.Tensor, gallery: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (Q, k) of each query's k most cosine-similar gallery rows, and those similarities."""
    if queries.dim() != 2 or gallery.dim() != 2 or queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"queries, gallery: expected (Q, E) and (G, E), got {tuple(queries.shape)} and {tuple(gallery.shape)}")
    if not 1 <= k <= gallery.shape[0]:
        raise ValueError(f"k: expected 1 <= k <= {gallery.shape[0]} (the gallery size), got {k}")
    sims = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(gallery, dim=1).T
    top = sims.topk(k, dim=1)
    return top.indices, top.values


def precision_at_k(neighbours: torch.Tensor, query_labels: np.ndarray, gallery_labels: np.ndarray) -> float:
    """Mean fraction of each query's neighbours whose label is the query's."""
    hits = gallery_labels[neighbours.numpy()] == query_labels[:, None]
    return float(hits.mean())


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=seqjepa.DEFAULT_MODEL, help="registry name, directory or .pth")
    parser.add_argument("--gallery-size", type=int, default=200)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--views", type=int, default=3, help="views per sequence (M_val)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write precision@k here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="gallery 16, 6 queries (for tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.gallery_size, args.queries, args.k = 16, 6, 3
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    model = load_model(args.model)
    gallery, gallery_labels = embed_sequences(model, args.gallery_size, classes=args.classes, num_views=args.views, seed=args.seed)
    queries, query_labels = embed_sequences(model, args.queries, classes=args.classes, num_views=args.views, seed=args.seed + 1)
    idx, sims = nearest_neighbours(queries, gallery, args.k)
    p_at_k = precision_at_k(idx, query_labels, gallery_labels)
    for q in range(min(3, args.queries)):
        row = ", ".join(f"#{int(i)} (class {gallery_labels[int(i)]}, cos {float(s):.3f})" for i, s in zip(idx[q], sims[q]))
        print(f"query {q} (class {query_labels[q]}): {row}")
    print(f"precision@{args.k} = {p_at_k:.3f} (chance {1 / args.classes:.3f})")
    if args.json:
        atomic_write_text(args.json, json.dumps({"k": args.k, "precision_at_k": p_at_k, "chance": 1 / args.classes}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
