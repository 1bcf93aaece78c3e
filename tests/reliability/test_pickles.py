"""Official .pth checkpoints that try to run code: refused before any of it runs, in both torch formats."""

from __future__ import annotations

import argparse
import builtins
import os
import re
import subprocess
from pathlib import Path

import pytest
import torch

import seqjepa
from seqjepa.cli import main as cli_main
from seqjepa.zoo._convert_official import read_official_checkpoint
from seqjepa.errors import CheckpointMismatchError, IntegrityError, UnsafeCheckpointError

from .conftest import TINY_OVERRIDES, write_official_checkpoint

# Each payload would create the marker file if it were ever unpickled unsafely.
class _System:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Exec(_System):
    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


class _Subprocess(_System):
    def __reduce__(self):
        return (subprocess.call, (["touch", str(self.marker)],))


class _Eval(_System):
    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').close()",))


# what the refusal must name (pickle protocol 2 maps some names to their Python 2 spelling)
PAYLOADS = {
    "os.system": (_System, r"(posix|os|nt)\.system"),
    "builtins.exec": (_Exec, r"exec"),
    "subprocess.call": (_Subprocess, r"(subprocess|commands)\.call"),
    "builtins.eval": (_Eval, r"eval"),
}


def _malicious(tmp_path: Path, payload: str, zip_format: bool, place: str) -> tuple[Path, Path]:
    cls, _ = PAYLOADS[payload]
    marker = tmp_path / "MARKER"
    evil = cls(marker)
    path = tmp_path / f"evil-{payload}-{'zip' if zip_format else 'legacy'}.pth"
    if place == "args":
        content = {"model": {"agg_token": torch.zeros(1, 1, 8)}, "args": evil}
    elif place == "state":
        content = {"model": {"agg_token": torch.zeros(1, 1, 8), "encoder.conv1.weight": evil}}
    else:  # the whole payload
        content = evil
    torch.save(content, path, _use_new_zipfile_serialization=zip_format)
    assert not marker.exists()
    return path, marker


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("entry", ["load", "load_official", "read_official_checkpoint", "cli"])
def test_code_in_a_pickle_never_runs(tmp_path, payload, zip_format, entry, capsys):
    path, marker = _malicious(tmp_path, payload, zip_format, place="args")
    out = tmp_path / "out"
    if entry == "cli":
        assert cli_main(["convert", str(path), str(out)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "outside the allow-list" in err
        assert re.search(PAYLOADS[payload][1], err)
    else:
        call = {
            "load": lambda: seqjepa.load(str(path)),
            "load_official": lambda: seqjepa.load_official(path),
            "read_official_checkpoint": lambda: read_official_checkpoint(path),
        }[entry]
        with pytest.raises(UnsafeCheckpointError, match=PAYLOADS[payload][1]) as info:
            call()
        assert "none of its code ran" in str(info.value)
    assert not marker.exists(), "the pickle's payload ran"
    assert not out.exists(), "nothing may be written for a refused checkpoint"


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("place", ["state", "top"])
def test_payload_anywhere_in_the_file_is_refused(tmp_path, zip_format, place):
    path, marker = _malicious(tmp_path, "os.system", zip_format, place=place)
    with pytest.raises(UnsafeCheckpointError, match=r"(posix|os)\.system"):
        seqjepa.load(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_a_genuine_official_checkpoint_still_converts(tiny, tmp_path, zip_format):
    """Guards the tests above: the allow-list is not so tight that real checkpoints fail."""
    path = write_official_checkpoint(tiny, tmp_path / "ok.pth", zip_format=zip_format)
    model = seqjepa.load_official(path, overrides=TINY_OVERRIDES)
    assert model.config == tiny.config
    for (k, a), (k2, b) in zip(tiny.state_dict().items(), model.state_dict().items()):
        assert k == k2 and torch.equal(a, b)


def test_namespace_with_odd_values_is_data_not_code(tiny, tmp_path):
    args = argparse.Namespace(num_heads=4, img_size=16, seq_len=3, note="__import__('os').system('x')")
    path = write_official_checkpoint(tiny, tmp_path / "ok.pth", args=args)
    assert seqjepa.load_official(path, overrides=TINY_OVERRIDES).config == tiny.config


@pytest.mark.parametrize(
    "content, error, match",
    [
        (b"", IntegrityError, "is empty"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 9\n", IntegrityError, "Git LFS pointer"),
        *[
            (torch.randint(0, 256, (n,), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8).numpy().tobytes(),
             CheckpointMismatchError, "not a torch checkpoint|not a readable")
            for seed, n in ((0, 64), (1, 64), (2, 300), (3, 1000), (4, 17))
        ],
        (b"PK\x03\x04" + b"\x00" * 60, CheckpointMismatchError, "not a readable torch checkpoint"),
    ],
    ids=["empty", "lfs", *[f"garbage{i}" for i in range(5)], "bad-zip"],
)
def test_unreadable_checkpoints_name_the_cause(tmp_path, content, error, match):
    """Garbage makes torch's safe unpickler fail in many ways (KeyError, IndexError...): always one error type."""
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        seqjepa.load(str(path))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_truncated_checkpoints_are_refused(tiny, tmp_path, zip_format):
    path = write_official_checkpoint(tiny, tmp_path / "ok.pth", zip_format=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises((IntegrityError, CheckpointMismatchError), match=r"truncated|not a readable"):
        seqjepa.load_official(path, overrides=TINY_OVERRIDES)


@pytest.mark.parametrize(
    "model, match",
    [
        ({1: torch.zeros(1)}, r"string keys to tensors"),
        ({"agg_token": "not a tensor"}, r"string keys to tensors"),
        ({"agg_token": torch.zeros(1, 1, 8), "classifier.weight": torch.zeros(2)}, r"belong to no seq-JEPA module"),
        ({}, r"not a seq-JEPA state dict"),
    ],
)
def test_malformed_state_dicts_are_mismatches(tmp_path, model, match):
    path = tmp_path / "x.pth"
    torch.save({"model": model, "args": argparse.Namespace()}, path)
    with pytest.raises(CheckpointMismatchError, match=match):
        seqjepa.load(str(path))


def test_foreign_architecture_checkpoint_does_not_load(tiny, tmp_path):
    """An official-looking file whose tensors do not fit the inferred config fails strictly."""
    path = write_official_checkpoint(tiny, tmp_path / "ok.pth")
    with pytest.raises(CheckpointMismatchError, match=r"nothing was loaded.*shape mismatch"):
        seqjepa.load_official(path, overrides={**TINY_OVERRIDES, "predictor_hidden": 16})
