"""Fine-tune a pretrained seq-JEPA for classification with ``seqjepa.train.finetune.Classifier``.

    python examples/finetune_classifier.py --on invariant          # linear head on z_AGG of a sequence
    python examples/finetune_classifier.py --on equivariant        # on the mean z of the views
    python examples/finetune_classifier.py --on both --freeze-encoder --save clf/

The data are procedural: each sample is a short sequence of views of a polygon (its number of
sides is the class) at random rotations, with the relative rotations as actions. Replace
``make_split`` with your own data in the same form (views (M, C, H, W), actions (M-1, A), label).
The backbone trains at ``--backbone-lr`` and the new head at ``--head-lr`` (two parameter groups).
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
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procedural import load_model, model_actions, polygon_view, random_objects, sequence_actions, views_tensor  # noqa: E402

import seqjepa  # noqa: E402
from seqjepa.utils.files import atomic_write_text  # noqa: E402


def make_split(model, n: int, *, classes: int, num_views: int, seed: int) -> list[dict]:
    """``n`` samples {views (M, C, H, W), actions (M-1, A) or None, label}: one polygon per sample."""
    rng = np.random.default_rng(seed)
    samples = []
    for obj in random_objects(n, classes=classes, rng=rng):
        angles = list(rng.uniform(-math.pi, math.pi, size=num_views))
        views = views_tensor(model, [polygon_view(obj, a, size=64) for a in angles])
        actions = model_actions(model, sequence_actions(angles))
        sample = {"views": views, "label": torch.tensor(obj.label)}
        if actions is not None:
            sample["actions"] = actions
        samples.append(sample)
    return samples


def run_epoch(clf, loader: DataLoader, optimizer: Optional[torch.optim.Optimizer]) -> tuple[float, float]:
    """One pass: trains when ``optimizer`` is given; returns (mean loss, top-1 %)."""
    clf.train(optimizer is not None)
    total_loss, correct, count = 0.0, 0, 0
    for batch in loader:
        # the equivariant head reads images only; the invariant one needs the actions between them
        actions = None if clf.on == "equivariant" else batch.get("actions")
        with torch.set_grad_enabled(optimizer is not None):
            logits = clf(batch["views"], actions)
            loss = torch.nn.functional.cross_entropy(logits, batch["label"])
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        total_loss += loss.item() * len(batch["label"])
        correct += int((logits.argmax(dim=1) == batch["label"]).sum())
        count += len(batch["label"])
    return total_loss / count, 100.0 * correct / count


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=seqjepa.DEFAULT_MODEL, help="registry name, directory or .pth")
    parser.add_argument("--on", choices=("invariant", "equivariant", "both"), default="invariant")
    parser.add_argument("--classes", type=int, default=4, help="polygon kinds: 3, 4, ... sides")
    parser.add_argument("--views", type=int, default=3, help="views per sequence (M)")
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--test-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone-lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--freeze-encoder", action="store_true", help="train the aggregator and head only")
    parser.add_argument("--save", type=Path, help="save the fine-tuned classifier here (HF layout)")
    parser.add_argument("--json", type=Path, help="write the per-epoch metrics here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="2 classes, 16/8 samples, 3 epochs (for tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.classes, args.train_size, args.test_size, args.epochs, args.batch_size = 2, 16, 8, 3, 8
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from seqjepa.train.finetune import Classifier

    torch.manual_seed(args.seed)
    model = load_model(args.model)
    train = make_split(model, args.train_size, classes=args.classes, num_views=args.views, seed=args.seed)
    test = make_split(model, args.test_size, classes=args.classes, num_views=args.views, seed=args.seed + 1)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=len(train) > args.batch_size)
    test_loader = DataLoader(test, batch_size=args.batch_size)

    clf = Classifier(model, num_classes=args.classes, on=args.on, freeze_encoder=args.freeze_encoder)
    optimizer = torch.optim.AdamW(clf.param_groups(backbone_lr=args.backbone_lr, head_lr=args.head_lr))
    history = []
    for epoch in range(args.epochs):
        train_loss, train_acc = run_epoch(clf, train_loader, optimizer)
        test_loss, test_acc = run_epoch(clf, test_loader, None)
        history.append({"epoch": epoch, "train_loss": train_loss, "train_top1": train_acc,
                        "test_loss": test_loss, "test_top1": test_acc})
        print(f"epoch {epoch}: train loss {train_loss:.3f} top-1 {train_acc:5.1f}% | "
              f"test loss {test_loss:.3f} top-1 {test_acc:5.1f}% (chance {100 / args.classes:.1f}%)")
    if args.save:
        clf.save_pretrained(args.save)
        print(f"saved to {args.save}; reload with seqjepa.train.finetune.load_finetuned({str(args.save)!r})")
    if args.json:
        atomic_write_text(args.json, json.dumps({"on": args.on, "classes": args.classes, "history": history}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
