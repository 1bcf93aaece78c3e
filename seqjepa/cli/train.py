"""``seqjepa train`` and ``seqjepa export-run`` (``seqjepa export NAME`` belongs to the model zoo commands)."""

from __future__ import annotations

import argparse
import os
import sys

from ._options import add_target_encoder_option, include_target_encoder, resolve_device


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="pretrain seq-JEPA from a recipe (torchrun for several GPUs or nodes)",
        description="Pretrain seq-JEPA. Several GPUs: torchrun --nproc-per-node N -m seqjepa.train --recipe ...",
    )
    p.add_argument("--recipe", required=True, help="a shipped recipe name (see `seqjepa recipes`) or a recipe .json path")
    p.add_argument("--data-root", default=None, help="dataset root directory")
    p.add_argument("--output", required=True, help="run directory: checkpoints, metrics.jsonl, recipe.json")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a recipe value, e.g. --set train.epochs=10 --set optim.schedule=paper "
                        "(VALUE is JSON, or else a string; repeatable)")
    p.add_argument("--resume", default=None, metavar="auto|PATH",
                   help="'auto': continue from the newest valid checkpoint in --output; or a checkpoint path")
    p.add_argument("--allow-recipe-change", action="store_true",
                   help="with --resume: continue although the recipe differs from the checkpoint's (outside the model "
                        "section); the change is recorded in OUTPUT/recipe-changes.jsonl")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    p.add_argument("--allow-dataset-code", action="store_true",
                   help="let a recipe's data.dataset 'module:callable' import and call that Python code (only for "
                        "recipes you trust: it runs with your rights)")
    p.set_defaults(func=run_train)

    e = sub.add_parser("export-run", help="export a training run to config.json + model.safetensors (seqjepa.load reads it)")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--to", required=True, metavar="DIR", help="output directory")
    e.add_argument("--checkpoint", default=None, help="a specific checkpoint (default: the newest valid one in RUN_DIR)")
    add_target_encoder_option(e, legacy_include_flag=True)
    e.set_defaults(func=run_export)

    r = sub.add_parser("recipes", help="list the shipped training recipes")
    r.set_defaults(func=run_list)


def _check_dataset_code(name: str, allowed: bool) -> None:
    """A recipe's ``"module:callable"`` dataset is code: imported and called only when the command line says so
    (``"os:system"`` would run a shell command). Named datasets need no flag."""
    from ..train.datasets import KNOWN_DATASETS

    if name in KNOWN_DATASETS or allowed:
        return
    raise ValueError(
        f"data.dataset: {name[:80]!r} names Python code (module:callable) that training would import and call; "
        "pass --allow-dataset-code if you trust this recipe, or use a named dataset "
        f"({', '.join(sorted(KNOWN_DATASETS))})")


def run_train(args: argparse.Namespace) -> int:
    """Every argument is checked before anything is created, locked or loaded; Ctrl-C saves and exits 130."""
    from pathlib import Path

    from ..train import Trainer, load_recipe
    from ..train.datasets import check_data_arguments

    # "--output=~/x" reaches us unexpanded (the shell expands ~ only at the start of a word): a literal "./~"
    # directory is never what was meant
    args.output = os.path.expanduser(args.output)
    if args.data_root is not None:
        args.data_root = os.path.expanduser(args.data_root)
    if args.resume is not None and args.resume != "auto":
        args.resume = os.path.expanduser(args.resume)
    if args.resume is not None and args.resume != "auto" and not Path(args.resume).is_file():
        raise FileNotFoundError(f"--resume: expected 'auto' or a checkpoint file, got {args.resume!r} (no such file)")
    if args.allow_recipe_change and args.resume is None:
        raise ValueError("--allow-recipe-change: only applies with --resume")
    if Path(args.output).exists() and not Path(args.output).is_dir():
        raise FileExistsError(f"--output: {args.output} exists and is not a directory")
    recipe = load_recipe(args.recipe, args.set)
    _check_dataset_code(recipe["data"]["dataset"], args.allow_dataset_code)
    check_data_arguments(recipe, args.data_root)
    if args.device is not None:
        resolve_device(args.device)
    trainer = Trainer(recipe, args.output, data_root=args.data_root, resume=args.resume, device=args.device,
                      allow_recipe_change=args.allow_recipe_change)
    result = trainer.run()
    print(f"{result.status}: epoch {result.epoch}, step {result.global_step}, checkpoint {result.checkpoint}", flush=True)
    return 130 if result.reason == "Ctrl-C" else 0


def run_export(args: argparse.Namespace) -> int:
    from ..train import export_run

    source, _ = export_run(args.run_dir, args.to, checkpoint=args.checkpoint, include_target_encoder=include_target_encoder(args))
    print(f"exported {source} -> {args.to}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..train import list_recipes, load_recipe

    for name in list_recipes():
        r = load_recipe(name)
        t = r["train"]
        print(f"{name:24s} M={r['data']['num_views']} A={r['model'].get('action_dim', 4)} "
              f"batch={t['batch_size']} epochs={t['epochs']} optim={r['optim']['optimizer']}/{r['optim']['schedule']}")
    sys.stdout.flush()
    return 0
