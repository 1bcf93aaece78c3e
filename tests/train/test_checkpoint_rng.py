"""RNG capture/restore and where checkpoints load: edges found by mutation testing (tools/mutation.py)."""

from __future__ import annotations

import random

import numpy as np
import torch

from seqjepa.train import checkpoint as ckpt


def test_restore_rng_continues_every_stream_where_it_was_captured():
    np.random.seed(5)
    np.random.random(7)  # the key position is now mid-array
    np.random.standard_normal()  # Box-Muller made two: one Gaussian is cached (has_gauss = 1)
    state = ckpt.capture_rng()
    assert 7 < state["numpy"][2] < 624 and state["numpy"][3] == 1  # position, has_gauss
    want = (random.random(), np.random.standard_normal(), np.random.random(3).tolist(), torch.rand(3).tolist())
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    ckpt.restore_rng(state)
    assert (random.random(), np.random.standard_normal(), np.random.random(3).tolist(), torch.rand(3).tolist()) == want


def test_the_cuda_generator_is_captured_only_once_cuda_is_in_use(monkeypatch):
    marker = torch.tensor([7], dtype=torch.uint8)
    calls = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda: calls.append(1) or marker)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    assert "cuda" not in ckpt.capture_rng() and calls == []  # capturing must not start CUDA
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert ckpt.capture_rng()["cuda"] is marker


def test_the_cuda_generator_is_restored_only_when_saved_and_present(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s: calls.append(s))
    state = ckpt.capture_rng()
    state.pop("cuda", None)
    ckpt.restore_rng(state)  # a CPU run's checkpoint on a GPU machine: the CUDA generator is left alone
    assert calls == []
    marker = torch.tensor([1, 2, 3], dtype=torch.uint8)
    ckpt.restore_rng({**state, "cuda": marker})
    assert len(calls) == 1 and calls[0] is marker
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    ckpt.restore_rng({**state, "cuda": marker})  # saved on a GPU, resumed without one: skipped
    assert len(calls) == 1


def test_checkpoints_load_onto_the_cpu_with_weights_only(tmp_path, monkeypatch):
    """A checkpoint written on a GPU must load on a machine without one: map_location='cpu'."""
    seen = []
    real = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    path = tmp_path / "last.pt"
    state = {k: 0 for k in ckpt._REQUIRED}
    state.update(format=ckpt.CHECKPOINT_FORMAT, rng=[ckpt.capture_rng()])
    ckpt.save_checkpoint(path, state)
    monkeypatch.setattr(torch, "load", spy)
    assert ckpt.load_checkpoint(path)["format"] == ckpt.CHECKPOINT_FORMAT
    assert len(seen) == 1 and seen[0].get("map_location") == "cpu" and seen[0].get("weights_only") is True
