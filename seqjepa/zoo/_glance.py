"""The zoo at a glance: a card's headline numbers, input and weights size, as short table cells.

Shared by ``seqjepa list`` / ``seqjepa info`` and ``docs/gen_model_zoo.py``, which loads this file by path
to build the model-zoo page without importing torch: it works on the card's JSON document and imports
nothing outside the standard library.

The headline top-1 is z_AGG's linear top-1 at the card's recommended inference length M_val (else the
longest one it has); the headline R² is the relative-action R² (rotation, or the card's own action).
A measured number is preferred to a reported (paper) one, and carries the untrained floor when the card
measured it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["headline_top1", "headline_r2", "input_size", "weights_size", "DASH"]

DASH = "—"
_R2_METRICS = ("rotation_r2", "relative_rotation_r2", "saccade_r2", "relative_r2")


def _entries(card: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    value = card.get(kind)
    return [e for e in value if isinstance(e, Mapping) and isinstance(e.get("value"), (int, float))] if isinstance(value, list) else []


def _m_val(entry: Mapping[str, Any]) -> Optional[int]:
    setting = str(entry.get("setting", ""))
    if "M_val=" not in setting:
        return None
    digits = ""
    for ch in setting.split("M_val=", 1)[1]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def _own(entry: Mapping[str, Any]) -> bool:
    """Measured rows of an ablation describe another model: they are not this one's headline."""
    return not str(entry.get("setting", "")).startswith("ablation")


def _cell(entry: Mapping[str, Any], kind: str, digits: int, suffix: str = "") -> str:
    if kind == "reported":  # as the paper gives it
        return f"{entry['value']:g}{suffix} (paper)"
    text = f"{entry['value']:.{digits}f}{suffix}"
    if isinstance(entry.get("floor"), (int, float)):
        text += f" (untrained {entry['floor']:.{digits}f})"
    return text


def _recommended(card: Mapping[str, Any]) -> Optional[int]:
    training = card.get("training")
    value = training.get("recommended_inference_seq_len") if isinstance(training, Mapping) else None
    return value if isinstance(value, int) else None


def headline_top1(card: Mapping[str, Any]) -> str:
    """``81.9 @8 (untrained 24.4)``: z_AGG top-1 (%) at M_val; ``(paper)`` when only reported; ``—`` when none."""
    want = _recommended(card)
    for kind in ("measured", "reported"):
        rows = [e for e in _entries(card, kind) if e.get("metric") == "top1_linear_zagg" and _own(e) and _m_val(e)]
        if not rows:
            continue
        exact = [e for e in rows if _m_val(e) == want]
        entry = exact[0] if exact else max(rows, key=lambda e: _m_val(e) or 0)
        return _cell(entry, kind, 1, f" @{_m_val(entry)}")
    return DASH


def headline_r2(card: Mapping[str, Any]) -> str:
    """``0.056 (untrained -0.029)``: relative-action R², the action named when it is not a rotation."""
    for kind in ("measured", "reported"):
        for metric in _R2_METRICS:
            rows = [e for e in _entries(card, kind) if e.get("metric") == metric and _own(e)]
            if rows:
                suffix = " saccade" if metric == "saccade_r2" else ""
                return _cell(rows[0], kind, 3, suffix)
    return DASH


def input_size(card: Mapping[str, Any]) -> str:
    """``3x32x32``."""
    model = card.get("model") if isinstance(card.get("model"), Mapping) else {}
    size, channels = model.get("image_size"), model.get("in_channels", 3)
    return f"{channels}x{size}x{size}" if size else DASH


def weights_size(card: Mapping[str, Any]) -> str:
    """The weights file's size from the card (``3.9 MB``), ``—`` when the card does not pin it."""
    source = card.get("source") if isinstance(card.get("source"), Mapping) else {}
    size = source.get("size")
    if not isinstance(size, int):
        return DASH
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
