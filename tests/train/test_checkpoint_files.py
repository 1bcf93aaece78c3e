"""Which checkpoint a resume picks, and what is on disk: edges found by mutation testing (tools/mutation.py)."""

from __future__ import annotations

import io

import pytest
import torch

from seqjepa.errors import IntegrityError
from seqjepa.train import checkpoint as ckpt


def _state(epoch, step=0, **extra):
    state = {k: 0 for k in ckpt._REQUIRED}
    state.update(format=ckpt.CHECKPOINT_FORMAT, epoch=epoch, step_in_epoch=step, rng=[], **extra)
    return state


def test_the_file_holds_exactly_the_serialized_state(tmp_path):
    state = _state(3, weights=torch.arange(10.0))
    ckpt.save_checkpoint(tmp_path / "last.pt", state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert (tmp_path / "last.pt").read_bytes() == buffer.getvalue()


def test_an_incomplete_checkpoint_is_refused(tmp_path):
    state = _state(1)
    del state["model"]
    torch.save(state, tmp_path / "x.pt")
    with pytest.raises(IntegrityError, match=r"is not a seqjepa training checkpoint: missing \['model'\]"):
        ckpt.load_checkpoint(tmp_path / "x.pt")


def test_a_loadable_last_pt_stops_the_search(tmp_path):
    ckpt.save_checkpoint(tmp_path / "last.pt", _state(2, step=3))
    (tmp_path / "epoch_2.pt").write_bytes(b"garbage")  # older than last.pt: never read, so never reported
    (tmp_path / "epoch_1.pt").write_bytes(b"garbage")
    path, state, skipped = ckpt.find_resumable(tmp_path)
    assert path.name == "last.pt" and (state["epoch"], state["step_in_epoch"]) == (2, 3) and skipped == []


def test_without_last_pt_the_newest_epoch_file_is_used_and_nothing_is_reported_missing(tmp_path):
    for e in (1, 3, 2):
        ckpt.save_checkpoint(tmp_path / f"epoch_{e}.pt", _state(e))
    path, state, skipped = ckpt.find_resumable(tmp_path)
    assert path.name == "epoch_3.pt" and state["epoch"] == 3 and skipped == []


def test_a_save_pauses_only_when_the_test_hook_asks(tmp_path, monkeypatch):
    sleeps = []
    monkeypatch.setattr(ckpt.time, "sleep", sleeps.append)
    monkeypatch.delenv(ckpt.SLOW_SAVE_ENV, raising=False)
    ckpt.save_checkpoint(tmp_path / "a.pt", _state(1))
    monkeypatch.setenv(ckpt.SLOW_SAVE_ENV, "")
    ckpt.save_checkpoint(tmp_path / "b.pt", _state(1))
    assert sleeps == []
    monkeypatch.setenv(ckpt.SLOW_SAVE_ENV, "0.25")
    ckpt.save_checkpoint(tmp_path / "c.pt", _state(1))
    assert sleeps == [0.25]


@pytest.mark.parametrize("error, code, reason", [
    (OSError(28, "No space left on device"), 28, "the disk is full"),
    (OSError(13, "Permission denied"), 13, "Permission denied"),
    (OSError("no errno here"), 5, "no errno here"),  # EIO when the OS gave no number
])
def test_a_failed_write_says_why_and_keeps_its_errno(tmp_path, monkeypatch, error, code, reason):
    from contextlib import contextmanager

    from seqjepa.train import CheckpointSaveError

    @contextmanager
    def failing_open(path, mode="wb"):
        raise error
        yield  # pragma: no cover

    monkeypatch.setattr(ckpt, "atomic_open", failing_open)
    with pytest.raises(CheckpointSaveError, match=rf"^\[Errno {code}\] could not write checkpoint {tmp_path / 'last.pt'}: {reason}; "
                                                  rf"nothing already saved was changed \(the previous checkpoints in {tmp_path} are intact\)$") as info:
        ckpt.save_checkpoint(tmp_path / "last.pt", _state(1))
    assert info.value.errno == code
