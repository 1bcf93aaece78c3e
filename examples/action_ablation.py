"""The paper's action-conditioning ablation on the procedural 3DIEBench, as a curve over training epochs.

    python examples/action_ablation.py --work ablation/          # CPU: both arms at once, one per core
    python examples/action_ablation.py --work ablation/ --device cuda --epochs 1000

seq-JEPA conditions its aggregator and predictor on the relative actions between views. The paper
(arXiv 2505.03176, Table 1) trains the same model without them and finds that z keeps much less
rotation: relative-rotation R² 0.71 with actions, 0.29 without. This script runs that comparison on
data it renders itself, and measures every number on objects the models never trained on:

1. renders the training set (data seed 0) and one evaluation set per ``--eval-seeds`` (fresh seeds)
   in the default model's scene: colours drawn independently per face, white light, rotations
   within +-45 degrees;
2. trains the ``toy-3diebench`` recipe twice, with and without ``model.action_conditioned``, each
   arm in its own ``seqjepa train --resume auto`` process (on a CPU both at once, one thread each;
   rerun the same command to go on after an interruption);
3. the curve: the kept checkpoints (``epoch_N.pt``, every ``--curve-every`` epochs) and the untrained
   network (epoch 0, seeded as the trainer seeds it) of both arms go through the 3DIEBench rotation protocol with quick probes
   on each evaluation set (probes train on its train split, are scored on its val split);
4. the final numbers: the last checkpoint of both arms and the untrained full model, with the
   paper's probe width (MLP 1024-1024) and longer probe training, on each evaluation set;
5. writes ``curve.json``, ``curve.png`` (rotation R² and top-1 of both arms against epochs, mean and
   standard deviation over the evaluation seeds), ``final.json``, ``summary.md`` with the verdict, and
   ``card_measured.json``: the final numbers as model-card rows (mean, spread, seeds, untrained floor).

Every step keeps its results under ``--work`` and is skipped when they are already there.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

ARMS = {
    "actions": [],
    "no-actions": ["model.action_conditioned=false", "model.learn_action_embedding=false"],
}
#: the default model's scene; the evaluation sets differ from the training set only in their seed
SCENE = {"classes": 8, "size": 32, "light_color": "white", "face_colors": "independent", "max_angle": math.radians(45)}
#: quick probes for the curve (many checkpoints) and the protocol's probes for the final numbers
PROBES = {
    "curve": {"max_views": 3, "redraw": 2, "epochs": 50, "mlp_width": 256},
    "final": {"max_views": 8, "redraw": 5, "epochs": 200, "mlp_width": None},
}
#: the numbers the curve and the summary follow: (report key path, label)
METRICS = (
    (("r2", "rotation"), "rotation R² from [z_0, z_1]"),
    (("r2", "individual_rotation"), "individual rotation R² from z"),
    (("r2", "rotation_from_zagg"), "rotation R² from z_AGG"),
    (("top1_z",), "top-1 from z (%)"),
    (("top1_zagg", "1"), "top-1 from z_AGG, M_val=1 (%)"),
    (("top1_zagg", "3"), "top-1 from z_AGG, M_val=3 (%)"),
)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("seqjepa-action-ablation"),
                        help="data, runs and reports go here (default ./seqjepa-action-ablation)")
    parser.add_argument("--objects", type=int, default=1600, help="objects per data set (default 1600: 1,280 train / 320 val)")
    parser.add_argument("--views", type=int, default=20, help="views per object (default 20)")
    parser.add_argument("--eval-seeds", type=int, nargs="+", default=[1, 2, 3],
                        help="data seeds of the evaluation sets (default 1 2 3; the training set is seed 0)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's 500)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a recipe value in both arms (repeatable)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="processes for training and evaluation (default: 2 on a CPU, one per core; 1 on CUDA)")
    parser.add_argument("--stage", choices=("all", "train", "curve", "final", "report"), default="all",
                        help="run one stage only (each needs the ones before it)")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS),
                        help="evaluate only these arms (default both; e.g. one arm per process while the other trains)")
    parser.add_argument("--curve-every", type=int, default=100, metavar="EPOCHS",
                        help="evaluate kept checkpoints every this many epochs on the curve, plus the first and the last "
                        "(default 100)")
    parser.add_argument("--fast", action="store_true", help="a few objects, 2 epochs, 1 probe epoch (for tests)")
    args = parser.parse_args(argv)
    if args.jobs is None:
        args.jobs = 1 if args.device.startswith("cuda") else 2
    args.probes = {k: dict(v) for k, v in PROBES.items()}
    if args.fast:
        args.objects, args.views, args.epochs, args.eval_seeds, args.curve_every = 16, 4, 2, [1, 2], 1
        args.overrides = ["train.batch_size=4", "train.checkpoint_every=1", "train.precision=fp32", *args.overrides]
        for p in args.probes.values():
            p.update(max_views=3, redraw=0, epochs=1, mlp_width=8)
    if len(set(args.eval_seeds)) != len(args.eval_seeds) or 0 in args.eval_seeds:
        parser.error(f"--eval-seeds: expected distinct seeds other than the training set's 0, got {args.eval_seeds}")
    return args


# ------------------------------------------------------------------------------------------ data
def render(args: argparse.Namespace, seed: int) -> Path:
    """The data set of ``seed`` under ``--work`` (rendered once; reused while its settings match)."""
    from seqjepa.data import make_toy_3diebench
    from seqjepa.data.synthetic import read_toy_settings

    root = args.work / f"toy-seed{seed}"
    settings = read_toy_settings(root)
    wanted = {"seed": seed, "objects": args.objects, "views": args.views, **SCENE}
    if settings is not None and all(settings.get(k) == v for k, v in wanted.items()):
        return root
    make_toy_3diebench(root, overwrite=root.exists(), objects=args.objects, views=args.views, seed=seed, **SCENE)
    print(f"rendered {args.objects} objects x {args.views} views, data seed {seed}, in {root}")
    return root


# ------------------------------------------------------------------------------------------ training
def train_command(args: argparse.Namespace, arm: str, data: Path) -> list[str]:
    cmd = [sys.executable, "-m", "seqjepa", "train", "--recipe", "toy-3diebench", "--data-root", str(data),
           "--output", str(args.work / arm / "run"), "--device", args.device, "--resume", "auto"]
    overrides = [*ARMS[arm], *args.overrides] + ([f"train.epochs={args.epochs}"] if args.epochs is not None else [])
    for item in overrides:
        cmd += ["--set", item]
    return cmd


def train(args: argparse.Namespace, data: Path) -> None:
    """Both arms, at most ``--jobs`` at a time, each with one thread per job's share of the cores."""
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if not args.device.startswith("cuda") else None
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    pending = list(ARMS)
    while pending:
        batch, pending = pending[:args.jobs], pending[args.jobs:]
        procs = {}
        for arm in batch:
            (args.work / arm).mkdir(parents=True, exist_ok=True)
            log = open(args.work / arm / "train.log", "ab")
            procs[arm] = (subprocess.Popen(train_command(args, arm, data), stdout=log, stderr=subprocess.STDOUT, env=env), log)
            print(f"[{arm}] training (log: {args.work / arm / 'train.log'})")
        for arm, (proc, log) in procs.items():
            code = proc.wait()
            log.close()
            if code != 0:
                raise SystemExit(f"[{arm}] training failed with exit code {code}; see {args.work / arm / 'train.log'}")
            print(f"[{arm}] training completed")


# ------------------------------------------------------------------------------------------ evaluation
def checkpoints(args: argparse.Namespace, arm: str) -> dict[int, Optional[Path]]:
    """epoch -> kept checkpoint of ``arm`` (epoch 0: the untrained network, no file)."""
    found: dict[int, Optional[Path]] = {0: None}
    for path in (args.work / arm / "run").glob("epoch_*.pt"):
        found[int(path.stem.split("_")[1])] = path
    return dict(sorted(found.items()))


def _run_recipe(args: argparse.Namespace, arm: str) -> Optional[dict]:
    """The recipe the arm's run was started with (its recipe.json), None before it started."""
    recipe = args.work / arm / "run" / "recipe.json"
    return json.loads(recipe.read_text()) if recipe.is_file() else None


def _planned_epochs(args: argparse.Namespace, arm: str) -> Optional[int]:
    """The epochs the arm's run was started for, None before it started."""
    recipe = _run_recipe(args, arm)
    return recipe["train"]["epochs"] if recipe else None


def _train_seq_len(args: argparse.Namespace, arm: str) -> int:
    """M_tr of the arm's run, else of the recipe with this invocation's overrides."""
    recipe = _run_recipe(args, arm)
    if recipe is None:
        from seqjepa.train import load_recipe

        recipe = load_recipe("toy-3diebench", [*ARMS[arm], *args.overrides])
    return int(recipe["model"]["train_seq_len"])


def curve_points(args: argparse.Namespace, arm: str) -> dict[int, Optional[Path]]:
    """The checkpoints on the curve: epoch 0, the first kept one, every ``--curve-every`` epochs, the run's last."""
    found = checkpoints(args, arm)
    kept = [e for e in found if e > 0]
    last = _planned_epochs(args, arm)
    chosen = {0, *kept[:1], *(e for e in kept if e % args.curve_every == 0 or e == last)}
    return {e: found[e] for e in sorted(chosen)}


def build_model(args: argparse.Namespace, arm: str, checkpoint: Optional[Path]):
    """The arm's network at a checkpoint, or untrained (seeded with the recipe's seed, as the trainer seeds it)."""
    import torch

    from seqjepa.models.model import SeqJEPA
    from seqjepa.train import load_recipe
    from seqjepa.train.checkpoint import load_checkpoint
    from seqjepa.train.recipe import model_config

    if checkpoint is None:
        recipe = load_recipe("toy-3diebench", [*ARMS[arm], *args.overrides])
        torch.manual_seed(recipe["train"]["seed"])
        return SeqJEPA(model_config(recipe), with_target_encoder=False).eval()
    state = load_checkpoint(checkpoint)
    model = SeqJEPA(model_config(state["recipe"]), with_target_encoder=False)
    online = {k: v for k, v in state["model"].items() if not k.startswith("target_encoder.")}
    model.load_state_dict(online, strict=True)
    return model.eval()


_DATASETS: dict[tuple, Any] = {}


def in_memory_dataset(protocol, root, split, num_views, config, seed):
    """The protocol's 3DIEBench reader, decoded once per process and reused by every checkpoint."""
    from seqjepa.data import ThreeDIEBench

    key = (root, split, num_views, config.image_size, tuple(config.mean), tuple(config.std), seed)
    if key not in _DATASETS:
        _DATASETS[key] = ThreeDIEBench(root, split=split, num_views=num_views, action_space=protocol.action_space,
                                       image_size=config.image_size, mean=config.mean, std=config.std, seed=seed,
                                       in_memory=True)
    return _DATASETS[key]


def evaluate(job: tuple) -> tuple[Path, dict]:
    """One (arm, epoch, data seed, probe setting): the protocol's report, written to its result file."""
    args, arm, epoch, checkpoint, root, kind, out = job
    import torch

    from seqjepa.eval import EvalOptions, ProbeSettings, run_protocol
    from seqjepa.utils.files import atomic_write_text

    torch.set_num_threads(1)
    p = args.probes[kind]
    options = EvalOptions(max_views=p["max_views"], redraw=p["redraw"], mlp_width=p["mlp_width"], device=args.device,
                          probe=ProbeSettings(epochs=p["epochs"], device=args.device))
    model = build_model(args, arm, checkpoint).to(args.device)
    report = run_protocol(model, "3diebench-rot", data_root=str(root), options=options, dataset_factory=in_memory_dataset)
    report["ablation"] = {"arm": arm, "epoch": epoch, "checkpoint": str(checkpoint) if checkpoint else None,
                          "data_root": str(root), "probes": kind}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=1, default=str) + "\n")
    return out, report


def run_jobs(args: argparse.Namespace, jobs: list[tuple]) -> None:
    jobs = [j for j in jobs if j[1] in args.arms]
    todo = [j for j in jobs if not j[-1].is_file()]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} evaluations already done; running {len(todo)}")
    if args.jobs == 1 or len(todo) <= 1:
        results = map(evaluate, todo)
    else:
        pool = ProcessPoolExecutor(max_workers=args.jobs)
        results = pool.map(evaluate, todo)
    for out, report in results:
        a = report["ablation"]
        print(f"[{a['arm']}] epoch {a['epoch']} {Path(a['data_root']).name}: R² {report['r2']['rotation']:.3f}, "
              f"top-1 z_AGG(1) {report['top1_zagg']['1']:.1f} %")


def curve_jobs(args: argparse.Namespace, roots: dict[int, Path]) -> list[tuple]:
    return [(args, arm, epoch, ckpt, root, "curve", args.work / arm / "curve" / f"epoch{epoch:04d}-seed{seed}.json")
            for arm in ARMS for epoch, ckpt in curve_points(args, arm).items() for seed, root in roots.items()]


def final_jobs(args: argparse.Namespace, roots: dict[int, Path]) -> list[tuple]:
    """The last checkpoint of both arms and the untrained network of the full model, on every evaluation set."""
    jobs = []
    for arm in ARMS:
        last_epoch, last = max(checkpoints(args, arm).items())
        finished = last_epoch > 0 and last_epoch == _planned_epochs(args, arm)
        if not finished:
            print(f"[{arm}] training has not finished (newest kept checkpoint: epoch {last_epoch}): "
                  "only the untrained network is evaluated now")
        for seed, root in roots.items():
            if finished:
                jobs.append((args, arm, last_epoch, last, root, "final", args.work / arm / "final" / f"trained-seed{seed}.json"))
            if arm == "actions":
                jobs.append((args, arm, 0, None, root, "final", args.work / arm / "final" / f"untrained-seed{seed}.json"))
    return jobs


# ------------------------------------------------------------------------------------------ summary
def metric(report: dict, path: Sequence[str]) -> Optional[float]:
    value: Any = report
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else None


def mean_std(values: Sequence[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def aggregate(reports: Sequence[dict]) -> dict:
    """label -> mean, std and n over the reports (the evaluation seeds)."""
    out = {}
    for path, label in METRICS:
        values = [v for v in (metric(r, path) for r in reports) if v is not None]
        if values:
            out[label] = mean_std(values)
    return out


def load_results(folder: Path, pattern: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob(pattern))]


def curve_table(args: argparse.Namespace) -> dict:
    """arm -> epoch -> label -> mean/std/n over the evaluation seeds."""
    table: dict[str, dict[int, dict]] = {}
    for arm in ARMS:
        by_epoch: dict[int, list[dict]] = {}
        for report in load_results(args.work / arm / "curve", "epoch*-seed*.json"):
            by_epoch.setdefault(int(report["ablation"]["epoch"]), []).append(report)
        table[arm] = {epoch: aggregate(reports) for epoch, reports in sorted(by_epoch.items())}
    return table


def final_table(args: argparse.Namespace) -> dict:
    """arm -> "trained" / "untrained" -> label -> mean/std/n over the evaluation seeds."""
    return {arm: {state: aggregate(load_results(args.work / arm / "final", f"{state}-seed*.json"))
                  for state in ("trained", "untrained")} for arm in ARMS}  # no-actions has no untrained run: {}


def gap(final: dict, label: str = "rotation R² from [z_0, z_1]") -> Optional[dict]:
    """Actions minus no-actions at the end of training, and whether it exceeds twice its standard error."""
    a, b = final["actions"]["trained"].get(label), final["no-actions"]["trained"].get(label)
    if not a or not b:
        return None
    diff = a["mean"] - b["mean"]
    se = math.sqrt(a["std"] ** 2 / a["n"] + b["std"] ** 2 / b["n"])
    return {"metric": label, "difference": diff, "standard_error": se, "opens": diff > 2 * se and diff > 0}


def _fmt(cell: Optional[dict], digits: int) -> str:
    return "—" if not cell else f"{cell['mean']:.{digits}f} ± {cell['std']:.{digits}f}"


def summarize(final: dict, curve: dict, args: argparse.Namespace) -> str:
    """Markdown: the final numbers of both arms beside the untrained floor, the curve's last points and the verdict."""
    seeds = ", ".join(str(s) for s in args.eval_seeds)
    p = args.probes["final"]
    lines = [
        "# Action-conditioning ablation on the toy 3DIEBench",
        "",
        f"Mean ± standard deviation over the evaluation data seeds {seeds} (fresh objects; the models trained on seed 0). "
        f"Probes: {p['epochs']} epochs, {p['redraw']} view draws, M_val up to {p['max_views']}, "
        f"MLP width {p['mlp_width'] or 1024}; scikit-learn R².",
        "",
        "| metric | actions | no actions | untrained (same architecture) |",
        "|---|---|---|---|",
    ]
    for _, label in METRICS:
        digits = 1 if "%" in label else 3
        cells = [_fmt(final[arm][state].get(label), digits) for arm, state in
                 (("actions", "trained"), ("no-actions", "trained"), ("actions", "untrained"))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    verdict = gap(final)
    lines.append("")
    if verdict:
        word = "opens" if verdict["opens"] else "does not open"
        lines.append(f"Verdict: the gap in rotation R² from [z_0, z_1] {word}: actions minus no actions "
                     f"{verdict['difference']:+.3f} (standard error {verdict['standard_error']:.3f}; "
                     "it counts as open above twice that). The paper, 3DIEBench: 0.71 with actions, 0.29 without.")
    lines += ["", "Curve (quick probes: "
              f"{args.probes['curve']['epochs']} epochs, {args.probes['curve']['redraw']} view draws, MLP width "
              f"{args.probes['curve']['mlp_width']}): rotation R² from [z_0, z_1] and top-1 from z_AGG (M_val=1)", "",
              "| epoch | R², actions | R², no actions | top-1, actions | top-1, no actions |", "|---|---|---|---|---|"]
    epochs = sorted(set(curve.get("actions", {})) | set(curve.get("no-actions", {})))
    for epoch in epochs:
        row = [curve.get(arm, {}).get(epoch, {}).get(label) for label, arm in (
            ("rotation R² from [z_0, z_1]", "actions"), ("rotation R² from [z_0, z_1]", "no-actions"),
            ("top-1 from z_AGG, M_val=1 (%)", "actions"), ("top-1 from z_AGG, M_val=1 (%)", "no-actions"))]
        lines.append(f"| {epoch} | {_fmt(row[0], 3)} | {_fmt(row[1], 3)} | {_fmt(row[2], 1)} | {_fmt(row[3], 1)} |")
    return "\n".join(lines) + "\n"


def plot_curve(curve: dict, out: Path) -> Optional[Path]:
    """curve.png: rotation R² and top-1 of both arms against epochs, shaded by the standard deviation over seeds."""
    if not any(curve.values()):  # the curve stage has not run
        return None
    try:
        import matplotlib
    except ModuleNotFoundError:
        print("matplotlib is not installed (pip install 'seqjepa[plots]'): no curve.png")
        return None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, label in zip(axes, ("rotation R² from [z_0, z_1]", "top-1 from z_AGG, M_val=1 (%)")):
        for arm, style in (("actions", "o-"), ("no-actions", "s--")):
            points = [(e, c[label]) for e, c in sorted(curve.get(arm, {}).items()) if label in c]
            if not points:
                continue
            xs = [e for e, _ in points]
            mean = [c["mean"] for _, c in points]
            std = [c["std"] for _, c in points]
            ax.plot(xs, mean, style, label=arm, markersize=4)
            ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)], alpha=0.2)
        ax.set_xlabel("training epoch (0: untrained)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if "%" in axes[1].get_ylabel():
        axes[1].axhline(100 / 8, color="gray", ls=":", lw=1)
    fig.suptitle("seq-JEPA action-conditioning ablation, toy 3DIEBench (mean ± std over data seeds)")
    fig.tight_layout()
    path = out / "curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


#: report key -> card metric name (rows in the format of weights/*.json "measured")
_CARD_METRICS = {("top1_z",): "top1_linear_z", ("r2", "rotation"): "rotation_r2",
                 ("r2", "rotation_from_zagg"): "rotation_from_zagg_r2", ("r2", "individual_rotation"): "individual_rotation_r2",
                 ("r2_sie", "rotation"): "rotation_r2_sie", ("r2_sie", "rotation_from_zagg"): "rotation_from_zagg_r2_sie",
                 ("r2_sie", "individual_rotation"): "individual_rotation_r2_sie"}


def card_rows(args: argparse.Namespace) -> list[dict]:
    """The final numbers as model-card rows: mean, spread and count over the evaluation seeds, with the floor."""
    p = args.probes["final"]
    width = p["mlp_width"] or 1024
    untrained = load_results(args.work / "actions" / "final", "untrained-seed*.json")
    rows = []
    for arm, prefix in (("actions", "this model"), ("no-actions", "ablation without action conditioning (same recipe, "
                                                                   "model.action_conditioned=false)")):
        trained = load_results(args.work / arm / "final", "trained-seed*.json")
        if not trained:
            continue
        setting_probe = (f"probes {p['epochs']} epochs, {max(1, p['redraw'])} view draws, MLP {width}-{width} for rotation; "
                         f"fresh data seeds {', '.join(map(str, args.eval_seeds))} ({trained[0]['num_train']:,} probe-train / "
                         f"{trained[0]['num_val']:,} test objects each)")
        m_tr = _train_seq_len(args, arm)
        keys = [(k,) for k in ("top1_z",)] + [("top1_zagg", m) for m in sorted(trained[0].get("top1_zagg", {}), key=int)]
        keys += [(g, t) for g in ("r2", "r2_sie") for t in ("individual_rotation", "rotation", "rotation_from_zagg")]
        for key in keys:
            values = [v for v in (metric(r, key) for r in trained) if v is not None]
            if not values:
                continue
            name = "top1_linear_zagg" if key[0] == "top1_zagg" else _CARD_METRICS[key]
            digits = 2 if key[0].startswith("top1") else 3
            setting = prefix + (f", M_tr={m_tr}, M_val={key[1]}" if key[0] == "top1_zagg"
                                else ", one view" if key == ("top1_z",) else "")
            row = {"metric": name, "value": round(statistics.fmean(values), digits), "setting": f"{setting}; {setting_probe}",
                   "source": "examples/action_ablation.py (final stage)", "seeds": len(values),
                   "spread": round(statistics.stdev(values), digits) if len(values) > 1 else 0.0}
            floor = [v for v in (metric(r, key) for r in untrained) if v is not None] if arm == "actions" else []
            if floor:
                row["floor"] = round(statistics.fmean(floor), digits)
                row["floor_spread"] = round(statistics.stdev(floor), digits) if len(floor) > 1 else 0.0
            rows.append(row)
    return rows


def report(args: argparse.Namespace) -> str:
    from seqjepa.utils.files import atomic_write_text

    atomic_write_text(args.work / "card_measured.json", json.dumps(card_rows(args), indent=1, ensure_ascii=False) + "\n")
    curve, final = curve_table(args), final_table(args)
    atomic_write_text(args.work / "curve.json", json.dumps(curve, indent=1) + "\n")
    atomic_write_text(args.work / "final.json", json.dumps({"final": final, "gap": gap(final),
                                                            "eval_seeds": args.eval_seeds, "probes": args.probes}, indent=1) + "\n")
    text = summarize(final, curve, args)
    atomic_write_text(args.work / "summary.md", text)
    plot_curve(curve, args.work)
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    data = render(args, 0)
    roots = {seed: render(args, seed) for seed in args.eval_seeds}
    if args.stage in ("all", "train"):
        train(args, data)
    if args.stage in ("all", "curve"):
        run_jobs(args, curve_jobs(args, roots))
    if args.stage in ("all", "final"):
        run_jobs(args, final_jobs(args, roots))
    if args.stage in ("all", "report"):
        print(report(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
