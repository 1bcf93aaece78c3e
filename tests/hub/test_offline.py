"""Offline and cache-only behaviour: hand-built caches, the offline error, concurrent loaders."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
import torch

import seqjepa
from seqjepa.errors import IntegrityError, WeightsNotAvailableError
from seqjepa.utils.files import LFS_POINTER_PREFIX
from seqjepa.errors import UnverifiedWeightsWarning

from .conftest import OFFICIAL_FILE, OFFICIAL_REPO, OURS_REPO, PINNED_REPO


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def hand_built(cache: Path, repo: str, commit: str, files: dict[str, bytes], ref: str = "main") -> Path:
    """The cache layout a user gets by copying files by hand: refs/<ref> + snapshots/<commit>/ plain files."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / ref).write_text(commit)
    snap = folder / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (snap / name).write_bytes(data)
    return snap


@pytest.mark.parametrize("how", ["env", "argument"])
def test_offline_error_is_fast_and_complete(zoo, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        kwargs = {}
    else:
        kwargs = {"local_files_only": True}
    count = len(zoo.hub.requests)
    t0 = time.perf_counter()
    with pytest.raises(WeightsNotAvailableError) as info:
        seqjepa.load("toy-official", **kwargs)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0
    message = str(info.value)
    for part in ("'toy-official'", f"{OFFICIAL_REPO}@main", "*toy3diebench*", str(zoo.cache), "offline mode on",
                 "seqjepa download toy-official", "HF_ENDPOINT"):
        assert part in message, part
    assert isinstance(info.value, FileNotFoundError)
    assert len(zoo.hub.requests) == count


def test_hand_built_cache_offline(zoo, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    zoo.hub.stop()
    hand_built(zoo.cache, OURS_REPO, "a" * 40, zoo.ours_files)
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}"), zoo.ours_model)
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}@{'a' * 40}"), zoo.ours_model)
    # a pinned card: the file is checked against the card's sha256
    hand_built(zoo.cache, PINNED_REPO, zoo.pinned_commit, {"model.safetensors": zoo.ours_files["model.safetensors"]})
    assert same_weights(seqjepa.load("toy-pinned"), zoo.ours_model)
    # an unpinned official card: the pattern is matched against the cached files
    hand_built(zoo.cache, OFFICIAL_REPO, "b" * 40, {OFFICIAL_FILE: zoo.pth, "README.md": b"x"})
    with pytest.warns(UnverifiedWeightsWarning):
        model = seqjepa.load("toy-official")
    assert same_weights(model, zoo.official_model)


def test_hand_built_cache_with_corrupt_weights(zoo, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bad = bytearray(zoo.ours_files["model.safetensors"])
    bad[-1] ^= 0xFF
    hand_built(zoo.cache, OURS_REPO, "c" * 40, {**zoo.ours_files, "model.safetensors": bytes(bad)})
    with pytest.raises(IntegrityError, match=zoo.weights_sha):
        seqjepa.load(f"hf-hub:{OURS_REPO}")
    snap = hand_built(zoo.cache, PINNED_REPO, zoo.pinned_commit, {"model.safetensors": bytes(bad)})
    with pytest.raises(IntegrityError, match=zoo.weights_sha):
        seqjepa.load("toy-pinned")
    assert not (snap / "model.safetensors").exists()  # removed, so a later load fetches it again


def test_lfs_pointer_in_the_cache_is_named(zoo, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pointer = LFS_POINTER_PREFIX + b"v1\noid sha256:" + b"0" * 64 + b"\nsize 123\n"
    hand_built(zoo.cache, OURS_REPO, "d" * 40, {**zoo.ours_files, "model.safetensors": pointer})
    with pytest.raises(IntegrityError, match="LFS pointer"):
        seqjepa.load(f"hf-hub:{OURS_REPO}")


def test_local_files_only_beats_an_online_environment(zoo):
    count = len(zoo.hub.requests)
    with pytest.raises(WeightsNotAvailableError, match="offline mode on"):
        seqjepa.load(f"hf-hub:{OURS_REPO}", local_files_only=True)
    assert len(zoo.hub.requests) == count
    seqjepa.load(f"hf-hub:{OURS_REPO}")
    assert same_weights(seqjepa.load(f"hf-hub:{OURS_REPO}", local_files_only=True), zoo.ours_model)


def _digest(model) -> str:
    import hashlib

    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _load_in_child(barrier, queue) -> None:
    try:
        import huggingface_hub

        close = getattr(huggingface_hub, "close_session", None)  # huggingface_hub >= 1.0 (httpx) has one client
        if close is not None:
            close()  # do not share the parent's HTTP client
        torch.set_num_threads(1)
        barrier.wait(timeout=20)
        model = seqjepa.load("toy-official")
        queue.put(("ok", _digest(model)))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", repr(exc)))


def test_two_processes_load_the_same_name_at_once(zoo):
    ctx = multiprocessing.get_context("fork")  # the test's settings (cards, env) carry over; no re-import
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(barrier, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    for status, payload in results:
        assert status == "ok", payload
        assert payload == _digest(zoo.official_model)
    pth_gets = [r for r in zoo.hub.requests if r[0] == "GET" and r[1].endswith(OFFICIAL_FILE)]
    assert 1 <= len(pth_gets) <= 2
