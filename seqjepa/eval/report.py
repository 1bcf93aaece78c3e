"""Evaluation reports: ``report.json``, ``report.md`` (ours beside the paper's) and PNG plots."""

from __future__ import annotations

import io
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from ..errors import MissingExtraError
from ..utils.files import atomic_write_bytes, atomic_write_text

__all__ = ["write_report", "render_markdown", "plot_report", "write_heatmap_report", "load_report"]

PathLike = Union[str, "os.PathLike[str]"]


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def _get(mapping: Any, key: Any) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(key)
    return mapping.get(str(key)) if value is None else value


def render_markdown(results: Mapping[str, Any]) -> str:
    """A markdown report with our numbers beside the paper's where it reports them."""
    paper = results.get("paper") or {}
    model = results.get("model", {})
    lines = [
        f"# seq-JEPA evaluation: {results.get('protocol')}",
        "",
        f"{results.get('description', '')}",
        "",
        f"- model: `{model.get('name') or 'local'}` (weights sha256 `{str(model.get('sha256', ''))[:16]}…`, M_tr = {model.get('train_seq_len')})",
        f"- sequences: {results.get('num_train')} train, {results.get('num_val')} val, {results.get('max_views')} views each",
        f"- paper numbers: {paper.get('source', 'none for this dataset')}",
        "",
    ]
    if "top1_zagg" in results:
        lines += ["## Linear-probe top-1 (%)", "", "| features | M_val | ours | paper |", "|---|---|---|---|"]
        lines.append(f"| z (one view) | — | {_fmt(results.get('top1_z'), 2)} | — |")
        for m, v in results["top1_zagg"].items():
            lines.append(f"| z_AGG | {m} | {_fmt(v, 2)} | {_fmt(_get(paper.get('top1_zagg'), int(m)), 2)} |")
        lines.append("")
    if results.get("r2"):
        lines += ["## R² (scikit-learn) and SIE's variant", "", "| target | R² ours | R² paper | r2_sie ours |", "|---|---|---|---|"]
        for name, v in results["r2"].items():
            lines.append(f"| {name} | {_fmt(v, 3)} | {_fmt(paper.get(f'r2_{name}'), 3)} | {_fmt(_get(results.get('r2_sie'), name), 3)} |")
        lines.append("")
    if results.get("path_integration"):
        lines += ["## Path integration R² (scikit-learn)", "", "| condition | M_val | ours | paper |", "|---|---|---|---|"]
        ref = paper.get("path_integration") or {}
        for cond, curve in results["path_integration"].items():
            for k, v in curve.items():
                lines.append(f"| {cond} | {k} | {_fmt(v, 3)} | {_fmt(_get(ref.get(cond), int(k)), 3)} |")
        lines.append("")
    notes = results.get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def _figure_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise MissingExtraError(
            "the report's figures need matplotlib, which is not installed: pip install 'seqjepa[plots]'"
        ) from None

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_report(results: Mapping[str, Any], out_dir: PathLike) -> list[str]:
    """PNG plots: top-1 against M_val (ours and the paper's), path-integration R² against M_val."""
    plt = _pyplot()
    out = Path(out_dir)
    written = []
    paper = results.get("paper") or {}
    if "top1_zagg" in results:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        xs = [int(k) for k in results["top1_zagg"]]
        ax.plot(xs, list(results["top1_zagg"].values()), "o-", label="ours (z_AGG)")
        ref = paper.get("top1_zagg") or {}
        if ref:
            ax.plot([int(k) for k in ref], list(ref.values()), "s--", label="paper")
        if results.get("top1_z") is not None:
            ax.axhline(results["top1_z"], color="gray", ls=":", label="ours (z, one view)")
        ax.set_xlabel("inference length M_val")
        ax.set_ylabel("linear probe top-1 (%)")
        ax.set_title(str(results.get("protocol")))
        ax.legend()
        atomic_write_bytes(out / "top1_vs_mval.png", _figure_bytes(fig))
        plt.close(fig)
        written.append(str(out / "top1_vs_mval.png"))
    if results.get("path_integration"):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ref = paper.get("path_integration") or {}
        for cond, curve in results["path_integration"].items():
            line, = ax.plot([int(k) for k in curve], list(curve.values()), "o-", label=f"ours: {cond}")
            if cond in ref:
                ax.plot([int(k) for k in ref[cond]], list(ref[cond].values()), "--", color=line.get_color(), alpha=0.6,
                        label=f"paper: {cond}")
        ax.set_xlabel("M_val (integrated actions)")
        ax.set_ylabel("path R²")
        ax.legend(fontsize=7)
        atomic_write_bytes(out / "r2_vs_mval.png", _figure_bytes(fig))
        plt.close(fig)
        written.append(str(out / "r2_vs_mval.png"))
    return written


def write_report(results: Mapping[str, Any], out_dir: PathLike) -> dict[str, Any]:
    """Write report.json, report.md and the plots to ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.json", json.dumps(_json_safe(results), indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / "report.md", render_markdown(_json_safe(results)))
    try:
        plots = plot_report(_json_safe(results), out)
    except MissingExtraError as exc:  # the numbers are written either way
        logging.getLogger("seqjepa.eval").warning("%s; report.json and report.md are written without them", exc)
        plots = []
    return {"json": str(out / "report.json"), "markdown": str(out / "report.md"), "plots": plots}


def load_report(path: PathLike) -> dict[str, Any]:
    """Read a report.json written by :func:`write_report` (or a directory holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    if not p.is_file():
        raise FileNotFoundError(f"runs: {p} is not a report.json")
    try:
        with open(p, encoding="utf-8") as fh:
            doc = json.load(fh)
    except UnicodeDecodeError as exc:
        raise ValueError(f"runs: {p} is not a report.json: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"runs: {p} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"runs: {p} is not a report.json: JSON nested too deeply") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("protocol"), str):
        raise ValueError(f"runs: {p} is not a seqjepa evaluation report (no 'protocol' field)")
    return doc


def _heatmap_column(doc: Mapping[str, Any], path: Any) -> tuple[int, dict[str, Any]]:
    """M_tr and the z_AGG top-1 per M_val of one report, checked (a ValueError naming the file otherwise)."""
    if "top1_zagg" not in doc:
        raise ValueError(f"runs: {path} has no z_AGG top-1 (protocol {doc['protocol']!r})")
    model = doc.get("model")
    mtr = model.get("train_seq_len") if isinstance(model, Mapping) else None
    if not isinstance(mtr, int) or isinstance(mtr, bool) or not 1 <= mtr <= 4096:
        raise ValueError(f"runs: {path}: model.train_seq_len must be an integer in [1, 4096], got {mtr!r}")
    col = doc["top1_zagg"]
    ok = isinstance(col, Mapping) and all(
        isinstance(k, str) and k.isdigit() and 1 <= int(k) <= 4096
        and (v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)))
        for k, v in col.items()
    )
    if not ok:
        raise ValueError(f"runs: {path}: top1_zagg must map each M_val (1..4096) to a finite number or null")
    return mtr, {str(int(k)): v for k, v in col.items()}


def write_heatmap_report(reports: Sequence[PathLike], out_dir: PathLike, *, title: Optional[str] = None) -> dict[str, Any]:
    """Top-1 over M_tr x M_val from several reports (one per trained model) as a PNG heatmap + JSON."""
    docs = [load_report(r) for r in reports]
    protocols = {d["protocol"] for d in docs}
    if len(protocols) != 1:
        raise ValueError(f"runs: expected reports of one protocol, got {sorted(protocols)}")
    grid: dict[int, dict[str, float]] = {}
    for d, path in zip(docs, reports):
        mtr, column = _heatmap_column(d, path)
        if mtr in grid:
            raise ValueError(f"runs: two reports for M_tr = {mtr} (the heatmap has one column per M_tr)")
        grid[mtr] = column
    mtrs = sorted(grid)
    mvals = sorted({int(k) for col in grid.values() for k in col})
    matrix = [[grid[t].get(str(v)) for t in mtrs] for v in mvals]
    plt = _pyplot()
    import numpy as np

    arr = np.array([[np.nan if x is None else x for x in row] for row in matrix], dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 * len(mtrs) + 2, 0.5 * len(mvals) + 1.5))
    im = ax.imshow(arr, cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(len(mtrs)), [str(t) for t in mtrs])
    ax.set_yticks(range(len(mvals)), [str(v) for v in mvals])
    ax.set_xlabel("M_tr")
    ax.set_ylabel("M_val")
    for i in range(len(mvals)):
        for j in range(len(mtrs)):
            if math.isfinite(arr[i, j]):
                ax.text(j, i, f"{arr[i, j]:.1f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, ax=ax, label="top-1 (%)")
    ax.set_title(title or f"z_AGG top-1: {protocols.pop()}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "heatmap_top1.png", _figure_bytes(fig))
    plt.close(fig)
    summary = {"protocol": docs[0]["protocol"], "train_seq_len": mtrs, "m_val": mvals, "top1": matrix,
               "runs": [str(r) for r in reports]}
    atomic_write_text(out / "heatmap.json", json.dumps(_json_safe(summary), indent=2) + "\n")
    return {"png": str(out / "heatmap_top1.png"), "json": str(out / "heatmap.json")}
