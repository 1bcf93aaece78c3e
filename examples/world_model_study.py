"""What makes a small seq-JEPA keep pose and use its actions: the cheap signals of the default model's study.

    python examples/world_model_study.py signals --run RUN [--epoch N] --data-root EVAL --out RESULT.json
    python examples/world_model_study.py signals --model tiny-toy3diebench --data-root EVAL --out RESULT.json
    python examples/world_model_study.py signals --untrained --data-root EVAL --out RESULT.json [--set ...]
    python examples/world_model_study.py supervised --data-root TRAIN --out CEILING/ --steps 6000
    python examples/world_model_study.py signals --supervised CEILING/ --data-root EVAL --out RESULT.json
    python examples/world_model_study.py table RESULT.json ... > table.md

``signals`` measures one network (a training run's checkpoint, the untrained network of a recipe, or the
supervised ceiling) on an evaluation root whose objects it never trained on (render one with a fresh
``--seed``). Three cheap signals, each with its spread over the ``--draws`` view draws:

- **action sensitivity**: mean cos(prediction with the true next action, z of the target view) minus the
  same with the next actions shuffled across the batch (also reported: the inverse rotation, a zero
  action, and cos(z of the last observed view, z of the target)). It says whether the predictor uses its
  action; it is 0 for a model that ignores it and for the no-action arm.
- **relative-rotation R²** from [z_0, z_1]: an MLP probe (hidden 256-256, 50 epochs, the evaluation
  protocol's AdamW at 4e-4 with weight decay 1e-3, on all train draws) fitted on the
  evaluation root's train split, scored with scikit-learn's R² on its val split.
- **top-1** from z_AGG with one and with three views, and from z: linear probes fitted the same way.

``supervised`` trains the recipe's encoder with a relative-rotation head on [z_0, z_1] (MSE), as an upper
bound on how much pose this encoder can keep at this scale; ``signals --supervised`` then measures its z
with the same probe (the predictor signals do not apply). Results are JSON; ``table`` prints them as
the rows of docs/toy-benchmark.md's study table: one row per network, each number the mean ± standard
deviation over the evaluation roots (fresh data seeds) given of that root's mean over view draws.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F

RECIPE = "toy-3diebench"
PROBE_HIDDEN = (256, 256)
PROBE_EPOCHS = 50


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sig = sub.add_parser("signals", help="measure one network on a fresh evaluation root")
    which = sig.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", type=Path, help="a `seqjepa train` output directory")
    which.add_argument("--untrained", action="store_true", help="the recipe's network as the trainer initializes it")
    which.add_argument("--supervised", type=Path, help="a directory written by the `supervised` command")
    which.add_argument("--model", help="a registry name or model directory (seqjepa.load)")
    sig.add_argument("--epoch", type=int, default=None, help="the run's epoch_N.pt (default: last.pt)")
    sig.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="recipe overrides for --untrained (repeatable)")
    sig.add_argument("--data-root", type=Path, required=True, help="evaluation root (a fresh data seed)")
    sig.add_argument("--draws", type=int, default=3, help="view draws per object (default 3)")
    sig.add_argument("--label", default=None, help="the row's name in the table (default: the run's folder)")
    sig.add_argument("--out", type=Path, required=True, help="result JSON")
    sup = sub.add_parser("supervised", help="train the encoder on relative rotation (the ceiling)")
    sup.add_argument("--data-root", type=Path, required=True, help="training root (data seed 0)")
    sup.add_argument("--out", type=Path, required=True)
    sup.add_argument("--steps", type=int, default=6000)
    sup.add_argument("--batch-size", type=int, default=128)
    sup.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    tab = sub.add_parser("table", help="print result files as markdown rows")
    tab.add_argument("results", type=Path, nargs="+")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------- networks
def load_network(args: argparse.Namespace) -> "tuple[Any, dict]":
    """The network to measure (online weights, eval mode) and a description of where it came from."""
    from seqjepa.models.model import SeqJEPA
    from seqjepa.train import load_recipe
    from seqjepa.train.checkpoint import load_checkpoint
    from seqjepa.train.recipe import model_config

    if args.model is not None:
        import seqjepa

        return seqjepa.load(args.model), {"network": args.model}
    if args.untrained:
        recipe = load_recipe(RECIPE, args.overrides)
        torch.manual_seed(recipe["train"]["seed"])
        return SeqJEPA(model_config(recipe), with_target_encoder=False).eval(), {"network": "untrained", "overrides": args.overrides}
    if args.supervised is not None:
        final = args.supervised / "supervised.pt"  # else the last periodic save of a run still going
        state = torch.load(final if final.is_file() else args.supervised / "partial.pt", weights_only=True)
        recipe = load_recipe(RECIPE, state["overrides"])
        model = SeqJEPA(model_config(recipe), with_target_encoder=False)
        model.encoder.load_state_dict(state["encoder"])
        return model.eval(), {"network": "supervised", "steps": state["steps"], "overrides": state["overrides"]}
    path = args.run / ("last.pt" if args.epoch is None else f"epoch_{args.epoch}.pt")
    state = load_checkpoint(path)
    model = SeqJEPA(model_config(state["recipe"]), with_target_encoder=False)
    model.load_state_dict({k: v for k, v in state["model"].items() if not k.startswith("target_encoder.")}, strict=True)
    return model.eval(), {"network": str(path), "epoch": int(state["epoch"]), "recipe": state["recipe"]}


def dataset(root: Path, split: str, config: Any, seed: int, num_views: int = 3):
    from seqjepa.data import ThreeDIEBench

    return ThreeDIEBench(root, split=split, num_views=num_views, action_space="rotation", image_size=config.image_size,
                         mean=config.mean, std=config.std, seed=seed, in_memory=True)


def batches(ds, draws: int, batch_size: int = 256):
    """Every object once per draw (draw d uses epoch d of the dataset's seeded view draws)."""
    for draw in range(draws):
        ds.set_epoch(draw)
        for start in range(0, len(ds), batch_size):
            items = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
            yield draw, {k: torch.stack([it[k] for it in items]) for k in ("views", "target", "actions", "label")}


# ---------------------------------------------------------------------------------------------- features
@torch.no_grad()
def features(model, ds, draws: int, with_predictions: bool) -> dict[str, torch.Tensor]:
    """z of every view, z_AGG after 1 and after all M views, labels, the first relative rotation, and
    (for the predictor signals) the cosines of the prediction under true, shuffled, inverse and zero actions."""
    from seqjepa.models.actions import quaternion_conjugate

    out: dict[str, list] = {k: [] for k in ("z", "zagg1", "zagg", "label", "rel", "draw", "cos")}
    gen = torch.Generator().manual_seed(0)
    for draw, b in batches(ds, draws):
        views, target, actions = b["views"], b["target"], b["actions"]
        z = model.equivariant_embedding(views)
        out["z"].append(z)
        out["zagg1"].append(model.aggregate(z[:, :1]) if not model.config.action_conditioned
                            else model.aggregate(z[:, :1], actions[:, :0]))
        obs = None if not model.config.action_conditioned else actions[:, :-1]
        zagg = model.aggregate(z, obs)
        out["zagg"].append(zagg)
        out["label"].append(b["label"])
        out["rel"].append(actions[:, 0])
        out["draw"].append(torch.full((len(views),), draw))
        if with_predictions:
            zt = model.equivariant_embedding(target)
            last = actions[:, -1]
            cands = {"true": last, "shuffled": last[torch.randperm(len(last), generator=gen)],
                     "inverse": quaternion_conjugate(last), "zero": torch.zeros_like(last)}
            row = {}
            for name, a in cands.items():
                pred = model.predict(zagg, a if model.config.action_conditioned else None)
                row[name] = F.cosine_similarity(pred, zt, dim=1)
            row["last_observed"] = F.cosine_similarity(z[:, -1], zt, dim=1)
            out["cos"].append(torch.stack([row[k] for k in ("true", "shuffled", "inverse", "zero", "last_observed")], 1))
    return {k: torch.cat(v) for k, v in out.items() if v}


def probe_score(train_x, train_y, val_x, val_y, *, task: str, hidden: Sequence[int]) -> float:
    from seqjepa.probes.offline import ProbeSettings, make_head, r2_score, top1_accuracy, train_probe

    # the evaluation protocol's probe optimizer (AdamW 4e-4, weight decay 1e-3) on the raw features, shorter
    out_dim = int(train_y.max()) + 1 if task == "classification" else train_y.shape[1]
    head = make_head(train_x.shape[1], out_dim, hidden)
    torch.manual_seed(0)
    head = train_probe(head, (train_x, train_y), task=task, settings=ProbeSettings(epochs=PROBE_EPOCHS))
    with torch.no_grad():
        pred = head(val_x)
    return top1_accuracy(val_y, pred) if task == "classification" else r2_score(val_y, pred)


def per_draw(train: dict, val: dict, key, target: str, task: str, hidden: Sequence[int]) -> list[float]:
    """One probe per draw of the val split (trained on all train draws): the spread is over view draws."""
    tx = key(train)
    scores = []
    for d in sorted(set(val["draw"].tolist())):
        keep = val["draw"] == d
        scores.append(probe_score(tx, train[target], key(val)[keep], val[target][keep], task=task, hidden=hidden))
    return scores


def summary(values: Sequence[float]) -> dict:
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}


def signals(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    start = time.monotonic()
    model, origin = load_network(args)
    cfg = model.config
    predictor = args.supervised is None
    train = features(model, dataset(args.data_root, "train", cfg, seed=0), args.draws, False)
    val = features(model, dataset(args.data_root, "val", cfg, seed=1), args.draws, predictor)
    result: dict[str, Any] = {"label": args.label or (args.run.name if args.run else origin["network"]), **origin,
                              "data_root": str(args.data_root.resolve()), "draws": args.draws}
    pair = lambda f: torch.cat([f["z"][:, 0], f["z"][:, 1]], 1)  # noqa: E731
    result["r2_rel"] = summary(per_draw(train, val, pair, "rel", "regression", PROBE_HIDDEN))
    result["top1_z"] = summary(per_draw(train, val, lambda f: f["z"][:, 0], "label", "classification", ()))
    result["top1_zagg1"] = summary(per_draw(train, val, lambda f: f["zagg1"], "label", "classification", ()))
    result["top1_zagg3"] = summary(per_draw(train, val, lambda f: f["zagg"], "label", "classification", ()))
    if predictor:
        cos = val["cos"]
        draws = val["draw"]
        by_draw = lambda col: [float(cos[draws == d, col].mean()) for d in range(args.draws)]  # noqa: E731
        sens = [t - s for t, s in zip(by_draw(0), by_draw(1))]
        result["sensitivity"] = summary(sens)
        for i, name in enumerate(("true", "shuffled", "inverse", "zero", "last_observed")):
            result[f"cos_{name}"] = summary(by_draw(i))
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


# ---------------------------------------------------------------------------------------------- ceiling
def supervised(args: argparse.Namespace) -> None:
    """The recipe's encoder trained on relative rotation from [z_0, z_1] with an MLP head (MSE)."""
    from seqjepa.models.model import SeqJEPA
    from seqjepa.train import load_recipe
    from seqjepa.train.recipe import model_config

    torch.set_num_threads(1)
    recipe = load_recipe(RECIPE, args.overrides)
    torch.manual_seed(recipe["train"]["seed"])
    model = SeqJEPA(model_config(recipe), with_target_encoder=False)
    cfg = model.config
    encoder = model.encoder.train()
    d = cfg.encoder_dim
    head = torch.nn.Sequential(torch.nn.Linear(2 * d, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 4))
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-3)
    ds = dataset(args.data_root, "train", cfg, seed=0, num_views=1)
    args.out.mkdir(parents=True, exist_ok=True)
    step, epoch, seconds, start = 0, 0, 0.0, time.monotonic()
    partial = args.out / "partial.pt"
    if partial.is_file():  # go on from the last save (every 250 steps), at the start of its epoch
        state = torch.load(partial, weights_only=True)
        encoder.load_state_dict(state["encoder"]), head.load_state_dict(state["head"]), opt.load_state_dict(state["optim"])
        step, epoch, seconds = state["steps"], state["epoch"], state["seconds"]
    while step < args.steps:
        ds.set_epoch(epoch)
        order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(epoch))
        for s in range(0, len(order) - args.batch_size + 1, args.batch_size):
            items = [ds[int(i)] for i in order[s : s + args.batch_size]]
            x = torch.stack([torch.stack([it["views"][0], it["target"]]) for it in items])
            y = torch.stack([it["actions"][0] for it in items])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                z = encoder(x.flatten(0, 1)).view(len(items), 2, -1)
                pred = head(z.flatten(1)).float()
            loss = F.mse_loss(pred, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % 250 == 0:
                elapsed = seconds + time.monotonic() - start
                print(f"step {step}/{args.steps} loss {loss.item():.4f} {elapsed:.0f} s", flush=True)
                torch.save({"encoder": encoder.state_dict(), "head": head.state_dict(), "optim": opt.state_dict(),
                            "steps": step, "epoch": epoch, "seconds": elapsed, "overrides": args.overrides}, partial)
            if step >= args.steps:
                break
        epoch += 1
    torch.save({"encoder": encoder.state_dict(), "steps": step, "overrides": args.overrides,
                "seconds": seconds + time.monotonic() - start}, args.out / "supervised.pt")


# ---------------------------------------------------------------------------------------------- table
METRICS = (("r2_rel", 3, 1.0), ("sensitivity", 4, 1.0), ("cos_true", 3, 1.0), ("cos_shuffled", 3, 1.0),
           ("top1_z", 1, 1.0), ("top1_zagg1", 1, 1.0), ("top1_zagg3", 1, 1.0))


def across_seeds(results: Sequence[dict]) -> dict:
    """One row from the results of one network on several evaluation roots: for each metric, the mean and
    standard deviation over the roots of each root's mean (the spread over data seeds)."""
    row: dict[str, Any] = {"label": results[0]["label"], "epoch": results[0].get("epoch", results[0].get("steps", "-")),
                           "seeds": len(results)}
    for key, _, _ in METRICS:
        means = [r[key]["mean"] for r in results if key in r]
        if means:
            row[key] = summary(means)
    return row


def fmt(cell: Optional[dict], digits: int) -> str:
    if not cell:
        return "n/a"
    return f"{cell['mean']:.{digits}f} ± {cell['std']:.{digits}f}"


def table(paths: Sequence[Path]) -> str:
    """Markdown rows, one per (label, epoch), each metric as mean ± std over the evaluation roots given."""
    groups: dict[tuple, list[dict]] = {}
    for path in paths:
        r = json.loads(path.read_text())
        groups.setdefault((r["label"], str(r.get("epoch", r.get("steps", "-")))), []).append(r)
    rows = ["| run | epoch | data seeds | R² [z_0, z_1] | action sensitivity | cos true / shuffled | top-1 z (%) | "
            "top-1 z_AGG M=1 (%) | top-1 z_AGG M=3 (%) |", "|---|---|---|---|---|---|---|---|---|"]
    for results in groups.values():
        row = across_seeds(results)
        cos = "n/a" if "cos_true" not in row else f"{row['cos_true']['mean']:.3f} / {row['cos_shuffled']['mean']:.3f}"
        rows.append(f"| {row['label']} | {row['epoch']} | {row['seeds']} | {fmt(row.get('r2_rel'), 3)} | "
                    f"{fmt(row.get('sensitivity'), 4)} | {cos} | {fmt(row.get('top1_z'), 1)} | "
                    f"{fmt(row.get('top1_zagg1'), 1)} | {fmt(row.get('top1_zagg3'), 1)} |")
    return "\n".join(rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.command == "signals":
        result = signals(args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(table([args.out]).splitlines()[-1])
    elif args.command == "supervised":
        supervised(args)
    else:
        print(table(args.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
