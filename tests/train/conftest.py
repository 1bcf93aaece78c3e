"""Fixtures for the trainer tests: one uninterrupted reference run shared by the resume tests."""

from __future__ import annotations

import json

import pytest
import torch

from seqjepa.train import Trainer

from .tinydata import tiny_recipe

#: The run every resume test must reproduce bit for bit: 3 epochs x 6 steps, dropout on, deterministic.
RESUME_TRAIN = dict(epochs=3, deterministic=True)


def resume_recipe(**train):
    r = tiny_recipe(**{**RESUME_TRAIN, **train})
    r["model"]["dropout"] = 0.1  # makes the result depend on the restored RNG state
    return r


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """State dict of the model (online + target) and probes after the uninterrupted reference run."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("reference")
        trainer = Trainer(resume_recipe(), out, log=lambda s: None)
        result = trainer.run()
        assert result.status == "completed" and result.global_step == 18
        return {"model": {k: v.clone() for k, v in trainer.model.state_dict().items()},
                "probes": {k: v.clone() for k, v in trainer.probes.state_dict().items()},
                "metrics": metrics_lines(out)}
    finally:
        torch.set_num_threads(before)


def metrics_lines(run_dir) -> list[dict]:
    """metrics.jsonl without the one field that measures wall time."""
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in rec.items() if k != "epoch_time_s"} for rec in lines]


def assert_same_state(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key in expected:
        assert torch.equal(actual[key], expected[key]), f"{key} differs"
