"""Hostile inputs to extraction (issue 27): special files, huge sequences, absurd numbers, arguments that fail every row."""

from __future__ import annotations

import json
import os
import threading

import pytest

import seqjepa
from seqjepa.cli import main as cli_main
from seqjepa.errors import IntegrityError

from .conftest import write_images, write_manifest

KW = dict(num_workers=0, device="cpu", progress=False)


def _finishes(fn, fifos, seconds=30):
    """Run ``fn`` in a thread; if it is still running after ``seconds``, unblock it by opening each FIFO for
    writing and fail (a hang is the bug)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for fifo in fifos:
            fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
            os.close(fd)
        t.join(10)
        pytest.fail("extract hung on a FIFO")
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_folder_or_a_manifest_is_skipped_and_recorded_or_refused(model_dir, tmp_path):
    write_images(tmp_path / "imgs", {"a": 2})
    fifo = tmp_path / "imgs" / "a" / "pipe.jpg"
    os.mkfifo(fifo)
    result = _finishes(lambda: seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "o", **KW), [fifo])
    assert (result.rows_extracted, result.rows_failed) == (2, 1)
    (record,) = seqjepa.read_features(tmp_path / "o").errors
    assert record["path"] == "a/pipe.jpg" and "a FIFO, not a regular file" in record["reason"]
    with pytest.raises(IntegrityError, match="pipe.jpg is a FIFO"):
        _finishes(lambda: seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "s", strict=True, **KW), [fifo])
    names = sorted(p.name for p in (tmp_path / "imgs" / "a").iterdir() if p != fifo)
    manifest = write_manifest(tmp_path / "m.jsonl", [
        {"id": "ok", "views": [f"imgs/a/{names[0]}"]}, {"id": "pipe", "views": ["imgs/a/pipe.jpg"]}])
    result = _finishes(lambda: seqjepa.extract(model_dir, manifest, tmp_path / "m", **KW), [fifo])
    assert (result.rows_extracted, result.rows_failed) == (1, 1)
    (record,) = seqjepa.read_features(tmp_path / "m").errors
    assert record["id"] == "pipe" and "FIFO" in record["reason"]


def test_a_sequence_longer_than_the_limit_is_refused_naming_it(model_dir, tmp_path, capsys):
    from seqjepa.features.sources import MAX_SEQUENCE_VIEWS

    write_images(tmp_path / "v", {"a": 1})
    view = f"v/a/{next((tmp_path / 'v' / 'a').iterdir()).name}"
    manifest = write_manifest(tmp_path / "m.jsonl", [{"id": "long", "views": [view] * 20_000}])
    with pytest.raises(ValueError, match=rf"line 1: 20000 views; .* at most {MAX_SEQUENCE_VIEWS} views"):
        seqjepa.extract(model_dir, manifest, tmp_path / "o", **KW)
    assert not (tmp_path / "o").exists()
    status = cli_main(["extract", str(model_dir), str(manifest), "--out", str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "20000 views" in err
    with pytest.raises(ValueError, match=rf"num_views: expected an integer in \[2, {MAX_SEQUENCE_VIEWS}\]"):
        seqjepa.extract(model_dir, tmp_path / "v", tmp_path / "o", dataset="3diebench", num_views=20_000, **KW)


@pytest.mark.parametrize("line, match", [
    ('{"id": "a", "views": ["x.png"], "label": ' + str(10**30) + "}", r"'label' must be an integer in \[0, 2147483647\]"),
    ('{"id": "a", "views": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"id": ' + "7" * 5000 + ', "views": ["x.png"]}', "not valid JSON"),
])
def test_huge_numbers_and_deep_json_in_a_manifest_are_one_line(model_dir, tmp_path, capsys, line, match):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(line + "\n")
    with pytest.raises(ValueError, match=rf"line 1: .*{match}"):
        seqjepa.extract(model_dir, manifest, tmp_path / "o", **KW)
    status = cli_main(["extract", str(model_dir), str(manifest), "--out", str(tmp_path / "o"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_negative_seed_is_refused_before_work(model_dir, tmp_path, capsys):
    from seqjepa.data import make_toy_3diebench

    root = tmp_path / "toy"
    make_toy_3diebench(root, objects=2, views=3, classes=2, size=24, seed=0, workers=1)
    status = cli_main(["extract", str(model_dir), str(root), "--out", str(tmp_path / "o"), "--seed", "-1",
                       "--num-views", "2", "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert status == 2 and "seed: expected an integer in [0, 2**63), got -1" in err, err
    assert not (tmp_path / "o").exists()


def test_a_run_where_every_row_failed_is_not_a_success(model_dir, tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    for name in ("a.jpg", "b.png", "c.webp"):
        (tmp_path / "imgs" / name).write_bytes(b"not an image")
    out = tmp_path / "o"
    with pytest.raises(IntegrityError, match=r"none of the 3 rows could be read \(row 0: .*a\.jpg"):
        seqjepa.extract(model_dir, tmp_path / "imgs", out, **KW)
    assert json.loads((out / "meta.json").read_text())["status"] == "failed"
    assert len((out / "errors.jsonl").read_text().splitlines()) == 3
    with pytest.raises(ValueError, match="failed: none of its rows could be read"):
        seqjepa.read_features(out)
    status = cli_main(["extract", str(model_dir), str(tmp_path / "imgs"), "--out", str(out), "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert status != 0 and "none of the 3 rows" in err and len(err.strip().splitlines()) == 1, err


def test_a_device_that_cannot_run_is_refused_and_the_callers_model_is_left_alone(model_dir, image_folder, tmp_path):
    import torch

    model = seqjepa.load(str(model_dir), device="cpu").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for device in (torch.device("meta"), "meta"):
        with pytest.raises(ValueError, match="device: expected 'cpu', 'cuda' or 'cuda:N', got 'meta'"):
            seqjepa.extract(model, image_folder, tmp_path / "o", device=device, num_workers=0, progress=False)
    assert not (tmp_path / "o").exists()
    seqjepa.extract(model, image_folder, tmp_path / "o", **KW)
    assert model.training and all(p.device.type == "cpu" for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    with pytest.raises(ValueError, match="model: its parameters are on the meta device"):
        seqjepa.extract(seqjepa.load(str(model_dir), device="cpu").to("meta"), image_folder, tmp_path / "m", **KW)


def test_an_image_edited_in_place_to_the_same_size_is_not_served_stale(model_dir, tmp_path):
    write_images(tmp_path / "imgs", {"a": 2})
    seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "o", **KW)
    target = sorted((tmp_path / "imgs" / "a").glob("*.png"))[0]
    data = bytearray(target.read_bytes())
    data[-20] ^= 0xFF  # another picture of exactly the same size
    st = target.stat()
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert target.stat().st_size == st.st_size
    with pytest.raises(ValueError, match="another source"):
        seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "o", **KW)


def test_one_stray_top_level_image_says_that_labels_are_dropped(model_dir, tmp_path, caplog):
    write_images(tmp_path / "imgs", {"cat": 2, "dog": 2, ".": 1})
    with caplog.at_level("WARNING", logger="seqjepa.features"):
        seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "o", **KW)
    assert "1 image(s) lie directly in" in caplog.text and "no class labels" in caplog.text
    assert "label" not in seqjepa.read_features(tmp_path / "o")


def test_a_second_extraction_into_a_busy_out_is_refused_and_touches_nothing(model_dir, image_folder, tmp_path):
    import subprocess
    import sys

    from seqjepa.errors import RunLockedError

    out = tmp_path / "o"
    seqjepa.extract(model_dir, image_folder, out, shard_size=3, **KW)
    (out / "shard-00001.safetensors").unlink()  # what the first run still has to write
    tmp = out / ".shard-00001.safetensors.inflight.tmp"
    tmp.write_bytes(b"the first run's shard in flight")
    holder = subprocess.Popen(  # another process in the middle of the same extraction
        [sys.executable, "-c", "import sys, time; from seqjepa.train.checkpoint import RunLock; "
         "lock = RunLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=r"in use by another extraction \(pid .*; wait for it to end or use "
                                                 r"another --out"):
            seqjepa.extract(model_dir, image_folder, out, shard_size=3, **KW)
        assert tmp.read_bytes() == b"the first run's shard in flight"
    finally:
        holder.kill()
        holder.wait()
    assert seqjepa.extract(model_dir, image_folder, out, shard_size=3, **KW).shards_written == 1
    assert not tmp.exists() and len(seqjepa.read_features(out)["row"]) == 11
