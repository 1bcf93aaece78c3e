"""The real huggingface_hub download path against a fake Hub on 127.0.0.1."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import torch

import seqjepa
from seqjepa.zoo.factory import download
from seqjepa.errors import IntegrityError, WeightsNotAvailableError
from seqjepa.zoo._cache import read_record

from .conftest import OFFICIAL_FILE, OFFICIAL_REPO, OURS_REPO


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_official_pattern_first_download_converts_and_records(zoo):
    model = seqjepa.load("toy-official")
    assert not model.training
    assert same_weights(model, zoo.official_model)
    record = read_record(zoo.cache, "toy-official", None)
    assert record["commit"] == zoo.official_commit
    assert record["filename"] == OFFICIAL_FILE
    assert record["verified_against"] == "hub"
    assert record["converted"]["sha256"]
    converted = zoo.cache / record["converted"]["path"]
    assert (converted / "model.safetensors").is_file() and (converted / "config.json").is_file()
    assert ("GET", f"/{OFFICIAL_REPO}/resolve/{zoo.official_commit}/{OFFICIAL_FILE}") in zoo.hub.requests


def test_reuse_with_the_server_gone_issues_no_request(zoo):
    first = seqjepa.load("toy-official")
    seqjepa.load("hf-hub:" + OURS_REPO)
    zoo.hub.stop()
    count = len(zoo.hub.requests)
    t0 = time.perf_counter()
    again = seqjepa.load("TOY_Official")  # case and '_' insensitive; online mode, no server
    ours = seqjepa.load("hf-hub:" + OURS_REPO)
    assert time.perf_counter() - t0 < 5
    assert len(zoo.hub.requests) == count
    assert same_weights(first, again)
    assert same_weights(ours, zoo.ours_model)


def test_hf_hub_repo_in_our_layout(zoo):
    model = seqjepa.load(f"hf-hub:{OURS_REPO}")
    assert same_weights(model, zoo.ours_model)
    record = read_record(zoo.cache, f"hf-hub:{OURS_REPO}", None)
    assert record["commit"] == zoo.ours_commit
    assert record["files"]["model.safetensors"]["sha256"] == zoo.weights_sha


def test_pinned_revision_in_the_name_and_argument(zoo):
    old = zoo.ours_commit
    torch.manual_seed(5)
    newer = seqjepa.SeqJEPA(zoo.config).eval()

    newer.save_pretrained(zoo.tmp / "newer")
    zoo.hub.add_commit(OURS_REPO, {f: (zoo.tmp / "newer" / f).read_bytes() for f in ("config.json", "model.safetensors")})
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}@{old}"), zoo.ours_model)
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}", revision=old), zoo.ours_model)
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}"), newer)
    with pytest.raises(ValueError, match="contradicts"):
        seqjepa.load(f"hf-hub:{OURS_REPO}@{old}", revision="main")


def test_pinned_card_downloads_and_checks_the_pinned_sha(zoo):
    model = seqjepa.load("toy-pinned")
    assert same_weights(model, zoo.ours_model)
    assert read_record(zoo.cache, "toy-pinned", zoo.pinned_commit)["verified_against"] == "card"


def test_tampered_pinned_safetensors_is_never_deserialized(zoo, deserialized):
    zoo.hub.add_fault("GET", "model.safetensors", "tamper", at=-10)  # in tensor data: the file still parses
    with pytest.raises(IntegrityError, match=f"expected {zoo.weights_sha}"):
        seqjepa.load("toy-pinned")
    assert deserialized == []


@pytest.mark.parametrize("name", ["toy-package", "toy-pinned"])
def test_weights_damaged_after_download_are_never_deserialized(zoo, deserialized, name):
    """A package file or a cached download changed on disk later: refused at load time, before deserializing."""
    seqjepa.load(name)  # the pinned one is now cached
    if name == "toy-package":
        path = zoo.cards / "toy-package.safetensors"
    else:
        (path,) = zoo.cache.glob("models--someone--pinned/snapshots/*/model.safetensors")
    path = Path(os.path.realpath(path))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # in tensor data: the file still parses, only the hash tells
    path.write_bytes(bytes(data))
    deserialized.clear()
    with pytest.raises(IntegrityError, match=f"expected {zoo.weights_sha}"):
        seqjepa.load(name)
    assert deserialized == []


def test_sha256_mismatch_is_never_deserialized_and_is_removed(zoo, monkeypatch, deserialized):
    zoo.hub.add_fault("GET", OFFICIAL_FILE, "tamper")
    with pytest.raises(IntegrityError, match="expected [0-9a-f]{64}: the file is corrupt") as info:
        seqjepa.load("toy-official")
    message = str(info.value)
    good = __import__("hashlib").sha256(zoo.pth).hexdigest()
    assert good in message and "removed" in message
    assert deserialized == []  # no torch.load, safetensors reader or load_state_dict, under any import name
    repo_dir = zoo.cache / ("models--" + OFFICIAL_REPO.replace("/", "--"))
    assert not list((repo_dir / "blobs").iterdir())
    assert not (repo_dir / "snapshots" / zoo.official_commit / OFFICIAL_FILE).exists()
    monkeypatch.undo()
    monkeypatch.setenv("HF_ENDPOINT", zoo.hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(zoo.cache))
    monkeypatch.setattr(seqjepa.zoo.registry, "WEIGHTS_DIR", zoo.cards)
    assert same_weights(seqjepa.load("toy-official"), zoo.official_model)  # the next load fetches it again


def test_missing_repo_and_missing_file(zoo):
    with pytest.raises(WeightsNotAvailableError, match="does not exist") as info:
        seqjepa.load("hf-hub:nobody/nothing")
    assert "nobody/nothing@main" in str(info.value)
    zoo.hub.add_commit("someone/halfrepo", {"config.json": zoo.ours_files["config.json"]})
    with pytest.raises(WeightsNotAvailableError, match="lacks model.safetensors"):
        seqjepa.load("hf-hub:someone/halfrepo")
    with pytest.raises(WeightsNotAvailableError, match="does not exist in"):
        seqjepa.load(f"hf-hub:{OURS_REPO}@no-such-branch")


def test_a_500_then_success(zoo):
    zoo.hub.add_fault("GET", "/api/models/", "500")
    zoo.hub.add_fault("HEAD", OFFICIAL_FILE, "500")
    t0 = time.perf_counter()
    model = seqjepa.load("toy-official")
    assert time.perf_counter() - t0 < 10
    assert same_weights(model, zoo.official_model)
    statuses = [r for r in zoo.hub.requests if r[1].startswith("/api/models/")]
    assert len(statuses) == 2


def test_a_body_cut_short_is_resumed(zoo):
    zoo.hub.add_fault("GET", "model.safetensors", "cut")
    model = seqjepa.load(f"hf-hub:{OURS_REPO}")
    assert same_weights(model, zoo.ours_model)


def test_a_short_file_is_not_kept(zoo):
    zoo.hub.add_fault("GET", OFFICIAL_FILE, "short")
    with pytest.raises(IntegrityError, match="cut short"):
        seqjepa.load("toy-official")
    assert read_record(zoo.cache, "toy-official", None) is None


def test_slow_server_is_bounded(zoo, monkeypatch):
    zoo.hub.add_fault("GET", "/api/models/", "delay", seconds=0.3)
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}"), zoo.ours_model)
    monkeypatch.setenv("SEQJEPA_HUB_TIMEOUT", "0.5")
    zoo.hub.add_fault("GET", "/api/models/", "delay", seconds=3)
    t0 = time.perf_counter()
    with pytest.raises(WeightsNotAvailableError, match="in time"):
        seqjepa.load("toy-official")
    assert time.perf_counter() - t0 < 2.5


def test_download_reports_what_it_resolved(zoo):
    res = download("toy-official")
    assert res.commit == zoo.official_commit and OFFICIAL_FILE in res.files
    assert res.files[OFFICIAL_FILE]["sha256"] == __import__("hashlib").sha256(zoo.pth).hexdigest()
    json.dumps(res.to_dict())


def test_a_recorded_resolution_stays_pinned_when_its_files_are_gone(zoo):
    import shutil

    seqjepa.load("toy-official")
    old = zoo.official_commit
    torch.manual_seed(9)
    from .conftest import official_pth_bytes

    zoo.hub.add_commit(OFFICIAL_REPO, {OFFICIAL_FILE: official_pth_bytes(seqjepa.SeqJEPA(zoo.config).eval())})
    shutil.rmtree(zoo.cache / "seqjepa" / "converted")
    shutil.rmtree(zoo.cache / ("models--" + OFFICIAL_REPO.replace("/", "--")))
    assert same_weights(seqjepa.load("toy-official"), zoo.official_model)
    assert read_record(zoo.cache, "toy-official", None)["commit"] == old
    res = download("toy-official", refresh=True)  # asking the Hub again moves to the new main
    assert res.commit != old
