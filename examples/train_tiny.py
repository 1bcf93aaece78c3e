"""Train a tiny seq-JEPA end to end on a generated toy 3DIEBench, export it and load it back.

    python examples/train_tiny.py --out tiny-model/              # a few minutes on a CPU
    python examples/train_tiny.py --set train.epochs=50 --set optim.lr=3e-4

Steps, each one call of the public API:

1. ``seqjepa.data.make_toy_3diebench`` renders procedural objects in 3DIEBench's exact on-disk
   layout (``<synset>/<object>/image_<k>.jpg`` + ``latent_<k>.npy`` and the index files);
2. ``seqjepa.train.load_recipe("toy-3diebench", overrides)`` reads the shipped toy recipe (a
   narrow ResNet at 32 px, M_tr = 1, the official optimizer and schedules);
3. ``seqjepa.train.Trainer(recipe, run_dir, data_root=...).run()`` trains (resumable; checkpoints
   and ``metrics.jsonl`` in ``run_dir``);
4. ``seqjepa.train.export_run(run_dir, out)`` writes ``config.json`` + ``model.safetensors``;
5. ``seqjepa.load(out)`` loads it like any pretrained model.

For the real data set, point ``--data`` at an extracted 3DIEBench and use the ``3diebench-rot``
recipe (``--recipe 3diebench-rot``); see the training guide in the documentation.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import torch

import seqjepa


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="toy-3diebench", help="a shipped recipe name or a recipe .json")
    parser.add_argument("--data", type=Path, help="dataset root (default: generate a toy 3DIEBench in a temp dir)")
    parser.add_argument("--objects", type=int, default=120, help="toy data: objects to render")
    parser.add_argument("--classes", type=int, default=4, help="toy data: shape classes")
    parser.add_argument("--views-per-object", type=int, default=50, help="toy data: views per object")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a recipe value (repeatable), e.g. train.epochs=5")
    parser.add_argument("--run-dir", type=Path, help="checkpoints and metrics (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="export the trained model here (default: a temp dir)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="8 objects, 6 views, 1 epoch (for tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.objects, args.classes, args.views_per_object = 8, 2, 6
        args.overrides = ["train.epochs=1", "train.batch_size=4", "train.precision=fp32", *args.overrides]
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from seqjepa.data import make_toy_3diebench
    from seqjepa.train import Trainer, export_run, load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "toy3diebench"
            make_toy_3diebench(data, objects=args.objects, views=args.views_per_object, classes=args.classes,
                               size=recipe["model"].get("image_size", 32), seed=args.seed, workers=1)
            print(f"rendered a toy 3DIEBench: {args.objects} objects x {args.views_per_object} views in {data}")
        run_dir = args.run_dir or Path(tmp) / "run"
        result = Trainer(recipe, run_dir, data_root=str(data), device=args.device).run()
        print(f"training {result.status} after epoch {result.epoch} ({result.global_step} steps); "
              f"last metrics: {result.metrics}")

        out = args.out or Path(tmp) / "model"
        checkpoint, _ = export_run(run_dir, out)
        model = seqjepa.load(out)
        print(f"exported {checkpoint} to {out}; seqjepa.load({str(out)!r}) -> E={model.config.token_dim}")

        cfg = model.config
        views = torch.randn(1, cfg.train_seq_len, cfg.in_channels, cfg.image_size, cfg.image_size)
        actions = torch.randn(1, cfg.train_seq_len - 1, cfg.action_dim) if cfg.action_conditioned else None
        with torch.no_grad():
            z_agg = model.invariant_embedding(views, actions)
        print(f"z_AGG of a random sequence: shape {tuple(z_agg.shape)}, finite: {bool(torch.isfinite(z_agg).all())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
