"""``--resume auto`` when every checkpoint is damaged: refused, nothing overwritten (issue 27)."""

from __future__ import annotations

import pytest

from seqjepa.errors import IntegrityError
from seqjepa.train import Trainer

from .tinydata import tiny_recipe

QUIET = dict(log=lambda s: None)


def test_resume_auto_with_every_checkpoint_corrupt_is_refused_and_changes_nothing(tmp_path):
    Trainer(tiny_recipe(epochs=1, checkpoint_every=1), tmp_path, **QUIET).run()
    for p in tmp_path.glob("*.pt"):
        p.write_bytes(b"garbage " + p.name.encode())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(IntegrityError, match=r"--resume auto: none of the \d checkpoint\(s\) .* nothing was changed"):
        Trainer(tiny_recipe(epochs=1, checkpoint_every=1), tmp_path, resume="auto", **QUIET).run()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and p.name in before}
    assert after == before


def test_a_second_ctrl_c_during_a_save_still_says_how_to_resume(tmp_path, monkeypatch):
    import seqjepa.train.loop as loop

    real, calls, lines = loop.save_checkpoint, [], []

    def save(path, state):
        calls.append(path.name)
        if len(calls) > 2:  # epoch 1 wrote last.pt and epoch_1.pt; the next save is interrupted
            raise KeyboardInterrupt
        real(path, state)

    monkeypatch.setattr(loop, "save_checkpoint", save)
    with pytest.raises(KeyboardInterrupt):
        Trainer(tiny_recipe(epochs=2, checkpoint_every=1), tmp_path, log=lines.append).run()
    assert any("the save was abandoned" in line for line in lines), lines
    resume = [line for line in lines if line.startswith("resume with: ")]
    assert resume and resume[-1].endswith("--resume auto") and str(tmp_path) in resume[-1]


def test_compile_on_a_cpu_without_a_compiler_is_one_line_before_work(tmp_path, monkeypatch, capsys):
    import json

    from seqjepa.cli import main

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CXX", raising=False)
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps(tiny_recipe(epochs=1)))
    status = main(["train", "--recipe", str(recipe), "--output", str(tmp_path / "run"), "--device", "cpu",
                   "--allow-dataset-code", "--set", "train.compile=true"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "train.compile: torch.compile on CPU needs a C++ compiler" in err, err
    assert not (tmp_path / "run").exists()
