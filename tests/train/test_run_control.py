"""How a run ends and resumes: max_steps at the very end, the whole recipe compared on resume, Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from seqjepa.cli import main
from seqjepa.train import Trainer, load_checkpoint

from .test_processes import _env, _start, _wait_for, ROOT  # noqa: F401  (shared process helpers)
from .tinydata import tiny_recipe

QUIET = dict(log=lambda s: None)


def small(**train):
    """The tiny recipe on 8 sequences per split: 2 steps per epoch."""
    r = tiny_recipe(**train)
    r["data"]["options"] = {"n": 8}
    return r


# ----------------------------------------------------------------------------- train.max_steps
def test_a_run_ending_exactly_at_max_steps_is_completed_and_an_earlier_limit_is_stopped(tmp_path):
    done = Trainer(small(epochs=2, max_steps=4), tmp_path / "exact", **QUIET).run()  # 4 steps = the whole run
    assert (done.status, done.reason, done.global_step) == ("completed", "", 4)
    early = Trainer(small(epochs=2, max_steps=2), tmp_path / "early", **QUIET).run()  # ends epoch 1 of 2
    assert (early.status, early.reason, early.epoch, early.step_in_epoch) == ("stopped", "train.max_steps=2", 1, 0)
    rest = Trainer(small(epochs=2, max_steps=2), tmp_path / "early", resume="auto", **QUIET).run()
    assert (rest.status, rest.global_step) == ("completed", 4)  # max_steps counts the steps of one invocation


# ----------------------------------------------------------------------------- --resume compares the whole recipe
def _write(tmp_path, **train) -> str:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(small(**train)))
    return str(path)


def test_resume_refuses_a_changed_recipe_naming_the_keys_unless_allowed_and_then_records_it(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--recipe", _write(tmp_path, epochs=1), "--output", str(out), "--device", "cpu",
            "--allow-dataset-code"]
    assert main([*base, "--set", "train.max_steps=1"]) == 0
    capsys.readouterr()
    # operational keys (max_steps, log_every, num_workers...) may change; what changes the result may not
    status = main([*base, "--resume", "auto", "--set", "train.batch_size=3", "--set", "optim.lr=0.001", "--set", "train.log_every=1"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1, err
    assert "train.batch_size (4 -> 3)" in err and "optim.lr (0.0004 -> 0.001)" in err and "log_every" not in err
    assert "--allow-recipe-change" in err
    assert load_checkpoint(out / "last.pt")["global_step"] == 1  # nothing was trained
    # the model section can never change: the weights belong to the checkpoint's model
    assert main([*base, "--resume", "auto", "--allow-recipe-change", "--set", "model.dropout=0.2"]) == 2
    assert "model differs from the recipe's at model.dropout" in capsys.readouterr().err
    assert main([*base, "--allow-recipe-change"]) == 2  # without --resume the flag means nothing
    assert "only applies with --resume" in capsys.readouterr().err
    assert main([*base, "--resume", "auto", "--allow-recipe-change", "--set", "optim.lr=0.001"]) == 0
    assert "continuing with a changed recipe" in capsys.readouterr().err
    (record,) = [json.loads(line) for line in (out / "recipe-changes.jsonl").read_text().splitlines()]
    assert record["changes"] == {"optim.lr": {"checkpoint": 0.0004, "now": 0.001}}
    assert (record["epoch"], record["step_in_epoch"], record["global_step"]) == (0, 1, 1)
    state = load_checkpoint(out / "last.pt")
    assert state["recipe"]["optim"]["lr"] == 0.001 and state["global_step"] == 2


def test_resuming_with_the_same_recipe_ignores_operational_keys(tmp_path):
    Trainer(small(epochs=1, max_steps=1), tmp_path, **QUIET).run()
    result = Trainer(small(epochs=1, log_every=1, checkpoint_every_steps=5, num_workers=1), tmp_path, resume="auto", **QUIET).run()
    assert result.status == "completed" and not (tmp_path / "recipe-changes.jsonl").exists()


# ----------------------------------------------------------------------------- Ctrl-C
@pytest.mark.slow
def test_ctrl_c_saves_and_prints_the_resume_command_and_a_second_ctrl_c_quits_in_one_line(tmp_path):
    """Both runs go side by side: each interpreter start costs seconds on a loaded machine."""
    once, twice = tmp_path / "once", tmp_path / "twice"
    p1 = _start(small(epochs=400, checkpoint_every=0), once)
    p2 = _start(small(epochs=400, checkpoint_every=0), twice, SEQJEPA_TEST_SLOW_SAVE="1.5")
    _wait_for(lambda: (once / "metrics.jsonl").exists(), p1)
    p1.send_signal(signal.SIGINT)
    _wait_for(lambda: (twice / "metrics.jsonl").exists(), p2)
    saved = (twice / "last.pt").read_bytes()
    p2.send_signal(signal.SIGINT)
    _wait_for(lambda: any(p.name.endswith(".tmp") for p in twice.iterdir()), p2)  # the Ctrl-C save is under way
    p2.send_signal(signal.SIGINT)
    text1, _ = p1.communicate(timeout=120)
    text2, _ = p2.communicate(timeout=120)

    assert p1.returncode == 130, text1
    assert "Traceback" not in text1 and "stopped on Ctrl-C" in text1, text1
    state = load_checkpoint(once / "last.pt")
    assert 2 <= state["global_step"] < 400 * 2
    resume = next(line for line in text1.splitlines() if line.startswith("resume with: "))
    assert resume.endswith("--resume auto") and f"--output {once}" in resume and f"--recipe {once / 'recipe.json'}" in resume
    assert text1.splitlines()[-1].startswith("interrupted: ")
    assert not (once / ".lock.owner").exists()

    assert p2.returncode == 130, text2
    assert "Traceback" not in text2 and text2.splitlines()[-1] == "seqjepa: interrupted", text2
    assert (twice / "last.pt").read_bytes() == saved  # the abandoned save changed nothing
    assert not [p for p in twice.iterdir() if p.name.endswith(".tmp")]
