"""The command line answers bad arguments with one line and status 2; writes are atomic."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import seqjepa
import seqjepa.zoo._serialization as serialization
from seqjepa.cli import main as cli_main
from seqjepa.errors import IntegrityError
from seqjepa.utils.files import atomic_open, atomic_write_bytes, atomic_write_text

from .conftest import TINY_OVERRIDES, write_official_checkpoint

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- real processes
@pytest.mark.slow
def test_python_dash_m_answers_bad_arguments_with_one_line(tmp_path):
    """Each interpreter start costs seconds on a loaded machine: the cases run side by side."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    cases = [  # the parser's own errors, and one raised by a command; the rest run in-process below
        ["frobnicate"],
        ["convert", str(tmp_path / "missing.pth"), str(tmp_path / "out"), "--set", "num_heads=4"],
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "seqjepa", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for args in cases
    ]
    for args, proc in zip(cases, procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (args, err)
        assert out == ""
        assert err.count("\n") == 1 and "Traceback" not in err, (args, err)
        assert "error" in err
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- in-process command line
@pytest.fixture(scope="module")
def official(tiny, tmp_path_factory) -> Path:
    return write_official_checkpoint(tiny, tmp_path_factory.mktemp("official") / "ok.pth")


def _run(argv, capsys) -> tuple[int, str, str]:
    status = cli_main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _tiny_set() -> list[str]:
    out = []
    for key, value in TINY_OVERRIDES.items():
        out += ["--set", f"{key}={json.dumps(value)}"]
    return out


@pytest.mark.parametrize(
    "argv, match",
    [
        ([], "required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["convert", "only-one"], "required: out_dir"),
        (["convert", "a.pth", "b", "--bogus"], "unrecognized arguments: --bogus"),
        (["convert", "{tmp}", "out"], "is a directory, not a .pth file"),
        (["convert", "{tmp}/nothing.pth", "out"], "does not exist"),
        (["convert", "{official}", "out", "--set", "=4"], r"--set '=4': expected FIELD=VALUE"),
        (["convert", "{official}", "out", "--set", "surprise=1"], r"unknown config field\(s\) \['surprise'\]"),
        (["convert", "{official}", "out", "--set", "num_heads=three"], "'num_heads': expected int, got str"),
        (["convert", "{official}", "out", "--set", "backbone=hf-hub:evil/net"], "'backbone': expected a timm model name"),
        (["convert", "{official}", "{file}", *_tiny_set()], "File exists|Not a directory"),
    ],
)
def test_bad_arguments_are_one_line_with_status_2(argv, match, tmp_path, official, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    subst = {"{tmp}": str(tmp_path), "{official}": str(official), "{file}": str(tmp_path / "a-file")}
    for key, value in subst.items():
        argv = [a.replace(key, value) for a in argv]
    status, out, err = _run(argv, capsys)
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("seqjepa: error: "), err
    assert re.search(match, err), err
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "a-file").read_text() == "x"


def test_convert_succeeds_and_round_trips(tiny, official, tmp_path, capsys):
    status, out, err = _run(["convert", str(official), str(tmp_path / "out"), *_tiny_set()], capsys)
    assert status == 0, err
    model = seqjepa.load(str(tmp_path / "out"))
    assert all(torch.equal(a, b) for a, b in zip(tiny.state_dict().values(), model.state_dict().values()))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["README.md", "config.json", "model.safetensors"]


# ----------------------------------------------------------------------------- atomic writes
def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("fail_after", [0, 100, 10_000])
def test_crash_while_writing_weights_leaves_the_previous_save(tiny, tmp_path, monkeypatch, fail_after):
    out = tmp_path / "model"
    tiny.save_pretrained(out)
    before = _snapshot(out)

    def crashing_write(path, data):
        with atomic_open(path, "wb") as fh:  # part of the file is on disk when the "crash" comes
            fh.write(data[:fail_after])
            fh.flush()
            raise OSError("simulated crash: disk full")

    monkeypatch.setattr(serialization, "atomic_write_bytes", crashing_write)
    other = seqjepa.SeqJEPA(tiny.config)
    with pytest.raises(OSError, match="simulated crash"):
        other.save_pretrained(out)
    assert _snapshot(out) == before, "the previous save must be intact, with no temporary files beside it"
    seqjepa.load(str(out))


def test_crash_after_the_weights_is_detected_at_load(tiny, tmp_path, monkeypatch):
    """Between renaming the weights and writing config.json the pair is inconsistent: loading must say so."""
    out = tmp_path / "model"
    tiny.save_pretrained(out)

    def crash(*args, **kwargs):
        raise OSError("simulated crash")

    monkeypatch.setattr(serialization, "atomic_write_text", crash)
    torch.manual_seed(5)
    with pytest.raises(OSError, match="simulated crash"):
        seqjepa.SeqJEPA(tiny.config).save_pretrained(out)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    with pytest.raises(IntegrityError, match="sha256"):
        seqjepa.load(str(out))


@pytest.mark.parametrize("mode, data", [("wb", b"new"), ("w", "new")])
def test_atomic_open_keeps_the_old_file_on_error(tmp_path, mode, data):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(target, mode) as fh:
            fh.write(data)
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_an_error_about_the_temporary_file_names_the_file_asked_for(tmp_path):
    """A full disk while a writer holds the temporary: the error names the target, never the temporary's name."""
    target = tmp_path / "model.safetensors"
    with pytest.raises(OSError) as info:
        with atomic_open(target, "wb"):
            (temporary,) = [str(p) for p in tmp_path.glob(".model.safetensors.*.tmp")]
            raise OSError(28, "No space left on device", temporary)
    message = str(info.value)
    assert info.value.errno == 28 and f"cannot write {target}: No space left on device" in message
    assert os.path.basename(temporary) not in message and ".tmp" not in message
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError, match="^other$"):  # an error about something else is left as it is
        with atomic_open(target, "wb"):
            raise OSError("other")


def test_atomic_open_on_keyboard_interrupt_and_new_files(tmp_path):
    target = tmp_path / "sub" / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as fh:
            fh.write(b"partial")
            raise KeyboardInterrupt
    assert not target.exists() and list((tmp_path / "sub").iterdir()) == []
    atomic_write_bytes(target, b"\x00\x01")
    atomic_write_text(tmp_path / "sub" / "t.txt", "héllo")
    assert target.read_bytes() == b"\x00\x01" and (tmp_path / "sub" / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["new.bin", "t.txt"]


@pytest.mark.parametrize("mode", ["a", "r", "w+", "ab"])
def test_atomic_open_refuses_other_modes(tmp_path, mode):
    with pytest.raises(ValueError, match="mode: expected 'wb' or 'w'"):
        with atomic_open(tmp_path / "x", mode):
            pass
    assert list(tmp_path.iterdir()) == []


def test_atomic_writes_get_ordinary_file_permissions(tmp_path):
    import os
    import stat

    from seqjepa.utils.files import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o644
