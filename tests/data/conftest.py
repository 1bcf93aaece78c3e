"""A tiny procedural 3DIEBench built once per test session."""

from __future__ import annotations

import shutil

import pytest

from seqjepa.data.synthetic import make_toy_3diebench


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "3dieb"
    make_toy_3diebench(root, objects=12, views=6, classes=3, size=32, seed=0, workers=1)
    return root


@pytest.fixture
def toy_copy(toy_root, tmp_path):
    """A private copy that a test may damage."""
    dst = tmp_path / "copy"
    shutil.copytree(toy_root, dst)
    return dst


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Per-item data work runs single-threaded, as in DataLoader workers; intra-op threads on
    tiny tensors only add contention on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
