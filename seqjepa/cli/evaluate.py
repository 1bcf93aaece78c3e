"""``seqjepa eval``, ``seqjepa eval-report`` and ``seqjepa finetune``."""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

from ..utils.files import check_replaceable, mark_output
from ._options import non_negative_float, non_negative_int, positive_int, resolve_device, worker_count


def register(sub: argparse._SubParsersAction) -> None:
    from ..eval.protocols import PROTOCOLS

    p = sub.add_parser("eval", help="evaluate a frozen model with one of the paper's protocols")
    p.add_argument("--model", default=None, help="registry name or model directory (default: the shipped small model)")
    p.add_argument("--data-root", help="dataset root (train and val splits)")
    p.add_argument("--ood-root", help="3DIEBench-OOD root (protocol ood-rot: probes train on --data-root, test here)")
    p.add_argument("--protocol", required=True, choices=sorted([*PROTOCOLS, "world-model"]))
    p.add_argument("--out", required=True, help="directory for report.json, report.md and the plots")
    p.add_argument("--max-views", type=positive_int, default=8, help="views per sequence: z_AGG is probed for M_val = 1..this (default 8)")
    p.add_argument("--epochs", type=positive_int, default=100, help="probe epochs over the cached features (default 100)")
    p.add_argument("--probe-batch-size", type=positive_int, default=256)
    p.add_argument("--lr", type=non_negative_float, default=4e-4, help="probe learning rate (official offline eval: 4e-4)")
    p.add_argument("--weight-decay", type=non_negative_float, default=1e-3, help="on probe weights, not biases (official: 1e-3)")
    p.add_argument("--optimizer", choices=("adamw", "adam"), default="adamw", help="adam + --lr 1e-3 --weight-decay 0 is SIE's probe")
    p.add_argument("--batch-size", type=positive_int, default=64, help="sequences per feature-extraction batch")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1... (default: cuda when available)")
    p.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"), default="auto", help="auto: bf16 autocast on a GPU that has it, fp32 on a CPU")
    p.add_argument("--workers", type=worker_count, default=0, help="data-loading worker processes (at most 64)")
    p.add_argument("--max-train", type=positive_int, help="evaluate a seeded random subset of this many training sequences")
    p.add_argument("--max-val", type=positive_int, help="same for the val/test split")
    p.add_argument("--redraw", type=non_negative_int, default=0, metavar="N",
                   help="draw N different training view sets and cycle through them across probe epochs "
                        "(N = --epochs is the official protocol that redraws views every epoch; slow)")
    p.add_argument("--mlp-width", type=positive_int, help="hidden width of the MLP probes instead of the paper's 1024 (quick checks)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--bootstrap", type=positive_int, default=200, metavar="B",
                   help="resamples of the val sequences behind each number's ± (bootstrap std; at least 2; default 200)")
    p.add_argument("--cache-dir", help="feature cache (default: $SEQJEPA_CACHE/eval-features or ~/.cache/seqjepa/eval-features)")
    p.add_argument("--no-cache", action="store_true", help="extract features in memory only")
    p.add_argument("--dataset", metavar="MODULE:CALLABLE",
                   help="your own contract dataset: CALLABLE(protocol, root, split, num_views, config, seed) -> dataset")
    p.add_argument("--compare", metavar="MODEL", help="world-model: a second model reported beside the first (e.g. the no-action arm)")
    p.add_argument("--world-views", type=positive_int, default=3, help="world-model: observed views per query (default 3)")
    p.add_argument("--candidates", type=positive_int, default=8, help="world-model: retrieval candidates and rollout horizon (default 8)")
    from ._eval_console import QUICK

    p.add_argument("--quick", action="store_true",
                   help="a first look in minutes, not a measurement: " + ", ".join(
                       f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items()) + " (an option set to another value than its default wins)")
    p.set_defaults(func=run_eval)

    r = sub.add_parser("eval-report", help="combine several eval reports into an M_tr x M_val top-1 heatmap")
    r.add_argument("--runs", nargs="+", required=True, help="report.json files (or directories holding one), one per M_tr")
    r.add_argument("--out", required=True)
    r.set_defaults(func=run_eval_report)

    f = sub.add_parser("finetune", help="fine-tune a classifier on an image folder or 3DIEBench-layout data")
    f.add_argument("--model", default=None, help="registry name or model directory (default: the shipped small model)")
    f.add_argument("--data", required=True, help="ImageFolder root (with train/ and optional val/ inside, or classes directly) or a 3DIEBench root")
    f.add_argument("--layout", choices=("imagefolder", "3diebench"), default="imagefolder")
    f.add_argument("--out", required=True, help="directory for the fine-tuned model (config.json + model.safetensors); "
                   "must be new or empty unless --overwrite")
    f.add_argument("--overwrite", action="store_true",
                   help="write over an --out that an earlier seqjepa finetune wrote (nothing else is replaced)")
    f.add_argument("--on", choices=("invariant", "equivariant", "both"), default=None,
                   help="features to classify (imagefolder: equivariant only; 3diebench default: invariant)")
    f.add_argument("--num-views", type=positive_int, default=3, help="3diebench: views per sequence (default 3)")
    f.add_argument("--epochs", type=positive_int, default=10, help="passes over the training items (default 10)")
    f.add_argument("--batch-size", type=positive_int, default=64, help="items per step (default 64)")
    f.add_argument("--backbone-lr", type=non_negative_float, default=1e-4,
                   help="AdamW learning rate of the pretrained encoder and aggregator (default 1e-4)")
    f.add_argument("--head-lr", type=non_negative_float, default=1e-3, help="AdamW learning rate of the new head (default 1e-3)")
    f.add_argument("--weight-decay", type=non_negative_float, default=0.0, help="AdamW weight decay (default 0)")
    f.add_argument("--freeze-encoder", action="store_true", help="keep the encoder's weights and BatchNorm statistics fixed")
    f.add_argument("--freeze-aggregator", action="store_true", help="keep the aggregator fixed (invariant features)")
    f.add_argument("--max-train", type=positive_int,
                   help="train on a seeded (--seed), class-stratified subset of N training items (default: all)")
    f.add_argument("--device", default="auto", help="cpu, cuda, cuda:1... (default: cuda when available)")
    f.add_argument("--seed", type=non_negative_int, default=0, help="seed of the head's initialization, the order and the subset (default 0)")
    f.set_defaults(func=run_finetune)


def _device(name: str) -> str:
    return resolve_device(name)


def _directory(path, option: str, *, required: bool = True) -> None:
    """An input directory that must exist (checked before a model is loaded or a feature cache consulted)."""
    if path is None:
        if required:
            raise ValueError(f"{option}: required")
        return
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"{option}: {path} is not a directory ({'a file' if p.exists() else 'no such directory'})")


def _output_dir(path, option: str = "--out") -> None:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise FileExistsError(f"{option}: {path} exists and is not a directory")


_FINETUNE_KIND = "finetune"


def _finetune_out(path, overwrite: bool) -> None:
    """``--out`` of finetune, checked before work as every command that writes checks it: new or empty, or with
    ``--overwrite`` a directory an earlier ``seqjepa finetune`` wrote; never the root, home or working directory."""
    _output_dir(path)
    check_replaceable(path, what="--out", kind=_FINETUNE_KIND)
    p = Path(os.path.expanduser(os.fspath(path)))
    if not overwrite and p.is_dir() and any(p.iterdir()):
        raise FileExistsError(f"--out: {path} already holds a fine-tuned model; pass --overwrite to replace it "
                              "or choose another directory")


def _load_model(name, device: str):
    from ..zoo._loading import is_local_path
    from ..zoo.factory import DEFAULT_MODEL, load

    name = name or DEFAULT_MODEL
    model = load(name, device=device)
    return model, (None if is_local_path(name) else name)


def _import_callable(spec: str):
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"--dataset: expected MODULE:CALLABLE, got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--dataset: cannot import {spec!r}: {exc}") from exc
    if not callable(fn):
        raise ValueError(f"--dataset: {spec!r} is not callable")
    return fn


_EVAL_DEFAULTS = {"epochs": 100, "max_views": 8, "max_train": None, "max_val": None, "bootstrap": 200, "mlp_width": None}


def run_eval(args: argparse.Namespace) -> int:
    import importlib.util
    import logging
    import time

    from ..eval import EvalOptions, ProbeSettings, run_protocol, write_report
    from ..zoo.factory import DEFAULT_MODEL, describe_weights
    from ._eval_console import apply_quick, format_elapsed, summary_table

    start = time.perf_counter()
    log = logging.getLogger("seqjepa.eval")
    if args.protocol == "world-model":
        return run_world_model_eval(args)
    device = _device(args.device)
    _output_dir(args.out)
    if getattr(args, "quick", False):
        changed = apply_quick(args, _EVAL_DEFAULTS)
        log.info("--quick: %s (a first look, not a measurement)",
                 ", ".join(f"{k.replace('_', '-')}={v}" for k, v in changed.items()) or "nothing left to change")
    if importlib.util.find_spec("matplotlib") is None:
        log.warning("matplotlib is not installed: this evaluation writes report.json and report.md without the plots "
                    "(pip install 'seqjepa[plots]' for them)")
    options = EvalOptions(
        max_views=args.max_views,
        probe=ProbeSettings(epochs=args.epochs, batch_size=args.probe_batch_size, lr=args.lr, weight_decay=args.weight_decay,
                            optimizer=args.optimizer, seed=args.seed, device=device),
        batch_size=args.batch_size, device=device, precision=args.precision, num_workers=args.workers,
        max_train=args.max_train, max_val=args.max_val, redraw=args.redraw, seed=args.seed, mlp_width=args.mlp_width,
        bootstrap=args.bootstrap,
    )
    factory = _import_callable(args.dataset) if args.dataset else None
    if factory is None and not args.data_root:
        raise ValueError("--data-root: required (or pass --dataset MODULE:CALLABLE)")
    if factory is None:
        _directory(args.data_root, "--data-root")
        _directory(args.ood_root, "--ood-root", required=False)
    if args.cache_dir is not None and Path(args.cache_dir).exists() and not Path(args.cache_dir).is_dir():
        raise FileExistsError(f"--cache-dir: {args.cache_dir} exists and is not a directory")
    cache_dir = None
    if not args.no_cache:
        cache_dir = args.cache_dir or os.path.join(
            os.environ.get("SEQJEPA_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "seqjepa")), "eval-features")
    model, name = _load_model(args.model, device)
    results = run_protocol(model, args.protocol, data_root=args.data_root, ood_root=args.ood_root, options=options,
                           cache_dir=cache_dir, dataset_factory=factory, model_name=name,
                           weights_sha256=describe_weights(args.model or DEFAULT_MODEL)["weights_sha256"])
    paths = write_report(results, args.out)
    table = summary_table(results)
    if table:
        print("\n".join(table))
    print(f"wrote {paths['json']}, {paths['markdown']}" + "".join(f", {p}" for p in paths["plots"]))
    print(f"done in {format_elapsed(time.perf_counter() - start)}")
    return 0


def run_eval_report(args: argparse.Namespace) -> int:
    from ..eval.report import write_heatmap_report

    _output_dir(args.out)
    paths = write_heatmap_report(args.runs, args.out)
    print(f"wrote {paths['png']}, {paths['json']}")
    return 0


def run_finetune(args: argparse.Namespace) -> int:
    import torch

    from ..train.finetune import Classifier, fit_classifier, evaluate_classifier

    torch.manual_seed(args.seed)
    device = _device(args.device)
    _directory(args.data, "--data")
    _finetune_out(args.out, args.overwrite)
    args.out = os.path.expanduser(args.out)
    if args.layout == "imagefolder" and args.on not in (None, "equivariant"):
        raise ValueError(f"--on: image folders hold single images, so only 'equivariant' applies, got {args.on!r}")
    model, _ = _load_model(args.model, device)
    if args.layout == "imagefolder":
        if args.on not in (None, "equivariant"):
            raise ValueError(f"--on: image folders hold single images, so only 'equivariant' applies, got {args.on!r}")
        on = "equivariant"
        train_set, val_set, num_classes = _image_folders(Path(args.data), model)
    else:
        on = args.on or "invariant"
        try:
            from ..data import ThreeDIEBench
        except ImportError as exc:
            raise ValueError(f"--layout 3diebench needs seqjepa.data, which is not importable: {exc}") from exc
        cfg = model.config
        kw = dict(num_views=args.num_views, action_space=cfg.action_space, image_size=cfg.image_size, mean=cfg.mean, std=cfg.std, seed=args.seed)
        train_set, val_set = ThreeDIEBench(args.data, split="train", **kw), ThreeDIEBench(args.data, split="val", **kw)
        num_classes = int(train_set.num_classes)
    if args.max_train:
        train_set = _training_subset(train_set, args.max_train, args.seed)
    clf = Classifier(model, num_classes, on, freeze_encoder=args.freeze_encoder, freeze_aggregator=args.freeze_aggregator).to(device)
    optimizer = torch.optim.AdamW(clf.param_groups(args.backbone_lr, args.head_lr, args.weight_decay))
    loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    for epoch in range(args.epochs):
        loss = fit_classifier(clf, loader, optimizer, device=device)
        msg = f"epoch {epoch + 1}/{args.epochs}: train loss {loss:.4f}"
        if val_set is not None:
            acc = evaluate_classifier(clf, torch.utils.data.DataLoader(val_set, batch_size=args.batch_size), device=device)
            msg += f", val top-1 {acc:.2f}%"
        print(msg)
    clf.save_pretrained(args.out)
    mark_output(args.out, kind=_FINETUNE_KIND)
    print(f"saved the fine-tuned classifier to {args.out}; reload it with seqjepa.load_finetuned({os.fspath(args.out)!r})")
    return 0


def _training_subset(train_set, size: int, seed: int):
    """--max-train: a seeded, class-stratified subset, and a line saying what it holds."""
    import logging
    from collections import Counter

    import torch

    from ..train.finetune import stratified_subset

    labels = getattr(train_set, "targets", None)
    if labels is None:
        labels = train_set.labels
    if size >= len(labels):
        logging.getLogger("seqjepa.train").info("--max-train %d: the training split has only %d items; all are used", size, len(labels))
        return train_set
    indices = stratified_subset(labels, size, seed)
    counts = Counter(int(labels[i]) for i in indices)
    logging.getLogger("seqjepa.train").info(
        "--max-train %d: a class-stratified subset (seed %d) of %d training items, %d to %d per class over %d classes",
        size, seed, len(labels), min(counts.values()), max(counts.values()), len(counts))
    return torch.utils.data.Subset(train_set, indices)


def _image_folders(root: Path, model):
    from torchvision.datasets import ImageFolder

    if not root.is_dir():
        raise FileNotFoundError(f"--data: {root} is not a directory")
    train_dir = root / "train" if (root / "train").is_dir() else root
    val_dir = next((root / n for n in ("val", "test") if (root / n).is_dir()), None)
    train = ImageFolder(str(train_dir), transform=model.transform)
    val = ImageFolder(str(val_dir), transform=model.transform) if val_dir is not None else None
    if val is not None and val.classes != train.classes:
        raise ValueError(f"--data: {val_dir} has classes {val.classes}, {train_dir} has {train.classes}")
    if len(train.classes) < 2:
        raise ValueError(f"--data: expected at least 2 class folders in {train_dir}, got {train.classes}")
    return train, val, len(train.classes)


def run_world_model_eval(args: argparse.Namespace) -> int:
    """``seqjepa eval --protocol world-model``: the model, the untrained network of its architecture and ``--compare``."""
    import torch

    from ..eval.world_model import WorldModelOptions, run_world_model, write_world_model_report
    from ..zoo.factory import create_model

    device = _device(args.device)
    _output_dir(args.out)
    _directory(args.data_root, "--data-root")
    options = WorldModelOptions(num_views=args.world_views, candidates=args.candidates, draws=max(2, args.redraw or 3),
                                max_objects=args.max_val, batch_size=args.batch_size, seed=args.seed)
    model, name = _load_model(args.model, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        untrained = create_model(model.config).to(device).eval()
    models = {name or str(args.model): model, "untrained": untrained}
    if args.compare:
        models[args.compare] = _load_model(args.compare, device)[0]
    results = run_world_model(models, args.data_root, options=options)
    paths = write_world_model_report(results, args.out)
    print(f"wrote {paths['json']}, {paths['markdown']}" + "".join(f", {p}" for p in paths["plots"]))
    return 0
