"""Hostile files: ill-typed official args, zip bombs, links to devices, directories where files belong,
index entries that leave the dataset root, absurd labels. Each gets a one-line, named refusal."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import zipfile

import numpy as np
import pytest
import torch

import seqjepa
from seqjepa.cli import main as cli_main
from seqjepa.data import ThreeDIEBench, make_toy_3diebench
from seqjepa.errors import ConfigError, IntegrityError, WeightsNotAvailableError

from ..conftest import small_config
from .conftest import TINY_OVERRIDES, write_official_checkpoint


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return seqjepa.SeqJEPA(small_config()).eval()


@pytest.mark.parametrize("args, field", [
    (argparse.Namespace(num_heads="abc", img_size=16, seq_len=3), "args.num_heads"),
    (argparse.Namespace(num_heads=4, img_size=[1, 2], seq_len=3), "args.img_size"),
    (argparse.Namespace(num_heads=4, img_size=16, seq_len=3.5), "args.seq_len"),
    (argparse.Namespace(num_heads=4, img_size=16, seq_len=3, ema_decay="fast"), "args.ema_decay"),
    (argparse.Namespace(num_heads=4, img_size=16, seq_len=3, dataset=7), "args.dataset"),
])
def test_ill_typed_official_args_are_a_config_error_naming_the_field(tiny, tmp_path, capsys, args, field):
    path = write_official_checkpoint(tiny, tmp_path / "x.pth", args=args)
    with pytest.raises(ConfigError, match=rf"checkpoint field '{field}'"):
        seqjepa.load_official(path)
    assert cli_main(["convert", str(path), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{field}'" in err and "Traceback" not in err


def test_a_zip_bomb_checkpoint_is_refused_from_its_declared_sizes(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", b"\0" * (64 << 20) * 2)  # 128 MiB of zeros deflate to ~130 KB
    path = tmp_path / "bomb.pth"
    path.write_bytes(buf.getvalue())
    loaded = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loaded.append(1))
    with pytest.raises(IntegrityError, match=r"declares \d+ bytes of content in a \d+-byte archive.*zip bomb"):
        seqjepa.load(str(path))
    assert loaded == [], "the archive was unpacked before its sizes were checked"


def test_a_truncated_zip_checkpoint_says_so(tiny, tmp_path):
    path = write_official_checkpoint(tiny, tmp_path / "ok.pth")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(seqjepa.CheckpointMismatchError, match="zip archive is truncated or damaged"):
        seqjepa.load_official(path, overrides=TINY_OVERRIDES)


@pytest.mark.parametrize("what", ["weights-to-dev-zero", "config-is-a-directory", "dangling-link"])
def test_special_files_are_named_not_reported_missing(tiny, tmp_path, what):
    d = tmp_path / "m"
    tiny.save_pretrained(d)
    if what == "weights-to-dev-zero":
        (d / "model.safetensors").unlink()
        os.symlink("/dev/zero", d / "model.safetensors")
        match, error = r"model.safetensors is a device or special file \(a link to /dev/zero\)", IntegrityError
    elif what == "config-is-a-directory":
        (d / "config.json").unlink()
        (d / "config.json").mkdir()
        match, error = r"config.json is a directory, not a regular file", IntegrityError
    else:
        (d / "model.safetensors").unlink()
        os.symlink(tmp_path / "gone", d / "model.safetensors")
        match, error = r"model.safetensors not found \(a link whose target is missing\)", WeightsNotAvailableError
    with pytest.raises(error, match=match):
        seqjepa.load(d)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy") / "toy"
    make_toy_3diebench(root, objects=6, views=4, classes=2, size=16, seed=3, workers=1)
    return root


@pytest.mark.parametrize("entry", ["/../../etc/", "/9000000/../../x/", "/a\\b/c/", "/a/b/c/", "/./x/", "/.hidden/x/"])
def test_index_entries_that_leave_the_root_are_refused(toy, tmp_path, entry):
    root = tmp_path / "toy"
    shutil.copytree(toy, root)
    images = np.load(root / "train_images.npy")
    images[0] = entry
    np.save(root / "train_images.npy", images.astype(f"<U{max(len(entry), images.dtype.itemsize // 4)}"))
    with pytest.raises(IntegrityError, match=r"train_images.npy: entry 0 is .*stays inside the dataset root"):
        ThreeDIEBench(root, split="train", num_views=2)


@pytest.mark.parametrize("label", [10**12, -1])
def test_absurd_labels_are_refused_instead_of_making_that_many_classes(toy, tmp_path, label):
    root = tmp_path / "toy"
    shutil.copytree(toy, root)
    labels = np.load(root / "train_labels.npy")
    labels[0] = label
    np.save(root / "train_labels.npy", labels.astype(np.int64))
    with pytest.raises(IntegrityError, match=rf"train_labels.npy: labels must lie in \[0, 100000\), got {label}"):
        ThreeDIEBench(root, split="train", num_views=2)
