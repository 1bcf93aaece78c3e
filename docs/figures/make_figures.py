"""Draw the figures of the documentation site (run from the repository root).

    python docs/figures/make_figures.py

Writes ``docs/figures/token-layout.png``: the seq-JEPA token layout, aggregator and predictor.
The PNG is committed; rerun this script after changing the drawing.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = Path(__file__).resolve().parent

Z_COLOR = "#9ecae1"      # encoder output z (equivariant)
ACT_COLOR = "#fdd0a2"    # action embedding e(a)
ZERO_COLOR = "#eeeeee"   # zeroed action slot
AGG_COLOR = "#a1d99b"    # [AGG] token and z_AGG (invariant)
BLOCK_COLOR = "#f7f7f7"


def _box(ax, x, y, w, h, text, color, fontsize=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                linewidth=1.0, edgecolor="#333333", facecolor=color))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, weight=weight)


def _arrow(ax, x0, y0, x1, y1, style="-|>", color="#333333", ls="-"):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=10,
                                 linewidth=1.0, color=color, linestyle=ls))


def draw_token_layout() -> plt.Figure:
    """The aggregator input ``[AGG], (z_1, e(a_1)), ..., (z_M, 0)`` and what reads its output."""
    fig, ax = plt.subplots(figsize=(8.0, 4.4), dpi=100)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5.6)
    ax.axis("off")

    # views and the shared encoder
    labels = [("x_1", "a_1"), ("x_2", "a_2"), ("x_M", None)]
    xs = [2.3, 4.1, 6.3]
    for (view, action), x in zip(labels, xs):
        _box(ax, x, 0.15, 1.3, 0.45, f"view ${view[0]}_{{{view[2:]}}}$", "white")
        _arrow(ax, x + 0.65, 0.6, x + 0.65, 0.95)
        _box(ax, x, 0.95, 1.3, 0.45, "encoder", BLOCK_COLOR, fontsize=8)
        _arrow(ax, x + 0.3, 1.4, x + 0.3, 1.75)
        # token: z part + action part
        _box(ax, x, 1.75, 0.62, 0.55, f"$z_{{{view[2:]}}}$", Z_COLOR)
        if action is not None:
            _box(ax, x + 0.68, 1.75, 0.62, 0.55, f"$e(a_{{{action[2:]}}})$", ACT_COLOR, fontsize=8)
        else:
            _box(ax, x + 0.68, 1.75, 0.62, 0.55, "$0$", ZERO_COLOR)
    ax.text(5.75, 2.02, "...", ha="center", va="center", fontsize=14)
    ax.text(5.75, 0.37, "...", ha="center", va="center", fontsize=14)

    # [AGG] token
    _box(ax, 0.5, 1.75, 1.3, 0.55, "[AGG]", AGG_COLOR, weight="bold")
    ax.text(1.15, 1.35, "learned,\nzero-init", ha="center", va="center", fontsize=7, color="#555555")

    # aggregator
    _box(ax, 0.5, 2.75, 7.1, 0.7, "aggregator: post-norm transformer encoder + LayerNorm\n"
         "(no positional embedding: order comes only from the actions)", BLOCK_COLOR, fontsize=8.5)
    for x in [1.15] + [x + 0.65 for x in xs]:
        _arrow(ax, x, 2.3, x, 2.75)

    # z_AGG and the predictor
    _box(ax, 0.5, 3.9, 1.3, 0.5, "$z_{AGG}$", AGG_COLOR, weight="bold")
    _arrow(ax, 1.15, 3.45, 1.15, 3.9)
    ax.text(1.15, 4.6, "invariant embedding", ha="center", va="center", fontsize=7.5, color="#2c7a2c")
    _box(ax, 2.6, 3.9, 1.1, 0.5, "$e(a_M)$", ACT_COLOR, fontsize=8)
    ax.text(3.15, 4.6, "action to the\nunseen view", ha="center", va="center", fontsize=7, color="#8c4a00")
    _box(ax, 4.4, 3.9, 1.4, 0.5, "predictor\n(MLP)", BLOCK_COLOR, fontsize=8)
    _arrow(ax, 1.8, 4.15, 2.6, 4.15, style="-")
    ax.text(2.2, 3.75, "concat", ha="center", va="center", fontsize=7, color="#555555")
    _arrow(ax, 3.7, 4.15, 4.4, 4.15)
    _box(ax, 6.3, 3.9, 1.0, 0.5, r"$\hat z_{M+1}$", Z_COLOR)
    _arrow(ax, 5.8, 4.15, 6.3, 4.15)

    # target branch
    _box(ax, 8.3, 0.15, 1.5, 0.45, "unseen view $x_{M+1}$", "white", fontsize=8)
    _arrow(ax, 9.05, 0.6, 9.05, 0.95)
    _box(ax, 8.3, 0.95, 1.5, 0.6, "target encoder\n(EMA, no grad)", BLOCK_COLOR, fontsize=8)
    _arrow(ax, 9.05, 1.55, 9.05, 3.9)
    _box(ax, 8.4, 3.9, 1.3, 0.5, "$z_{M+1}$", Z_COLOR)
    _arrow(ax, 7.3, 4.15, 8.4, 4.15, style="<|-|>", ls="--")
    ax.text(7.85, 4.55, r"loss $1-\cos$", ha="center", va="center", fontsize=8)

    ax.text(5.0, 5.3, "seq-JEPA: aggregate M views and their actions, predict the next view's embedding",
            ha="center", va="center", fontsize=9.5, weight="bold")
    fig.tight_layout(pad=0.2)
    return fig


def save_png(fig: plt.Figure, path: Path) -> int:
    """Write ``fig`` as a PNG atomically; returns its size in bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    data = buffer.getvalue()
    try:
        from seqjepa.utils.files import atomic_write_bytes
    except ImportError:  # the drawing does not need the package; fall back to a plain write
        path.write_bytes(data)
    else:
        atomic_write_bytes(path, data)
    return len(data)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the PNGs (default: docs/figures)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    size = save_png(draw_token_layout(), args.out_dir / "token-layout.png")
    print(f"wrote {args.out_dir / 'token-layout.png'} ({size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
