"""The data's provenance in a report: a fingerprint of the index files, the toy settings."""

import re
import shutil

import numpy as np
import pytest

from seqjepa.eval import data_fingerprint
from seqjepa.eval.provenance import describe_data


def test_data_fingerprint_covers_the_index_files_and_not_the_images(toy_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(toy_root, root)
    first = data_fingerprint(root)
    assert first["files"] == ["train_images.npy", "train_labels.npy", "val_images.npy", "val_labels.npy", "toy.json"]
    assert re.fullmatch(r"[0-9a-f]{64}", first["sha256"])
    image = next(root.rglob("*.jpg"))
    image.write_bytes(image.read_bytes()[:-1] + b"\0")
    assert data_fingerprint(root) == first
    labels = np.load(root / "val_labels.npy")
    np.save(root / "val_labels.npy", labels[::-1].copy())
    assert data_fingerprint(root)["sha256"] != first["sha256"]
    (root / "toy.json").unlink()
    assert "toy.json" not in data_fingerprint(root)["files"]
    assert data_fingerprint(tmp_path / "copy" / next(p.name for p in root.iterdir() if p.is_dir())) == {"sha256": None, "files": []}
    with pytest.raises(FileNotFoundError, match="root"):
        data_fingerprint(tmp_path / "missing")


def test_describe_data_records_absolute_roots_and_toy_settings(toy_root, tmp_path, monkeypatch):
    monkeypatch.chdir(toy_root.parent)
    record = describe_data(toy_root.name)
    assert record["root"] == str(toy_root) and record["fingerprint"] == data_fingerprint(toy_root)
    assert record["toy"]["seed"] == 0 and record["toy"]["classes"] == 3 and "ood_root" not in record
    real = tmp_path / "real"
    shutil.copytree(toy_root, real)
    (real / "toy.json").write_text('{"generator": "someone else"}', encoding="utf-8")
    assert describe_data(real, ood_root=toy_root)["toy"] is None  # not the toy generator's settings
    assert describe_data(real, ood_root=toy_root)["ood_fingerprint"] == data_fingerprint(toy_root)
    assert describe_data(None) == {"root": None, "fingerprint": None, "toy": None}
