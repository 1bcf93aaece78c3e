"""A procedural 3DIEBench: real 3-D shapes rendered under known rotations, floor and light colors.

:func:`make_toy_3diebench` writes a dataset in 3DIEBench's exact on-disk layout (paper-notes §4,
from SIE's ``data/README.md``)::

    ROOT/<synset>/<obj_id>/image_<i>.jpg     RGB JPEG, size x size
    ROOT/<synset>/<obj_id>/latent_<i>.npy    7 float64: rot x, y, z (extrinsic "xyz" Euler, U(-pi/2, pi/2)),
                                             floor hue U(0, 1), light theta U(0, pi/4), light phi U(0, 2 pi),
                                             light hue U(0, 1)
    ROOT/{train,val}_images.npy              '/<synset>/<obj_id>/' strings (leading '/', as in the real index)
    ROOT/{train,val}_labels.npy              int64: index of the synset in the sorted synset list
    ROOT/synsets.json                        (extra, not in the real dataset) synset -> shape name
    ROOT/toy.json                            (extra) the settings that rendered it: seed, scene, sizes

Each class is a distinct solid (cube, tetrahedron, octahedron, elongated prism, pyramid, L-shape,
hexagonal prism, wedge); every object draws its own proportions and one color per face, so objects
differ within a class and the pose can be read off the image. Rendering: the mesh is rotated by
the latent rotation (``R = Rz Ry Rx``, scipy's extrinsic ``"xyz"``), seen by a perspective camera at
distance 2.5 and elevation pi/4 (3DIEBench's camera, paper-notes §4), flat Lambert-shaded by a point
light at radius 4 in direction (theta, phi) with color HSV(light hue, 1, 0.8), above a floor at
z = -1 of color HSV(floor hue, 0.6, 0.6). Visibility is a per-pixel z-buffer over all triangles at
once (numpy, no per-pixel Python).

Generation is deterministic in ``seed``: object ``n`` draws everything from
``numpy.random.default_rng([seed, n])``, so the result does not depend on the number of workers.
The dataset is written into a temporary sibling directory and renamed into place at the end, so an
interrupted run never leaves a half-written ``ROOT``.
"""

from __future__ import annotations

import colorsys
import io
import json
import multiprocessing as mp
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image

from ..utils.files import check_replaceable, mark_output, remove_output
from ..utils.log import progress
from ..version import __version__

_OUTPUT_KIND = "toy-3diebench"
#: the settings a toy data set was rendered with, beside its index files
TOY_SETTINGS_FILE = "toy.json"

__all__ = ["make_toy_3diebench", "SHAPE_CLASSES", "Mesh", "make_mesh", "render_view", "sample_latents", "ToyDatasetInfo",
           "DEFAULT_MAX_ANGLE", "TOY_SETTINGS_FILE", "read_toy_settings"]

PathLike = Union[str, "os.PathLike[str]"]

SHAPE_CLASSES = (
    "cube", "tetrahedron", "octahedron", "elongated_prism", "pyramid", "l_shape", "hexagonal_prism", "wedge",
)

CAMERA_DISTANCE = 2.5
CAMERA_ELEVATION = np.pi / 4
LIGHT_RADIUS = 4.0
FLOOR_Z = -1.0
FIELD_OF_VIEW = np.deg2rad(50.0)
OBJECT_RADIUS = 0.9
_AMBIENT = 0.45
_SKY = np.array([0.15, 0.15, 0.17], dtype=np.float32)


# ----------------------------------------------------------------------------- meshes
@dataclass
class Mesh:
    """A triangle mesh in model space with one RGB albedo per triangle and outward unit normals."""

    triangles: np.ndarray  # (T, 3, 3) float32 vertex positions
    normals: np.ndarray  # (T, 3) float32 outward unit normals
    colors: np.ndarray  # (T, 3) float32 albedo in [0, 1]


def _box(sx: float, sy: float, sz: float, center=(0.0, 0.0, 0.0)):
    v = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)], dtype=np.float64) / 2
    faces = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    return v + np.asarray(center), faces


def _prism(n: int, radius: float, height: float, squash: float = 1.0):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / 2
    ring = np.stack([radius * np.cos(a), radius * squash * np.sin(a)], axis=1)
    v = np.concatenate([np.c_[ring, np.full(n, -height / 2)], np.c_[ring, np.full(n, height / 2)]])
    faces = [list(range(n)), list(range(n, 2 * n))]
    faces += [[i, (i + 1) % n, n + (i + 1) % n, n + i] for i in range(n)]
    return v, faces


def _pyramid(n: int, radius: float, height: float, apex_shift=(0.0, 0.0)):
    a = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / 4
    base = np.c_[radius * np.cos(a), radius * np.sin(a), np.full(n, -height / 3)]
    v = np.concatenate([base, [[apex_shift[0], apex_shift[1], 2 * height / 3]]])
    faces = [list(range(n))] + [[i, (i + 1) % n, n] for i in range(n)]
    return v, faces


def _octahedron(a: float, b: float, c: float):
    v = np.array([[a, 0, 0], [-a, 0, 0], [0, b, 0], [0, -b, 0], [0, 0, c], [0, 0, -c]], dtype=np.float64)
    faces = [[i, j, k] for i in (0, 1) for j in (2, 3) for k in (4, 5)]
    return v, faces


def _shape_parts(name: str, rng: np.random.Generator) -> list:
    """Convex parts ``(vertices, faces)`` of one object of class ``name`` with random proportions."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    if name == "cube":
        return [_box(u(0.85, 1.15), u(0.85, 1.15), u(0.85, 1.15))]
    if name == "tetrahedron":
        v = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
        v *= rng.uniform(0.8, 1.2, size=(1, 3))
        return [(v, [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])]
    if name == "octahedron":
        return [_octahedron(u(0.8, 1.2), u(0.8, 1.2), u(0.8, 1.2))]
    if name == "elongated_prism":
        return [_prism(3, u(0.35, 0.5), u(1.8, 2.4), squash=u(0.7, 1.0))]
    if name == "pyramid":
        return [_pyramid(4, u(0.8, 1.0), u(1.2, 1.6), apex_shift=(u(-0.2, 0.2), u(-0.2, 0.2)))]
    if name == "l_shape":
        t, long1, long2 = u(0.35, 0.5), u(1.4, 1.8), u(0.9, 1.3)
        return [
            _box(long1, t, t, center=(0.0, 0.0, 0.0)),
            _box(t, long2, t, center=(long1 / 2 - t / 2, long2 / 2 + t / 2, 0.0)),
        ]
    if name == "hexagonal_prism":
        return [_prism(6, u(0.8, 1.0), u(0.35, 0.6), squash=u(0.8, 1.0))]
    if name == "wedge":
        w, d, h = u(1.2, 1.6), u(0.8, 1.1), u(0.6, 1.0)
        v = np.array([[0, 0, 0], [w, 0, 0], [0, d, 0], [w, d, 0], [0, 0, h], [0, d, h]], dtype=np.float64)
        v -= v.mean(axis=0)
        return [(v, [[0, 1, 3, 2], [0, 4, 5, 2], [0, 1, 4], [2, 5, 3], [1, 3, 5, 4]])]
    raise ValueError(f"shape: expected one of {SHAPE_CLASSES}, got {name!r}")


FACE_COLORS = ("random", "canonical", "class-hue", "independent")


def make_mesh(name: str, rng: np.random.Generator, *, face_colors: str = "random") -> Mesh:
    """One random object of shape class ``name``: proportions and per-face colors from ``rng``.

    ``face_colors="independent"`` draws hue, saturation and value of every face independently and
    uniformly: unlike ``"random"``, whose hues are evenly spread over the circle (so their spacing
    gives away how many faces, hence which class, an object has), nothing about the colours depends
    on the class or on the pose.
    ``face_colors="canonical"`` colours face k of every object alike (the proportions still vary).
    ``face_colors="class-hue"`` gives every class its own hue band and shades each face within it by
    the face's direction in object coordinates, the same way for every class: the class can be told
    from any pose, and the shade shows the pose.
    """
    if face_colors not in FACE_COLORS:
        raise ValueError(f"face_colors: expected one of {FACE_COLORS}, got {face_colors!r}")
    parts = _shape_parts(name, rng)
    tris, normals, face_ids, face_normals = [], [], [], []
    face_count = 0
    all_vertices = np.concatenate([v for v, _ in parts])
    shift = all_vertices.mean(axis=0)
    scale = OBJECT_RADIUS / np.linalg.norm(all_vertices - shift, axis=1).max()
    for vertices, faces in parts:
        v = (vertices - shift) * scale
        part_center = v.mean(axis=0)
        for face in faces:
            poly = v[face]
            n = np.cross(poly[1] - poly[0], poly[2] - poly[0])
            if np.dot(n, poly.mean(axis=0) - part_center) < 0:  # orient outward from the convex part
                poly, n = poly[::-1], -n
            n = n / np.linalg.norm(n)
            for k in range(1, len(poly) - 1):
                tris.append(np.stack([poly[0], poly[k], poly[k + 1]]))
                normals.append(n)
                face_ids.append(face_count)
            face_normals.append(n)
            face_count += 1
    # one color per face, hues spread around the circle so neighbouring faces differ
    hues = (rng.uniform() + np.arange(face_count) / face_count + rng.uniform(-0.03, 0.03, face_count)) % 1.0
    rng.shuffle(hues)
    sat = rng.uniform(0.45, 0.9, face_count)
    val = rng.uniform(0.6, 0.95, face_count)
    if face_colors == "independent":
        hues = rng.uniform(0.0, 1.0, face_count)
        sat = rng.uniform(0.45, 0.9, face_count)
        val = rng.uniform(0.6, 0.95, face_count)
    if face_colors == "canonical":
        # face k has the same colour on every object: a single view then shows the absolute pose
        hues = (np.arange(face_count) * 0.618034) % 1.0
        sat = np.full(face_count, 0.8)
        val = np.full(face_count, 0.9)
    if face_colors == "class-hue":
        # the hue names the class (one band per shape class), readable from any pose; the shade within
        # the band is one function of the face's normal in object coordinates for every class, so it
        # shows the pose and leaves recognising the class to the hue
        nx, ny, nz = np.asarray(face_normals).T
        hues = (SHAPE_CLASSES.index(name) / len(SHAPE_CLASSES) + 0.04 * nx) % 1.0
        sat = 0.6 + 0.35 * ny
        val = 0.7 + 0.25 * nz
    face_rgb = np.array([colorsys.hsv_to_rgb(h, s, v) for h, s, v in zip(hues, sat, val)])
    return Mesh(
        triangles=np.asarray(tris, dtype=np.float32),
        normals=np.asarray(normals, dtype=np.float32),
        colors=face_rgb[np.asarray(face_ids)].astype(np.float32),
    )


# ----------------------------------------------------------------------------- latents
DEFAULT_MAX_ANGLE = np.pi / 2


def sample_latents(
    rng: np.random.Generator, views: int, *, ood: bool = False, max_angle: float = DEFAULT_MAX_ANGLE
) -> np.ndarray:
    """``(views, 7)`` float64 latents drawn as 3DIEBench draws them (paper-notes §4).

    Each Euler angle is drawn from ``U(-max_angle, max_angle)``; 3DIEBench's range is the default
    ``pi/2``. With ``ood=True`` each angle is drawn from ``+-U(pi/2, pi)`` as in 3DIEBench-OOD (§1c).
    """
    check_max_angle(max_angle, ood)
    lat = np.empty((views, 7), dtype=np.float64)
    if ood:
        lat[:, 0:3] = rng.uniform(np.pi / 2, np.pi, size=(views, 3)) * rng.choice([-1.0, 1.0], size=(views, 3))
    else:
        lat[:, 0:3] = rng.uniform(-max_angle, max_angle, size=(views, 3))
    lat[:, 3] = rng.uniform(0.0, 1.0, views)
    lat[:, 4] = rng.uniform(0.0, np.pi / 4, views)
    lat[:, 5] = rng.uniform(0.0, 2 * np.pi, views)
    lat[:, 6] = rng.uniform(0.0, 1.0, views)
    return lat


def check_max_angle(max_angle: float, ood: bool = False) -> None:
    """Reject a rotation range outside (0, pi/2], or one combined with the OOD draw (whose range is fixed)."""
    if isinstance(max_angle, bool) or not isinstance(max_angle, (int, float, np.floating)) or not 0 < max_angle <= np.pi / 2:
        raise ValueError(f"max_angle: expected radians in (0, pi/2] (3DIEBench draws U(-pi/2, pi/2)), got {max_angle!r}")
    if ood and max_angle != DEFAULT_MAX_ANGLE:
        raise ValueError(f"max_angle: the OOD draw has its own range +-U(pi/2, pi); leave max_angle at pi/2, got {max_angle!r}")


def euler_xyz_matrix(angles: np.ndarray) -> np.ndarray:
    """Rotation matrix of extrinsic "xyz" Euler angles: ``Rz(c) @ Ry(b) @ Rx(a)``."""
    a, b, c = angles
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
    return rz @ ry @ rx


# ----------------------------------------------------------------------------- renderer
class _Camera:
    """Fixed perspective camera looking at the origin; per-size pixel rays and floor hits are cached."""

    def __init__(self, size: int):
        self.size = size
        el = CAMERA_ELEVATION
        self.position = np.array([0.0, -CAMERA_DISTANCE * np.cos(el), CAMERA_DISTANCE * np.sin(el)])
        forward = -self.position / np.linalg.norm(self.position)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        self.basis = np.stack([right, up, forward])  # world -> camera rows
        self.tan_half = np.tan(FIELD_OF_VIEW / 2)
        centers = (np.arange(size, dtype=np.float64) + 0.5) / size
        py, px = np.meshgrid(centers, centers, indexing="ij")  # row (down), col (right)
        self.px = (px * size).ravel().astype(np.float32)
        self.py = (py * size).ravel().astype(np.float32)
        # camera-space ray directions -> world, then intersect the floor plane z = FLOOR_Z
        dirs_cam = np.stack([(2 * px - 1) * self.tan_half, (1 - 2 * py) * self.tan_half, np.ones_like(px)], -1)
        dirs = dirs_cam.reshape(-1, 3) @ self.basis
        t = (FLOOR_Z - self.position[2]) / np.minimum(dirs[:, 2], -1e-9)
        self.floor_hit = dirs[:, 2] < -1e-6
        self.floor_points = self.position + t[:, None] * dirs

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points ``(..., 3)`` -> pixel coordinates ``(..., 2)`` (col, row) and inverse depth ``(...)``."""
        cam = (points - self.position) @ self.basis.T
        inv_z = 1.0 / cam[..., 2]
        col = (0.5 + 0.5 * cam[..., 0] * inv_z / self.tan_half) * self.size
        row = (0.5 - 0.5 * cam[..., 1] * inv_z / self.tan_half) * self.size
        return np.stack([col, row], axis=-1), inv_z


_CAMERAS: dict[int, _Camera] = {}


def _camera(size: int) -> _Camera:
    if size not in _CAMERAS:
        _CAMERAS[size] = _Camera(size)
    return _CAMERAS[size]


LIGHT_COLORS = ("3diebench", "white")


def _light(latent: np.ndarray, light_color: str = "3diebench") -> tuple[np.ndarray, np.ndarray]:
    theta, phi, hue = latent[4], latent[5], latent[6]
    pos = LIGHT_RADIUS * np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    if light_color == "white":
        return pos, np.ones(3)
    rgb = np.array(colorsys.hsv_to_rgb(hue % 1.0, 1.0, 0.8)) / 0.8  # full-value light colour, brightness via energy
    return pos, rgb


def render_view(mesh: Mesh, latent: np.ndarray, size: int, *, light_color: str = "3diebench") -> np.ndarray:
    """Render ``mesh`` under a 7-d 3DIEBench ``latent`` -> ``(size, size, 3)`` uint8 RGB image.

    ``light_color="white"`` ignores the light hue latent (an easier scene: face colours then match
    across views, which small CPU-trained models need to learn pose; see ``make_toy_3diebench``).
    """
    if light_color not in LIGHT_COLORS:
        raise ValueError(f"light_color: expected one of {LIGHT_COLORS}, got {light_color!r}")
    cam = _camera(size)
    light_pos, light_rgb = _light(latent, light_color)
    # floor: Lambert from the point light with inverse-square falloff, normalized at the floor centre
    floor_albedo = np.array(colorsys.hsv_to_rgb(latent[3] % 1.0, 0.6, 0.6), dtype=np.float32)
    to_light = light_pos - cam.floor_points
    dist2 = np.einsum("ij,ij->i", to_light, to_light)
    lambert = np.clip(to_light[:, 2] / np.sqrt(dist2), 0, None) * ((LIGHT_RADIUS - FLOOR_Z) ** 2 / dist2)
    shade = _AMBIENT + (1 - _AMBIENT) * lambert[:, None] * light_rgb[None, :]
    image = np.where(cam.floor_hit[:, None], floor_albedo * shade, _SKY).astype(np.float32)

    rot = euler_xyz_matrix(latent[:3])
    tris = mesh.triangles.astype(np.float64) @ rot.T  # (T, 3, 3)
    normals = mesh.normals.astype(np.float64) @ rot.T
    centroids = tris.mean(axis=1)
    visible = np.einsum("ij,ij->i", normals, cam.position - centroids) > 0  # back-face culling
    if visible.any():
        tris, normals, centroids, albedo = tris[visible], normals[visible], centroids[visible], mesh.colors[visible]
        to_l = light_pos - centroids
        diffuse = np.clip(np.einsum("ij,ij->i", normals, to_l) / np.linalg.norm(to_l, axis=1), 0, None)
        face_rgb = albedo * (_AMBIENT + 0.8 * diffuse[:, None] * light_rgb[None, :])
        _rasterize(cam, tris, face_rgb.astype(np.float32), image)
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8).reshape(size, size, 3)


def _rasterize(cam: _Camera, tris: np.ndarray, face_rgb: np.ndarray, image: np.ndarray) -> None:
    """Z-buffer all triangles at once into ``image`` ``(P, 3)``: each pixel takes its nearest covering face."""
    xy, inv_z = cam.project(tris)  # (T, 3, 2), (T, 3)
    xy = xy.astype(np.float32)
    inv_z = inv_z.astype(np.float32)
    # restrict to the pixels inside the union of the triangles' bounding boxes
    lo = np.floor(xy.reshape(-1, 2).min(axis=0)).astype(int)
    hi = np.ceil(xy.reshape(-1, 2).max(axis=0)).astype(int)
    c0, r0 = np.clip(lo, 0, cam.size)
    c1, r1 = np.clip(hi + 1, 0, cam.size)
    if c0 >= c1 or r0 >= r1:
        return
    cols = np.arange(c0, c1, dtype=np.float32) + 0.5
    rows = np.arange(r0, r1, dtype=np.float32) + 0.5
    px = np.broadcast_to(cols[None, :], (r1 - r0, c1 - c0)).ravel()
    py = np.broadcast_to(rows[:, None], (r1 - r0, c1 - c0)).ravel()
    x0, y0 = xy[:, 0, 0:1], xy[:, 0, 1:2]
    x1, y1 = xy[:, 1, 0:1], xy[:, 1, 1:2]
    x2, y2 = xy[:, 2, 0:1], xy[:, 2, 1:2]
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)  # (T, 1)
    ok = np.abs(area[:, 0]) > 1e-9
    area = np.where(np.abs(area) > 1e-9, area, 1.0)
    b0 = ((x1 - px) * (y2 - py) - (y1 - py) * (x2 - px)) / area
    b1 = ((x2 - px) * (y0 - py) - (y2 - py) * (x0 - px)) / area
    b2 = 1.0 - b0 - b1
    inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0) & ok[:, None]
    depth = b0 * inv_z[:, 0:1] + b1 * inv_z[:, 1:2] + b2 * inv_z[:, 2:3]  # 1/z, larger is nearer
    depth = np.where(inside, depth, -np.inf)
    nearest = depth.argmax(axis=0)
    covered = inside.any(axis=0)
    pix = (py[covered].astype(np.int64)) * cam.size + px[covered].astype(np.int64)
    image[pix] = face_rgb[nearest[covered]]


# ----------------------------------------------------------------------------- dataset writer
@dataclass
class ToyDatasetInfo:
    """What :func:`make_toy_3diebench` wrote."""

    root: Path
    synsets: list[str]
    classes: list[str]
    train_objects: int
    val_objects: int
    views: int
    size: int


def _synset_id(k: int) -> str:
    # 8 digits like ShapeNet synsets; increasing in k so the sorted order is the class order
    return f"9{k:07d}"


def _object_plan(objects: int, classes: int, seed: int) -> list[tuple[int, int, str]]:
    """(object index, class, object id) for every object; classes as balanced as possible."""
    plan = []
    for n in range(objects):
        rng = np.random.default_rng([seed, n, 1])
        plan.append((n, n % classes, f"{int(rng.integers(0, 2**63)):016x}{int(rng.integers(0, 2**63)):016x}"))
    return plan


def _render_object(job: tuple) -> None:
    root, n, cls, obj_id, views, size, seed, ood, quality, view_ids, light_color, face_colors, max_angle = job
    rng = np.random.default_rng([seed, n])
    mesh = make_mesh(SHAPE_CLASSES[cls], rng, face_colors=face_colors)
    latents = sample_latents(rng, views, ood=ood, max_angle=max_angle)
    if light_color == "white":
        latents[:, 6] = 0.0  # the light has no hue: record the neutral value, not a hue that was not rendered
    folder = Path(root) / _synset_id(cls) / obj_id
    folder.mkdir(parents=True, exist_ok=True)
    for v, lat in zip(view_ids, latents):
        buf = io.BytesIO()
        Image.fromarray(render_view(mesh, lat, size, light_color=light_color)).save(buf, format="JPEG", quality=quality)
        (folder / f"image_{v}.jpg").write_bytes(buf.getvalue())
        buf = io.BytesIO()
        np.save(buf, lat)
        (folder / f"latent_{v}.npy").write_bytes(buf.getvalue())


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    path.write_bytes(buf.getvalue())


def make_toy_3diebench(
    out_dir: PathLike,
    *,
    objects: int = 120,
    views: int = 50,
    classes: int = 4,
    size: int = 64,
    seed: int = 0,
    val_fraction: float = 0.2,
    workers: Optional[int] = None,
    ood: bool = False,
    view_ids: Optional[Sequence[int]] = None,
    jpeg_quality: int = 90,
    overwrite: bool = False,
    light_color: str = "3diebench",
    face_colors: str = "random",
    max_angle: float = DEFAULT_MAX_ANGLE,
) -> ToyDatasetInfo:
    """Write a procedural 3DIEBench with ``objects`` objects of ``classes`` shape classes to ``out_dir``.

    Args:
        out_dir: dataset root; must not exist (or be empty) unless ``overwrite``.
        objects: number of objects, assigned to classes round-robin.
        views: views per object (3DIEBench has 50).
        classes: number of shape classes, 1..len(SHAPE_CLASSES).
        size: image side in pixels (3DIEBench renders 256).
        seed: everything is a deterministic function of it.
        val_fraction: per class, this fraction of objects (rounded, at least one when the class has
            two or more objects) goes to the val split.
        workers: processes rendering objects in parallel (default: the CPUs available, at most 8).
        ood: draw Euler angles from +-U(pi/2, pi), as 3DIEBench-OOD.
        view_ids: file numbers of the views (default ``0..views-1``); e.g. ``[2, 3, 4, 5]`` mimics
            the OOD release, whose views start at 2.
        jpeg_quality: JPEG quality of the images.
        overwrite: replace an existing ``out_dir``.
        light_color: ``"3diebench"`` (default): a spot light of random hue per view, as 3DIEBench
            draws it; ``"white"``: a white light (latent[6] is written as 0), so that face colours
            match across views. The shipped default model is trained on white-light data: with
            coloured light a small model trained for minutes on a CPU learns no pose at all.
        face_colors: ``"random"`` (default): every object draws its own face colours, hues evenly
            spread around the circle; ``"independent"``: every face of every object draws its colour
            on its own, so colours name neither the class nor the pose (the shipped default model's
            scene: an untrained network reads almost nothing from it); ``"canonical"``:
            face k has the same colour on every object, so one view shows the absolute pose;
            ``"class-hue"``: the hue names the class and the shade within it shows the face's direction
            in object coordinates, so that recognising the class needs no pose features.
        max_angle: each Euler angle is drawn from ``U(-max_angle, max_angle)`` radians; 3DIEBench's
            ``pi/2`` by default. The shipped default model is trained with ``pi/4``: over the full
            range a small CPU-trained model learns too little pose for rotation to be read off z.
    """
    check_max_angle(max_angle, ood)
    if light_color not in LIGHT_COLORS:
        raise ValueError(f"light_color: expected one of {LIGHT_COLORS}, got {light_color!r}")
    if face_colors not in FACE_COLORS:
        raise ValueError(f"face_colors: expected one of {FACE_COLORS}, got {face_colors!r}")
    # upper bounds far beyond any use, so a typo cannot start a render of 10^30 objects
    for name, value, lo, hi in (("objects", objects, 1, 10**6), ("views", views, 1, 10**4), ("classes", classes, 1, 10**4),
                                ("size", size, 8, 4096)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {value!r}")
    if classes > len(SHAPE_CLASSES):
        raise ValueError(f"classes: expected at most {len(SHAPE_CLASSES)} (shape classes available), got {classes}")
    if objects < classes:
        raise ValueError(f"objects: expected at least one object per class ({classes}), got {objects}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a number in [0, 1), got {val_fraction!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality: expected 1..100, got {jpeg_quality!r}")
    ids = list(range(views)) if view_ids is None else [int(v) for v in view_ids]
    if len(ids) != views or len(set(ids)) != views or min(ids) < 0:
        raise ValueError(f"view_ids: expected {views} distinct non-negative integers, got {view_ids!r}")
    out = Path(out_dir)
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"out_dir: {out} exists and is not empty (pass overwrite=True / --overwrite to replace it)")
    if overwrite:  # only a dataset this function wrote may be replaced; '.', parents and home never
        check_replaceable(out, what="out_dir", kind=_OUTPUT_KIND)
    if workers is None:
        workers = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    if workers < 1:
        raise ValueError(f"workers: expected an integer >= 1, got {workers!r}")

    plan = _object_plan(objects, classes, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        jobs = [(str(tmp), n, cls, oid, views, size, seed, ood, jpeg_quality, ids, light_color, face_colors, max_angle)
                for n, cls, oid in plan]
        if workers == 1 or len(jobs) == 1:
            for job in progress(jobs, desc="rendering objects", unit="obj"):
                _render_object(job)
        else:
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            with ctx.Pool(workers) as pool:
                done = pool.imap_unordered(_render_object, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
                for _ in progress(done, desc="rendering objects", total=len(jobs), unit="obj"):
                    pass
        train, val = _split(plan, classes, val_fraction, seed)
        synsets = [_synset_id(k) for k in range(classes)]
        for split, members in (("train", train), ("val", val)):
            paths = np.array([f"/{_synset_id(c)}/{oid}/" for c, oid in members])
            labels = np.array([c for c, _ in members], dtype=np.int64)
            _save_npy(tmp / f"{split}_images.npy", paths)
            _save_npy(tmp / f"{split}_labels.npy", labels)
        (tmp / "synsets.json").write_text(
            json.dumps({s: SHAPE_CLASSES[k] for k, s in enumerate(synsets)}, indent=1) + "\n", encoding="utf-8"
        )
        settings = {
            "generator": "seqjepa.data.make_toy_3diebench", "seqjepa_version": __version__, "seed": seed,
            "objects": objects, "views": views, "classes": classes, "size": size, "val_fraction": val_fraction,
            "ood": ood, "view_ids": ids, "jpeg_quality": jpeg_quality, "light_color": light_color,
            "face_colors": face_colors, "max_angle": float(max_angle),
        }
        (tmp / TOY_SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
        mark_output(tmp, kind=_OUTPUT_KIND)
        if out.exists():
            remove_output(out, what="out_dir", kind=_OUTPUT_KIND)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ToyDatasetInfo(out, synsets, list(SHAPE_CLASSES[:classes]), len(train), len(val), views, size)


def read_toy_settings(root: PathLike) -> Optional[dict]:
    """The settings a toy data set under ``root`` was rendered with, or None for other data (the real 3DIEBench)."""
    path = Path(root) / TOY_SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return settings if isinstance(settings, dict) and settings.get("generator") == "seqjepa.data.make_toy_3diebench" else None


def _split(plan, classes: int, val_fraction: float, seed: int):
    rng = np.random.default_rng([seed, 2**31 - 1])
    train, val = [], []
    for k in range(classes):
        members = sorted(oid for _, c, oid in plan if c == k)
        order = rng.permutation(len(members))
        n_val = int(round(val_fraction * len(members)))
        if val_fraction > 0 and len(members) >= 2:
            n_val = min(max(n_val, 1), len(members) - 1)
        val_ids = {members[i] for i in order[:n_val]}
        train += [(k, oid) for oid in members if oid not in val_ids]
        val += [(k, oid) for oid in members if oid in val_ids]
    return train, val
