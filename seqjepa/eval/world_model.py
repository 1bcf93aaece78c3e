"""The world-model protocol: does the predictor know what an action does?

On held-out 3DIEBench objects (the val split), for every object and view draw, M observed views,
the relative actions between them, and K further views of the same object:

* action inference: :func:`seqjepa.world.infer_action` from the M views to view M+1; the geodesic
  error of the inferred relative rotation (median and mean over objects), beside guessing (another
  object's true rotation) and the same for every other model given (the untrained network of the
  same architecture, and optionally a second model such as the no-action arm);
* next-view retrieval top-1: :func:`seqjepa.world.rank_candidates` with the true action, among the
  K future views of the same object (pose) and among K objects' next views (object); chance is 1/K;
* rollout: :func:`seqjepa.world.rollout` along the K future actions, cos(imagined, z(true view))
  against the horizon, beside "nothing changes" (cos(z(last observed view), z(true view))).

Every number is a mean over view draws with its spread (standard deviation over the draws).
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

from ..world import geodesic_degrees, infer_action, rank_candidates, rollout, rotation_grid_resolution

__all__ = ["WorldModelOptions", "run_world_model", "write_world_model_report", "PROTOCOL_NAME"]

PROTOCOL_NAME = "world-model"
_log = logging.getLogger("seqjepa.eval")


@dataclass
class WorldModelOptions:
    """Settings of :func:`run_world_model`.

    Attributes:
        num_views: M, observed views per query (>= 1).
        candidates: K, future views per object: retrieval candidates and rollout horizon (>= 2).
        draws: view draws (the spread of every number is over them; >= 2).
        max_objects: evaluate the first N val objects (None: all).
        batch_size: queries per batch.
        grid_size, top_k, steps: :func:`seqjepa.world.infer_action`'s search.
        seed: base of the view draws and of the untrained network's initialization.
    """

    num_views: int = 3
    candidates: int = 8
    draws: int = 3
    max_objects: Optional[int] = None
    batch_size: int = 64
    grid_size: int = 4096
    top_k: int = 4
    steps: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        for name, low in (("num_views", 1), ("candidates", 2), ("draws", 2), ("batch_size", 1), ("grid_size", 64),
                          ("top_k", 1), ("steps", 0), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
        if self.max_objects is not None and (not isinstance(self.max_objects, int) or self.max_objects < 2):
            raise ValueError(f"max_objects: expected an integer >= 2 or None, got {self.max_objects!r}")


def _spread(values: list[float]) -> "tuple[float, float]":
    return float(statistics.fmean(values)), float(statistics.stdev(values)) if len(values) > 1 else 0.0


def _batches(dataset, indices: list[int], batch_size: int, num_views: int):
    for start in range(0, len(indices), batch_size):
        items = [dataset.sample(i, num_views=num_views) for i in indices[start:start + batch_size]]
        views = torch.stack([torch.cat([it["views"], it["target"][None]]) for it in items])
        yield views, torch.stack([it["actions"] for it in items])


def _measure(model, views: torch.Tensor, actions: torch.Tensor, m: int, k: int, opts: WorldModelOptions) -> dict[str, torch.Tensor]:
    """Per-object numbers of one model on one batch of (M + K)-view sequences."""
    param = next(model.parameters())
    views, actions = views.to(param.device, param.dtype), actions.to(param.device, param.dtype)
    obs, obs_actions, future = views[:, :m], actions[:, : m - 1], views[:, m:]
    truth = actions[:, m - 1]
    est = infer_action(model, obs, obs_actions, future[:, 0], grid_size=opts.grid_size, top_k=opts.top_k, steps=opts.steps)
    out = {"error": geodesic_degrees(est.action[:, :4], truth[:, :4]).cpu(), "score": est.score.float().cpu()}
    pose = rank_candidates(model, obs, obs_actions, truth, future)
    out["top1_pose"] = (pose.order[:, 0] == 0).float().cpu()
    b = views.shape[0]
    if b >= k:
        # candidate j of query i is the next view of object i + j (j = 0: its own)
        others = torch.stack([future[(torch.arange(b) + j) % b, 0] for j in range(k)], dim=1)
        objects = rank_candidates(model, obs, obs_actions, truth, others)
        out["top1_object"] = (objects.order[:, 0] == 0).float().cpu()
    imagined = rollout(model, obs, obs_actions, actions[:, m - 1: m - 1 + k])
    with torch.no_grad():
        was_training = model.training
        model.eval()
        z_future = model.equivariant_embedding(future)
        z_last = model.equivariant_embedding(obs[:, -1])
        model.train(was_training)
    out["rollout_cos"] = F.cosine_similarity(imagined.float(), z_future.float(), dim=-1).cpu()  # (B, K)
    out["stay_cos"] = F.cosine_similarity(z_last[:, None].float(), z_future.float(), dim=-1).cpu()
    return out


def run_world_model(
    models: "dict[str, Any]",
    data_root: str,
    *,
    options: Optional[WorldModelOptions] = None,
    dataset_factory: Optional[Callable[..., Any]] = None,
) -> dict[str, Any]:
    """Run the world-model protocol on every model of ``models`` (name -> model), on the same view draws.

    Args:
        models: the models to compare, in report order (the first is the one evaluated; the others,
            e.g. ``"untrained"``, are its floors). All must share the image size and action space.
        data_root: a 3DIEBench-layout root; its val split is used.
        dataset_factory: ``(root, split, num_views, config, seed) -> dataset`` with ``sample(i, num_views)``;
            defaults to :class:`seqjepa.data.ThreeDIEBench`.

    Returns:
        JSON-able results: per model, each metric as ``{"mean": ..., "spread": ...}`` over draws.
    """
    opts = options or WorldModelOptions()
    if not models:
        raise ValueError("models: expected at least one model, got none")
    first = next(iter(models.values()))
    config = first.config
    if config.action_space not in ("rotation", "rotation_color"):
        raise ValueError(f"model: the world-model protocol reads 3DIEBench rotations, got a model with the "
                         f"{config.action_space!r} action space")
    for name, model in models.items():
        if model.config.action_space != config.action_space or model.config.image_size != config.image_size:
            raise ValueError(f"models: {name!r} has action space {model.config.action_space!r} at "
                             f"{model.config.image_size}px, the first model {config.action_space!r} at {config.image_size}px")
    m, k = opts.num_views, opts.candidates
    if dataset_factory is None:
        from ..data import ThreeDIEBench

        def dataset_factory(root, split, num_views, cfg, seed):
            return ThreeDIEBench(root, split=split, num_views=num_views, action_space=cfg.action_space,
                                 image_size=cfg.image_size, mean=cfg.mean, std=cfg.std, seed=seed, in_memory=True)
    dataset = dataset_factory(data_root, "val", m + k - 1, config, opts.seed)
    n = len(dataset) if opts.max_objects is None else min(opts.max_objects, len(dataset))
    if n < k:
        raise ValueError(f"data_root: the val split has {n} objects, fewer than candidates={k}")
    indices = list(range(n))
    per_draw: dict[str, dict[str, list]] = {name: {} for name in [*models, "guessing"]}
    for draw in range(opts.draws):
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(draw)
        collected: dict[str, dict[str, list[torch.Tensor]]] = {name: {} for name in models}
        truths = []
        for views, actions in _batches(dataset, indices, opts.batch_size, m + k - 1):
            truths.append(actions[:, m - 1, :4])
            for name, model in models.items():
                for key, value in _measure(model, views, actions, m, k, opts).items():
                    collected[name].setdefault(key, []).append(value)
        truth = torch.cat(truths)
        # guessing: another object's true relative rotation (the next object's, in a fixed shuffle)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(opts.seed * 1000 + draw))
        perm = torch.where(perm == torch.arange(n), (perm + 1) % n, perm)
        guess_error = geodesic_degrees(truth[perm], truth)
        _append(per_draw["guessing"], "median_error_deg", guess_error.median().item())
        _append(per_draw["guessing"], "mean_error_deg", guess_error.mean().item())
        _append(per_draw["guessing"], "top1_pose", 100.0 / k)
        _append(per_draw["guessing"], "top1_object", 100.0 / k)
        for name in models:
            c = {key: torch.cat(v) for key, v in collected[name].items()}
            _append(per_draw[name], "median_error_deg", c["error"].median().item())
            _append(per_draw[name], "mean_error_deg", c["error"].mean().item())
            _append(per_draw[name], "within_30deg", 100.0 * (c["error"] <= 30).float().mean().item())
            _append(per_draw[name], "score", c["score"].mean().item())
            _append(per_draw[name], "top1_pose", 100.0 * c["top1_pose"].mean().item())
            if "top1_object" in c:
                _append(per_draw[name], "top1_object", 100.0 * c["top1_object"].mean().item())
            for t in range(k):
                _append(per_draw[name], f"rollout_cos_{t + 1}", c["rollout_cos"][:, t].mean().item())
                _append(per_draw[name], f"stay_cos_{t + 1}", c["stay_cos"][:, t].mean().item())
            _log.info("world-model draw %d, %s: median error %.1f deg, pose top-1 %.1f%%", draw, name,
                      c["error"].median().item(), 100.0 * c["top1_pose"].mean().item())
        _append(per_draw["guessing"], "within_30deg", 100.0 * (guess_error <= 30).float().mean().item())
    results: dict[str, Any] = {
        "protocol": PROTOCOL_NAME,
        "data_root": str(Path(data_root).resolve()) if data_root else None,
        "num_objects": n, "options": asdict(opts), "action_space": config.action_space,
        "grid_resolution_deg": rotation_grid_resolution(opts.grid_size),
        "models": list(models),
        "metrics": {name: {key: dict(zip(("mean", "spread"), _spread(v))) for key, v in d.items()}
                    for name, d in per_draw.items()},
        "notes": [
            f"Each number: mean over {opts.draws} view draws ± standard deviation over the draws; {n} val objects.",
            f"Action inference: M={m} observed views, the relative rotation to the next view inferred by a "
            f"{opts.grid_size}-point grid (resolution {rotation_grid_resolution(opts.grid_size):.1f} deg) refined "
            f"({opts.top_k} starts, {opts.steps} steps); error = geodesic angle to the true relative rotation.",
            "Guessing: another object's true relative rotation; its retrieval numbers are chance (1/K).",
            f"Retrieval: the predicted next embedding against K={k} candidates, the true next view among the object's "
            "other future views (pose) or among other objects' next views (object).",
            "Rollout: imagined embeddings fed back as observations (seqjepa.world.rollout); 'stay' compares the last "
            "observed view's embedding with the future view's (a model that predicts no change).",
        ],
    }
    return results


def _append(d: dict[str, list], key: str, value: float) -> None:
    d.setdefault(key, []).append(float(value))


def _cell(metrics: dict[str, Any], key: str, digits: int = 1) -> str:
    if key not in metrics:
        return "-"
    v = metrics[key]
    return f"{v['mean']:.{digits}f} ± {v['spread']:.{digits}f}"


def render_world_model_markdown(results: dict[str, Any]) -> str:
    """The results as a markdown report: one table of action inference and retrieval, one of rollout by horizon."""
    metrics, names = results["metrics"], [*results["models"], "guessing"]
    lines = ["# world-model protocol", "", f"data: `{results['data_root']}`, {results['num_objects']} val objects", "",
             "| | median error (deg) | mean error (deg) | within 30 deg (%) | pose top-1 (%) | object top-1 (%) |",
             "|---|---|---|---|---|---|"]
    for name in names:
        m = metrics[name]
        lines.append(f"| {name} | {_cell(m, 'median_error_deg')} | {_cell(m, 'mean_error_deg')} | "
                     f"{_cell(m, 'within_30deg')} | {_cell(m, 'top1_pose')} | {_cell(m, 'top1_object')} |")
    k = results["options"]["candidates"]
    lines += ["", "Rollout: cos(imagined, z(true view)) by horizon (stay: the last observed view's embedding)", "",
              "| | " + " | ".join(f"t={t}" for t in range(1, k + 1)) + " |", "|---|" + "---|" * k]
    for name in results["models"]:
        m = metrics[name]
        lines.append(f"| {name} | " + " | ".join(_cell(m, f"rollout_cos_{t}", 3) for t in range(1, k + 1)) + " |")
        lines.append(f"| {name} (stay) | " + " | ".join(_cell(m, f"stay_cos_{t}", 3) for t in range(1, k + 1)) + " |")
    lines += ["", *[f"- {note}" for note in results["notes"]], ""]
    return "\n".join(lines)


def write_world_model_report(results: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """report.json, report.md and world-model.png (error and rollout plots) in ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {"json": out / "report.json", "markdown": out / "report.md", "plots": []}
    paths["json"].write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_world_model_markdown(results), encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _log.warning("matplotlib is not installed (pip install 'seqjepa[plots]'): no plot written")
        return paths
    metrics, k = results["metrics"], results["options"]["candidates"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = [*results["models"], "guessing"]
    for i, key in enumerate(("median_error_deg", "mean_error_deg")):
        vals = [metrics[n][key]["mean"] for n in names]
        errs = [metrics[n][key]["spread"] for n in names]
        ax1.bar([j + 0.4 * i for j in range(len(names))], vals, 0.4, yerr=errs, label=key.split("_")[0])
    ax1.set_xticks([j + 0.2 for j in range(len(names))], names, fontsize=8)
    ax1.set_ylabel("relative-rotation error (deg)")
    ax1.legend(fontsize=8)
    horizon = list(range(1, k + 1))
    for name in results["models"]:
        m = metrics[name]
        line = ax2.errorbar(horizon, [m[f"rollout_cos_{t}"]["mean"] for t in horizon],
                            yerr=[m[f"rollout_cos_{t}"]["spread"] for t in horizon], label=f"{name} rollout", marker="o")
        ax2.plot(horizon, [m[f"stay_cos_{t}"]["mean"] for t in horizon], ls="--", color=line[0].get_color(),
                 label=f"{name} stay")
    ax2.set_xlabel("horizon (actions ahead)")
    ax2.set_ylabel("cos(imagined, true)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    png = out / "world-model.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    paths["plots"].append(png)
    return paths
