"""``seqjepa make-toy-3diebench OUT``: write a procedural dataset in 3DIEBench's layout."""

from __future__ import annotations

import argparse
import math
import time

# literal copies of seqjepa.data.synthetic's LIGHT_COLORS / FACE_COLORS: importing it here would load all of
# seqjepa.data (about a second) whenever any seqjepa command builds its parser; a test keeps them equal
LIGHT_COLORS = ("3diebench", "white")
FACE_COLORS = ("random", "canonical", "class-hue", "independent")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "make-toy-3diebench",
        help="render a procedural 3DIEBench (real 3-D shapes, known rotations and colors) in its exact layout",
    )
    p.add_argument("out", help="dataset root to create (must not exist or be empty unless --overwrite)")
    p.add_argument("--objects", type=int, default=120, help="number of objects (default 120)")
    p.add_argument("--views", type=int, default=50, help="views per object (default 50, as 3DIEBench)")
    p.add_argument("--classes", type=int, default=4, help="shape classes, 1..8 (default 4)")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (default 64; 3DIEBench renders 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="per-class fraction of objects in val (default 0.2)")
    p.add_argument("--workers", type=int, default=None, help="rendering processes (default: CPUs, at most 8)")
    p.add_argument("--ood", action="store_true", help="draw Euler angles from +-U(pi/2, pi) as 3DIEBench-OOD")
    p.add_argument("--first-view", type=int, default=0, help="number of the first view file (OOD release starts at 2)")
    p.add_argument(
        "--light", choices=LIGHT_COLORS, default="3diebench",
        help="light colour: random hue per view as 3DIEBench (default) or white (face colours match across views)",
    )
    p.add_argument(
        "--face-colors", choices=FACE_COLORS, default="random",
        help="random colours per object with evenly spread hues (default), every face's colour drawn on its own "
        "(independent: colours name neither class nor pose), the same colour for face k of every object "
        "(canonical), or one hue band per class shaded by the face's direction in object coordinates (class-hue)",
    )
    p.add_argument(
        "--max-angle", type=float, default=90.0, metavar="DEGREES",
        help="draw each Euler angle from U(-DEGREES, DEGREES) (default 90, 3DIEBench's range; at most 90)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.synthetic import make_toy_3diebench

    if args.first_view < 0:
        raise ValueError(f"--first-view: expected an integer >= 0, got {args.first_view}")
    if not 0 < args.max_angle <= 90:
        raise ValueError(f"--max-angle: expected degrees in (0, 90], got {args.max_angle}")
    start = time.perf_counter()
    info = make_toy_3diebench(
        args.out, objects=args.objects, views=args.views, classes=args.classes, size=args.size, seed=args.seed,
        val_fraction=args.val_fraction, workers=args.workers, ood=args.ood,
        view_ids=range(args.first_view, args.first_view + args.views) if args.views > 0 else None,
        overwrite=args.overwrite, light_color=args.light, face_colors=args.face_colors,
        max_angle=math.radians(args.max_angle),
    )
    elapsed = time.perf_counter() - start
    print(
        f"wrote {info.train_objects} train + {info.val_objects} val objects x {info.views} views at "
        f"{info.size}px ({', '.join(info.classes)}) to {info.root} in {elapsed:.1f} s"
    )
    return 0
