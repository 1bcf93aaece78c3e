"""What ``seqjepa eval`` prints when it is done: report.md's numbers as a rounded plain-text table.

Only the headline rows (top-1 on z and z_AGG by M_val, every R² target, path integration); report.md
keeps the setting, the SIE variant and the notes.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

#: ``seqjepa eval --quick``: the settings it changes (an option given on the command line wins).
QUICK = {"epochs": 20, "max_views": 4, "max_train": 512, "max_val": 256, "bootstrap": 20, "mlp_width": 256}


def _get(tree: Any, *path: Any) -> Any:
    for key in path:
        if not isinstance(tree, Mapping):
            return None
        value = tree.get(key)
        tree = tree.get(str(key)) if value is None else value
    return tree


def _cell(value: Any, spread: Any, digits: int) -> str:
    if not isinstance(value, (int, float)):
        return "—"
    text = f"{value:.{digits}f}"
    return text + (f" ± {spread:.{digits}f}" if isinstance(spread, (int, float)) else "")


def _ref(ref: Mapping[str, Any], digits: int, *path: Any) -> str:
    text = _cell(_get(ref, *path), _get(ref.get("spread"), *path), digits)
    floor = _get(ref.get("floor"), *path)
    if text != "—" and isinstance(floor, (int, float)):
        text += f" (untrained {floor:.{digits}f})"
    return text


def summary_table(results: Mapping[str, Any]) -> list[str]:
    """Rows ``metric | ours | reference``, rounded (top-1 to 0.1 %, R² to 0.001), ± the bootstrap spread."""
    ref = results.get("reference") if isinstance(results.get("reference"), Mapping) else {}
    spread = results.get("spread") if isinstance(results.get("spread"), Mapping) else {}
    rows: list[tuple[str, str, str]] = []
    if results.get("top1_z") is not None:
        rows.append(("top-1 z (%), one view", _cell(results["top1_z"], spread.get("top1_z"), 1), _ref(ref, 1, "top1_z")))
    for m_val, value in (results.get("top1_zagg") or {}).items():
        rows.append((f"top-1 z_AGG (%), M_val={m_val}", _cell(value, _get(spread, "top1_zagg", m_val), 1),
                     _ref(ref, 1, "top1_zagg", m_val)))
    for target, value in (results.get("r2") or {}).items():
        rows.append((f"R² {target}", _cell(value, _get(spread, "r2", target), 3), _ref(ref, 3, "r2", target)))
    for condition, curve in (results.get("path_integration") or {}).items():
        for m_val, value in (curve or {}).items():
            rows.append((f"path R² {condition}, M_val={m_val}", _cell(value, _get(spread, "path_integration", condition, m_val), 3),
                         _ref(ref, 3, "path_integration", condition, m_val)))
    if not rows:
        return []
    kind = str(ref.get("kind") or "reference") if ref else "reference"
    header = ("metric", "ours", kind)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]


def format_elapsed(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def apply_quick(args: Any, defaults: Mapping[str, Any], given: Optional[set] = None) -> dict[str, Any]:
    """Set :data:`QUICK` on ``args`` where the option still has its default; returns what was set."""
    changed = {}
    for key, value in QUICK.items():
        if getattr(args, key) == defaults.get(key) and key not in (given or set()):
            setattr(args, key, value)
            changed[key] = value
    return changed
