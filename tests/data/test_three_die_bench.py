"""ThreeDIEBench reads the 3DIEBench layout into the shared data contract, and fails loudly on bad data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation
from torch.utils.data import DataLoader
from torchvision import transforms as T

from seqjepa.data import THREEDIEBENCH_MEAN, THREEDIEBENCH_STD, ThreeDIEBench, make_toy_3diebench
from seqjepa.errors import IntegrityError


def _folder(ds, i):
    return ds.root / ds.samples[i]


def test_contract(toy_root):
    ds = ThreeDIEBench(toy_root, "train", num_views=3, action_space="rotation", image_size=32)
    assert (ds.num_views, ds.action_dim, ds.num_classes) == (3, 4, 3)
    item = ds[0]
    assert item["views"].shape == (3, 3, 32, 32) and item["views"].dtype == torch.float32
    assert item["target"].shape == (3, 32, 32) and item["target"].dtype == torch.float32
    assert item["actions"].shape == (3, 4) and item["actions"].dtype == torch.float32
    assert item["latents"].shape == (4, 7) and item["latents"].dtype == torch.float32
    assert item["label"].dtype == torch.int64 and item["label"].shape == ()
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["views"].shape == (4, 3, 3, 32, 32) and batch["actions"].shape == (4, 3, 4)


def test_actions_follow_latents_and_scipy(toy_root):
    ds = ThreeDIEBench(toy_root, "val", num_views=4, action_space="rotation_color", image_size=32)
    ids = ds.draw_views(1)
    item = ds.load_views(1, ids)
    lat = np.stack([np.load(_folder(ds, 1) / f"latent_{v}.npy") for v in ids])
    np.testing.assert_allclose(item["latents"].numpy(), lat.astype(np.float32))
    for j in range(4):  # actions[j] leads view j -> j+1; the last one leads to the target
        q = (Rotation.from_euler("xyz", lat[j, :3]).inv() * Rotation.from_euler("xyz", lat[j + 1, :3])).as_quat()
        np.testing.assert_allclose(item["actions"][j, :4].numpy(), q, atol=1e-6)
        np.testing.assert_allclose(item["actions"][j, 4:].numpy(), lat[j + 1, [3, 6]] - lat[j, [3, 6]], atol=1e-6)


def test_views_are_the_drawn_images_with_official_preprocessing(toy_root):
    ds = ThreeDIEBench(toy_root, "train", num_views=2, image_size=24, fast_decode=False)
    ids = ds.draw_views(2)
    item = ds.sample(2)
    official = T.Compose([T.Resize((24, 24)), T.ToTensor(), T.Normalize(THREEDIEBENCH_MEAN, THREEDIEBENCH_STD)])
    for k, v in enumerate(ids):
        ref = official(Image.open(_folder(ds, 2) / f"image_{v}.jpg").convert("RGB"))
        got = item["views"][k] if k < 2 else item["target"]
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)


def test_fast_decode_close_to_official(toy_root):
    fast = ThreeDIEBench(toy_root, "train", num_views=2, image_size=16)
    exact = ThreeDIEBench(toy_root, "train", num_views=2, image_size=16, fast_decode=False)
    a, b = fast[0]["views"], exact[0]["views"]
    assert not torch.equal(a, b)  # draft mode really was used (32 -> 16 decodes at half scale)
    std = torch.tensor(THREEDIEBENCH_STD).view(1, 3, 1, 1)
    assert ((a - b) * std).abs().mean() < 0.03  # mean difference under 3 % of the range


def test_draws_deterministic_distinct_and_epoch_dependent(toy_root):
    ds = ThreeDIEBench(toy_root, "train", num_views=3, image_size=32, seed=5)
    first = [ds.draw_views(i).tolist() for i in range(len(ds))]
    assert all(len(set(d)) == 4 and all(0 <= v < 6 for v in d) for d in first)
    again = ThreeDIEBench(toy_root, "train", num_views=3, image_size=32, seed=5)
    assert [again.draw_views(i).tolist() for i in reversed(range(len(ds)))][::-1] == first
    torch.testing.assert_close(ds[3], again[3])
    ds.set_epoch(1)
    assert [ds.draw_views(i).tolist() for i in range(len(ds))] != first
    other_seed = ThreeDIEBench(toy_root, "train", num_views=3, image_size=32, seed=6)
    assert [other_seed.draw_views(i).tolist() for i in range(len(ds))] != first


def test_num_views_per_call_and_explicit_ids(toy_root):
    ds = ThreeDIEBench(toy_root, "train", num_views=2, image_size=32)
    item = ds.sample(0, num_views=5)  # all 6 views
    assert item["views"].shape[0] == 5 and item["actions"].shape == (5, 4)
    with pytest.raises(ValueError, match="num_views"):
        ds.sample(0, num_views=6)
    with pytest.raises(ValueError, match="num_views"):
        ThreeDIEBench(toy_root, "train", num_views=6, image_size=32)
    item = ds.load_views(0, [5, 0, 3])
    np.testing.assert_allclose(item["latents"][2].numpy(), np.load(_folder(ds, 0) / "latent_3.npy").astype(np.float32))
    with pytest.raises(ValueError, match="view_ids"):
        ds.load_views(0, [1, 1])
    with pytest.raises(IndexError, match="index"):
        ds[len(ds)]


def test_ood_split_discovers_views(tmp_path, toy_root):
    ood = tmp_path / "ood"
    make_toy_3diebench(ood, objects=6, views=4, classes=3, size=32, seed=1, workers=1, ood=True, view_ids=[2, 3, 4, 5])
    ds = ThreeDIEBench(ood, "ood", num_views=3, image_size=32)
    assert ds.view_ids(0).tolist() == [2, 3, 4, 5]
    item = ds[0]
    assert (item["latents"][:, :3].abs() >= np.pi / 2 - 1e-6).all()
    with pytest.raises(ValueError, match="num_views"):
        ThreeDIEBench(ood, "ood", num_views=4, image_size=32)
    # without its own index, the OOD root takes the val index from index_root
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    for name in ("val_images.npy", "val_labels.npy"):
        (ood / name).rename(index_dir / name)
    with pytest.raises(FileNotFoundError, match="index_root"):
        ThreeDIEBench(ood, "ood", num_views=3, image_size=32)
    assert len(ThreeDIEBench(ood, "ood", num_views=3, image_size=32, index_root=index_dir)) == len(ds)
    # objects of the index missing from the OOD root: an error, or dropped only when asked
    with pytest.raises(FileNotFoundError, match="allow_missing_objects"):
        ThreeDIEBench(ood, "ood", num_views=3, image_size=32, index_root=toy_root)
    with pytest.raises(FileNotFoundError, match="no object"):
        ThreeDIEBench(ood, "ood", num_views=3, image_size=32, index_root=toy_root, allow_missing_objects=True)


@pytest.mark.parametrize("split", ["train", "val"])
def test_every_label_and_folder_is_the_index_files(toy_root, split):
    """Item i is the object at row i of {split}_images.npy with the label at row i of {split}_labels.npy."""
    images = np.load(toy_root / f"{split}_images.npy", allow_pickle=False)
    labels = np.load(toy_root / f"{split}_labels.npy", allow_pickle=False)
    assert (labels[:-1] != labels[1:]).any()  # neighbours differ somewhere: a shift by one object would show
    ds = ThreeDIEBench(toy_root, split, num_views=1, image_size=16)
    assert len(ds) == len(images) == len(labels)
    for i, (rel, label) in enumerate(zip(images, labels)):
        item = ds.load_views(i, [0, 1])
        assert item["label"].item() == int(label), f"{split} item {i}"
        want = np.load(toy_root / str(rel).strip("/") / "latent_1.npy").astype(np.float32)
        np.testing.assert_array_equal(item["latents"][1].numpy(), want)
    assert ds[-1]["label"].item() == int(labels[-1])


def test_ood_objects_dropped_take_their_labels_with_them(tmp_path):
    """allow_missing_objects drops an object and its label: the later objects keep their own labels."""
    ood = tmp_path / "ood"
    make_toy_3diebench(ood, objects=6, views=3, classes=3, size=16, seed=1, workers=1, ood=True, view_ids=[2, 3, 4])
    images = [str(r).strip("/") for r in np.load(ood / "val_images.npy", allow_pickle=False)]
    labels = np.load(ood / "val_labels.npy", allow_pickle=False)
    # remove an object whose label differs from the next one's, so a label left behind shifts the rest
    k = next(i for i in range(len(labels) - 1) if labels[i] != labels[i + 1])
    shutil.rmtree(ood / images[k])
    ds = ThreeDIEBench(ood, "ood", num_views=1, image_size=16, allow_missing_objects=True)
    assert ds.missing_objects == [images[k]]
    kept = [i for i in range(len(images)) if i != k]
    assert len(ds) == len(kept)
    for j, i in enumerate(kept):
        item = ds.load_views(j, ds.view_ids(j)[:2])
        assert item["label"].item() == int(labels[i]), f"item {j} (object {images[i]})"
        want = np.load(ood / images[i] / f"latent_{ds.view_ids(j)[1]}.npy").astype(np.float32)
        np.testing.assert_array_equal(item["latents"][1].numpy(), want)


# ---------------------------------------------------------------- bad input
def test_missing_image_file(toy_copy):
    ds = ThreeDIEBench(toy_copy, "train", num_views=5, image_size=32)
    (_folder(ds, 0) / "image_3.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="image_3.jpg"):
        ds[0]


def test_corrupt_jpeg(toy_copy):
    ds = ThreeDIEBench(toy_copy, "train", num_views=5, image_size=32)
    path = _folder(ds, 0) / "image_2.jpg"
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.raises(IntegrityError, match="image_2.jpg"):
        ds[0]
    path.write_bytes(b"not a jpeg at all" * 10)
    with pytest.raises(IntegrityError, match="image_2.jpg"):
        ds[0]


def test_bad_latent(toy_copy):
    ds = ThreeDIEBench(toy_copy, "train", num_views=5, image_size=32)
    path = _folder(ds, 0) / "latent_1.npy"
    np.save(path, np.zeros(9))
    with pytest.raises(IntegrityError, match="latent_1.npy"):
        ds[0]
    np.save(path, np.zeros((7,), dtype=np.int64))
    with pytest.raises(IntegrityError, match="latent_1.npy"):
        ds[0]
    path.write_bytes(b"garbage")
    with pytest.raises(IntegrityError, match="latent_1.npy"):
        ds[0]
    path.unlink()
    with pytest.raises(FileNotFoundError, match="latent_1.npy"):
        ds[0]


def test_missing_index_files(toy_copy):
    (toy_copy / "val_labels.npy").unlink()
    with pytest.raises(FileNotFoundError, match="val_labels.npy"):
        ThreeDIEBench(toy_copy, "val")
    (toy_copy / "train_images.npy").unlink()
    with pytest.raises(FileNotFoundError, match="train_images.npy"):
        ThreeDIEBench(toy_copy, "train")


def test_mismatched_index(toy_copy):
    np.save(toy_copy / "train_labels.npy", np.zeros(2, dtype=np.int64))
    with pytest.raises(IntegrityError, match="train_labels.npy"):
        ThreeDIEBench(toy_copy, "train")


def test_empty_or_missing_root(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty"):
        ThreeDIEBench(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ThreeDIEBench(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(split="test"), "split"),
        (dict(num_views=0), "num_views"),
        (dict(action_space="crop"), "action_space"),
        (dict(mean=(0.5, 0.5)), "mean"),
        (dict(std=(0.1, 0.0, 0.1)), "std"),
        (dict(interpolation="lanczos"), "interpolation"),
    ],
)
def test_bad_arguments(toy_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThreeDIEBench(toy_root, **kwargs)


# ---------------------------------------------------------------- edges found by mutation testing (tools/mutation.py)
def test_defaults_are_the_official_settings(toy_root):
    ds = ThreeDIEBench(toy_root)
    assert (ds.split, ds.num_views, ds.image_size, ds.seed, ds.interpolation) == ("train", 3, 128, 0, "bilinear")
    assert ds.labels.dtype == np.int64 and ds.num_classes == 3
    seeded = ThreeDIEBench(toy_root, seed=0)
    assert [ds.draw_views(i).tolist() for i in range(4)] == [seeded.draw_views(i).tolist() for i in range(4)]


def test_num_classes_explicit_or_inferred_from_both_label_files(toy_copy):
    assert ThreeDIEBench(toy_copy, num_views=1, num_classes=10).num_classes == 10
    np.save(toy_copy / "val_labels.npy", np.array([0, 5] + [1] * (len(np.load(toy_copy / "val_labels.npy")) - 2)))
    assert ThreeDIEBench(toy_copy, "train", num_views=1).num_classes == 6  # the val file's 5 counts too
    with pytest.raises(ValueError, match=r"^num_classes: labels of .*train_labels.npy span 0..2, outside 0..1"):
        ThreeDIEBench(toy_copy, "train", num_views=1, num_classes=2)  # the largest label must be < num_classes
    np.save(toy_copy / "val_labels.npy", np.zeros(0, dtype=np.int64))  # an empty label file adds nothing
    assert ThreeDIEBench(toy_copy, "train", num_views=1).num_classes == 3
    (toy_copy / "val_labels.npy").write_bytes(b"garbage")
    with pytest.raises(IntegrityError, match=r"^label file .*val_labels.npy cannot be read as a .npy array"):
        ThreeDIEBench(toy_copy, "train", num_views=1)


def test_index_files_must_be_1d_strings_and_integers(toy_copy):
    images = np.load(toy_copy / "train_images.npy")
    labels = np.load(toy_copy / "train_labels.npy")
    np.save(toy_copy / "train_images.npy", images.reshape(-1, 1))
    with pytest.raises(IntegrityError, match=r"^index file .*: expected a 1-d array of strings"):
        ThreeDIEBench(toy_copy)
    np.save(toy_copy / "train_images.npy", images)
    np.save(toy_copy / "train_labels.npy", labels.reshape(-1, 1))
    with pytest.raises(IntegrityError, match=r"^label file .*: expected a 1-d integer array"):
        ThreeDIEBench(toy_copy)
    np.save(toy_copy / "train_labels.npy", labels.astype(np.float32))
    with pytest.raises(IntegrityError, match=r"^label file .*: expected a 1-d integer array"):
        ThreeDIEBench(toy_copy)
    np.save(toy_copy / "train_images.npy", images[:0])
    np.save(toy_copy / "train_labels.npy", labels[:0])
    with pytest.raises(ValueError, match=r"^index file .*train_images.npy lists no objects"):
        ThreeDIEBench(toy_copy)
    np.save(toy_copy / "train_images.npy", images[:1])  # one object is a dataset
    np.save(toy_copy / "train_labels.npy", labels[:1])
    assert len(ThreeDIEBench(toy_copy, num_views=1)) == 1


def test_missing_index_file_in_a_non_empty_root_is_named(toy_copy, tmp_path):
    (toy_copy / "train_images.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"^index file not found: .*train_images.npy"):
        ThreeDIEBench(toy_copy)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"^root: .* is empty \(expected train_images.npy"):
        ThreeDIEBench(tmp_path / "empty")


def test_views_per_object_counted_or_given(toy_copy):
    assert ThreeDIEBench(toy_copy, num_views=1, views_per_object=4).view_ids(0).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"^views_per_object: expected an integer >= 1"):
        ThreeDIEBench(toy_copy, num_views=1, views_per_object=0)
    first = toy_copy / str(np.load(toy_copy / "train_images.npy")[0]).strip("/")
    for p in first.glob("image_*.jpg"):
        p.unlink()
    with pytest.raises(FileNotFoundError, match=r"^no image_<i>.jpg in "):
        ThreeDIEBench(toy_copy, num_views=1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_views=0), r"^num_views: expected an integer >= 1"),
    (dict(image_size=0), r"^image_size: expected an integer >= 1"),
    (dict(mean=(0.5, 0.5)), r"^mean: expected 3 numbers"),
    (dict(std=(0.1, 0.1)), r"^std: expected 3 numbers"),
])
def test_bad_arguments_name_themselves(toy_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThreeDIEBench(toy_root, **kwargs)


def test_index_and_draw_arguments(toy_root):
    ds = ThreeDIEBench(toy_root, num_views=1, image_size=16)
    n = len(ds)
    assert ds.load_views(-n, [0, 1])["label"].item() == ds.load_views(0, [0, 1])["label"].item()
    with pytest.raises(ValueError, match=r"^index: expected an integer, got bool"):
        ds.load_views(True, [0, 1])
    with pytest.raises(ValueError, match=r"^num_views: expected an integer >= 1"):
        ds.draw_views(0, num_views=0)


def test_common_latent_files_take_the_fast_reader_and_others_np_load(toy_copy, monkeypatch):
    import seqjepa.data.three_die_bench as tdb

    ds = ThreeDIEBench(toy_copy, num_views=1, image_size=16)
    calls = []
    real = np.load
    monkeypatch.setattr(tdb.np, "load", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    folder = _folder(ds, 0)
    want = real(folder / "latent_1.npy")
    np.testing.assert_array_equal(ds.load_views(0, [0, 1])["latents"][1].numpy(), want.astype(np.float32))
    assert calls == []  # the npy v1 '<f8' (7,) file is parsed without np.load
    np.save(folder / "latent_1.npy", want.astype(np.float32))  # any other valid file: np.load, same values
    np.testing.assert_allclose(ds.load_views(0, [0, 1])["latents"][1].numpy(), want.astype(np.float32), rtol=1e-7)
    assert len(calls) == 1
    bad = want.astype(np.float32)
    bad[2] = np.nan
    np.save(folder / "latent_1.npy", bad)
    with pytest.raises(IntegrityError, match=r"latent_1.npy: contains NaN or Inf"):
        ds.load_views(0, [0, 1])


def test_interpolation_reaches_the_decoder(toy_root):
    ds = ThreeDIEBench(toy_root, num_views=1, image_size=20, interpolation="nearest", fast_decode=False)
    official = T.Compose([T.Resize((20, 20), interpolation=T.InterpolationMode.NEAREST), T.ToTensor(),
                          T.Normalize(THREEDIEBENCH_MEAN, THREEDIEBENCH_STD)])
    ref = official(Image.open(_folder(ds, 0) / "image_0.jpg").convert("RGB"))
    torch.testing.assert_close(ds.load_views(0, [0, 1])["views"][0], ref, atol=1e-5, rtol=0)


def test_val_split_infers_classes_from_the_train_labels_too(toy_copy):
    labels = np.load(toy_copy / "train_labels.npy")
    labels[0] = 7
    np.save(toy_copy / "train_labels.npy", labels)
    assert ThreeDIEBench(toy_copy, "val", num_views=1).num_classes == 8


def test_unreadable_files_are_named_by_kind(toy_copy):
    ds = ThreeDIEBench(toy_copy, num_views=1, image_size=16)
    (_folder(ds, 0) / "latent_1.npy").write_bytes(b"garbage, not an array")
    with pytest.raises(IntegrityError, match=r"^latent file .*latent_1.npy cannot be read as a .npy array"):
        ds.load_views(0, [0, 1])
    (toy_copy / "train_labels.npy").write_bytes(b"garbage")
    with pytest.raises(IntegrityError, match=r"^label file .*train_labels.npy cannot be read as a .npy array"):
        ThreeDIEBench(toy_copy)


def test_index_entries_lose_only_their_slashes(toy_copy):
    images = np.load(toy_copy / "train_images.npy")
    first = str(images[0]).strip("/")
    (toy_copy / first).rename(toy_copy / (first + "X"))  # a name ending in another character than '/'
    images[0] = f"/{first}X/"
    np.save(toy_copy / "train_images.npy", images)
    ds = ThreeDIEBench(toy_copy, num_views=1, image_size=16)
    assert ds.samples[0] == first + "X"
    assert ds.load_views(0, [0, 1])["views"].shape == (1, 3, 16, 16)


@pytest.mark.parametrize("split", ["train", "val"])
def test_in_memory_items_equal_the_files_and_read_nothing_after_construction(toy_root, split):
    disk = ThreeDIEBench(toy_root, split, num_views=3, image_size=32)
    memory = ThreeDIEBench(toy_root, split, num_views=3, image_size=32, in_memory=True)
    opened = []

    def hook(event, args):
        if event == "open" and isinstance(args[0], str) and args[0].startswith(str(toy_root)):
            opened.append(args[0])

    import sys

    sys.addaudithook(hook)  # audit hooks cannot be removed: the list is only read inside this block
    for epoch in (0, 3):
        disk.set_epoch(epoch)
        memory.set_epoch(epoch)
        for i in range(len(disk)):
            before = len(opened)
            got = memory[i]
            assert len(opened) == before, opened[before:]
            want = disk[i]
            for key in want:
                assert torch.equal(got[key], want[key]), (epoch, i, key)
    explicit = memory.load_views(1, [5, 0, 2])
    assert torch.equal(explicit["views"], disk.load_views(1, [5, 0, 2])["views"])
    with pytest.raises(ValueError, match=r"view_ids: object .* has no view\(s\) \[9\]"):
        memory.load_views(0, [0, 9])


def test_in_memory_ood_split_maps_view_numbers(tmp_path):
    ood = tmp_path / "ood"
    make_toy_3diebench(ood, objects=6, views=4, classes=3, size=32, seed=1, workers=1, ood=True, view_ids=[2, 3, 4, 5])
    disk = ThreeDIEBench(ood, "ood", num_views=2, image_size=32)
    memory = ThreeDIEBench(ood, "ood", num_views=2, image_size=32, in_memory=True)
    for i in range(len(disk)):
        for key, value in disk[i].items():
            assert torch.equal(memory[i][key], value), (i, key)
    assert torch.equal(memory.load_views(2, [5, 2])["target"], disk.load_views(2, [5, 2])["target"])


def test_in_memory_refuses_a_split_beyond_half_the_memory_and_non_booleans(toy_root, monkeypatch):
    import seqjepa.data.three_die_bench as module

    monkeypatch.setattr(module, "_physical_memory", lambda: 2 * 1000)  # the 3-class toy split needs > 1000 bytes
    with pytest.raises(ValueError, match=r"in_memory: the train split decodes to .* more than half of this machine's memory"):
        ThreeDIEBench(toy_root, num_views=3, image_size=32, in_memory=True)
    with pytest.raises(ValueError, match="in_memory: expected True or False, got 1"):
        ThreeDIEBench(toy_root, num_views=3, image_size=32, in_memory=1)


# ---------------------------------------------------------------- edges found by mutation testing (second run)
@pytest.mark.parametrize("entry", ["/n01/obj/extra/", "/../obj/", "/n01/../", "/.hidden/obj/", "/n01/"])
def test_index_entries_must_be_two_safe_parts(toy_copy, entry):
    images = np.load(toy_copy / "train_images.npy")
    images[1] = entry
    np.save(toy_copy / "train_images.npy", images)
    with pytest.raises(IntegrityError, match=rf"^index file .*: entry 1 is '{entry}'; expected '/<synset>/<object_id>/'"):
        ThreeDIEBench(toy_copy, num_views=1)


def test_labels_outside_the_bound_are_refused_naming_the_label(toy_copy):
    from seqjepa.data.three_die_bench import _MAX_CLASSES

    labels = np.load(toy_copy / "train_labels.npy")
    assert labels.min() == 0
    for bad in (-1, _MAX_CLASSES, _MAX_CLASSES + 7):
        changed = labels.copy()
        changed[2] = bad
        np.save(toy_copy / "train_labels.npy", changed)
        with pytest.raises(IntegrityError, match=rf"^label file .*train_labels.npy: labels must lie in \[0, {_MAX_CLASSES}\), got {bad}$"):
            ThreeDIEBench(toy_copy, num_views=1)


def test_a_label_file_of_the_other_split_beyond_the_bound_is_not_counted(toy_copy):
    from seqjepa.data.three_die_bench import _MAX_CLASSES

    val = np.load(toy_copy / "val_labels.npy")
    val[0] = _MAX_CLASSES
    np.save(toy_copy / "val_labels.npy", val)
    assert ThreeDIEBench(toy_copy, "train", num_views=1).num_classes == 3


def test_physical_memory_is_the_machines_and_zero_where_unknown(monkeypatch):
    import os

    import seqjepa.data.three_die_bench as module

    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo").read().splitlines())
    total = int(meminfo["MemTotal"].split()[0]) * 1024  # the kernel's count, a few % below the installed pages
    assert 1.0 <= module._physical_memory() / total < 1.1

    def no_sysconf(name):
        raise ValueError(f"unrecognized configuration name {name}")

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert module._physical_memory() == 0


def test_in_memory_accepts_exactly_half_the_memory_and_refuses_a_byte_more(toy_root, monkeypatch):
    import seqjepa.data.three_die_bench as module

    disk = ThreeDIEBench(toy_root, num_views=3, image_size=32)
    assert disk.in_memory is False
    nbytes = sum(len(disk.view_ids(k)) for k in range(len(disk))) * 32 * 32 * 3
    monkeypatch.setattr(module, "_physical_memory", lambda: 2 * nbytes)
    assert ThreeDIEBench(toy_root, num_views=3, image_size=32, in_memory=True).in_memory is True
    monkeypatch.setattr(module, "_physical_memory", lambda: 2 * nbytes - 2)
    with pytest.raises(ValueError, match=rf"^in_memory: the train split decodes to 0.0 GiB \({nbytes // 3072} views at 32 px\)"):
        ThreeDIEBench(toy_root, num_views=3, image_size=32, in_memory=True)
    monkeypatch.setattr(module, "_physical_memory", lambda: 0)  # unknown: no limit
    assert ThreeDIEBench(toy_root, num_views=3, image_size=32, in_memory=True).in_memory is True
