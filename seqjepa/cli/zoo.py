"""``seqjepa list | info | download | export``: the model zoo from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._options import add_target_encoder_option, include_target_encoder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the registry's models with one-line descriptions")
    p.add_argument("--json", action="store_true", help="print a JSON list of {name, description}")
    p.set_defaults(func=run_list)

    p = sub.add_parser("info", help="show a model's registry card")
    p.add_argument("name", help="registry name or alias")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=run_info)

    p = sub.add_parser("download", help="fetch (and convert) a model into the cache; print what it resolved")
    p.add_argument("name", help="registry name or hf-hub:org/repo[@revision]")
    p.add_argument("--revision", default=None, help="branch, tag or 40-hex commit (default: the card's pin, else main)")
    p.add_argument("--cache-dir", default=None, help="Hugging Face cache directory (default: HF_HUB_CACHE / HF_HOME)")
    p.add_argument("--refresh", action="store_true", help="ask the Hub again even if an earlier resolution is recorded")
    p.add_argument("--json", action="store_true", help="print the resolution as JSON")
    p.set_defaults(func=run_download)

    p = sub.add_parser("export", help="write model.safetensors + config.json + README.md for publishing")
    p.add_argument("source", help="registry name, hf-hub:org/repo, a model directory or an official .pth")
    p.add_argument("--to", required=True, dest="out_dir", help="output directory")
    p.add_argument("--revision", default=None, help="branch, tag or 40-hex commit of a Hub source (default: the card's pin, else main)")
    p.add_argument("--cache-dir", default=None, help="Hugging Face cache directory (default: HF_HUB_CACHE / HF_HOME)")
    add_target_encoder_option(p)
    p.set_defaults(func=run_export)


def run_list(args: argparse.Namespace) -> int:
    from ..zoo.registry import get_pretrained_cfg, list_pretrained

    rows = [(name, get_pretrained_cfg(name).description) for name in list_pretrained()]
    if args.json:
        print(json.dumps([{"name": n, "description": d} for n, d in rows], indent=2))
        return 0
    width = max((len(n) for n, _ in rows), default=4)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            _flatten(f"{prefix}[{i}]", item, out)
    else:
        text = value if isinstance(value, str) else json.dumps(value)
        out.append((prefix, " ".join(str(text).split())))


def run_info(args: argparse.Namespace) -> int:
    from ..zoo.registry import get_pretrained_cfg

    card = get_pretrained_cfg(args.name).to_dict()
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    rows: list[tuple[str, str]] = []
    _flatten("", card, rows)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ..zoo.factory import download

    res = download(args.name, revision=args.revision, cache_dir=args.cache_dir, refresh=args.refresh)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 0
    print(f"{res.name}: {res.repo}@{res.commit} ({'from the cache' if res.from_cache else 'downloaded'}, "
          f"verified against: {res.verified_against})")
    for filename, meta in res.files.items():
        print(f"  {filename}  sha256 {meta.get('sha256')}  size {meta.get('size')}")
    if res.model_dir:
        print(f"  model directory: {res.model_dir}")
    if res.format == "official-pth":
        source = next(iter(res.files))
        print("to pin it, set in its card: "
              + json.dumps({"revision": res.commit, "filename": source, "sha256": res.files[source]["sha256"],
                            "size": res.files[source]["size"]}))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..zoo.publish import export

    out = export(args.source, args.out_dir, include_target_encoder=include_target_encoder(args),
                 revision=args.revision, cache_dir=args.cache_dir)
    print(f"wrote {out}/config.json, model.safetensors, README.md")
    return 0
