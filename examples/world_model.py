"""The world-model numbers of a model on fresh data seeds, and the figure of docs/world-model.md.

    python examples/world_model.py --data /work/data-world --seeds 1 2 3 --out world-out/

For each seed, ``DATA/seed<S>`` must hold a toy 3DIEBench in the default model's scene, rendered
by (never seed 0, the training seed)::

    seqjepa make-toy-3diebench DATA/seed<S> --seed <S> --objects 1600 --views 20 --classes 8 --size 32 \
        --light white --face-colors independent --max-angle 45

The model (default: ``seqjepa.load()``) and the untrained network of its architecture go through
the world-model protocol (``seqjepa eval --protocol world-model``) on each seed's val split. Writes
``seeds.json`` (every seed's report), ``summary.md`` (mean ± standard deviation over the seeds, beside
guessing and the untrained network), ``card_measured.json`` (model-card rows) and ``world-model.png``
(one query: the views, the target, the inferred against the true rotation and the score over the grid).
Rerun it when the default model changes and paste ``summary.md`` into docs/world-model.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Optional, Sequence

import torch

import seqjepa
from seqjepa.eval.world_model import WorldModelOptions, run_world_model
from seqjepa.world import geodesic_degrees, infer_action, quaternion_to_axis_angle

METRICS = (("median_error_deg", "median relative-rotation error (deg)", 1),
           ("mean_error_deg", "mean relative-rotation error (deg)", 1),
           ("within_30deg", "inferred within 30 deg (%)", 1),
           ("top1_pose", "next-view top-1 among 8 views of the object (%)", 1),
           ("top1_object", "next-view top-1 among 8 objects (%)", 1),
           ("rollout_cos_1", "rollout cos at t=1", 3),
           ("rollout_cos_4", "rollout cos at t=4", 3),
           ("rollout_cos_8", "rollout cos at t=8", 3),
           ("stay_cos_1", "no-change cos at t=1 (z of the last observed view)", 3),
           ("stay_cos_8", "no-change cos at t=8", 3))
#: the rows that go on the model card
CARD = ("median_error_deg", "mean_error_deg", "top1_pose", "top1_object", "rollout_cos_1")


def _stats(values: list[float]) -> "tuple[float, float]":
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(reports: dict[int, dict], model_name: str) -> "tuple[str, list[dict]]":
    """Markdown table over seeds and model-card rows (mean, spread over seeds, untrained floor)."""
    seeds = sorted(reports)
    cols = [model_name, "untrained", "guessing"]
    lines = [f"| metric (mean ± std over data seeds {', '.join(map(str, seeds))}) | " + " | ".join(cols) + " |",
             "|---|" + "---|" * len(cols)]
    rows = []
    opts = reports[seeds[0]]["options"]
    for key, label, digits in METRICS:
        cells, per = [], {}
        for col in cols:
            vals = [reports[s]["metrics"][col][key]["mean"] for s in seeds if key in reports[s]["metrics"][col]]
            if not vals:
                cells.append("-")
                continue
            mean, spread = _stats(vals)
            per[col] = (mean, spread)
            cells.append(f"{mean:.{digits}f} ± {spread:.{digits}f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if model_name in per and key in CARD:
            row = {"metric": f"world_{key}", "value": round(per[model_name][0], digits + 1),
                   "spread": round(per[model_name][1], digits + 1), "seeds": len(seeds),
                   "setting": f"world-model protocol (M={opts['num_views']} observed views, K={opts['candidates']}, "
                              f"{opts['grid_size']}-point grid), {reports[seeds[0]]['num_objects']} val objects, "
                              f"{opts['draws']} view draws; fresh data seeds {', '.join(map(str, seeds))}"
                              + (f"; guessing {per['guessing'][0]:.{digits}f}" if "guessing" in per else ""),
                   "source": "examples/world_model.py"}
            if "untrained" in per:
                row["floor"], row["floor_spread"] = round(per["untrained"][0], digits + 1), round(per["untrained"][1], digits + 1)
            rows.append(row)
    return "\n".join(lines) + "\n", rows


def figure(model, root: str, out: Path) -> None:
    """One val query of ``root``: views, target, inferred vs true rotation, and the score over the grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqjepa.data import ThreeDIEBench

    cfg = model.config
    ds = ThreeDIEBench(root, split="val", num_views=3, action_space=cfg.action_space, image_size=cfg.image_size,
                       mean=cfg.mean, std=cfg.std, seed=0)
    item = ds[0]
    est = infer_action(model, item["views"][None], item["actions"][None, :2], item["target"][None])
    truth = item["actions"][None, 2, :4]
    err = geodesic_degrees(est.action[:, :4], truth)[0].item()
    dist = geodesic_degrees(est.candidates[:, :4], truth.expand(est.candidates.shape[0], 4))
    mean, std = torch.tensor(cfg.mean)[:, None, None], torch.tensor(cfg.std)[:, None, None]
    fig = plt.figure(figsize=(12, 3.6))
    images = [*item["views"], item["target"]]
    for i, img in enumerate(images):
        ax = fig.add_subplot(1, len(images) + 2, i + 1)
        ax.imshow((img * std + mean).clamp(0, 1).permute(1, 2, 0).numpy())
        ax.set_title("target" if i == len(images) - 1 else f"view {i + 1}", fontsize=9)
        ax.axis("off")
    ax = fig.add_subplot(1, len(images) + 2, (len(images) + 1, len(images) + 2))
    scores, positive = est.candidate_scores[0].numpy(), (est.candidates[:, 3] >= 0).numpy()
    # q and -q are one rotation but two inputs to the action embedding: colour the grid by the sign of w
    ax.scatter(dist.numpy()[positive], scores[positive], s=2, alpha=0.4, label="grid candidates, w >= 0")
    ax.scatter(dist.numpy()[~positive], scores[~positive], s=2, alpha=0.4, label="grid candidates, w < 0")
    ax.axhline(est.score[0].item(), color="C3", lw=1, label=f"inferred (score {est.score[0].item():.3f})")
    ax.set_xlabel("grid point's angle from the true rotation (deg)")
    ax.set_ylabel("cos(prediction, z(target))")
    t_axis, t_angle = quaternion_to_axis_angle(truth[0])
    e_axis, e_angle = quaternion_to_axis_angle(est.action[0, :4])
    ax.set_title(f"true {t_angle:.0f} deg about ({', '.join(f'{v:.2f}' for v in t_axis.tolist())}); "
                 f"\ninferred {e_angle:.0f} deg about ({', '.join(f'{v:.2f}' for v in e_axis.tolist())}); "
                 f"error {err:.0f} deg", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder holding seed<S>/ toy data sets")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--model", default=None, help="registry name or directory (default: seqjepa.load())")
    p.add_argument("--out", required=True)
    p.add_argument("--max-objects", type=int, default=None, help="first N val objects per seed (default: all)")
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--grid-size", type=int, default=4096)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if 0 in args.seeds:
        raise SystemExit("--seeds: seed 0 is the default model's training data; use fresh seeds")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = seqjepa.load(args.model) if args.model else seqjepa.load()
    name = args.model or seqjepa.DEFAULT_MODEL
    reports: dict[int, dict] = {}
    for seed in args.seeds:
        cached = out / f"seed{seed}.json"
        if cached.exists():
            reports[seed] = json.loads(cached.read_text())
            continue
        torch.manual_seed(seed)
        untrained = seqjepa.create_model(model.config).eval()
        opts = WorldModelOptions(max_objects=args.max_objects, draws=args.draws, grid_size=args.grid_size, seed=seed)
        reports[seed] = run_world_model({name: model, "untrained": untrained}, str(Path(args.data) / f"seed{seed}"),
                                        options=opts)
        cached.write_text(json.dumps(reports[seed], indent=1) + "\n")
        print(f"seed {seed}: done", flush=True)
    table, rows = summarize(reports, name)
    (out / "seeds.json").write_text(json.dumps(reports, indent=1) + "\n")
    (out / "summary.md").write_text(table)
    (out / "card_measured.json").write_text(json.dumps(rows, indent=1) + "\n")
    figure(model, str(Path(args.data) / f"seed{args.seeds[0]}"), out / "world-model.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
