"""examples/world_model.py: its summary over seeds and the model-card rows it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqjepa.zoo.registry import CardMetric
from tests.conftest import load_module

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "world_model.py"


def _report(shift: float) -> dict:
    def cell(v):
        return {"mean": v, "spread": 0.5}

    metrics = {name: {"median_error_deg": cell(90 + shift + i), "mean_error_deg": cell(95 + shift), "within_30deg": cell(3.0),
                      "top1_pose": cell(12.5 + i), "top1_object": cell(40.0 - 20 * i), "rollout_cos_1": cell(0.8),
                      "rollout_cos_4": cell(0.7), "rollout_cos_8": cell(0.6), "stay_cos_1": cell(0.5), "stay_cos_8": cell(0.5)}
               for i, name in enumerate(["tiny", "untrained"])}
    metrics["guessing"] = {"median_error_deg": cell(77.0), "top1_pose": cell(12.5)}
    return {"metrics": metrics, "num_objects": 160,
            "options": {"num_views": 3, "candidates": 8, "grid_size": 4096, "draws": 3}}


def test_summary_is_mean_and_spread_over_seeds_and_the_card_rows_are_valid():
    ex = load_module(EXAMPLE, "_world_model_example")
    table, rows = ex.summarize({1: _report(0.0), 2: _report(2.0)}, "tiny")
    assert "| median relative-rotation error (deg) | 91.0 ± 1.4 | 92.0 ± 1.4 | 77.0 ± 0.0 |" in table
    assert {r["metric"] for r in rows} == {f"world_{k}" for k in ex.CARD}
    for row in rows:
        CardMetric(**row)  # the registry's own row type: no unknown field
        assert row["seeds"] == 2 and row["source"] == "examples/world_model.py"
    median = next(r for r in rows if r["metric"] == "world_median_error_deg")
    assert (median["value"], median["floor"]) == (91.0, 92.0) and "guessing 77.0" in median["setting"]


def test_seed_zero_is_refused():
    ex = load_module(EXAMPLE, "_world_model_example")
    with pytest.raises(SystemExit, match="seed 0 is the default model's training data"):
        ex.main(["--data", "nowhere", "--seeds", "0", "1", "--out", "nowhere"])
