"""Real processes: SIGKILL in the middle of a checkpoint write, SIGTERM, and 2-process DDP on gloo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqjepa.train import Trainer, load_checkpoint

from .conftest import assert_same_state, resume_recipe
from .tinydata import tiny_recipe

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", **extra)
    return env


def _start(recipe: dict, out: Path, **env: str) -> subprocess.Popen:
    path = out.parent / f"{out.name}-recipe.json"
    path.write_text(json.dumps(recipe))
    cmd = [sys.executable, "-m", "seqjepa.train", "--recipe", str(path), "--output", str(out), "--device", "cpu",
           "--allow-dataset-code"]
    return subprocess.Popen(cmd, env=_env(**env), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(cond, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early:\n{proc.stdout.read()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_while_saving_keeps_the_previous_checkpoint_and_resume_is_bit_identical(tmp_path, reference_run, one_thread):
    out = tmp_path / "run"
    proc = _start(resume_recipe(checkpoint_every=1), out, SEQJEPA_TEST_SLOW_SAVE="0.7")
    # last.pt of epoch 1 is in place; the next file (epoch_1.pt or epoch 2's last.pt) is half-written
    _wait_for(lambda: (out / "last.pt").exists() and any(p.name.endswith(".tmp") for p in out.iterdir()), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert any(p.name.endswith(".tmp") for p in out.iterdir())  # the kill did land mid-write
    state = load_checkpoint(out / "last.pt")
    assert state["epoch"] >= 1 and state["step_in_epoch"] == 0
    assert (out / ".lock").exists()  # left by the killed run: stale, taken over below
    resumed = Trainer(resume_recipe(checkpoint_every=1), out, resume="auto", log=lambda s: None)
    assert resumed.run().status == "completed"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # the killed save's temporary is cleared
    assert_same_state(resumed.model.state_dict(), reference_run["model"])
    assert_same_state(resumed.probes.state_dict(), reference_run["probes"])


@pytest.mark.slow
def test_sigterm_saves_mid_run_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    proc = _start(tiny_recipe(epochs=400, checkpoint_every=0), out)
    _wait_for(lambda: (out / "metrics.jsonl").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    assert "stopped on SIGTERM" in text and "interrupted" in text
    state = load_checkpoint(out / "last.pt")
    assert 0 < state["global_step"] < 400 * 6
    assert not (out / ".lock.owner").exists()


@pytest.mark.slow
def test_two_process_ddp_on_gloo_keeps_ranks_identical(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "tests.train.ddp_worker", str(out)]
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    r0 = torch.load(out / "rank0.state", weights_only=True)
    r1 = torch.load(out / "rank1.state", weights_only=True)
    assert r0["world_size"] == 2
    for part in ("model", "probes"):
        for key in r0[part]:
            if "running_" in key or "num_batches_tracked" in key:
                continue  # BatchNorm statistics are per rank unless SyncBatchNorm is on
            assert torch.equal(r0[part][key], r1[part][key]), f"{part}.{key} differs between ranks"
    state = load_checkpoint(out / "last.pt")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    assert state["global_step"] == 2 * (24 // 2 // 3)  # each rank saw its half of the data
    changed = [k for k in r0["model"] if k.startswith("encoder.") and r0["model"][k].is_floating_point()]
    assert changed
