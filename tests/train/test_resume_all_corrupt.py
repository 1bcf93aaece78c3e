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
