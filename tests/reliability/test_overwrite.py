"""`--overwrite` replaces only what the same seqjepa command wrote; never '.', a parent of it, or home."""

from __future__ import annotations

import os

import pytest

from seqjepa.cli import main as cli_main
from seqjepa.data import make_toy_3diebench
from seqjepa.utils.files import OUTPUT_MARKER

SMALL = ["--objects", "2", "--views", "2", "--classes", "2", "--size", "16", "--workers", "1"]


def _run(argv, capsys):
    status = cli_main(argv)
    return status, capsys.readouterr().err


def test_overwrite_of_the_working_directory_deletes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "thesis.tex").write_text("years of work")
    status, err = _run(["make-toy-3diebench", ".", "--overwrite", *SMALL], capsys)
    assert status == 2 and "refusing to replace" in err and "working directory" in err
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize("where", ["parent", "home"])
def test_overwrite_of_a_parent_or_home_is_refused(tmp_path, monkeypatch, capsys, where):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    if where == "home":
        monkeypatch.setenv("HOME", str(tmp_path / "a"))
    target = str(tmp_path / "a") if where == "home" else ".."
    status, err = _run(["make-toy-3diebench", target, "--overwrite", *SMALL], capsys)
    assert status == 2 and "refusing to replace" in err
    assert inner.is_dir()


def test_overwrite_of_a_folder_seqjepa_did_not_write_is_refused(tmp_path, capsys):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    status, err = _run(["make-toy-3diebench", str(mine), "--overwrite", *SMALL], capsys)
    assert status == 2 and "was not written by this seqjepa command" in err and OUTPUT_MARKER in err
    assert (mine / "cat.jpg").read_bytes() == b"\xff\xd8 not really"
    (tmp_path / "file").write_text("x")
    status, err = _run(["make-toy-3diebench", str(tmp_path / "file"), "--overwrite", *SMALL], capsys)
    assert status == 2 and (tmp_path / "file").read_text() == "x"


def test_a_dataset_seqjepa_wrote_is_replaced(tmp_path):
    out = tmp_path / "toy"
    make_toy_3diebench(out, objects=2, views=2, classes=2, size=16, seed=0, workers=1)
    first = sorted(os.listdir(out))
    assert OUTPUT_MARKER in first
    make_toy_3diebench(out, objects=2, views=3, classes=2, size=16, seed=1, workers=1, overwrite=True)
    assert sorted(os.listdir(out)) == first
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        make_toy_3diebench(out, objects=2, views=2, classes=2, size=16, seed=0, workers=1)


def test_messages_name_what_the_user_gave(tmp_path, capsys):
    status, err = _run(["info", "hf-hub:org/repo"], capsys)
    assert status == 2 and "is a Hub repository, not a registry name" in err and "seqjepa download hf-hub:org/repo" in err
    (tmp_path / "cachefile").write_text("")
    status, err = _run(["download", "resnet18-3diebench", "--cache-dir", str(tmp_path / "cachefile")], capsys)
    assert status == 2 and "is a file; expected the directory" in err


def test_a_write_that_fails_names_the_target_not_a_temporary_file(tmp_path):
    from seqjepa.utils.files import atomic_write_text

    (tmp_path / "out.json").mkdir()  # a directory where the file should go
    with pytest.raises(OSError) as info:
        atomic_write_text(tmp_path / "out.json", "{}")
    assert f"cannot write {tmp_path / 'out.json'}" in str(info.value) and ".tmp" not in str(info.value)
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions: nothing to check there
            return
        with pytest.raises(PermissionError, match=rf"cannot write {locked / 'x.json'}"):
            atomic_write_text(locked / "x.json", "{}")
    finally:
        os.chmod(locked, 0o700)


def test_a_copied_marker_does_not_make_a_foreign_directory_replaceable(tmp_path, capsys):
    make_toy_3diebench(tmp_path / "toy", objects=2, views=2, classes=2, size=16, seed=0, workers=1)
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "cat.jpg").write_bytes(b"mine")
    (mine / OUTPUT_MARKER).write_bytes((tmp_path / "toy" / OUTPUT_MARKER).read_bytes())
    status, err = _run(["make-toy-3diebench", str(mine), "--overwrite", *SMALL], capsys)
    assert status == 2 and "1 file(s) it did not write (e.g. cat.jpg)" in err, err
    assert (mine / "cat.jpg").read_bytes() == b"mine"


def test_overwrite_keeps_a_dataset_whose_files_the_user_added_to_or_changed(tmp_path, capsys):
    out = tmp_path / "toy"
    make_toy_3diebench(out, objects=2, views=2, classes=2, size=16, seed=0, workers=1)
    (out / "my-notes.txt").write_text("keep me")
    status, err = _run(["make-toy-3diebench", str(out), "--overwrite", *SMALL], capsys)
    assert status == 2 and "1 file(s) it did not write (e.g. my-notes.txt)" in err, err
    assert (out / "my-notes.txt").read_text() == "keep me"
    (out / "my-notes.txt").unlink()
    (out / "toy.json").write_text((out / "toy.json").read_text() + " ")
    status, err = _run(["make-toy-3diebench", str(out), "--overwrite", *SMALL], capsys)
    assert status == 2 and "changed or removed since (e.g. toy.json)" in err, err
