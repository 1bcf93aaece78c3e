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

This module holds the entry point, :func:`run_demo`, which runs those as phases. Each phase's work
lives in a module of its own: :mod:`~seqjepa.demo.example` reads the shipped views,
:mod:`~seqjepa.demo.gallery` renders new objects, :mod:`~seqjepa.demo.model` loads and feeds the
model, :mod:`~seqjepa.demo.compute` computes each panel's numbers, :mod:`~seqjepa.demo.report`
prints them, :mod:`~seqjepa.demo.figure` draws and writes the PNG, and
:mod:`~seqjepa.demo.result` is what the demo hands back.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
from PIL import Image

from ..zoo.factory import DEFAULT_MODEL
from . import report
from .compute import (
    GalleryEmbeddings,
    PredictionScores,
    SequenceEmbeddings,
    embed_example,
    embed_gallery,
    nearest_classes,
    score_prediction,
    sweep_embeddings,
)
from .example import ASSETS_DIR, EXAMPLE_FILE, Example, load_example
from .figure import FIGURE_SIZE, check_out, draw_figure, save_png
from .gallery import Gallery, render_gallery
from .model import load_model, rotation_angle_deg
from .result import DemoResult

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

DEFAULT_OUT = "seqjepa-demo.png"


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
    from ..data.synthetic import SHAPE_CLASSES

    if echo is None:
        echo = logging.getLogger("seqjepa.demo").info
    start = time.perf_counter()
    _check_arguments(model, classes, sweep_steps, random_actions)
    figure_path = None if out is None else check_out(out)
    name = os.fspath(model)
    net = load_model(name)
    example = load_example()
    report.header(echo, name, net.config, example)
    with torch.inference_mode():
        sequence = embed_example(net, example)
        report.sequence(echo, net.config, sequence)
        gallery = embed_gallery(net, example, list(SHAPE_CLASSES[:classes]), objects_per_class, gallery_views, seed)
        scores = score_prediction(net, example, sequence, gallery, random_actions, seed)
        report.prediction(echo, sequence.observed, scores)
        nearest = nearest_classes(sequence.invariant, gallery)
        report.nearest(echo, nearest, example.shape, classes, objects_per_class, gallery_views)
        if figure_path is not None:
            figure = _figure(net, name, example, sequence, gallery, scores, nearest, sweep_steps)
            save_png(figure, figure_path)
    elapsed = time.perf_counter() - start
    report.footer(echo, figure_path, elapsed)
    return _result(name, sequence, scores, nearest, figure_path, elapsed)


def _check_arguments(model, classes: int, sweep_steps: int, random_actions: int) -> None:
    from ..data.synthetic import SHAPE_CLASSES

    if isinstance(classes, bool) or not isinstance(classes, int) or not 1 <= classes <= len(SHAPE_CLASSES):
        raise ValueError(f"--classes: expected an integer in 1..{len(SHAPE_CLASSES)}, got {classes!r}")
    for name, value, lo in (("--sweep-steps", sweep_steps, 3), ("--random-actions", random_actions, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"--model: expected a model name or a path, got {type(model).__name__}")


def _figure(net, name: str, example: Example, sequence: SequenceEmbeddings, gallery: GalleryEmbeddings,
            scores: PredictionScores, nearest: list, sweep_steps: int) -> Image.Image:
    sweep_z, angles = sweep_embeddings(net, example, sweep_steps, gallery.size)
    actions = [] if sequence.actions is None else sequence.actions.cpu().numpy()
    return draw_figure(
        example_images=example.images,
        action_angles=[rotation_angle_deg(a) for a in actions],
        sweep_z=sweep_z,
        sweep_angles_deg=np.degrees(angles),
        gallery_agg=gallery.invariant.float().cpu().numpy(),
        gallery_labels=gallery.gallery.labels,
        class_names=gallery.gallery.classes,
        example_agg=sequence.invariant.float().cpu().numpy(),
        title=f"seq-JEPA demo  -  model {name}",
        cos_true=scores.cos_true,
        cos_random=scores.cos_random,
        nearest=nearest[:3],
        example_shape=example.shape,
    )


def _result(name: str, sequence: SequenceEmbeddings, scores: PredictionScores, nearest: list,
            figure: Optional[Path], elapsed: float) -> DemoResult:
    return DemoResult(
        model_name=name,
        actions=np.zeros((0, 0)) if sequence.actions is None else sequence.actions.cpu().numpy(),
        equivariant=sequence.equivariant.clone(),
        invariant=sequence.invariant.clone(),
        prediction=scores.prediction.clone(),
        target_embedding=scores.target_embedding.clone(),
        cos_true=scores.cos_true,
        cos_random=scores.cos_random,
        nearest=nearest,
        gallery_cos_true=scores.gallery_cos_true,
        gallery_cos_random=scores.gallery_cos_random,
        gallery_true_best=scores.gallery_true_best,
        figure=figure,
        elapsed_s=elapsed,
    )
