"""``seqjepa demo``: see seq-JEPA work on shipped example views, offline (logic in :mod:`seqjepa.demo`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from ..zoo.factory import DEFAULT_MODEL

    p = sub.add_parser(
        "demo",
        help="run seq-JEPA on shipped example views, offline: embeddings, next-view prediction, nearest classes, a PNG",
        description="Run seq-JEPA on a few shipped views of one object (offline, seconds on a CPU): print the "
        "equivariant and invariant embeddings, the predicted next-view embedding and the nearest shape classes, "
        "and draw a PNG.",
    )
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME_OR_DIR",
                   help=f"a registry name (offline) or a model directory / file (default: {DEFAULT_MODEL})")
    p.add_argument("--out", default="seqjepa-demo.png", metavar="PATH", help="the PNG to write (default: ./seqjepa-demo.png)")
    p.add_argument("--no-figure", action="store_true", help="print only, write no PNG")
    p.add_argument("--classes", type=int, default=8, help="gallery shape classes, 1..8 (default 8, as make-toy-3diebench)")
    p.add_argument("--objects-per-class", type=int, default=6, help="gallery objects per class (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed of the gallery and the random actions (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(args.model, None if args.no_figure else args.out, classes=args.classes,
             objects_per_class=args.objects_per_class, seed=args.seed, echo=print)
    return 0
