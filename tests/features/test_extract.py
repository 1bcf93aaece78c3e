"""Correctness of ``seqjepa.extract`` against the model's own API, for every kind of source."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import seqjepa
from seqjepa.features import shards as shards_module

from .conftest import save_model, transform_batch, write_images, write_manifest

TOL = dict(rtol=1e-5, atol=1e-5)


def test_image_folder_z_equals_equivariant_embedding_of_transform(model_dir, image_folder, tmp_path):
    out = tmp_path / "feats"
    result = seqjepa.extract(str(model_dir), image_folder, out, invariant=True, batch_size=4, shard_size=5,
                             num_workers=0, device="cpu", precision="fp32", progress=False)
    assert (result.rows, result.rows_extracted, result.rows_failed, result.num_shards) == (11, 11, 0, 3)
    feats = seqjepa.read_features(out)
    # sorted relative-path order; labels from the top-level class folders, as ImageFolder
    expected = sorted(p.relative_to(image_folder).as_posix() for p in image_folder.rglob("*.*"))
    assert list(feats["path"]) == expected
    assert feats["label"].tolist() == [0] * 4 + [1] * 7
    assert feats["row"].tolist() == list(range(11))
    assert feats.meta["classes"] == ["cat", "dog"]

    model = seqjepa.load(model_dir)
    x = transform_batch(model, [image_folder / p for p in expected])
    with torch.no_grad():
        z = model.equivariant_embedding(x)
        single = model.encode_views(x[:, None], torch.zeros(len(x), 0, model.config.action_dim))
    assert feats["z"].shape == (11, 32) and feats["z"].dtype == np.float32
    np.testing.assert_allclose(feats["z"], z.numpy(), **TOL)
    np.testing.assert_allclose(feats["z_agg"], single.invariant.numpy(), **TOL)


def test_without_invariant_only_z_is_stored_and_images_in_root_mean_no_labels(model_dir, tmp_path):
    root = tmp_path / "flat"
    write_images(root, {".": 3, "sub": 2})
    seqjepa.extract(model_dir, root, tmp_path / "o", num_workers=1, device="cpu", progress=False, batch_size=2)
    feats = seqjepa.read_features(tmp_path / "o")
    assert set(feats) == {"z", "path", "row"}
    assert "label" not in feats and feats.meta["classes"] is None
    with pytest.raises(KeyError, match="z_agg"):
        feats["z_agg"]


def test_one_shard_is_memory_mapped(model_dir, image_folder, tmp_path):
    seqjepa.extract(model_dir, image_folder, tmp_path / "o", num_workers=0, device="cpu", progress=False)
    feats = seqjepa.read_features(tmp_path / "o")
    assert isinstance(feats["z"], np.memmap) and not feats["z"].flags.writeable
    assert torch.from_numpy(np.array(feats["z"])).shape == (11, 32)


def _manifest_lines(root, model):
    """Sequences of 1, 2 and 3 views; actions given directly, or as 3DIEBench latents."""
    write_images(root, {"seq": 9}, seed=3)
    rng = np.random.default_rng(0)
    views = sorted(p.name for p in (root / "seq").iterdir())
    lines = []
    for i, m in enumerate([3, 1, 2, 3]):
        chosen = [f"seq/{views[(2 * i + j) % 9]}" for j in range(m)]
        line = {"id": f"s{i}", "views": chosen}
        if i % 2 == 0:
            line["actions"] = rng.normal(size=(m - 1, model.config.action_dim)).tolist()
        else:
            lat = rng.uniform(-1, 1, size=(m, 7))
            line["latents"] = lat.tolist()
        if i != 2:
            line["label"] = i
        lines.append(line)
    return lines


def test_manifest_sequences_equal_encode_views_with_actions_and_latents(model_dir, tmp_path):
    model = seqjepa.load(model_dir)
    lines = _manifest_lines(tmp_path, model)
    manifest = write_manifest(tmp_path / "seqs.jsonl", lines)
    seqjepa.extract(model_dir, manifest, tmp_path / "o", batch_size=4, shard_size=3, num_workers=1, device="cpu",
                    progress=False)
    feats = seqjepa.read_features(tmp_path / "o")
    assert feats["id"].tolist() == ["s0", "s1", "s2", "s3"]
    assert feats["num_views"].tolist() == [3, 1, 2, 3]
    assert feats["offsets"].tolist() == [0, 3, 4, 6, 9]
    assert feats["label"].tolist() == [0, 1, -1, 3]  # a line without a label gets -1
    assert feats["z"].shape == (9, 32) and feats["z_agg"].shape == (4, 40)
    space = seqjepa.get_action_space(model.config.action_space)
    for i, line in enumerate(lines):
        views = transform_batch(model, [tmp_path / v for v in line["views"]])[None]
        m = len(line["views"])
        if "actions" in line:
            acts = torch.tensor(line["actions"], dtype=torch.float32).reshape(1, m - 1, 4)
        elif m > 1:
            acts = torch.from_numpy(space(np.asarray(line["latents"]))).float()[None]
        else:
            acts = torch.zeros(1, 0, 4)
        with torch.no_grad():
            ref = model.encode_views(views, acts)
        a, b = feats["offsets"][i], feats["offsets"][i + 1]
        np.testing.assert_allclose(feats["z"][a:b], ref.equivariant[0].numpy(), **TOL)
        np.testing.assert_allclose(feats["z_agg"][i], ref.invariant[0].numpy(), **TOL)


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "views": ["x.png", "y.png"]}', "action-conditioned: give 'actions'"),
    ('{"id": "a", "views": ["x.png", "y.png"], "actions": [[1, 2, 3]]}', r"expected shape \(1, 4\), got \(1, 3\)"),
    ('{"id": "a", "views": []}', "'views' must be a non-empty list"),
    ('{"id": "a", "views": ["x.png"], "colour": 1}', r"unknown field\(s\) \['colour'\]"),
    ('{"views": ["x.png"]}', "'id' must be"),
    ('not json', "not valid JSON"),
    ('{"id": "a", "views": ["x.png", "y.png"], "latents": [[0, 0, 0, 0, 0, 0, NaN], [0, 0, 0, 0, 0, 0, 0]]}',
     "finite"),
])
def test_malformed_manifest_line_is_an_argument_error_naming_the_line(model_dir, tmp_path, line, message):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "ok", "views": ["x.png"]}\n\n' + line + "\n")
    with pytest.raises(ValueError, match=f"line 3: .*{message}"):
        seqjepa.extract(model_dir, manifest, tmp_path / "o", device="cpu", progress=False)
    assert not (tmp_path / "o").exists()


def test_manifest_repeated_ids_are_refused(model_dir, tmp_path):
    manifest = write_manifest(tmp_path / "m.jsonl", [{"id": 1, "views": ["a.png"]}, {"id": "1", "views": ["b.png"]}])
    with pytest.raises(ValueError, match="id '1' repeats line 1"):
        seqjepa.extract(model_dir, manifest, tmp_path / "o", device="cpu", progress=False)


def test_toy_3diebench_root_equals_encode_views_of_the_evaluation_sequences(model_dir, tmp_path):
    from seqjepa.data import ThreeDIEBench, make_toy_3diebench

    root = tmp_path / "toy"
    make_toy_3diebench(root, objects=6, views=5, classes=2, size=24, seed=0, workers=1)
    out = tmp_path / "o"
    result = seqjepa.extract(model_dir, root, out, split="train", num_views=3, seed=5, batch_size=6, shard_size=2,
                             num_workers=1, device="cpu", progress=False)
    feats = seqjepa.read_features(out)
    model = seqjepa.load(model_dir)
    ds = ThreeDIEBench(root, split="train", num_views=2, image_size=16, seed=5)
    assert result.rows == len(ds) and feats["z"].shape == (len(ds), 3, 32)
    assert feats["id"].tolist() == list(ds.samples) and feats["label"].tolist() == ds.labels.tolist()
    for i in range(len(ds)):
        item = ds[i]
        views = torch.cat([item["views"], item["target"][None]])[None]
        with torch.no_grad():
            ref = model.encode_views(views, item["actions"][None])
        np.testing.assert_allclose(feats["z"][i], ref.equivariant[0].numpy(), **TOL)
        np.testing.assert_allclose(feats["z_agg"][i], ref.invariant[0].numpy(), **TOL)
        np.testing.assert_allclose(feats["latents"][i], item["latents"].numpy())
    assert feats.meta["source"]["kind"] == "dataset" and feats.meta["source"]["name"] == "3diebench"


def test_named_dataset_reads_the_split_folder_as_the_evaluation(tmp_path):
    from seqjepa.data import cifar100_sequences

    model_dir = save_model(tmp_path / "aug", action_dim=9, action_space="augmentation")
    write_images(tmp_path / "cifar" / "train", {"apple": 2, "pear": 2}, size=(20, 20))
    seqjepa.extract(model_dir, tmp_path / "cifar", tmp_path / "o", dataset="cifar100", num_views=2, seed=1,
                    num_workers=0, device="cpu", progress=False)
    feats = seqjepa.read_features(tmp_path / "o")
    model = seqjepa.load(model_dir)
    cfg = model.config
    ds = cifar100_sequences(tmp_path / "cifar", split="train", num_views=1, image_size=cfg.image_size,
                            mean=cfg.mean, std=cfg.std, seed=1, action_space="augmentation")
    assert feats["label"].tolist() == [0, 0, 1, 1]
    item = ds[2]
    with torch.no_grad():
        ref = model.encode_views(torch.cat([item["views"], item["target"][None]])[None], item["actions"][None])
    np.testing.assert_allclose(feats["z_agg"][2], ref.invariant[0].numpy(), **TOL)
    with pytest.raises(ValueError, match="decode: 'draft'"):
        seqjepa.extract(model_dir, tmp_path / "cifar", tmp_path / "o2", dataset="cifar100", decode="draft",
                        device="cpu", progress=False)


def test_draft_decode_is_recorded_and_close_but_not_exact(model_dir, tmp_path):
    root = tmp_path / "big"
    write_images(root, {"a": 4}, size=(64, 64))
    for p in root.rglob("*"):
        if p.is_file() and p.suffix != ".jpg":  # JPEGs only: draft mode is a JPEG feature
            Image.open(p).convert("RGB").save(p.with_suffix(".jpg"))
            p.unlink()
    seqjepa.extract(model_dir, root, tmp_path / "exact", num_workers=0, device="cpu", progress=False)
    seqjepa.extract(model_dir, root, tmp_path / "draft", decode="draft", num_workers=0, device="cpu", progress=False)
    exact, draft = seqjepa.read_features(tmp_path / "exact"), seqjepa.read_features(tmp_path / "draft")
    assert draft.meta["preprocessing"]["decode"] == "draft"
    assert not np.allclose(exact["z"], draft["z"], rtol=1e-5, atol=1e-5)
    cos = (exact["z"] * draft["z"]).sum(1) / np.linalg.norm(exact["z"], axis=1) / np.linalg.norm(draft["z"], axis=1)
    assert cos.min() > 0.9


def test_meta_records_model_preprocessing_precision_source_and_versions(model_dir, image_folder, tmp_path):
    seqjepa.extract(model_dir, image_folder, tmp_path / "o", num_workers=0, device="cpu", progress=False)
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["model"]["name"] == str(model_dir)
    assert meta["model"]["weights_sha256"] == seqjepa.utils.files.sha256_file(model_dir / "model.safetensors")
    assert len(meta["model"]["state_sha256"]) == 64
    assert meta["preprocessing"] == {"image_size": 16, "interpolation": "bilinear", "decode": "exact",
                                     "mean": [0.5016, 0.5037, 0.506], "std": [0.103, 0.0999, 0.0969]}
    assert meta["precision"] == "fp32"
    assert meta["source"]["kind"] == "image_folder" and meta["source"]["path"] == str(image_folder.resolve())
    assert (meta["rows"], meta["rows_extracted"], meta["rows_failed"], meta["status"]) == (11, 11, 0, "complete")
    assert meta["versions"]["seqjepa"] == seqjepa.__version__ and meta["versions"]["torch"] == torch.__version__
    assert meta["num_shards"] == math.ceil(11 / meta["shard_size"])


def test_an_in_memory_model_is_accepted_and_left_in_its_mode(model_dir, image_folder, tmp_path):
    model = seqjepa.load(model_dir).train()
    seqjepa.extract(model, image_folder, tmp_path / "o", num_workers=0, device="cpu", progress=False)
    assert model.training
    meta = seqjepa.read_features(tmp_path / "o").meta
    assert meta["model"]["name"] is None
    assert meta["model"]["state_sha256"] == json.loads((tmp_path / "o" / "meta.json").read_text())["identity"]["model"]["state_sha256"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch_size: expected an integer >= 1, got 0"),
    (dict(shard_size=True), "shard_size: expected an integer >= 1, got True"),
    (dict(num_workers=-1), "num_workers: expected an integer >= 0"),
    (dict(precision="fp64"), "precision: expected one of"),
    (dict(precision="fp16", device="cpu"), "precision: fp16 is not supported natively on cpu"),
    (dict(decode="fast"), "decode: expected one of"),
    (dict(invariant="yes"), "invariant: expected True or False"),
    (dict(dataset="mnist"), "dataset: expected one of"),
    (dict(device="tpu"), "device: expected"),
])
def test_bad_arguments_name_the_argument(model_dir, image_folder, tmp_path, kwargs, message):
    kwargs.setdefault("device", "cpu")
    with pytest.raises(ValueError, match=message):
        seqjepa.extract(model_dir, image_folder, tmp_path / "o", progress=False, **kwargs)


def test_bad_model_and_source(model_dir, tmp_path):
    with pytest.raises(ValueError, match="model: expected a model name, a path or a seqjepa.SeqJEPA, got int"):
        seqjepa.extract(3, tmp_path, tmp_path / "o", device="cpu")
    with pytest.raises(FileNotFoundError, match="source: .*missing does not exist"):
        seqjepa.extract(model_dir, tmp_path / "missing", tmp_path / "o", device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        seqjepa.extract(model_dir, tmp_path / "empty", tmp_path / "o", device="cpu")


def test_seqjepa_extract_is_the_function_and_seqjepa_features_the_package():
    import seqjepa.features.runner as runner

    assert callable(seqjepa.extract) and seqjepa.extract is runner.extract
    assert seqjepa.read_features is shards_module.read_features and shards_module.META_NAME == "meta.json"
    assert seqjepa.features.shards is shards_module and seqjepa.features.extract is seqjepa.extract
    assert seqjepa.features.iter_shards is shards_module.iter_shards
    assert not hasattr(seqjepa.extract, "shards"), "the function carries no copy of the package's contents"
