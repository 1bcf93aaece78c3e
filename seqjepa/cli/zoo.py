"""``seqjepa list | info | download | export``: the model zoo from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any, Optional

from ._options import add_target_encoder_option, include_target_encoder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="the registry's models as a table: parameters, input, headline numbers, weights, cached")
    p.add_argument("--json", action="store_true", help="print the same as a JSON list (with each model's description)")
    p.set_defaults(func=run_list)

    p = sub.add_parser("info", help="a short summary of a model's registry card (--json: the whole card)")
    p.add_argument("name", help="registry name or alias")
    p.add_argument("--json", action="store_true", help="print the whole card as JSON")
    p.add_argument("--all", action="store_true", help="print every field of the card, one flattened line each")
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


_COLUMNS = ("name", "backbone", "parameters", "input", "top-1 z_AGG @M_val", "action R²", "weights", "cached")


def _cached(card) -> tuple[str, Optional[int]]:
    """Whether ``card``'s weights are on this machine (no network), and their size when a record knows it."""
    from ..zoo import _cache as hc

    src = card.source
    if src.kind == "package":
        return "in package", src.size
    cache = hc.hub_cache_dir()
    record = hc.read_record(cache, card.name, src.revision)
    if record is not None and record.get("repo") == src.repo and isinstance(record.get("commit"), str):
        converted = hc.converted_dir(cache, card.name, record["commit"]) / "model.safetensors"
        filename = record.get("filename")
        if converted.is_file() or (isinstance(filename, str) and hc.cached_file(cache, src.repo, filename, record["commit"])):
            return "yes", record.get("size")
    if src.filename and src.repo and hc.cached_file(cache, src.repo, src.filename, src.revision or "main"):
        return "yes", src.size
    return "no", None


def _parameters(card) -> int:
    """Parameters inference uses (no EMA target encoder), counted on a model built on the meta device."""
    import torch

    from ..models.model import SeqJEPA

    with torch.device("meta"):
        model = SeqJEPA(card.config)
    return sum(p.numel() for n, p in model.named_parameters() if not n.startswith("target_encoder."))


def zoo_rows() -> list[dict[str, Any]]:
    """One row per registry model: the cells of ``seqjepa list`` (no network; nothing is loaded)."""
    from ..models._naming import backbone_label, format_parameters
    from ..zoo import _glance
    from ..zoo.registry import get_pretrained_cfg, list_pretrained

    rows = []
    for name in list_pretrained():
        card = get_pretrained_cfg(name)
        doc = card.to_dict()
        cached, size = _cached(card)
        weights = _glance.weights_size(doc)
        if weights == _glance.DASH and isinstance(size, int):
            weights = _glance.weights_size({"source": {"size": size}})
        count = _parameters(card)
        rows.append({
            "name": name, "backbone": backbone_label(card.config.backbone, card.config.backbone_kwargs),
            "parameters": format_parameters(count), "input": _glance.input_size(doc),
            "top-1 z_AGG @M_val": _glance.headline_top1(doc), "action R²": _glance.headline_r2(doc),
            "weights": weights, "cached": cached, "parameter_count": count, "description": card.description,
        })
    return rows


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    widths = [max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)).rstrip() for r in rows]
    return lines


def run_list(args: argparse.Namespace) -> int:
    rows = zoo_rows()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print("\n".join(_table(rows, _COLUMNS)))
    print("top-1: linear probe on z_AGG (%) at M_val views; R²: relative action from [z_0, z_1]; (paper): reported, "
          "not measured here; (untrained): same metric, untrained network. `seqjepa info NAME` for more.")
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


def _summary(card) -> list[str]:
    """A few lines: what the model is, where its weights come from, its headline numbers."""
    from ..models._naming import backbone_label
    from ..zoo import _glance

    doc, c, src = card.to_dict(), card.config, card.source
    cached, _ = _cached(card)
    if src.kind == "package":
        weights = f"inside the package ({_glance.weights_size(doc)}, sha256 {src.sha256})"
    else:
        pin = f"pinned at {src.revision[:10]}, sha256-checked" if src.pinned else \
            "not pinned yet: the newest matching file, hashed and recorded on first download"
        weights = f"{src.repo} {src.filename or repr(src.file_pattern)} ({src.format}; {pin}); cached: {cached}"
    actions = f"{c.action_space} ({c.action_dim}-d)" if c.action_conditioned else "none (no action conditioning)"
    training = card.training if isinstance(card.training, dict) else {}
    lines = [
        f"{card.name}: {' '.join(card.description.split())}",
        f"  aliases     {', '.join(card.aliases) or _glance.DASH}",
        f"  backbone    {backbone_label(c.backbone, c.backbone_kwargs)}, input {_glance.input_size(doc)}, actions {actions}",
        f"  trained on  {' '.join(str(training.get('dataset', _glance.DASH)).split())} (M_tr={c.train_seq_len})",
        f"  top-1       {_glance.headline_top1(doc)}   action R²  {_glance.headline_r2(doc)}",
        f"  numbers     {len(card.reported)} reported, {len(card.measured)} measured (seqjepa info {card.name} --json)",
        f"  weights     {weights}",
        f"  license     {' '.join(card.license.split())}",
    ]
    return lines


def run_info(args: argparse.Namespace) -> int:
    from ..zoo.registry import get_pretrained_cfg

    card = get_pretrained_cfg(args.name)
    if args.json:
        print(json.dumps(card.to_dict(), indent=2))
        return 0
    if args.all:
        rows: list[tuple[str, str]] = []
        _flatten("", card.to_dict(), rows)
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        return 0
    print("\n".join(_summary(card)))
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
