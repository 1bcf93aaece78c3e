"""Evaluation reports: ``report.json``, ``report.md`` (the setting, ours ± spread beside the reference) and PNG plots."""

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


def _fmt(value: Any, digits: int, spread: Any = None) -> str:
    """``value`` (or ``—``), with ``± spread`` when there is one."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return text if spread is None else f"{text} ± {spread:.{digits}f}"


def _get(mapping: Any, key: Any) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(key)
    return mapping.get(str(key)) if value is None else value


def _dig(tree: Any, *path: Any) -> Any:
    for key in path:
        tree = _get(tree, key)
    return tree


def _ours(results: Mapping[str, Any], digits: int, *path: Any) -> str:
    return _fmt(_dig(results, *path), digits, _dig(results.get("spread"), *path))


def _theirs(ref: Mapping[str, Any], digits: int, *path: Any) -> str:
    """A reference cell: value ± spread, and the untrained floor where the card gives one."""
    text = _fmt(_dig(ref, *path), digits, _dig(ref.get("spread"), *path))
    floor = _dig(ref.get("floor"), *path)
    if text != "—" and floor is not None:
        floor_spread = _dig(ref.get("floor_spread"), *path)
        text += f" (untrained {_fmt(floor, digits, floor_spread)})"
    return text


_TOY_KEYS = ("seed", "objects", "classes", "views", "size", "light_color", "face_colors", "max_angle", "ood")


def _data_lines(data: Mapping[str, Any]) -> list[str]:
    root = data.get("root")
    if root is None:
        return ["- data root: none (a dataset factory without a root); no fingerprint"]
    lines = [f"- data root: `{root}`"]
    fp = data.get("fingerprint") or {}
    if fp.get("sha256"):
        lines.append(f"- data fingerprint: sha256 `{fp['sha256']}` over {', '.join(fp.get('files', []))}")
    else:
        lines.append("- data fingerprint: none (the root holds no index files)")
    toy = data.get("toy")
    if isinstance(toy, Mapping):
        lines.append("- toy data (toy.json): " + ", ".join(f"{k} {_setting_value(toy[k])}" for k in _TOY_KEYS if k in toy))
    else:
        lines.append("- toy data: no (no toy.json in the root: real data)")
    if data.get("ood_root"):
        ood_fp = (data.get("ood_fingerprint") or {}).get("sha256")
        lines.append(f"- OOD root: `{data['ood_root']}`" + (f" (sha256 `{ood_fp}`)" if ood_fp else ""))
    return lines


def _reference_line(ref: Mapping[str, Any]) -> str:
    if ref.get("kind") in (None, "none"):
        return f"- {ref.get('note') or 'no reference'}"
    return f"- reference ({ref['kind']}): {ref.get('note')}" + (f"; source: {ref['source']}" if ref.get("source") else "")


def _setting_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _setting_lines(results: Mapping[str, Any]) -> list[str]:
    model = results.get("model") or {}
    options = results.get("options") or {}
    probe = options.get("probe") or {}
    ref = results.get("reference") or {}
    redraw = options.get("redraw")
    draws = ("1 (--redraw 0: the same training views every probe epoch)" if not redraw
             else f"{redraw} training view sets, cycled over the probe epochs (--redraw {redraw})")
    width = options.get("mlp_width")
    lines = [
        "## Setting", "",
        f"- model: `{model.get('name') or 'local'}`, M_tr = {model.get('train_seq_len')}, weights sha256 "
        + (f"`{model['weights_sha256']}` (its model.safetensors)" if model.get("weights_sha256") else "not known (a model passed in memory)")
        + f"; model fingerprint `{model.get('fingerprint', '')}` (sha256 of its config and state dict)",
        *_data_lines(results.get("data") or {}),
        f"- sequences: {results.get('num_train')} train, {results.get('num_val')} val, "
        f"{results.get('max_views')} views each (max_views)",
        f"- protocol seed: {options.get('seed')}",
        f"- probes: {probe.get('epochs')} epochs, {probe.get('optimizer')}, lr {probe.get('lr')}, "
        f"weight decay {probe.get('weight_decay')}, batch {probe.get('batch_size')}, probe seed {probe.get('seed')}; "
        f"MLP width {width if width else 'as the paper (1024)'}",
        f"- view draws: {draws}",
        f"- spreads (±): bootstrap std over the {results.get('num_val')} val sequences, "
        f"{options.get('bootstrap')} resamples",
        _reference_line(ref),
        "",
    ]
    return lines


def render_markdown(results: Mapping[str, Any]) -> str:
    """A markdown report: the setting it ran in, then every number ± its spread beside the reference's."""
    ref = results.get("reference") or {}
    col = f"reference ({ref.get('kind', 'none')})"
    lines = [f"# seq-JEPA evaluation: {results.get('protocol')}", "", f"{results.get('description', '')}", ""]
    lines += _setting_lines(results)
    if "top1_zagg" in results:
        lines += ["## Linear-probe top-1 (%)", "", f"| features | M_val | ours | {col} |", "|---|---|---|---|"]
        lines.append(f"| z (one view) | — | {_ours(results, 2, 'top1_z')} | {_theirs(ref, 2, 'top1_z')} |")
        for m in results["top1_zagg"]:
            lines.append(f"| z_AGG | {m} | {_ours(results, 2, 'top1_zagg', m)} | {_theirs(ref, 2, 'top1_zagg', m)} |")
        lines.append("")
    if results.get("r2"):
        lines += ["## R² (scikit-learn) and SIE's variant", "",
                  f"| target | R² ours | R² {col} | r2_sie ours | r2_sie {col} |", "|---|---|---|---|---|"]
        for name in results["r2"]:
            lines.append(f"| {name} | {_ours(results, 3, 'r2', name)} | {_theirs(ref, 3, 'r2', name)} | "
                         f"{_ours(results, 3, 'r2_sie', name)} | {_theirs(ref, 3, 'r2_sie', name)} |")
        lines.append("")
    if results.get("path_integration"):
        lines += ["## Path integration R²", "", f"| condition | M_val | R² ours | R² {col} | r2_sie ours |",
                  "|---|---|---|---|---|"]
        for cond, curve in results["path_integration"].items():
            for k in curve:
                lines.append(f"| {cond} | {k} | {_ours(results, 3, 'path_integration', cond, k)} | "
                             f"{_theirs(ref, 3, 'path_integration', cond, k)} | "
                             f"{_ours(results, 3, 'path_integration_sie', cond, k)} |")
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


def _curve(values: Any, spread: Any) -> "tuple[list[int], list[float], Optional[list[float]]]":
    """Points of a ``{M_val: value}`` curve (None values dropped), with their spreads when all are known."""
    keys = [k for k, v in values.items() if v is not None]
    errs = [_get(spread, k) for k in keys]
    return [int(k) for k in keys], [values[k] for k in keys], (errs if errs and None not in errs else None)


def _save(plt, fig, path: Path, written: list[str]) -> None:
    atomic_write_bytes(path, _figure_bytes(fig))
    plt.close(fig)
    written.append(str(path))


def _plot_top1(plt, results: Mapping[str, Any], ref: Mapping[str, Any], path: Path, written: list[str]) -> None:
    spread = results.get("spread") or {}
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs, ys, err = _curve(results["top1_zagg"], spread.get("top1_zagg"))
    ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3, label="ours (z_AGG)")
    if ref.get("top1_zagg"):
        rx, ry, rerr = _curve(ref["top1_zagg"], (ref.get("spread") or {}).get("top1_zagg"))
        ax.errorbar(rx, ry, yerr=rerr, fmt="s--", capsize=3, alpha=0.7, label=f"{ref.get('kind')} (z_AGG)")
    floor = (ref.get("floor") or {}).get("top1_zagg") if isinstance(ref.get("floor"), Mapping) else None
    if floor:  # the untrained network's curve, as report.md gives it beside the reference
        fx, fy, ferr = _curve(floor, (ref.get("floor_spread") or {}).get("top1_zagg"))
        ax.errorbar(fx, fy, yerr=ferr, fmt="x:", color="gray", capsize=3, alpha=0.8, label="untrained floor (z_AGG)")
    if results.get("top1_z") is not None:
        z, z_sd = results["top1_z"], spread.get("top1_z")
        ax.axhline(z, color="gray", ls=":", label="ours (z, one view)")
        if z_sd is not None:
            ax.axhspan(z - z_sd, z + z_sd, color="gray", alpha=0.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("inference length M_val")
    ax.set_ylabel("linear probe top-1 (%)")
    ax.set_title(str(results.get("protocol")))
    ax.legend(fontsize=7)
    _save(plt, fig, path, written)


def _plot_r2(plt, results: Mapping[str, Any], ref: Mapping[str, Any], path: Path, written: list[str]) -> None:
    """Bars of every R² target, scikit-learn's and SIE's side by side, ± spread; the reference as points."""
    spread = results.get("spread") or {}
    names = list(results["r2"])
    fig, ax = plt.subplots(figsize=(max(4.0, 1.4 * len(names) + 1.5), 3.5))
    width = 0.38
    ref_labelled = False
    lows: list[float] = [0.0]
    for offset, key, label in ((-width / 2, "r2", "R² (scikit-learn)"), (width / 2, "r2_sie", "r2_sie (SIE)")):
        xs = [i + offset for i in range(len(names))]
        vals = [_dig(results, key, n) for n in names]
        errs = [_dig(spread, key, n) for n in names]
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width,
               yerr=[e if e is not None else 0.0 for e in errs], capsize=3, ecolor="dimgray", label=f"ours: {label}")
        lows += [v - (e or 0.0) for v, e in zip(vals, errs) if v is not None]
        ref_pts = [(x, _dig(ref, key, n), _dig(ref.get("spread"), key, n)) for x, n in zip(xs, names)]
        ref_pts = [(x, v, e) for x, v, e in ref_pts if v is not None]
        if ref_pts:
            ax.errorbar([p[0] for p in ref_pts], [p[1] for p in ref_pts],
                        yerr=[p[2] if p[2] is not None else 0.0 for p in ref_pts], fmt="D", color="crimson", capsize=3,
                        markersize=5, label=None if ref_labelled else str(ref.get("kind")))
            ref_labelled = True
        floor_pts = [(x, _dig(ref.get("floor"), key, n)) for x, n in zip(xs, names)]
        floor_pts = [(x, v) for x, v in floor_pts if v is not None]
        if floor_pts:  # the untrained network's R², as report.md gives it beside the reference
            ax.plot([p[0] for p in floor_pts], [p[1] for p in floor_pts], "x", color="black", markersize=7,
                    label="untrained floor" if key == "r2" else None)
            lows += [p[1] for p in floor_pts]
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    ax.axhline(0.0, color="gray", lw=0.8)
    # R² <= 1, but a poor probe on few val sequences can reach -1e6: clip the view, not the numbers
    ax.set_ylim(max(min(lows) - 0.05, -1.05), 1.05)
    ax.set_ylabel("R²")
    ax.set_title(f"{results.get('protocol')}: R² ± bootstrap std (view clipped at -1)" if min(lows) < -1.0
                 else f"{results.get('protocol')}: R² ± bootstrap std")
    ax.legend(fontsize=7)
    _save(plt, fig, path, written)


def _plot_path(plt, results: Mapping[str, Any], ref: Mapping[str, Any], path: Path, written: list[str]) -> None:
    spread = (results.get("spread") or {}).get("path_integration") or {}
    ref_curves = ref.get("path_integration") or {}
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for cond, curve in results["path_integration"].items():
        xs, ys, err = _curve(curve, spread.get(cond))
        container = ax.errorbar(xs, ys, yerr=err, fmt="o-", capsize=3, label=f"ours: {cond}")
        if cond in ref_curves:
            rx, ry, rerr = _curve(ref_curves[cond], _dig(ref.get("spread"), "path_integration", cond))
            ax.errorbar(rx, ry, yerr=rerr, fmt="--", color=container.lines[0].get_color(), alpha=0.6,
                        label=f"{ref.get('kind')}: {cond}")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("M_val (integrated actions)")
    ax.set_ylabel("path R²")
    ax.legend(fontsize=7)
    _save(plt, fig, path, written)


def plot_report(results: Mapping[str, Any], out_dir: PathLike) -> list[str]:
    """PNG plots, ± bootstrap std, with the reference (card or paper) where it has numbers.

    ``top1_vs_mval.png``: top-1 against M_val; ``r2.png``: every R² target (scikit-learn's and
    SIE's); ``r2_vs_mval.png``: path-integration R² against M_val.
    """
    plt = _pyplot()
    out = Path(out_dir)
    written: list[str] = []
    ref = results.get("reference") or {}
    if "top1_zagg" in results:
        _plot_top1(plt, results, ref, out / "top1_vs_mval.png", written)
    if results.get("r2"):
        _plot_r2(plt, results, ref, out / "r2.png", written)
    if results.get("path_integration"):
        _plot_path(plt, results, ref, out / "r2_vs_mval.png", written)
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
