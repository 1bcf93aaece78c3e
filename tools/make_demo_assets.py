"""Regenerate the demo's example views: ``python tools/make_demo_assets.py``.

Writes ``view_<i>.jpg`` (128 px RGB JPEG) and ``example.json`` (the shape, the mesh seed and the
7-d 3DIEBench latent of every view) into ``examples/assets/``. The object is drawn with
:mod:`seqjepa.data.synthetic` from its own seed stream, so it is not an object of any toy dataset
that ``make_toy_3diebench`` writes (those draw from ``default_rng([seed, n])``).

``seqjepa demo`` reads these files from the installed package (pyproject.toml packages that folder as ``seqjepa/assets``;
this script lives outside it so that the wheel carries the data, not the generator).
"""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "examples" / "assets"
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from seqjepa.data.synthetic import SHAPE_CLASSES, make_mesh, render_view, sample_latents  # noqa: E402
from seqjepa.utils.files import atomic_write_bytes, atomic_write_text  # noqa: E402

SHAPE = "octahedron"
#: ``numpy.random.default_rng(MESH_SEED)`` draws the mesh, then the view latents.
MESH_SEED = [20250503, 8, 2]
VIEWS = 4
SIZE = 128
JPEG_QUALITY = 88
#: the scene of the default model's training data
#: (seqjepa make-toy-3diebench --light white --face-colors independent --max-angle 45):
#: every face draws its own colour, so the colours name neither the class nor the pose
LIGHT_COLOR = "white"
FACE_COLORS = "independent"
MAX_ANGLE = math.pi / 4


def main() -> None:
    rng = np.random.default_rng(MESH_SEED)
    mesh = make_mesh(SHAPE, rng, face_colors=FACE_COLORS)
    latents = sample_latents(rng, VIEWS, max_angle=MAX_ANGLE)
    if LIGHT_COLOR == "white":
        latents[:, 6] = 0.0
    views = []
    for i, latent in enumerate(latents):
        buf = io.BytesIO()
        Image.fromarray(render_view(mesh, latent, SIZE, light_color=LIGHT_COLOR)).save(buf, format="JPEG", quality=JPEG_QUALITY)
        name = f"view_{i}.jpg"
        atomic_write_bytes(HERE / name, buf.getvalue())
        views.append({"image": name, "latent": [float(x) for x in latent]})
    document = {
        "format": 1,
        "description": (
            f"One procedural {SHAPE} seen from {VIEWS} random rotations (3DIEBench's latent distribution, "
            f"Euler angles within +-{math.degrees(MAX_ANGLE):g} degrees); "
            f"the demo observes the first {VIEWS - 1} views and predicts the last."
        ),
        "shape": SHAPE,
        "scene": {"light_color": LIGHT_COLOR, "face_colors": FACE_COLORS, "max_angle": MAX_ANGLE},
        "class_index": SHAPE_CLASSES.index(SHAPE),
        "mesh_seed": MESH_SEED,
        "image_size": SIZE,
        "latent_layout": [
            "rot_x (rad)", "rot_y (rad)", "rot_z (rad)", "floor_hue", "light_theta (rad)", "light_phi (rad)", "light_hue",
        ],
        "rotation_convention": "extrinsic xyz Euler angles, R = Rz Ry Rx",
        "generator": "tools/make_demo_assets.py",
        "views": views,
    }
    atomic_write_text(HERE / "example.json", json.dumps(document, indent=1) + "\n")
    print(f"wrote {VIEWS} views of a {SHAPE} to {HERE}")


if __name__ == "__main__":
    main()
