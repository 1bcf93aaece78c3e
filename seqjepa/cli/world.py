"""``seqjepa infer-action``: which action leads from the last of some views to a target view."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..utils.files import atomic_write_text
from ..utils.jsonlines import iter_json_objects, parse_json
from ._options import positive_int, resolve_device


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infer-action", help="infer the relative action from the last of some views to a target view")
    p.add_argument("model", nargs="?", default=None, help="registry name or model directory (default: the shipped small model)")
    p.add_argument("--views", nargs="+", metavar="IMAGE", help="the observed views, in order")
    p.add_argument("--actions", default=None, metavar="JSON",
                   help="the M-1 relative actions between the views as a JSON list of lists, e.g. '[[0,0,0,1]]' "
                        "(default: [] for one view)")
    p.add_argument("--target", metavar="IMAGE", help="the view the action leads to")
    p.add_argument("--manifest", metavar="JSONL",
                   help="many queries: one JSON object per line with 'views', 'actions' and 'target' (paths relative "
                        "to the manifest); writes one row per query to --out")
    p.add_argument("--out", metavar="FILE", help="with --manifest: the rows, as JSON lines")
    p.add_argument("--grid-size", type=positive_int, default=4096, help="rotation grid points (default 4096)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run_infer_action)


def _actions(text: Any, where: str) -> list:
    try:
        value = parse_json(text) if isinstance(text, str) else text
    except ValueError as exc:
        raise ValueError(f"{where}: expected a JSON list of actions, got {str(text)[:80]!r} ({exc})") from None
    if not isinstance(value, list) or not all(
        isinstance(row, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row) for row in value
    ):
        raise ValueError(f"{where}: expected a JSON list of actions, each a list of numbers, got {str(text)[:80]!r}")
    if len({len(row) for row in value}) > 1:
        raise ValueError(f"{where}: expected actions of one length, got lengths {[len(row) for row in value]}")
    return value


def _load_query(model, views: list, actions: Any, target: str, where: str, base: Path):
    import torch
    from PIL import Image

    if not views or not isinstance(views, list):
        raise ValueError(f"{where} views: expected at least one image path, got {views!r}")
    if not isinstance(target, str):
        raise ValueError(f"{where} target: expected an image path, got {target!r}")

    def image(path: str) -> "torch.Tensor":
        full = base / path
        if not full.is_file():
            raise FileNotFoundError(f"{where}: {full} is not a file")
        with Image.open(full) as img:
            return model.transform(img.convert("RGB"))

    acts = _actions(actions if actions is not None else "[]", f"{where} actions")
    a = torch.tensor(acts, dtype=torch.float32).reshape(len(acts), -1 if acts else model.config.action_dim)
    return torch.stack([image(v) for v in views])[None], a[None], image(target)[None]


def _row(estimate, i: int) -> dict[str, Any]:
    from ..world import quaternion_to_axis_angle

    action = [round(float(v), 6) for v in estimate.action[i].tolist()]
    row: dict[str, Any] = {"action": action, "score": round(float(estimate.score[i]), 6),
                           "action_space": estimate.action_space}
    if estimate.action_space.startswith("rotation"):
        axis, angle = quaternion_to_axis_angle(estimate.action[i, :4])
        row["quaternion_xyzw"] = action[:4]
        row["axis"] = [round(float(v), 4) for v in axis.tolist()]
        row["angle_deg"] = round(float(angle), 2)
    return row


def run_infer_action(args: argparse.Namespace) -> int:
    from ..world import infer_action
    from ..zoo.factory import DEFAULT_MODEL, load

    if args.manifest is None and (not args.views or args.target is None):
        raise ValueError("--views and --target: required (or --manifest FILE for many queries)")
    if args.manifest is not None and (args.views or args.target):
        raise ValueError("--manifest: give either --manifest or --views/--target, not both")
    if args.manifest is not None and args.out is None:
        raise ValueError("--out: required with --manifest (where the rows go)")
    if args.manifest is not None and not Path(args.manifest).is_file():
        raise FileNotFoundError(f"--manifest: {args.manifest} is not a file")
    if args.out is not None and Path(args.out).is_dir():
        raise IsADirectoryError(f"--out: {args.out} is a directory; expected a file for the rows")
    device = resolve_device(args.device)
    model = load(args.model or DEFAULT_MODEL, device=device)
    if args.manifest is None:
        views, acts, target = _load_query(model, args.views, args.actions, args.target, "query", Path("."))
        est = infer_action(model, views.to(device), acts.to(device), target.to(device), grid_size=args.grid_size)
        row = _row(est, 0)
        if "angle_deg" in row:
            print(f"quaternion (x, y, z, w): {', '.join(f'{v:.4f}' for v in row['quaternion_xyzw'])}")
            print(f"axis-angle: {row['angle_deg']:.1f} deg about ({', '.join(f'{v:.3f}' for v in row['axis'])})")
        if row["action_space"] != "rotation":
            print(f"action ({row['action_space']}): {', '.join(f'{v:.4f}' for v in row['action'])}")
        print(f"score (cosine): {row['score']:.4f}")
        return 0
    base = Path(args.manifest).parent
    rows = []
    for n, query in iter_json_objects(Path(args.manifest).read_text(encoding="utf-8"), "--manifest"):
        where = f"--manifest line {n}"
        views, acts, target = _load_query(model, query.get("views"), query.get("actions"), query.get("target"), where, base)
        est = infer_action(model, views.to(device), acts.to(device), target.to(device), grid_size=args.grid_size)
        rows.append({"query": n, **_row(est, 0)})
    atomic_write_text(args.out, "".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0
