"""Edges of the weights checks found by mutation testing (tools/mutation.py): verify_file, blob_sha256,
the config.json 'weights' record, finalize. Each test names the behaviour a surviving mutant changed."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import pytest
import torch

from seqjepa import SeqJEPA
from seqjepa.errors import CheckpointMismatchError, ConfigError, IntegrityError, UnverifiedWeightsWarning
from seqjepa.zoo._serialization import CONFIG_NAME, WEIGHTS_NAME, finalize, load_directory, load_weights_bytes, read_config_file
from seqjepa.zoo._verify import blob_sha256, git_blob_sha1, verify_file, verify_weights_file

from .conftest import small_config

DATA = b"some file content\n"
SHA = hashlib.sha256(DATA).hexdigest()


def _cache_file(tmp_path, data=DATA, name="model.pth"):
    """A file in the huggingface_hub cache layout: snapshots/<rev>/<name> -> ../../blobs/<sha256>."""
    blob = tmp_path / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    link = tmp_path / "snapshots" / "rev" / name
    link.parent.mkdir(parents=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    return link, blob


def test_verify_file_returns_the_bytes_their_sha_and_the_path(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(DATA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known hash: no UnverifiedWeightsWarning
        v = verify_file(p, {"sha256": SHA.upper(), "size": len(DATA)}, what="weights")
        assert verify_file(p, {"git_sha1": git_blob_sha1(DATA)}, what="weights").sha256 == SHA
    assert (v.path, v.data, v.sha256, v.size) == (p, DATA, SHA, len(DATA))


def test_a_wrong_size_is_refused_and_the_cached_copy_removed(tmp_path):
    link, blob = _cache_file(tmp_path)
    with pytest.raises(IntegrityError, match=rf"^weights {link} is {len(DATA)} bytes, expected 3 \(truncated or replaced\); "
                                             rf"removed it from the cache \({link}, {blob}\) so the next load fetches it again$"):
        verify_file(link, {"size": 3, "sha256": SHA}, what="weights")
    assert not link.exists() and not blob.exists()


def test_nothing_is_removed_when_remove_is_false(tmp_path):
    link, blob = _cache_file(tmp_path)
    with pytest.raises(IntegrityError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}: the file is corrupt, "
                                             r"truncated or not the one that was pinned$"):
        verify_file(link, {"sha256": "0" * 64}, what="weights", remove=False)
    assert blob.read_bytes() == DATA


def test_the_git_blob_id_is_checked_only_without_a_sha256(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(DATA)
    wrong = "AB" * 20
    with pytest.raises(IntegrityError, match=rf"^config {p} has git blob id {git_blob_sha1(DATA)}, the Hub announced {wrong.lower()}$"):
        verify_file(p, {"git_sha1": wrong}, what="config", remove=False)
    assert verify_file(p, {"sha256": SHA, "git_sha1": wrong}, what="config").sha256 == SHA  # the sha256 decides


def test_no_hash_at_all_warns_with_the_sha256(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(DATA)
    with pytest.warns(UnverifiedWeightsWarning, match=rf"weights {p} has no known hash to check .* its sha256 is {SHA}"):
        verify_file(p, {}, what="weights")


def test_verify_weights_file_checks_the_safetensors_format_first(tmp_path):
    link, blob = _cache_file(tmp_path, data=b"version https://git-lfs.github.com/spec/v1\n", name="model.safetensors")
    with pytest.raises(IntegrityError, match=rf"^{link} .*; removed it from the cache \({link}, {blob}\)"):
        verify_weights_file(link, {"sha256": "0" * 64})  # remove defaults to True
    assert not blob.exists()
    pth = tmp_path / "w.pth"  # not .safetensors: no format check, the hash decides
    pth.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(IntegrityError, match=rf"^weights {pth} has sha256"):
        verify_weights_file(pth, {"sha256": "0" * 64}, remove=False)
    assert pth.exists()  # remove=False reaches verify_file


def test_blob_sha256_reads_the_blob_name_of_a_cache_link_only(tmp_path):
    link, blob = _cache_file(tmp_path)
    assert blob_sha256(link) == SHA
    assert blob_sha256(blob) is None  # not a link
    for name in ("A" * 64, "X" * 64, "a" * 63, "a" * 65, "g" * 64):
        other = tmp_path / name
        other.write_bytes(DATA)
        alias = tmp_path / f"link-{len(name)}-{name[0]}"
        alias.symlink_to(other)
        assert blob_sha256(alias) is None, name


# ---------------------------------------------------------------- config.json and load_directory
def _saved(tmp_path):
    torch.manual_seed(0)
    SeqJEPA(small_config()).save_pretrained(tmp_path / "m")
    return tmp_path / "m"


def _edit(d, change):
    doc = json.loads((d / CONFIG_NAME).read_text())
    change(doc)
    (d / CONFIG_NAME).write_text(json.dumps(doc))


@pytest.mark.parametrize("weights, ok", [
    (None, True), ({}, True), ([], False), ({WEIGHTS_NAME: "abc"}, False), ({WEIGHTS_NAME: {"sha256": 5}}, False),
    ({WEIGHTS_NAME: {"size": "12"}}, False), ({WEIGHTS_NAME: {"size": True}}, False),
])
def test_the_weights_record_is_optional_but_typed(tmp_path, weights, ok):
    d = _saved(tmp_path)
    _edit(d, lambda doc: doc.pop("weights") if weights is None else doc.update(weights=weights))
    if ok:
        assert isinstance(load_directory(d, model_class=SeqJEPA), SeqJEPA)  # no record: loaded unverified
    else:
        with pytest.raises(ConfigError, match=rf"field 'weights.{WEIGHTS_NAME}' must be an object with sha256"):
            load_directory(d, model_class=SeqJEPA)


def test_config_documents_need_a_model_section_with_every_field(tmp_path):
    d = _saved(tmp_path)
    (d / "a.json").write_text(json.dumps({"weights": {}}))
    (d / "b.json").write_text("[1, 2]")
    for name in ("a.json", "b.json"):
        with pytest.raises(ConfigError, match="expected a JSON object with a 'model' section"):
            read_config_file(d / name)
    _edit(d, lambda doc: doc["model"].pop("encoder_dim"))
    with pytest.raises(ConfigError, match=r"the 'model' section lacks field\(s\) \['encoder_dim'\]"):
        read_config_file(d / CONFIG_NAME)


def test_device_and_dtype_reach_the_model_and_the_source_is_named(tmp_path):
    d = _saved(tmp_path)
    assert next(load_directory(d, model_class=SeqJEPA).parameters()).device.type == "cpu"
    meta = load_directory(d, model_class=SeqJEPA, device="meta")
    assert {p.device.type for p in meta.parameters()} == {"meta"}
    data = (d / WEIGHTS_NAME).read_bytes()
    config, _ = read_config_file(d / CONFIG_NAME)
    assert next(load_weights_bytes(data, config, model_class=SeqJEPA, source="x").parameters()).device.type == "cpu"
    assert {p.device.type for p in load_weights_bytes(data, config, model_class=SeqJEPA, source="x", device="meta").parameters()} == {"meta"}
    other = small_config(predictor_hidden=64)
    with pytest.raises(CheckpointMismatchError, match=r"^the-source does not fit the model its config.json describes \(check config field\(s\) predictor_hidden\)"):
        load_weights_bytes(data, other, model_class=SeqJEPA, source="the-source")
    with pytest.raises(ValueError, match="dtype: expected a floating-point torch.dtype, got float16"):
        finalize(SeqJEPA(small_config()), dtype="float16")
    assert finalize(SeqJEPA(small_config()).train()).training is False


# ---------------------------------------------------------------- load_state_dict_strict
def _linear():
    torch.manual_seed(0)
    return torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(4)])  # 8 tensors: 0.weight .. 3.bias


def test_strict_load_names_every_kind_of_mismatch_and_loads_nothing():
    from seqjepa.zoo._serialization import load_state_dict_strict

    module = _linear()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    good = {k: torch.ones_like(v) for k, v in before.items()}
    cases = [
        ({k: v for k, v in good.items() if k != "0.weight"}, r"1 missing: 0.weight$"),
        ({**good, "extra.bias": torch.zeros(2)}, r"1 unexpected: extra.bias$"),
        ({**good, "1.bias": torch.zeros(2, dtype=torch.int64)}, r"1 dtype mismatch: 1.bias: checkpoint torch.int64 vs model torch.float32$"),
        ({**good, "2.weight": torch.zeros(3, 2)}, r"1 shape mismatch: 2.weight: checkpoint \(3, 2\) vs model \(2, 2\)$"),
        ({}, r"8 missing: 0.weight, 0.bias, 1.weight, 1.bias, 2.weight \(\+3 more\)$"),
        ({k: v for k, v in good.items() if k.startswith(("0.", "1.", "2.", "3.w"))} | {f"x{i}": torch.zeros(1) for i in range(5)},
         r"1 missing: 3.bias; 5 unexpected: x0, x1, x2, x3, x4$"),  # five: all named
        ({**good, **{f"x{i}": torch.zeros(1) for i in range(6)}}, r"6 unexpected: x0, x1, x2, x3, x4 \(\+1 more\)$"),
    ]
    for state, match in cases:
        with pytest.raises(CheckpointMismatchError, match=r"^src does not fit this model exactly; nothing was loaded. " + match):
            load_state_dict_strict(module, state, source="src")
        assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())
    half = {k: v.half() for k, v in good.items()}  # another float dtype is converted, not refused
    load_state_dict_strict(module, half, source="src")
    assert all(torch.equal(v, torch.ones_like(v)) and v.dtype == torch.float32 for v in module.state_dict().values())


def test_load_directory_checks_format_and_recorded_size_before_the_hash(tmp_path):
    d = _saved(tmp_path)
    size = (d / WEIGHTS_NAME).stat().st_size
    _edit(d, lambda doc: doc["weights"][WEIGHTS_NAME].update(size=size + 1))  # the right sha256, a wrong size
    with pytest.raises(IntegrityError, match=rf"^{d / WEIGHTS_NAME} is {size} bytes, {d / CONFIG_NAME} records {size + 1}: "
                                             "truncated or replaced$"):
        load_directory(d, model_class=SeqJEPA)
    (d / WEIGHTS_NAME).write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    with pytest.raises(IntegrityError, match=rf"^{d / WEIGHTS_NAME} "):
        load_directory(d, model_class=SeqJEPA)


def test_save_pretrained_writes_what_it_is_given_and_can_write_again(tmp_path):
    from safetensors import safe_open

    from seqjepa.zoo._serialization import CARD_NAME

    model = SeqJEPA(small_config())
    out = tmp_path / "m"
    assert model.save_pretrained(out, metadata={"run": "r1"}, card="# my card\n") == str(out)
    doc = json.loads((out / CONFIG_NAME).read_text())
    assert doc["library"] == "seqjepa" and doc["metadata"] == {"run": "r1"}
    assert (out / CARD_NAME).read_text() == "# my card\n"
    with safe_open(str(out / WEIGHTS_NAME), "pt") as f:
        assert f.metadata() == {"format": "pt", "library": "seqjepa"}
    model.save_pretrained(out)  # into the existing directory: overwritten, no error
    assert "metadata" not in json.loads((out / CONFIG_NAME).read_text())
    assert str(out / WEIGHTS_NAME) in str(pytest.raises(CheckpointMismatchError, load_directory, _corrupt_config(out), model_class=SeqJEPA).value)


def _corrupt_config(d):
    _edit(d, lambda doc: doc["model"].update(predictor_hidden=64))  # the weights no longer fit: the error names them
    return d


# ---------------------------------------------------------------- the header check before deserializing
def _with_header(data: bytes, change) -> bytes:
    """The same safetensors bytes with ``change`` applied to the parsed header (tensor data untouched)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    change(header)
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n:]


def _weights(tmp_path):
    d = _saved(tmp_path)
    config, _ = read_config_file(d / CONFIG_NAME)
    return (d / WEIGHTS_NAME).read_bytes(), config


def test_a_bfloat16_file_loads_into_a_float32_model(tmp_path):
    torch.manual_seed(0)
    model = SeqJEPA(small_config())
    model.save_pretrained(tmp_path / "bf16", dtype=torch.bfloat16)
    loaded = load_directory(tmp_path / "bf16", model_class=SeqJEPA)
    weight = loaded.state_dict()["encoder.conv1.weight"]
    assert weight.dtype == torch.float32
    assert torch.equal(weight, model.state_dict()["encoder.conv1.weight"].bfloat16().float())


def test_a_float_weight_stored_in_an_unknown_dtype_is_named_with_that_dtype(tmp_path):
    data, config = _weights(tmp_path)
    data = _with_header(data, lambda h: h["encoder.conv1.weight"].update(dtype="F8_E5M2"))
    with pytest.raises(CheckpointMismatchError,
                       match=r"nothing was loaded\. 1 dtype mismatch: encoder.conv1.weight: checkpoint F8_E5M2 vs model torch.float32$"):
        load_weights_bytes(data, config, model_class=SeqJEPA, source="src")


def test_a_header_entry_without_a_shape_is_a_named_mismatch(tmp_path):
    data, config = _weights(tmp_path)
    data = _with_header(data, lambda h: h["encoder.conv1.weight"].pop("shape"))
    with pytest.raises(CheckpointMismatchError, match=r"1 shape mismatch: encoder.conv1.weight: checkpoint \(\) vs model \(\d+, 3, 3, 3\)$"):
        load_weights_bytes(data, config, model_class=SeqJEPA, source="src")


def test_unreadable_bytes_are_named_by_their_source(tmp_path):
    data, config = _weights(tmp_path)
    with pytest.raises(IntegrityError, match=r"^the-source is truncated"):
        load_weights_bytes(data[:-4], config, model_class=SeqJEPA, source="the-source")


def test_a_state_dict_that_does_not_fit_is_named_by_its_source():
    from seqjepa.zoo._serialization import model_from_state_dict

    state = SeqJEPA(small_config()).state_dict()
    state.pop("predictor.fc2.bias")
    with pytest.raises(CheckpointMismatchError, match=r"^the-source does not fit this model exactly; nothing was loaded. 1 missing: predictor.fc2.bias$"):
        model_from_state_dict(small_config(), state, source="the-source", model_class=SeqJEPA)


# ---------------------------------------------------------------- what save_pretrained writes (through write_model_directory)
def test_config_json_records_the_version_the_target_encoder_and_the_weights(tmp_path):
    import seqjepa

    model = SeqJEPA(small_config())
    for include in (True, False):
        out = tmp_path / str(include)
        model.save_pretrained(out, include_target_encoder=include)
        text = (out / CONFIG_NAME).read_text()
        doc = json.loads(text)
        assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"  # stable, diffable, byte-deterministic
        data = (out / WEIGHTS_NAME).read_bytes()
        assert doc["seqjepa_version"] == seqjepa.__version__
        assert doc["has_target_encoder"] is include
        assert doc["weights"] == {WEIGHTS_NAME: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}}


def test_save_pretrained_keeps_the_target_encoder_by_default(tmp_path):
    SeqJEPA(small_config()).save_pretrained(tmp_path / "m")
    assert load_directory(tmp_path / "m", model_class=SeqJEPA).has_target_encoder


def test_the_generated_card_records_the_weights_sha256_and_the_metadata(tmp_path):
    from seqjepa.zoo._serialization import CARD_NAME

    SeqJEPA(small_config()).save_pretrained(tmp_path / "m", metadata={"name": "my-model", "seed": 7})
    card = (tmp_path / "m" / CARD_NAME).read_text()
    digest = hashlib.sha256((tmp_path / "m" / WEIGHTS_NAME).read_bytes()).hexdigest()
    assert f"- `model.safetensors` sha256: `{digest}`" in card
    assert "# my-model" in card and "- seed: `7`" in card


class _MoveSpy(torch.Tensor):
    """A tensor that records the device of every ``.to`` called on it (a GPU stand-in on a CPU-only machine)."""

    moves: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.to:
            cls.moves.append(args[1] if len(args) > 1 else (kwargs or {}).get("device"))
        return super().__torch_function__(func, types, args, kwargs or {})


def test_every_tensor_is_moved_to_the_cpu_before_it_is_written(tmp_path, monkeypatch):
    model = SeqJEPA(small_config())
    state = model.state_dict()
    monkeypatch.setattr(model, "state_dict", lambda: {k: v.as_subclass(_MoveSpy) for k, v in state.items()})
    _MoveSpy.moves = []
    model.save_pretrained(tmp_path / "m")
    assert len(_MoveSpy.moves) >= len(state) and set(_MoveSpy.moves) == {"cpu"}


def _safetensors_like(header: dict, pad_to: int, payload: bytes = b"\0" * 8) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode().ljust(pad_to, b" ")
    return len(text).to_bytes(8, "little") + text + payload


@pytest.mark.parametrize("padding", [0, 5])
def test_the_header_is_rewritten_with_sorted_keys_left_aligned_in_the_same_length(padding):
    from seqjepa.zoo._serialization import _canonical_header

    header = {"b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"format": "pt"}}
    exact = len(json.dumps(header, separators=(",", ":")))
    data = _safetensors_like(header, exact + padding)
    out = _canonical_header(data)
    sorted_text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    assert out == data[:8] + sorted_text + b" " * padding + data[8 + exact + padding:]
    assert sorted_text != json.dumps(header, separators=(",", ":")).encode()  # the input really was unsorted


def test_a_sha256_mismatch_names_the_weights_file(tmp_path):
    d = _saved(tmp_path)
    _edit(d, lambda doc: doc["weights"][WEIGHTS_NAME].update(sha256="ab" * 32))
    actual = hashlib.sha256((d / WEIGHTS_NAME).read_bytes()).hexdigest()
    with pytest.raises(IntegrityError, match=rf"^weights {d / WEIGHTS_NAME} has sha256 {actual}, expected {'ab' * 32}: "):
        load_directory(d, model_class=SeqJEPA)


def test_a_directory_without_its_files_says_what_it_should_hold(tmp_path):
    d = _saved(tmp_path)
    (d / CONFIG_NAME).unlink()
    (d / CONFIG_NAME).mkdir()
    with pytest.raises(IntegrityError, match=rf"^{d / CONFIG_NAME} is a directory.*: a seqjepa model directory holds "
                                             rf"{CONFIG_NAME} and {WEIGHTS_NAME}$"):
        load_directory(d, model_class=SeqJEPA)


def test_a_config_without_a_sha256_loads_with_a_warning(tmp_path, caplog):
    """A hand-written config.json with no sha256 leaves nothing to verify: the load says so, naming the file's hash."""
    import hashlib
    import json
    import logging

    import seqjepa
    from seqjepa import SeqJEPA
    from tests.conftest import small_config

    out = Path(SeqJEPA(small_config()).eval().save_pretrained(tmp_path / "m"))
    doc = json.loads((out / "config.json").read_text())
    del doc["weights"]["model.safetensors"]["sha256"]
    (out / "config.json").write_text(json.dumps(doc))
    with caplog.at_level(logging.WARNING, logger="seqjepa"):
        seqjepa.load(str(out))
    digest = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    assert "records no sha256 for model.safetensors, so the weights load unverified" in caplog.text and digest in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="seqjepa"):
        seqjepa.load(str(Path(SeqJEPA(small_config()).eval().save_pretrained(tmp_path / "n"))))
    assert "unverified" not in caplog.text
