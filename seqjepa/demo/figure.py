"""The demo's three-panel figure, drawn with PIL only (no matplotlib needed to run ``seqjepa demo``), and its PNG file."""

from __future__ import annotations

import colorsys
import io
import math
import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
from PIL import Image

__all__ = ["FIGURE_SIZE", "draw_figure", "check_out", "save_png"]

#: Width and height of the figure :func:`draw_figure` writes.
FIGURE_SIZE = (1320, 640)
_CLASS_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                 (148, 103, 189), (140, 86, 75), (227, 119, 194), (23, 190, 207))


# ----------------------------------------------------------------------------- the figure
def _pca2(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``x`` projected on their top-2 principal axes (signs fixed), and the variance share of each."""
    x = np.asarray(x, dtype=np.float64)
    centered = x - x.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    proj = centered @ axes.T
    if proj.shape[1] < 2:
        proj = np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))
    total = float((s**2).sum())
    share = (s[:2] ** 2 / total) if total > 0 else np.zeros(2)
    return proj, np.pad(share, (0, 2 - len(share)))


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


class _Plot:
    """A square data area in a panel, mapping data coordinates to pixels with a margin."""

    def __init__(self, box: tuple[int, int, int, int], points: np.ndarray) -> None:
        self.box = box
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = np.maximum(hi - lo, 1e-9)
        self.lo = lo - 0.08 * span
        self.span = span * 1.16

    def __call__(self, p: np.ndarray) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        u = (p - self.lo) / self.span
        return x0 + u[0] * (x1 - x0), y1 - u[1] * (y1 - y0)


def _hue(t: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(0.75 * (1.0 - t), 0.85, 0.9)  # violet (t=0) .. red (t=1)
    return int(r * 255), int(g * 255), int(b * 255)


def _dot(draw, xy, r: float, fill, outline=(255, 255, 255)) -> None:
    x, y = xy
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline, width=1)


def _star(draw, xy, r: float, fill, outline=(0, 0, 0)) -> None:
    x, y = xy
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.45
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((x + rad * math.cos(a), y + rad * math.sin(a)))
    draw.polygon(pts, fill=fill, outline=outline)


def _bars(draw, origin, heading: str, rows, fonts) -> None:
    """A heading and one line per ``(label, cosine, colour)``: a bar of length max(cos, 0), the value, the label."""
    x, y = origin
    draw.text((x, y), heading, fill=(20, 20, 20), font=fonts["s"])
    full = 110
    for i, (label, value, color) in enumerate(rows):
        yy = y + 22 + 19 * i
        draw.rectangle((x, yy + 2, x + full, yy + 13), outline=(210, 210, 210))
        if value > 0:
            draw.rectangle((x, yy + 2, x + int(round(full * min(value, 1.0))), yy + 13), fill=color)
        draw.text((x + full + 8, yy), f"{value:+.2f}  {label}", fill=(60, 60, 60), font=fonts["xs"])


def _axes(draw, box, title: str, subtitle: str, xlabel: str, ylabel: str, fonts) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(170, 170, 170), width=1)
    draw.text((x0, y0 - 44), title, fill=(20, 20, 20), font=fonts["h"])
    draw.text((x0, y0 - 22), subtitle, fill=(90, 90, 90), font=fonts["s"])
    draw.text(((x0 + x1) / 2, y1 + 6), xlabel, fill=(90, 90, 90), font=fonts["s"], anchor="ma")
    draw.text((x0 - 6, (y0 + y1) / 2), ylabel, fill=(90, 90, 90), font=fonts["s"], anchor="rm")


def draw_figure(
    *,
    example_images: Sequence[Image.Image],
    action_angles: Sequence[float],
    sweep_z: np.ndarray,
    sweep_angles_deg: np.ndarray,
    gallery_agg: np.ndarray,
    gallery_labels: np.ndarray,
    class_names: Sequence[str],
    example_agg: np.ndarray,
    title: str,
    cos_true: float,
    cos_random: Sequence[float],
    nearest: Sequence[tuple],
    example_shape: str,
) -> Image.Image:
    """The demo's three-panel figure, :data:`FIGURE_SIZE` pixels, drawn with PIL only."""
    from PIL import ImageDraw

    width, height = FIGURE_SIZE
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    fonts = {"t": _font(22), "h": _font(16), "s": _font(13), "xs": _font(11)}
    ink, grey = (20, 20, 20), (100, 100, 100)
    draw.text((24, 14), title, fill=ink, font=fonts["t"])
    top = 110  # panels' data areas start here (titles above)

    # left: the example views, 2 x 2; the held-out target framed
    cell, gap = 170, 14
    left_x = 24
    m = len(example_images) - 1
    draw.text((left_x, top - 44), "Example sequence", fill=ink, font=fonts["h"])
    draw.text((left_x, top - 22), f"{m} observed views, then predict the last", fill=grey, font=fonts["s"])
    for i, im in enumerate(example_images[:4]):
        r, c = divmod(i, 2)
        x, y = left_x + c * (cell + gap), top + r * (cell + gap + 14)
        img.paste(im.resize((cell, cell), Image.BICUBIC), (x, y))
        held_out = i == len(example_images) - 1
        color = (214, 39, 40) if held_out else (150, 150, 150)
        draw.rectangle((x - 2, y - 2, x + cell + 1, y + cell + 1), outline=color, width=3 if held_out else 1)
        label = "target (held out)" if held_out else f"view {i + 1}"
        if i >= 1 and i - 1 < len(action_angles):
            label += f"  (turn {action_angles[i - 1]:.0f} deg)"
        draw.text((x, y + cell + 3), label, fill=color if held_out else grey, font=fonts["xs"])
    y_text = top + 2 * (cell + gap + 14) + 4
    rows = [("true action", cos_true, (214, 39, 40))]
    if cos_random:
        rows.append((f"random actions (mean of {len(cos_random)})", float(np.mean(cos_random)), (150, 150, 150)))
    _bars(draw, (left_x, y_text), "Predicted vs true z of the target (cosine)", rows, fonts)

    # middle: PCA of z along the sweep, coloured by the angle
    box = (470, top, 470 + 360, top + 360)
    proj, share = _pca2(sweep_z)
    plot = _Plot(box, proj)
    _axes(draw, box, "Equivariant z keeps the pose",
          f"example object turned about the vertical axis ({len(proj)} views)",
          f"PC1 ({100 * share[0]:.0f}% var)", f"PC2\n({100 * share[1]:.0f}%)", fonts)
    pts = [plot(p) for p in proj]
    draw.line(pts, fill=(200, 200, 200), width=2)
    t = (sweep_angles_deg - sweep_angles_deg.min()) / max(float(np.ptp(sweep_angles_deg)), 1e-9)
    for p, ti in zip(pts, t):
        _dot(draw, p, 6, _hue(float(ti)))
    # colour bar under the plot
    bar_y = box[3] + 28
    bar_x0, bar_x1 = box[0] + 60, box[2] - 60
    for x in range(bar_x0, bar_x1):
        draw.line([(x, bar_y), (x, bar_y + 10)], fill=_hue((x - bar_x0) / (bar_x1 - bar_x0)))
    lo_deg, hi_deg = float(sweep_angles_deg.min()), float(sweep_angles_deg.max())
    draw.text((bar_x0 - 6, bar_y + 5), f"{lo_deg:+.0f} deg", fill=grey, font=fonts["xs"], anchor="rm")
    draw.text((bar_x1 + 6, bar_y + 5), f"{hi_deg:+.0f} deg", fill=grey, font=fonts["xs"], anchor="lm")
    draw.text(((bar_x0 + bar_x1) / 2, bar_y + 16), "colour: turn about the vertical axis", fill=grey,
              font=fonts["xs"], anchor="ma")

    # right: PCA of z_AGG for the gallery (and the example), coloured by class
    box = (900, top, 900 + 360, top + 360)
    both = np.concatenate([gallery_agg, example_agg[None]], axis=0)
    proj, share = _pca2(both)
    plot = _Plot(box, proj)
    _axes(draw, box, "Invariant z_AGG knows the object",
          f"{len(gallery_agg)} new gallery objects, {len(class_names)} classes",
          f"PC1 ({100 * share[0]:.0f}% var)", f"PC2\n({100 * share[1]:.0f}%)", fonts)
    for p, k in zip(proj[:-1], gallery_labels):
        _dot(draw, plot(p), 6, _CLASS_COLORS[int(k) % len(_CLASS_COLORS)])
    _star(draw, plot(proj[-1]), 11, (255, 215, 0))
    # legend below the plot, in two rows if needed
    entries = [(name, _CLASS_COLORS[k % len(_CLASS_COLORS)]) for k, name in enumerate(class_names)]
    lx, ly = box[0], box[3] + 24
    for name, color in entries + [("example", None)]:
        label = name.replace("_", " ")
        w = int(draw.textlength(label, font=fonts["xs"])) + 26
        if lx + w > width - 10:
            lx, ly = box[0], ly + 18
        if color is None:
            _star(draw, (lx + 6, ly + 7), 7, (255, 215, 0))
        else:
            _dot(draw, (lx + 6, ly + 7), 5, color)
        draw.text((lx + 15, ly), label, fill=ink, font=fonts["xs"])
        lx += w
    if nearest:
        rows = [(f"{i + 1}. {n.replace('_', ' ')}" + (" (true class)" if n == example_shape else ""), float(v),
                 _CLASS_COLORS[list(class_names).index(n) % len(_CLASS_COLORS)]) for i, (n, v) in enumerate(nearest)]
        _bars(draw, (box[0], ly + 26), "Nearest classes of the example (cosine to class centroids)", rows, fonts)
    return img


# ----------------------------------------------------------------------------- the file
def check_out(out: Union[str, "os.PathLike[str]"]) -> Path:
    """The figure's absolute path, refused before any work if it cannot be written."""
    path = Path(out).expanduser().resolve()
    if path.is_dir():
        raise IsADirectoryError(f"--out: {path} is a directory; expected a .png file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--out: the folder {path.parent} does not exist")
    if path.suffix.lower() != ".png":
        raise ValueError(f"--out: the figure is a PNG; expected a path ending in .png, got {path.name!r}")
    return path


def save_png(image: Image.Image, path: Path) -> None:
    """Write ``image`` to ``path`` as an optimized PNG, atomically."""
    from ..utils.files import atomic_write_bytes

    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    atomic_write_bytes(path, buf.getvalue())
