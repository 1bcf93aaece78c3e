"""Bad inputs, resuming, refusing another extraction's directory, and the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

import seqjepa
from seqjepa.cli import main as cli_main
from seqjepa.errors import IntegrityError

from .conftest import PYTHON, ROOT, subprocess_env, write_images, write_manifest


def _corrupt(folder):
    (folder / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole jpeg")
    (folder / "cat" / "empty.png").write_bytes(b"")
    png = folder / "cat" / "img001.png"
    png.write_bytes(png.read_bytes()[:60])  # truncated: the header reads, the pixels do not


def test_corrupt_images_are_skipped_recorded_and_counted(model_dir, image_folder, tmp_path, caplog):
    _corrupt(image_folder)
    out = tmp_path / "o"
    with caplog.at_level("WARNING", logger="seqjepa.features"):
        result = seqjepa.extract(model_dir, image_folder, out, shard_size=4, batch_size=3, num_workers=1, device="cpu",
                                 progress=False)
    assert (result.rows, result.rows_failed, result.rows_extracted) == (13, 3, 10)
    records = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [r["path"] for r in records] == ["cat/empty.png", "cat/img001.png", "dog/broken.jpg"]
    assert all("cannot be decoded" in r["reason"] and r["path"] in r["reason"] for r in records)
    feats = seqjepa.read_features(out)
    # every source row is either a feature row or an error record, never both, never neither
    assert sorted(feats["row"].tolist() + [r["row"] for r in records]) == list(range(13))
    assert "empty.png" not in " ".join(feats["path"])
    assert feats.errors == records and feats.meta["rows_failed"] == 3
    assert [r["shard"] for r in records] == [r["row"] // 4 for r in records]
    assert "skipped row" in caplog.text and "broken.jpg" in caplog.text
    # a rerun recomputes nothing and does not duplicate the records
    again = seqjepa.extract(model_dir, image_folder, out, shard_size=4, batch_size=3, num_workers=1, device="cpu",
                            progress=False)
    assert again.shards_written == 0 and again.rows_failed == 3
    assert [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()] == records


def test_a_shard_whose_every_image_fails_keeps_the_columns(model_dir, tmp_path):
    write_images(tmp_path / "imgs", {"a": 3})
    for name in ("b/x.jpg", "b/y.jpg"):
        (tmp_path / "imgs" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "imgs" / name).write_bytes(b"")
    result = seqjepa.extract(model_dir, tmp_path / "imgs", tmp_path / "o", invariant=True, shard_size=2, num_workers=0,
                             device="cpu", progress=False)
    assert (result.rows_extracted, result.rows_failed) == (3, 2)
    feats = seqjepa.read_features(tmp_path / "o")  # shard 2 holds only row 4, which failed
    assert feats["z"].shape == (3, 32) and feats["z_agg"].shape == (3, 40) and feats["label"].tolist() == [0, 0, 0]
    assert [e["row"] for e in feats.errors] == [3, 4]


def test_a_missing_view_skips_its_sequence_and_names_the_view(model_dir, tmp_path):
    write_images(tmp_path, {"v": 2})
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    manifest = write_manifest(tmp_path / "m.jsonl", [
        {"id": "good", "views": [f"v/{names[0]}"]},
        {"id": "bad", "views": [f"v/{names[1]}", "v/gone.png"], "actions": [[0, 0, 0, 1]]},
    ])
    result = seqjepa.extract(model_dir, manifest, tmp_path / "o", num_workers=0, device="cpu", progress=False)
    assert result.rows_failed == 1
    (record,) = seqjepa.read_features(tmp_path / "o").errors
    assert record["id"] == "bad" and record["path"] == "v/gone.png" and "not found" in record["reason"]


def test_strict_fails_on_the_first_bad_image(model_dir, image_folder, tmp_path, capsys):
    _corrupt(image_folder)
    with pytest.raises(IntegrityError, match=r"cat/empty.png.*--strict"):
        seqjepa.extract(model_dir, image_folder, tmp_path / "o", strict=True, num_workers=0, device="cpu",
                        progress=False)
    status = cli_main(["extract", str(model_dir), str(image_folder), "--out", str(tmp_path / "o"), "--strict",
                       "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1 and "empty.png" in err


def test_rerun_skips_finished_shards_and_recomputes_a_missing_one(model_dir, image_folder, tmp_path):
    out = tmp_path / "o"
    kw = dict(shard_size=3, batch_size=2, num_workers=0, device="cpu", progress=False)
    first = seqjepa.extract(model_dir, image_folder, out, **kw)
    assert first.shards_written == 4
    stats = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("shard-*")}
    before = dict(seqjepa.read_features(out))
    before = {k: np.array(v) for k, v in before.items()}
    (out / "shard-00002.safetensors").unlink()
    (out / ".shard-00001.safetensors.abc123.tmp").write_bytes(b"half a shard")  # what a kill leaves
    (out / ".meta.json.x_9z.tmp").write_text("{")
    (out / "notes.txt").write_text("a file of the user's")
    second = seqjepa.extract(model_dir, image_folder, out, **kw)
    assert (second.shards_written, second.shards_skipped) == (1, 3)
    assert not (out / ".shard-00001.safetensors.abc123.tmp").exists() and not (out / ".meta.json.x_9z.tmp").exists()
    assert (out / "notes.txt").read_text() == "a file of the user's"  # only our own files are ever removed
    for p in out.glob("shard-*"):
        if p.name != "shard-00002.safetensors":
            assert (p.stat().st_ino, p.stat().st_mtime_ns) == stats[p.name]
    after = seqjepa.read_features(out)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_an_incomplete_directory_cannot_be_read(model_dir, image_folder, tmp_path):
    out = tmp_path / "o"
    seqjepa.extract(model_dir, image_folder, out, shard_size=3, num_workers=0, device="cpu", progress=False)
    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps(dict(meta, status="incomplete")))
    with pytest.raises(ValueError, match="not complete; rerun"):
        seqjepa.read_features(out)
    with pytest.raises(FileNotFoundError, match="no meta.json"):
        seqjepa.read_features(image_folder)


def test_another_model_preprocessing_or_source_is_refused(model_dir, other_model_dir, image_folder, tmp_path):
    out = tmp_path / "o"
    kw = dict(num_workers=0, device="cpu", progress=False)
    seqjepa.extract(model_dir, image_folder, out, **kw)
    with pytest.raises(ValueError, match=r"holds features extracted with another model \(state_sha256: "):
        seqjepa.extract(other_model_dir, image_folder, out, **kw)
    with pytest.raises(ValueError, match=r"another preprocessing \(decode: exact there, draft now\)"):
        seqjepa.extract(model_dir, image_folder, out, decode="draft", **kw)
    with pytest.raises(ValueError, match=r"other outputs \(z_agg: null there, 40 now\)"):
        seqjepa.extract(model_dir, image_folder, out, invariant=True, **kw)
    with pytest.raises(ValueError, match=r"another shard size \(4096 there, 2 now\)"):
        seqjepa.extract(model_dir, image_folder, out, shard_size=2, **kw)
    write_images(image_folder, {"cat": 5})  # one image more
    with pytest.raises(ValueError, match=r"another source \(listing_sha256: .*rows: 11 there, 12 now"):
        seqjepa.extract(model_dir, image_folder, out, **kw)
    # a directory of someone else's files is refused, and nothing in it is touched
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty and holds no seqjepa meta.json"):
        seqjepa.extract(model_dir, image_folder, tmp_path / "theirs", **kw)
    assert os.listdir(tmp_path / "theirs") == ["notes.txt"]


def test_cli_extracts_and_prints_one_summary_line(model_dir, image_folder, tmp_path, capsys):
    out = tmp_path / "o"
    status = cli_main(["extract", str(model_dir), str(image_folder), "--out", str(out), "--invariant", "--device", "cpu",
                       "--workers", "0", "-q"])
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    assert captured.out.strip() == f"extracted 11 of 11 rows into {out} (1 shard(s) written at " + \
        captured.out.split(" at ")[1].strip()
    assert "z_agg" in seqjepa.read_features(out)


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "batch_size: expected an integer >= 1, got 0"),
    (["--precision", "fp64"], "argument --precision: invalid choice"),
    (["--dataset", "3diebench"], "index file not found"),
    ([], None),  # filled in below: another model for the same directory
])
def test_cli_user_mistakes_are_one_line_and_exit_2(model_dir, other_model_dir, image_folder, tmp_path, capsys, argv,
                                                    message):
    out = tmp_path / "o"
    if message is None:
        assert cli_main(["extract", str(model_dir), str(image_folder), "--out", str(out), "--device", "cpu", "-q"]) == 0
        capsys.readouterr()
        argv, message = [], "another model"
        model = other_model_dir
    else:
        model = model_dir
    status = cli_main(["extract", str(model), str(image_folder), "--out", str(out), "--device", "cpu", "-q", *argv])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_cli_missing_arguments_and_bad_manifest(model_dir, tmp_path, capsys):
    assert cli_main(["extract", str(model_dir)]) == 2
    assert "required" in capsys.readouterr().err
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": 1, "views": ["a.png", "b.png"]}\n')
    assert cli_main(["extract", str(model_dir), str(manifest), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "line 1" in err and "action-conditioned" in err


# --------------------------------------------------------------------------- real processes
def _cli(*args: str) -> list[str]:
    return [PYTHON, "-m", "seqjepa", "extract", *args]


def _many_images(root, n=480):
    write_images(root, {"a": n // 2, "b": n - n // 2}, size=(96, 96))


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_completes_without_recomputing_finished_shards(model_dir, tmp_path):
    src, out, clean = tmp_path / "imgs", tmp_path / "o", tmp_path / "clean"
    _many_images(src)
    args = [str(model_dir), str(src), "--out", str(out), "--shard-size", "8", "--batch-size", "8", "--workers", "0",
            "--device", "cpu", "-q"]
    proc = subprocess.Popen(_cli(*args), env=subprocess_env(), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not list(out.glob("shard-*.safetensors")):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "no shard appeared"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("shard-*.safetensors")}
    assert 1 <= len(finished) < 60, f"the kill landed after {len(finished)} of 60 shards"
    assert json.loads((out / "meta.json").read_text())["status"] == "incomplete"
    with pytest.raises(ValueError, match="not complete"):
        seqjepa.read_features(out)

    done = subprocess.run(_cli(*args), env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(finished)} already done" in done.stdout
    for name, stat in finished.items():  # not recomputed: the very same files
        p = out / name
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stat
    assert not list(out.glob(".*.tmp"))

    clean_args = [a if a != str(out) else str(clean) for a in args]
    assert subprocess.run(_cli(*clean_args), env=subprocess_env(), cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0
    resumed, fresh = seqjepa.read_features(out), seqjepa.read_features(clean)
    assert set(resumed) == set(fresh)
    for key in fresh:
        np.testing.assert_array_equal(resumed[key], fresh[key])


@pytest.mark.slow
def test_torchrun_two_processes_on_gloo_equal_one_process_row_for_row(model_dir, image_folder, tmp_path):
    _corrupt(image_folder)
    write_images(image_folder, {"cat/more": 6}, seed=7)
    one, two = tmp_path / "one", tmp_path / "two"
    common = [str(model_dir), str(image_folder), "--invariant", "--shard-size", "3", "--batch-size", "2",
              "--workers", "1", "--device", "cpu", "-q"]
    single = subprocess.run([PYTHON, "-m", "seqjepa", "extract", *common, "--out", str(one)], env=subprocess_env(),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stdout + single.stderr
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "seqjepa",
           "extract", *common, "--out", str(two)]
    multi = subprocess.run(cmd, env=subprocess_env(), cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert multi.returncode == 0, multi.stdout + multi.stderr
    assert multi.stdout.count("extracted 16 of 19 rows") == 1  # rank 0 prints the summary
    shard_files = sorted(p.name for p in one.glob("shard-*"))
    assert len(shard_files) == 7 and shard_files == sorted(p.name for p in two.glob("shard-*"))
    for name in shard_files + ["errors.jsonl"]:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    a, b = seqjepa.read_features(one), seqjepa.read_features(two)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert len(a.errors) == 3 and a.meta["fingerprint"] == b.meta["fingerprint"]
