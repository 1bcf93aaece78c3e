"""Resume bit-identically, fall back from a corrupt checkpoint, survive a full disk, stop on NaN, lock the run."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest
import torch

import seqjepa
from seqjepa.train import (
    CheckpointSaveError, NonFiniteLossError, RunLockedError, Trainer, export_run, find_resumable, load_checkpoint,
)
from seqjepa.train import checkpoint as ckpt_mod
from seqjepa.train.checkpoint import RunLock

from .conftest import assert_same_state, resume_recipe
from .tinydata import tiny_recipe

QUIET = dict(log=lambda s: None)


def test_interrupted_mid_epoch_then_resumed_is_bit_identical(tmp_path, reference_run, one_thread):
    first = Trainer(resume_recipe(max_steps=8), tmp_path, **QUIET).run()  # 8 = epoch 2, 2 batches in
    assert (first.status, first.epoch, first.step_in_epoch) == ("interrupted", 1, 2)
    state = load_checkpoint(tmp_path / "last.pt")
    assert (state["epoch"], state["step_in_epoch"], state["global_step"]) == (1, 2, 8)
    assert set(state["rng"][0]) >= {"torch", "numpy", "python"} and state["seqjepa_version"] == seqjepa.__version__
    resumed = Trainer(resume_recipe(), tmp_path, resume="auto", **QUIET)
    result = resumed.run()
    assert (result.status, result.global_step) == ("completed", 18)
    assert_same_state(resumed.model.state_dict(), reference_run["model"])
    assert_same_state(resumed.probes.state_dict(), reference_run["probes"])


def test_fresh_run_refuses_a_directory_with_checkpoints(tmp_path):
    Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run()
    with pytest.raises(ValueError, match="--resume auto"):
        Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run()


def test_corrupt_last_falls_back_to_previous_epoch_checkpoint(tmp_path):
    Trainer(tiny_recipe(epochs=2, checkpoint_every=1), tmp_path, **QUIET).run()
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[: len(data) // 3])  # truncated, as by a crash of a non-atomic writer
    path, state, skipped = find_resumable(tmp_path)
    assert path.name == "epoch_2.pt" and state["epoch"] == 2
    assert skipped and "last.pt" in skipped[0]
    (tmp_path / "epoch_2.pt").write_bytes(b"garbage")
    path, state, _ = find_resumable(tmp_path)
    assert path.name == "epoch_1.pt" and state["epoch"] == 1
    trainer = Trainer(tiny_recipe(epochs=2, checkpoint_every=1), tmp_path, resume="auto", **QUIET)
    assert trainer.run().global_step == 12  # redid epoch 2 from epoch_1.pt


def test_full_disk_during_a_save_is_reported_and_loses_nothing(tmp_path, monkeypatch):
    Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run()
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.pt")}

    real_open = ckpt_mod.atomic_open

    class FullDisk:
        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, data):
            if self.written:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += self.fh.write(data[: len(data) // 2])
            return self.written

        def __getattr__(self, name):
            return getattr(self.fh, name)

    from contextlib import contextmanager

    @contextmanager
    def full_disk_open(path, mode="wb"):
        with real_open(path, mode) as fh:
            yield FullDisk(fh)

    monkeypatch.setattr(ckpt_mod, "atomic_open", full_disk_open)
    with pytest.raises(CheckpointSaveError, match="disk is full.*intact"):
        Trainer(tiny_recipe(epochs=2), tmp_path, resume="auto", **QUIET).run()
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.pt")}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not (tmp_path / ".lock").exists()  # released on the error path


def test_non_finite_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path):
    Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run()
    good = (tmp_path / "last.pt").read_bytes()
    recipe = tiny_recipe(epochs=3, probes=False)
    recipe["optim"].update(lr=1e30, initial_lr=1e30)
    recipe["train"]["probes"] = True
    with pytest.raises(NonFiniteLossError, match="NaN or infinite.*last good checkpoint is .*last.pt"):
        Trainer(recipe, tmp_path, resume="auto", **QUIET).run()
    assert (tmp_path / "last.pt").read_bytes() == good
    load_checkpoint(tmp_path / "last.pt")


def test_second_run_on_the_same_directory_is_refused_and_a_stale_lock_taken_over(tmp_path):
    (tmp_path / ".lock").write_text(f"{os.uname().nodename} {os.getppid()}\n")  # a live process: our parent
    import socket

    (tmp_path / ".lock").write_text(f"{socket.gethostname()} {os.getppid()}\n")
    with pytest.raises(RunLockedError, match=f"pid {os.getppid()}"):
        Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(f"{socket.gethostname()} {dead.pid}\n")
    assert Trainer(tiny_recipe(epochs=1), tmp_path, **QUIET).run().status == "completed"
    assert not (tmp_path / ".lock").exists()
    with RunLock(tmp_path):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()


def test_export_run_round_trips_through_seqjepa_load_without_probes(tmp_path):
    trainer = Trainer(tiny_recipe(epochs=1), tmp_path / "run", **QUIET)
    trainer.run()
    from seqjepa.cli import main

    assert main(["export-run", str(tmp_path / "run"), "--to", str(tmp_path / "export"), "--inference-only"]) == 0
    loaded = seqjepa.load(str(tmp_path / "export"))
    assert not loaded.has_target_encoder
    own = {k: v for k, v in trainer.model.state_dict().items() if not k.startswith("target_encoder.")}
    assert_same_state(loaded.state_dict(), own)
    text = (tmp_path / "export" / "model.safetensors").read_bytes()
    assert b"linear.weight" not in text and b"probes" not in text and b"equivariance" not in text
    export_run(tmp_path / "run", tmp_path / "full", include_target_encoder=True)
    assert seqjepa.load(str(tmp_path / "full")).has_target_encoder
    with pytest.raises(FileNotFoundError, match="no usable checkpoint"):
        export_run(tmp_path / "export", tmp_path / "x")
