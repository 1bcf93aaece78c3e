"""Library messages go through the ``seqjepa`` loggers; progress bars only where a person watches."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from seqjepa.cli import main
from seqjepa.utils import log

PACKAGE = Path(__file__).resolve().parents[1] / "seqjepa"


def test_no_print_in_library_code_outside_the_command_line():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id == "print" and isinstance(node.ctx, ast.Load):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} (print passed as a value)")
    assert not offenders, offenders


def test_progress_is_off_without_a_terminal_and_obeys_the_override(monkeypatch):
    monkeypatch.delenv("SEQJEPA_PROGRESS", raising=False)
    items = [1, 2, 3]
    assert log.progress(items, desc="x") is items  # pytest's stderr is not a terminal
    log.set_progress(True)
    try:
        wrapped = log.progress(items, desc="x")
        assert wrapped is not items and list(wrapped) == items
    finally:
        log.set_progress(None)
    monkeypatch.setenv("SEQJEPA_PROGRESS", "1")
    assert log.progress(items, desc="x") is not items


def test_cli_quiet_and_verbose_set_the_seqjepa_logger(capsys):
    try:
        assert main(["-q", "list"]) == 0
        assert logging.getLogger("seqjepa").level == logging.ERROR and not log.progress_enabled()
        assert main(["-v", "list"]) == 0
        assert logging.getLogger("seqjepa").level == logging.DEBUG
    finally:
        log.set_progress(None)
        logger = logging.getLogger("seqjepa")
        for h in [h for h in logger.handlers if getattr(h, "_seqjepa_cli", False)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_trainer_lines_reach_the_seqjepa_train_logger(tmp_path, caplog):
    from seqjepa.train import Trainer

    from .train.tinydata import tiny_recipe

    with caplog.at_level(logging.INFO, logger="seqjepa.train"):
        Trainer(tiny_recipe(epochs=1), tmp_path / "run").run()
    assert any("epoch 1/1 done" in r.getMessage() for r in caplog.records if r.name == "seqjepa.train")
