"""``seqjepa demo``: seq-JEPA at work on a few shipped views, offline, in seconds on a CPU.

What it shows, with any rotation model (the default is :data:`seqjepa.DEFAULT_MODEL`):

1. the example: one object seen from 4 views (``seqjepa/assets``, written by
   ``tools/make_demo_assets.py``); the first 3 are observed, the last is held out;
2. the relative rotations between the views (:func:`seqjepa.get_action_space`);
3. the equivariant embeddings ``z`` of the observed views and the invariant ``z_AGG`` of the sequence;
4. the prediction of the held-out view's embedding from ``z_AGG`` and the true action, its cosine
   with the held-out view's actual embedding, against the cosines random actions give;
5. the nearest shape classes: ``z_AGG`` against the class centroids of a small gallery of
   procedural objects rendered in memory (:mod:`seqjepa.data.synthetic`);
6. a PNG (drawn with PIL only): the views, a PCA of ``z`` for the example object turned about the
   vertical axis (coloured by the angle) and a PCA of the gallery's ``z_AGG`` (coloured by class).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data.synthetic import DEFAULT_MAX_ANGLE
from ..errors import WeightsNotAvailableError
from ..models._naming import backbone_label
from ..zoo.factory import DEFAULT_MODEL
from .figure import FIGURE_SIZE, draw_figure

__all__ = [
    "ASSETS_DIR",
    "EXAMPLE_FILE",
    "DEFAULT_OUT",
    "FIGURE_SIZE",
    "Example",
    "Gallery",
    "DemoResult",
    "load_example",
    "render_gallery",
    "run_demo",
    "draw_figure",
]

PathLike = Union[str, "os.PathLike[str]"]

def _find_assets_dir() -> Path:
    # installed: the wheel maps examples/assets/ to seqjepa/assets/; a source checkout reads examples/assets
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "assets", package.parent / "examples" / "assets"):
        if candidate.is_dir():
            return candidate
    return package / "assets"


#: The shipped example views (``examples/assets`` of the repository, packaged as ``seqjepa/assets``).
ASSETS_DIR = _find_assets_dir()
EXAMPLE_FILE = "example.json"
DEFAULT_OUT = "seqjepa-demo.png"

_ROTATION_SPACES = ("rotation", "rotation_color")  # the action spaces that read 3DIEBench's 7-d latent


# ----------------------------------------------------------------------------- inputs
@dataclass
class Example:
    """The shipped example: views of one object and the 7-d 3DIEBench latent of each."""

    images: list  # PIL RGB images, observed views first, the held-out target last
    latents: np.ndarray  # (V, 7) float64
    shape: str
    mesh_seed: list
    source: Path
    light_color: str = "3diebench"  # how the views were rendered (see make_toy_3diebench)
    face_colors: str = "random"
    max_angle: float = DEFAULT_MAX_ANGLE  # Euler angles were drawn from U(-max_angle, max_angle)


def load_example(directory: Optional[PathLike] = None) -> Example:
    """Read ``example.json`` and its views from ``directory`` (default: the package's assets)."""
    from ..data.synthetic import SHAPE_CLASSES, check_max_angle

    root = Path(directory) if directory is not None else ASSETS_DIR
    path = root / EXAMPLE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"example: {path} is missing; the package's demo assets were not installed "
            "(reinstall seqjepa, or regenerate them with tools/make_demo_assets.py)"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        views = doc["views"]
        shape = doc["shape"]
        mesh_seed = list(doc["mesh_seed"])
        names = [v["image"] for v in views]
        raw = [v["latent"] for v in views]
        scene = doc.get("scene", {})
        light_color = scene.get("light_color", "3diebench")
        face_colors = scene.get("face_colors", "random")
        max_angle = float(scene.get("max_angle", DEFAULT_MAX_ANGLE))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"example: {path} is not a valid demo example file ({exc})") from exc
    for i, latent in enumerate(raw):
        if not isinstance(latent, list) or len(latent) != 7:
            raise ValueError(f"example: view {i} in {path} needs a 7-d 3DIEBench latent, got {latent!r}")
    latents = np.asarray(raw, dtype=np.float64)
    if latents.ndim != 2 or latents.shape[0] < 3 or latents.shape[1] != 7:
        raise ValueError(f"example: expected at least 3 views with 7-d latents in {path}, got shape {latents.shape}")
    if shape not in SHAPE_CLASSES:
        raise ValueError(f"example: shape must be one of {SHAPE_CLASSES}, got {shape!r} in {path}")
    try:
        check_max_angle(max_angle)
    except ValueError as exc:
        raise ValueError(f"example: scene.max_angle in {path} is invalid ({exc})") from None
    images = []
    for name in names:
        image_path = root / name
        if Path(name).name != name or not image_path.is_file():
            raise FileNotFoundError(f"example: view {name!r} listed in {path} is missing")
        with Image.open(image_path) as im:
            images.append(im.convert("RGB"))
    return Example(images=images, latents=latents, shape=shape, mesh_seed=mesh_seed, source=root,
                   light_color=light_color, face_colors=face_colors, max_angle=max_angle)


@dataclass
class Gallery:
    """Procedural objects of known class, rendered in memory: ``images[n, v]`` has ``latents[n, v]``."""

    images: np.ndarray  # (N, V, S, S, 3) uint8
    latents: np.ndarray  # (N, V, 7) float64
    labels: np.ndarray  # (N,) int64, index into ``classes``
    classes: list


def render_gallery(classes: Sequence[str], objects_per_class: int = 6, views: int = 3, size: int = 64,
                   seed: int = 0, *, light_color: str = "3diebench", face_colors: str = "random",
                   max_angle: float = DEFAULT_MAX_ANGLE) -> Gallery:
    """Render ``objects_per_class`` new objects of every class in ``classes``, ``views`` random views each.

    Objects draw from ``default_rng([seed, 7919, k, n])``, a stream no toy dataset uses; the scene
    (``light_color``, ``face_colors``, ``max_angle``) is the one the example views were rendered with.
    """
    from ..data.synthetic import make_mesh, render_view, sample_latents

    for name, value, lo in (("objects_per_class", objects_per_class, 1), ("views", views, 2), ("size", size, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    images, latents, labels = [], [], []
    for k, shape in enumerate(classes):
        for n in range(objects_per_class):
            rng = np.random.default_rng([seed, 7919, k, n])
            mesh = make_mesh(shape, rng, face_colors=face_colors)
            lat = sample_latents(rng, views, max_angle=max_angle)
            if light_color == "white":
                lat[:, 6] = 0.0
            images.append(np.stack([render_view(mesh, v, size, light_color=light_color) for v in lat]))
            latents.append(lat)
            labels.append(k)
    return Gallery(np.stack(images), np.stack(latents), np.asarray(labels, dtype=np.int64), list(classes))


# ----------------------------------------------------------------------------- result
@dataclass
class DemoResult:
    """Everything the demo computed (also what it printed and drew)."""

    model_name: str
    actions: np.ndarray  # (V-1, A): view j -> j+1, the last row leads to the held-out target
    equivariant: torch.Tensor  # (M, D) z of the observed views
    invariant: torch.Tensor  # (E,) z_AGG of the observed sequence
    prediction: Optional[torch.Tensor]  # (D,) predicted embedding of the held-out view
    target_embedding: torch.Tensor  # (D,) its actual embedding
    cos_true: float  # cosine(prediction with the true action, target embedding)
    cos_random: list = field(default_factory=list)  # the same with random actions
    nearest: list = field(default_factory=list)  # [(class name, cosine)], best first, all classes
    gallery_cos_true: Optional[float] = None  # the same contrast averaged over the gallery's sequences
    gallery_cos_random: Optional[float] = None
    gallery_true_best: Optional[int] = None  # sequences where the true action beats every random one
    figure: Optional[Path] = None
    elapsed_s: float = 0.0

    @property
    def true_action_rank(self) -> int:
        """1 + the number of random actions whose prediction is closer to the target than the true action's."""
        return 1 + sum(c > self.cos_true for c in self.cos_random)


# ----------------------------------------------------------------------------- the demo
def _load_model(name: str):
    from ..zoo.factory import load
    from ..zoo.factory import is_local_path
    from ..zoo.registry import list_models

    how = (
        "run `seqjepa demo --model DIR` with a model directory written by model.save_pretrained() or "
        "`seqjepa export-run`, or a name from `seqjepa list`"
    )
    if name == DEFAULT_MODEL and not is_local_path(name) and DEFAULT_MODEL not in list_models():
        raise WeightsNotAvailableError(
            f"--model: the default model {DEFAULT_MODEL!r} is not shipped in this install of seqjepa yet; {how}"
        )
    try:
        return load(name, local_files_only=None if is_local_path(name) else True)
    except WeightsNotAvailableError as exc:
        raise WeightsNotAvailableError(f"--model: {exc}; the demo runs offline: {how}") from exc


def _tensor_batch(model, images: Sequence[Image.Image]) -> torch.Tensor:
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    return torch.stack([model.transform(im) for im in images]).to(device=device, dtype=dtype)


def _actions(model, latents: np.ndarray) -> Optional[torch.Tensor]:
    """Relative actions of ``(..., V, 7)`` latents in the model's action space, or None for action-free models."""
    from ..models.actions import get_action_space

    if not model.config.action_conditioned:
        return None
    space = get_action_space(model.config.action_space)
    dtype = next(model.parameters()).dtype
    return torch.as_tensor(space.actions(latents), dtype=dtype, device=next(model.parameters()).device)


def _vec(t: torch.Tensor, k: int = 6) -> str:
    values = ", ".join(f"{v:+.3f}" for v in t[:k].tolist())
    return f"[{values}, ...]" if t.numel() > k else f"[{values}]"


def _rotation_angle_deg(action: np.ndarray) -> float:
    return math.degrees(2.0 * math.acos(min(1.0, abs(float(action[3])))))


def run_demo(
    model: str = DEFAULT_MODEL,
    out: Optional[PathLike] = DEFAULT_OUT,
    *,
    classes: int = 8,
    objects_per_class: int = 6,
    gallery_views: int = 3,
    sweep_steps: int = 24,
    random_actions: int = 8,
    seed: int = 0,
    echo: Optional[Callable[[str], None]] = None,
) -> DemoResult:
    """Run the demo with ``model`` (a registry name or a local model path), print it, draw it to ``out``.

    Args:
        model: what :func:`seqjepa.load` takes; names are resolved offline only.
        out: the PNG to write (``None``: no figure).
        classes: how many of the procedural shape classes the gallery holds (the first ``classes``
            of :data:`seqjepa.data.synthetic.SHAPE_CLASSES`, as ``make_toy_3diebench`` numbers them).
        objects_per_class: gallery objects per class.
        gallery_views: views per gallery object (the length of its sequence).
        sweep_steps: views of the example object turned about the vertical axis (middle panel).
        random_actions: random actions the true action's prediction is compared with.
        seed: the gallery's and the random actions' seed.
        echo: where the text goes (default: the ``seqjepa.demo`` logger; the ``seqjepa demo`` command
            prints it).
    """
    from ..data.synthetic import SHAPE_CLASSES, make_mesh, render_view

    if echo is None:
        echo = logging.getLogger("seqjepa.demo").info
    start = time.perf_counter()
    if isinstance(classes, bool) or not isinstance(classes, int) or not 1 <= classes <= len(SHAPE_CLASSES):
        raise ValueError(f"--classes: expected an integer in 1..{len(SHAPE_CLASSES)}, got {classes!r}")
    for name, value, lo in (("--sweep-steps", sweep_steps, 3), ("--random-actions", random_actions, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"--model: expected a model name or a path, got {type(model).__name__}")
    figure_path = None if out is None else _check_out(out)
    net = _load_model(os.fspath(model))
    cfg = net.config
    if cfg.action_conditioned and cfg.action_space not in _ROTATION_SPACES:
        raise ValueError(
            f"--model: the demo shows rotation models (action space {' or '.join(map(repr, _ROTATION_SPACES))}, "
            f"3DIEBench-style); {os.fspath(model)!r} uses {cfg.action_space!r}"
        )
    if cfg.in_channels != 3:
        raise ValueError(f"--model: the demo's views are RGB; this model takes {cfg.in_channels} channels")
    example = load_example()
    m = len(example.images) - 1  # observed views; the last one is held out

    echo(f"seq-JEPA demo: model {os.fspath(model)!r} ({backbone_label(cfg.backbone, cfg.backbone_kwargs)}, z: D={cfg.encoder_dim}, z_AGG: E={cfg.token_dim}, "
         f"{cfg.image_size} px, actions: {cfg.action_space if cfg.action_conditioned else 'none'})")
    echo(f"example: one {example.shape}, {m} observed views + 1 held-out target ({example.source})")

    with torch.inference_mode():
        views = _tensor_batch(net, example.images)  # (V, C, H, W)
        all_actions = _actions(net, example.latents)  # (V-1, A) or None
        observed = views[:m].unsqueeze(0)
        echo("")
        if all_actions is not None:
            names = [f"view {j + 1} -> view {j + 2}" for j in range(m - 1)] + [f"view {m} -> target"]
            echo(f"relative actions ({cfg.action_space}: quaternion x, y, z, w{' + hue shifts' if all_actions.shape[1] > 4 else ''}):")
            for label, a in zip(names, all_actions.cpu().numpy()):
                echo(f"  {label:<16} {_vec(torch.as_tensor(a), 6)}  turn {_rotation_angle_deg(a):5.1f} deg")
        else:
            echo("this model was trained without actions: z_AGG and the prediction use the views only")
        obs_actions = None if all_actions is None else all_actions[: m - 1].unsqueeze(0)
        out_views = net.encode_views(observed, obs_actions)
        z, z_agg = out_views.equivariant[0], out_views.invariant[0]
        echo("")
        echo(f"equivariant embeddings z (pose-aware, one per observed view): shape {tuple(z.shape)}")
        for j in range(m):
            echo(f"  view {j + 1}  {_vec(z[j])}")
        echo(f"invariant embedding z_AGG (the whole observed sequence): shape {tuple(z_agg.shape)}")
        echo(f"  {_vec(z_agg)}")

        # the gallery: new objects of known class, gallery_views observed + 1 held-out view each
        class_names = list(SHAPE_CLASSES[:classes])
        size = min(128, max(64, cfg.image_size))
        gallery = render_gallery(class_names, objects_per_class, gallery_views + 1, size=size, seed=seed,
                                 light_color=example.light_color, face_colors=example.face_colors,
                                 max_angle=example.max_angle)
        n, v = gallery.images.shape[:2]
        g_all = _tensor_batch(net, [Image.fromarray(im) for im in gallery.images.reshape(n * v, size, size, 3)])
        g_all = g_all.reshape(n, v, *g_all.shape[1:])
        g_actions = _actions(net, gallery.latents)  # (N, V-1, A) or None
        g_agg = net.encode_views(g_all[:, :-1], None if g_actions is None else g_actions[:, :-1]).invariant  # (N, E)

        target_embedding = net.encode(views[m:], target=True)[0]
        which = "target encoder" if net.has_target_encoder else "encoder"
        rng = np.random.default_rng([seed, 104729])
        cos_t, cos_r = _prediction_cosines(net, z_agg[None], example.latents[None, m - 1],
                                           None if all_actions is None else all_actions[None, m - 1],
                                           target_embedding[None], random_actions, rng, example.max_angle)
        prediction = _predict(net, z_agg[None], None if all_actions is None else all_actions[None, m - 1])[0]
        cos_true, cos_random = float(cos_t[0]), cos_r[0].tolist()
        gallery_stats: dict = {}
        echo("")
        echo(f"predict the held-out view's z from z_AGG and the action view {m} -> target ({which} gives the true z):")
        echo(f"  cos(prediction, true z) = {cos_true:+.3f}  with the true action")
        if cos_random:
            rank = 1 + sum(c > cos_true for c in cos_random)
            echo(f"  cos(prediction, true z) = {float(np.mean(cos_random)):+.3f}  mean over {random_actions} random "
                 f"actions (best {max(cos_random):+.3f}); the true action ranks {rank} of {random_actions + 1}")
            g_t, g_r = _prediction_cosines(net, g_agg, gallery.latents[:, -2], g_actions[:, -1],
                                           net.encode(g_all[:, -1], target=True), random_actions, rng,
                                           example.max_angle)
            wins = int((g_t[:, None] >= g_r).all(dim=1).sum())
            gallery_stats = dict(gallery_cos_true=float(g_t.mean()), gallery_cos_random=float(g_r.mean()),
                                 gallery_true_best=wins)
            echo(f"  over {n} gallery sequences: {float(g_t.mean()):+.3f} with the true action, "
                 f"{float(g_r.mean()):+.3f} with random ones; the true action is the best of {random_actions + 1} "
                 f"in {wins} of {n}")

        # nearest classes: z_AGG against the class centroids of the gallery's z_AGG
        g_unit = F.normalize(g_agg, dim=1)
        centroids = torch.stack([g_unit[torch.as_tensor(gallery.labels == k)].mean(0) for k in range(classes)])
        sims = F.cosine_similarity(z_agg[None], centroids, dim=1)
        order = torch.argsort(sims, descending=True).tolist()
        nearest = [(class_names[k], float(sims[k])) for k in order]
        echo("")
        echo(f"nearest classes (cosine of z_AGG to class centroids of a gallery rendered now: {classes} classes x "
             f"{objects_per_class} new objects x {gallery_views} views):")
        for i, (name, s) in enumerate(nearest[:3]):
            mark = "  <- the example's class" if name == example.shape else ""
            echo(f"  {i + 1}. {name:<16} {s:+.3f}{mark}")
        if example.shape not in class_names:
            echo(f"  (the example's class, {example.shape}, is not among the gallery's {classes} classes)")

        if figure_path is not None:
            # middle panel: the example object turned about the vertical (world z) axis
            mesh = make_mesh(example.shape, np.random.default_rng(example.mesh_seed), face_colors=example.face_colors)
            angles = np.linspace(-example.max_angle, example.max_angle, sweep_steps)
            sweep_lat = np.repeat(example.latents[:1], sweep_steps, axis=0)
            sweep_lat[:, 2] = angles
            sweep_imgs = [Image.fromarray(render_view(mesh, lat, size, light_color=example.light_color)) for lat in sweep_lat]
            z_sweep = net.encode(_tensor_batch(net, sweep_imgs))
            figure = draw_figure(
                example_images=example.images,
                action_angles=[] if all_actions is None else [_rotation_angle_deg(a) for a in all_actions.cpu().numpy()],
                sweep_z=z_sweep.float().cpu().numpy(),
                sweep_angles_deg=np.degrees(angles),
                gallery_agg=g_agg.float().cpu().numpy(),
                gallery_labels=gallery.labels,
                class_names=class_names,
                example_agg=z_agg.float().cpu().numpy(),
                title=f"seq-JEPA demo  -  model {os.fspath(model)}",
                cos_true=cos_true,
                cos_random=cos_random,
                nearest=nearest[:3],
                example_shape=example.shape,
            )
            _save_png(figure, figure_path)

    elapsed = time.perf_counter() - start
    echo("")
    if figure_path is not None:
        echo(f"figure: {figure_path}")
    echo(f"done in {elapsed:.1f} s")
    return DemoResult(
        model_name=os.fspath(model), actions=np.zeros((0, 0)) if all_actions is None else all_actions.cpu().numpy(),
        equivariant=z.clone(), invariant=z_agg.clone(), prediction=prediction.clone(),
        target_embedding=target_embedding.clone(), cos_true=cos_true, cos_random=cos_random, nearest=nearest,
        figure=figure_path, elapsed_s=elapsed, **gallery_stats,
    )


def _predict(net, z_agg: torch.Tensor, action: Optional[torch.Tensor]) -> torch.Tensor:
    return net.predict(z_agg) if action is None else net.predict(z_agg, action)


def _prediction_cosines(net, z_agg, last_latents: np.ndarray, true_actions, target_z, k: int,
                        rng: np.random.Generator, max_angle: float = DEFAULT_MAX_ANGLE) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine to ``target_z`` (B, D) of the prediction with the true action (B,) and with ``k`` random ones (B, k).

    A random action leads from the last observed view's latent to a freshly drawn one (angles in
    ``U(-max_angle, max_angle)``, the training distribution).
    """
    from ..data.synthetic import sample_latents

    cos_true = F.cosine_similarity(_predict(net, z_agg, true_actions), target_z, dim=1)
    b = z_agg.shape[0]
    if true_actions is None or k == 0:
        return cos_true, cos_true.new_zeros(b, 0)
    wrong = sample_latents(rng, b * k, max_angle=max_angle).reshape(b, k, 7)
    pairs = np.stack([np.broadcast_to(last_latents[:, None], wrong.shape), wrong], axis=2)  # (B, k, 2, 7)
    wrong_actions = _actions(net, pairs.reshape(b * k, 2, 7))[:, 0]  # (B*k, A)
    pred = _predict(net, z_agg.repeat_interleave(k, dim=0), wrong_actions)
    cos_random = F.cosine_similarity(pred, target_z.repeat_interleave(k, dim=0), dim=1).reshape(b, k)
    return cos_true, cos_random


def _check_out(out: PathLike) -> Path:
    """The figure's absolute path, refused before any work if it cannot be written."""
    path = Path(out).expanduser().resolve()
    if path.is_dir():
        raise IsADirectoryError(f"--out: {path} is a directory; expected a .png file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--out: the folder {path.parent} does not exist")
    if path.suffix.lower() != ".png":
        raise ValueError(f"--out: the figure is a PNG; expected a path ending in .png, got {path.name!r}")
    return path


def _save_png(image: Image.Image, path: Path) -> None:
    import io

    from ..utils.files import atomic_write_bytes

    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    atomic_write_bytes(path, buf.getvalue())
