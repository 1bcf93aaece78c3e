"""The paper's reported numbers, for the "paper" column of an evaluation report.

Values come from the seq-JEPA authors' Table 1 image and figure PDFs (Ghaemi, Muller, Bakhtiari,
arXiv 2505.03176; see the project's reference notes, paper-notes §1). Heatmap cells are z_AGG
linear-probe top-1 (%) indexed ``[M_tr][M_val]``; path-integration values were digitized from the
figure (±0.005 R²).
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["PAPER", "paper_reference", "CITATION"]

CITATION = "Ghaemi, Muller, Bakhtiari, seq-JEPA, arXiv 2505.03176 (NeurIPS 2025)"


def _columns(rows: list[list[float]]) -> dict[int, dict[int, float]]:
    """Heatmap given as rows M_val = 1..8, columns M_tr = 1..n -> {M_tr: {M_val: value}}."""
    return {t + 1: {v + 1: row[t] for v, row in enumerate(rows)} for t in range(len(rows[0]))}


_3DIE = _columns([
    [84.1, 81.2, 81.7, 82.0, 82.0], [85.0, 84.9, 84.9, 85.3, 85.2], [85.3, 85.4, 85.3, 86.1, 86.3],
    [85.3, 86.7, 86.1, 87.2, 87.1], [85.5, 87.0, 87.4, 87.5, 87.3], [85.2, 86.8, 87.2, 87.6, 87.6],
    [85.8, 86.9, 87.5, 87.5, 87.5], [85.6, 86.9, 87.5, 87.6, 87.7],
])
_CIFAR = _columns([
    [54.2, 53.1, 49.5, 47.8], [53.8, 58.0, 55.3, 54.1], [52.9, 59.3, 57.6, 55.6], [53.3, 60.0, 58.0, 56.2],
    [52.9, 60.4, 58.3, 56.9], [52.8, 60.4, 58.9, 57.1], [53.1, 60.6, 59.2, 57.3], [52.7, 60.6, 59.5, 57.8],
])
_TINY = _columns([
    [32.3, 30.6, 28.8, 27.7], [35.4, 33.9, 32.8, 32.9], [36.1, 35.0, 33.8, 33.9], [37.1, 35.4, 34.2, 35.0],
    [37.1, 35.6, 34.7, 34.9], [37.1, 35.7, 35.0, 35.5], [37.2, 36.1, 35.3, 35.3], [37.2, 36.2, 35.1, 35.5],
])
_STL = _columns([
    [64.7, 72.6, 72.7, 71.5, 70.7], [66.9, 78.0, 79.7, 79.0, 79.4], [68.0, 79.3, 81.3, 81.5, 82.1],
    [68.4, 80.1, 82.7, 82.9, 82.9], [68.8, 81.1, 83.0, 83.4, 83.6], [68.8, 81.0, 83.4, 84.1, 84.2],
    [68.4, 81.3, 83.6, 84.2, 84.7], [68.3, 81.3, 83.9, 84.5, 85.2],
])

#: Per dataset: heatmap of z_AGG top-1, Table 1 rows (3DIEBench), R² by M_tr, path-integration curves.
PAPER: dict[str, dict[str, Any]] = {
    "3diebench": {
        "top1_zagg_heatmap": _3DIE,
        "source_heatmap": "3db_rotation_heatmap.pdf (authors' figure)",
        # Table 1: (M_tr, M_val) -> (top-1 %, relative rotation R², individual rotation R²)
        "table1": {(1, 1): (84.08, 0.65, 0.69), (1, 3): (85.31, 0.65, 0.69), (3, 3): (86.14, 0.71, 0.74), (3, 5): (87.41, 0.71, 0.74)},
        "r2_rotation_by_mtr": {1: 0.650, 2: 0.701, 3: 0.706, 4: 0.711, 5: 0.717},
        "path_integration": {
            "vision+action": [1.00, 0.851, 0.459, 0.376, 0.338, 0.319, 0.285],
            "vision only": [0.180, 0.062, 0.044, 0.031, 0.031, 0.024, 0.029],
            "action only": [1.00, 0.271, 0.210, 0.177, 0.147, 0.145, 0.137],
        },
    },
    "cifar100": {"top1_zagg_heatmap": _CIFAR, "source_heatmap": "cifar100_heatmaps.pdf (Crop+Jitter+Blur)"},
    "tinyimagenet": {
        "top1_zagg_heatmap": _TINY,
        "source_heatmap": "tinyimagenet_heatmaps.pdf (Crop+Jitter+Blur)",
        "r2_by_mtr": {"crop": {1: 0.640, 2: 0.694, 3: 0.659, 4: 0.671}, "jitter": {1: 0.486, 2: 0.420, 3: 0.639, 4: 0.647},
                      "blur": {1: 0.885, 2: 0.934, 3: 0.959, 4: 0.969}},
    },
    "stl10": {
        "top1_zagg_heatmap": _STL,
        "source_heatmap": "pls_heatmap.pdf",
        "r2_saccade_by_mtr": {1: 0.654, 2: 0.789, 3: 0.794, 4: 0.802, 5: 0.785},
        "path_integration": {
            "vision+action": [1.00, 0.973, 0.929, 0.887, 0.876, 0.855, 0.867],
            "vision only": [0.037, 0.022, -0.021, 0.013, 0.012, -0.003, 0.019],
            "action only": [1.00, 0.982, 0.928, 0.868, 0.834, 0.764, 0.783],
        },
    },
}


def paper_reference(dataset: Optional[str], train_seq_len: int) -> dict[str, Any]:
    """The paper's numbers for a dataset and M_tr, flattened to the report's metric names.

    Returns ``{"source": ..., "top1_zagg": {M_val: %}, "r2_rotation": ..., "path_integration": {...}}``
    with only the entries the paper has; empty when the dataset is unknown.
    """
    entry = PAPER.get(dataset or "")
    if entry is None:
        return {}
    ref: dict[str, Any] = {"source": f"{CITATION}; {entry['source_heatmap']}", "train_seq_len": train_seq_len}
    heat = entry["top1_zagg_heatmap"].get(train_seq_len)
    if heat:
        ref["top1_zagg"] = dict(heat)
    if dataset == "3diebench":
        for (mtr, mval), (top1, rel, ind) in entry["table1"].items():
            if mtr == train_seq_len:
                ref.setdefault("table1", {})[mval] = top1
                ref["r2_rotation"] = rel
                ref["r2_individual_rotation"] = ind
        if "r2_rotation" not in ref and train_seq_len in entry["r2_rotation_by_mtr"]:
            ref["r2_rotation"] = entry["r2_rotation_by_mtr"][train_seq_len]
    if dataset == "tinyimagenet":
        for name, by in entry["r2_by_mtr"].items():
            if train_seq_len in by:
                ref[f"r2_{name}"] = by[train_seq_len]
    if dataset == "stl10" and train_seq_len in entry["r2_saccade_by_mtr"]:
        ref["r2_saccade_position"] = entry["r2_saccade_by_mtr"][train_seq_len]
    if "path_integration" in entry:
        ref["path_integration"] = {c: {k + 1: v for k, v in enumerate(vals)} for c, vals in entry["path_integration"].items()}
    return ref
