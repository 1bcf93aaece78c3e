"""Feature outputs are verified, not trusted: meta.json against itself and the files, shards against their hashes."""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest

import seqjepa
from seqjepa.errors import IntegrityError

KW = dict(shard_size=2, batch_size=2, num_workers=0, device="cpu", progress=False)


@pytest.fixture
def extracted(model_dir, image_folder, tmp_path):
    """11 images in 6 shards, and their features as first written."""
    out = tmp_path / "o"
    seqjepa.extract(model_dir, image_folder, out, **KW)
    first = {k: np.array(v) for k, v in seqjepa.read_features(out).items()}
    return out, first


def _edit_meta(out, **changes):
    meta = json.loads((out / "meta.json").read_text())
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            meta[outer][inner] = value
        else:
            meta[key] = value
    (out / "meta.json").write_text(json.dumps(meta))


def _same(out, first):
    again = seqjepa.read_features(out, verify=True)
    assert set(again) == set(first)
    for key, value in first.items():
        np.testing.assert_array_equal(again[key], value)


def test_shards_record_their_rows_and_hashes_and_meta_lists_them(extracted):
    out, first = extracted
    meta = json.loads((out / "meta.json").read_text())
    assert [e["name"] for e in meta["shards"]] == [f"shard-0000{k}.safetensors" for k in range(6)]
    assert [e["rows"] for e in meta["shards"]] == [[0, 2], [2, 4], [4, 6], [6, 8], [8, 10], [10, 11]]
    assert all(e["bytes"] == (out / e["name"]).stat().st_size and len(e["sha256"]) == 64 for e in meta["shards"])
    assert len(seqjepa.read_features(out, verify=True)["row"]) == 11


def test_an_edited_num_shards_is_refused_and_a_rerun_repairs_it(model_dir, image_folder, extracted, caplog):
    out, first = extracted
    _edit_meta(out, num_shards=3)
    with pytest.raises(IntegrityError, match=r"num_shards.* is 3; 11 rows in shards of 2 make 6"):
        seqjepa.read_features(out)
    with caplog.at_level("WARNING", logger="seqjepa.features"):
        again = seqjepa.extract(model_dir, image_folder, out, **KW)
    assert "num_shards" in caplog.text
    assert (again.rows_extracted, again.num_shards, again.shards_skipped) == (11, 6, 6)
    _same(out, first)


@pytest.mark.parametrize("key_name", ["row", "z", "id"])
def test_a_key_name_that_is_not_the_layouts_is_refused(extracted, key_name):
    out, _ = extracted
    _edit_meta(out, key_name=key_name)
    with pytest.raises(IntegrityError, match=rf"'key_name' is {key_name}, expected 'path'"):
        seqjepa.read_features(out)


@pytest.mark.parametrize("field, value, message", [
    ("preprocessing.std", [1e9, 1e9, 1e9], "'preprocessing' is"),
    ("rows", 5, "'rows' is 5, the source has 11"),
    ("shard_size", 4, "'shard_size' is 4"),
    ("rows_extracted", 10, "'rows_extracted' is 10, the shards hold 11"),
    ("fingerprint", "0" * 64, "'fingerprint' is not the sha256"),
])
def test_meta_fields_outside_the_identity_are_checked(extracted, field, value, message):
    out, _ = extracted
    _edit_meta(out, **{field: value})
    with pytest.raises(IntegrityError, match=message):
        seqjepa.read_features(out)


def _flip_a_data_byte(path):
    data = bytearray(path.read_bytes())
    (hlen,) = struct.unpack("<Q", data[:8])
    data[8 + hlen + 20] ^= 0x40
    path.write_bytes(bytes(data))


def test_a_flipped_byte_is_found_with_verify_and_redone_by_a_rerun(model_dir, image_folder, extracted, caplog):
    out, first = extracted
    _flip_a_data_byte(out / "shard-00003.safetensors")
    with pytest.raises(IntegrityError, match=r"shard-00003\.safetensors.*sha256"):
        seqjepa.read_features(out, verify=True)
    with pytest.raises(IntegrityError, match=r"shard-00003\.safetensors.*sha256"):
        list(seqjepa.features.iter_shards(out, verify=True))
    with caplog.at_level("WARNING", logger="seqjepa.features"):
        again = seqjepa.extract(model_dir, image_folder, out, **KW)
    assert (again.shards_written, again.shards_skipped) == (1, 5)
    assert "shard-00003.safetensors: its tensor data has sha256" in caplog.text
    _same(out, first)


def test_a_shard_copied_over_another_is_refused_and_redone(model_dir, image_folder, extracted):
    out, first = extracted
    shutil.copyfile(out / "shard-00001.safetensors", out / "shard-00002.safetensors")
    with pytest.raises(IntegrityError, match=r"shard-00002\.safetensors"):
        seqjepa.read_features(out)
    again = seqjepa.extract(model_dir, image_folder, out, **KW)
    assert (again.shards_written, again.shards_skipped) == (1, 5)
    _same(out, first)


def test_damaged_outputs_are_integrity_errors_naming_the_file(extracted):
    out, _ = extracted
    (out / "shard-00004.safetensors").unlink()
    with pytest.raises(IntegrityError, match=r"shard-00004\.safetensors is missing"):
        seqjepa.read_features(out)
    (out / "meta.json").write_text("{not json")
    with pytest.raises(IntegrityError, match=r"meta\.json is not valid JSON"):
        seqjepa.read_features(out)


def test_a_truncated_errors_file_or_wrong_verify_is_refused(extracted):
    out, _ = extracted
    (out / "errors.jsonl").unlink()
    with pytest.raises(IntegrityError, match=r"errors\.jsonl is missing"):
        seqjepa.read_features(out)
    with pytest.raises(ValueError, match="verify: expected True or False"):
        seqjepa.read_features(out, verify="yes")


def _refingerprint(out, **identity_changes):
    meta = json.loads((out / "meta.json").read_text())
    meta["identity"].update(identity_changes)
    meta["fingerprint"] = seqjepa.features.shards.identity_fingerprint(meta["identity"])
    (out / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage", ["no identity", "identity not a dict", "identity edited",
                                    "identity edited with its fingerprint", "meta.json deleted"])
def test_every_damage_whose_message_says_rerun_is_repaired_by_the_rerun(model_dir, image_folder, extracted,
                                                                        damage, caplog):
    out, first = extracted
    if damage == "no identity":
        meta = json.loads((out / "meta.json").read_text())
        del meta["identity"]
        (out / "meta.json").write_text(json.dumps(meta))
    elif damage == "identity not a dict":
        _edit_meta(out, identity=5)
    elif damage == "identity edited":
        _edit_meta(out, **{"identity.precision": "bf16"})
    elif damage == "identity edited with its fingerprint":
        _refingerprint(out, precision="bf16")
    else:
        (out / "meta.json").unlink()
    with pytest.raises((IntegrityError, FileNotFoundError), match="rerun"):
        seqjepa.read_features(out)
    with caplog.at_level("WARNING", logger="seqjepa.features"):
        again = seqjepa.extract(model_dir, image_folder, out, **KW)
    assert (again.rows_extracted, again.shards_skipped) == (11, 6)  # every shard verified, none recomputed
    assert "writing it again" in caplog.text
    _same(out, first)


def test_shards_of_another_extraction_keep_their_directory_refused(model_dir, image_folder, extracted):
    out, _ = extracted
    _edit_meta(out, identity=5)  # damaged meta.json, and the shards were written in fp32 ...
    with pytest.raises(ValueError, match=r"identity.*no longer matches.*another extraction"):
        seqjepa.extract(model_dir, image_folder, out, **dict(KW, precision="bf16"))  # ... not in bf16
    (out / "meta.json").unlink()
    with pytest.raises(FileExistsError, match="holds no seqjepa meta.json"):
        seqjepa.extract(model_dir, image_folder, out, **dict(KW, precision="bf16"))
    (out / "notes.txt").write_text("a user's file")
    with pytest.raises(FileExistsError, match="holds no seqjepa meta.json"):
        seqjepa.extract(model_dir, image_folder, out, **KW)  # not only shards: not continued
