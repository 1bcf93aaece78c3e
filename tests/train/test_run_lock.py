"""RunLock edges found by mutation testing (tools/mutation.py): its initial state, nested output
directories, refusing without waiting, the owner record's time stamp and its encoding."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import filelock
import pytest

from seqjepa.errors import RunLockedError
from seqjepa.train.checkpoint import RunLock


def test_a_new_lock_is_not_held_and_releasing_it_does_nothing(tmp_path):
    lock = RunLock(tmp_path)
    assert lock.held is False
    lock.release()
    assert lock.held is False and not (tmp_path / ".lock").exists()


def test_acquire_creates_nested_output_directories(tmp_path):
    with RunLock(tmp_path / "runs" / "a" / "b") as lock:
        assert lock.held is True and (tmp_path / "runs" / "a" / "b" / ".lock").exists()
    assert lock.held is False


def test_a_held_lock_is_refused_without_waiting(tmp_path, monkeypatch):
    timeouts = []

    class Spy(filelock.FileLock):
        def acquire(self, timeout=None, *args, **kwargs):
            timeouts.append(timeout)
            return super().acquire(timeout, *args, **kwargs)

    monkeypatch.setattr(filelock, "FileLock", Spy)
    with RunLock(tmp_path):
        with pytest.raises(RunLockedError, match=rf"^output directory {re.escape(str(tmp_path))} is in use"):
            RunLock(tmp_path).acquire()
    assert timeouts == [0, 0]


def test_the_owner_record_names_the_process_time_and_command(tmp_path):
    with RunLock(tmp_path):
        record = json.loads((tmp_path / ".lock.owner").read_text(encoding="utf-8"))
    assert record["pid"] == os.getpid() and record["command"] == " ".join(sys.argv)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", record["started"]), record["started"]


def test_the_owner_is_read_as_utf8_whatever_the_locale(tmp_path):
    """A command with non-ASCII text is named correctly by a process whose locale encoding is ASCII."""
    record = {"host": "h", "pid": 7, "started": "2026-01-01T00:00:00+0000", "command": "seqjepa train --output café"}
    (tmp_path / ".lock.owner").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    code = "import sys; from seqjepa.train.checkpoint import RunLock; print(ascii(RunLock(sys.argv[1]).owner()))"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ascii("pid 7 on h, started 2026-01-01T00:00:00+0000: seqjepa train --output café")
