"""The procedural 3DIEBench: exact layout, latent distribution, determinism, rendering responds to latents."""

from __future__ import annotations

import colorsys
import json

import numpy as np
import pytest
from PIL import Image

from seqjepa.cli import main
from seqjepa.data.synthetic import SHAPE_CLASSES, make_mesh, render_view, sample_latents, make_toy_3diebench


def test_layout_and_index(toy_root):
    train, val = np.load(toy_root / "train_images.npy"), np.load(toy_root / "val_images.npy")
    ytrain, yval = np.load(toy_root / "train_labels.npy"), np.load(toy_root / "val_labels.npy")
    assert train.dtype.kind == "U" and ytrain.dtype == np.int64 and yval.dtype == np.int64
    assert len(train) + len(val) == 12 and len(train) == len(ytrain) and len(val) == len(yval)
    assert set(yval.tolist()) == {0, 1, 2}  # every class has val objects (4 objects per class, 20 %)
    assert not set(train.tolist()) & set(val.tolist())
    synsets = sorted(p.name for p in toy_root.iterdir() if p.is_dir())
    assert len(synsets) == 3 and all(len(s) == 8 and s.isdigit() for s in synsets)
    assert json.loads((toy_root / "synsets.json").read_text()) == dict(zip(synsets, SHAPE_CLASSES[:3]))
    for entry, label in zip(np.concatenate([train, val]), np.concatenate([ytrain, yval])):
        assert entry.startswith("/") and entry.endswith("/")
        synset, obj = entry.strip("/").split("/")
        assert synsets.index(synset) == label
        folder = toy_root / synset / obj
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted([f"image_{i}.jpg" for i in range(6)] + [f"latent_{i}.npy" for i in range(6)])
        lat = np.load(folder / "latent_0.npy")
        assert lat.dtype == np.float64 and lat.shape == (7,)
        with Image.open(folder / "image_0.jpg") as im:
            assert im.format == "JPEG" and im.size == (32, 32) and im.mode == "RGB"


def test_latent_ranges():
    lat = sample_latents(np.random.default_rng(0), 4000)
    assert np.all(np.abs(lat[:, :3]) <= np.pi / 2)
    assert lat[:, 3].min() >= 0 and lat[:, 3].max() < 1 and lat[:, 6].min() >= 0 and lat[:, 6].max() < 1
    assert lat[:, 4].min() >= 0 and lat[:, 4].max() <= np.pi / 4 and lat[:, 5].max() <= 2 * np.pi
    assert abs(lat[:, 0].mean()) < 0.05 and abs(lat[:, 0].std() - np.pi / np.sqrt(12)) < 0.03
    ood = sample_latents(np.random.default_rng(0), 1000, ood=True)
    assert np.all(np.abs(ood[:, :3]) >= np.pi / 2) and np.all(np.abs(ood[:, :3]) <= np.pi)
    assert (ood[:, :3] < 0).any() and (ood[:, :3] > 0).any()


def test_narrower_rotation_range():
    lat = sample_latents(np.random.default_rng(0), 4000, max_angle=np.pi / 4)
    assert np.all(np.abs(lat[:, :3]) <= np.pi / 4)
    assert abs(lat[:, 0].std() - (np.pi / 2) / np.sqrt(12)) < 0.02  # uniform over the whole narrower range
    for bad in (0.0, -0.1, np.pi, True, "45"):
        with pytest.raises(ValueError, match="max_angle"):
            sample_latents(np.random.default_rng(0), 2, max_angle=bad)
    with pytest.raises(ValueError, match="max_angle.*OOD"):
        sample_latents(np.random.default_rng(0), 2, ood=True, max_angle=np.pi / 4)


def test_max_angle_reaches_the_written_latents(tmp_path, capsys):
    out = tmp_path / "narrow"
    assert main(["make-toy-3diebench", str(out), "--objects", "2", "--views", "30", "--classes", "1",
                 "--size", "16", "--workers", "1", "--max-angle", "30"]) == 0
    lat = np.stack([np.load(p) for p in out.glob("*/*/latent_*.npy")])
    assert lat.shape == (60, 7) and np.all(np.abs(lat[:, :3]) <= np.radians(30)) and np.abs(lat[:, :3]).max() > np.radians(25)
    assert main(["make-toy-3diebench", str(tmp_path / "bad"), "--max-angle", "120"]) == 2
    assert "--max-angle" in capsys.readouterr().err


def test_rendering_depends_on_each_latent():
    rng = np.random.default_rng(0)
    mesh = make_mesh("l_shape", rng)
    base = np.array([0.3, -0.2, 0.5, 0.1, 0.3, 1.0, 0.6])
    ref = render_view(mesh, base, 48).astype(int)
    assert ref.shape == (48, 48, 3) and ref.dtype.kind == "i"
    for k, delta in [(0, 0.5), (1, 0.5), (2, 0.5), (3, 0.4), (4, 0.4), (5, 2.0), (6, 0.4)]:
        lat = base.copy()
        lat[k] += delta
        diff = np.abs(render_view(mesh, lat, 48).astype(int) - ref).mean()
        assert diff > 1.0, f"latent {k} barely changes the image ({diff})"
    # a rotation of the object changes only object pixels, and 180-degree turns are distinguishable
    turned = base.copy()
    turned[2] += np.pi
    assert np.abs(render_view(mesh, turned, 48).astype(int) - ref).mean() > 1.0


def test_objects_differ_within_a_class():
    a = make_mesh("cube", np.random.default_rng(1))
    b = make_mesh("cube", np.random.default_rng(2))
    assert not np.allclose(a.colors, b.colors) and not np.allclose(a.triangles, b.triangles)
    assert np.allclose(np.linalg.norm(a.normals, axis=1), 1, atol=1e-5)


def test_face_color_modes():
    objects = {name: [make_mesh(name, np.random.default_rng(s), face_colors="canonical") for s in (1, 2)]
               for name in ("cube", "wedge")}
    for a, b in objects.values():  # face k alike on every object of the class, proportions not
        assert np.allclose(a.colors, b.colors) and not np.allclose(a.triangles, b.triangles)

    top_shades = {}
    for name in SHAPE_CLASSES:
        mesh = make_mesh(name, np.random.default_rng(1), face_colors="class-hue")
        hsv = np.array([colorsys.rgb_to_hsv(*c) for c in mesh.colors])
        centre = SHAPE_CLASSES.index(name) / len(SHAPE_CLASSES)
        offset = (hsv[:, 0] - centre + 0.5) % 1.0 - 0.5
        assert np.abs(offset).max() < 0.5 / len(SHAPE_CLASSES), name  # every face inside the class's hue band
        up = np.abs(mesh.normals - [0, 0, 1]).max(axis=1) < 1e-5
        if up.any():
            top_shades[name] = hsv[up][0, 1:]
        assert len(np.unique(hsv[:, 1:].round(3), axis=0)) > 1, name  # faces differ in shade
    # the shade follows the face's direction in object coordinates, whatever the class
    assert {"cube", "hexagonal_prism", "l_shape"} <= set(top_shades)
    assert np.allclose(np.stack(list(top_shades.values())), top_shades["cube"], atol=1e-6)
    cube = make_mesh("cube", np.random.default_rng(1), face_colors="class-hue")
    assert not np.allclose(cube.colors[np.argmax(cube.normals[:, 1])], cube.colors[np.argmin(cube.normals[:, 1])])
    with pytest.raises(ValueError, match="face_colors"):
        make_mesh("cube", np.random.default_rng(0), face_colors="rainbow")


def test_independent_face_colours_say_nothing_about_the_class():
    """Evenly spread hues ("random") give the face count away: the gaps between sorted hues are all about
    1/faces. Independent colours have gaps as irregular as uniform draws, for every class alike."""
    def gap_spread(name, mode):
        spreads = []
        for s in range(40):
            hsv = np.array([colorsys.rgb_to_hsv(*c) for c in np.unique(make_mesh(name, np.random.default_rng(s), face_colors=mode).colors, axis=0)])
            hues = np.sort(hsv[:, 0])
            gaps = np.diff(np.r_[hues, hues[0] + 1.0])
            spreads.append(gaps.std() * len(gaps))  # 0 for evenly spread hues, about 1 for uniform draws
        return float(np.mean(spreads))

    for name in ("cube", "tetrahedron", "hexagonal_prism"):
        assert gap_spread(name, "random") < 0.4, name
        assert 0.6 < gap_spread(name, "independent") < 1.4, name


def test_toy_settings_are_written_beside_the_index(tmp_path):
    from seqjepa.data.synthetic import read_toy_settings

    make_toy_3diebench(tmp_path / "t", objects=4, views=2, classes=2, size=16, seed=7, workers=1, face_colors="independent",
                       light_color="white", max_angle=0.5)
    settings = read_toy_settings(tmp_path / "t")
    assert {k: settings[k] for k in ("seed", "objects", "views", "classes", "size", "face_colors", "light_color", "max_angle")} == {
        "seed": 7, "objects": 4, "views": 2, "classes": 2, "size": 16, "face_colors": "independent", "light_color": "white",
        "max_angle": 0.5}
    assert read_toy_settings(tmp_path) is None  # not a toy root
    (tmp_path / "toy.json").write_text("{not json")
    assert read_toy_settings(tmp_path) is None


def test_deterministic_and_worker_independent(tmp_path):
    kw = dict(objects=4, views=2, classes=2, size=16, seed=3)
    make_toy_3diebench(tmp_path / "a", workers=1, **kw)
    make_toy_3diebench(tmp_path / "b", workers=2, **kw)
    make_toy_3diebench(tmp_path / "c", workers=1, **{**kw, "seed": 4})
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert sorted(np.load(tmp_path / "c" / "train_images.npy").tolist()) != sorted(
        np.load(tmp_path / "a" / "train_images.npy").tolist()
    )
    assert not list(tmp_path.glob(".*partial"))  # the temporary directory was renamed away


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(objects=0), "objects"),
        (dict(classes=9), "classes"),
        (dict(objects=2, classes=3), "objects"),
        (dict(size=4), "size"),
        (dict(views=2, view_ids=[1, 1]), "view_ids"),
        (dict(val_fraction=1.0), "val_fraction"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    base = dict(objects=3, views=2, classes=3, size=16, workers=1)
    with pytest.raises(ValueError, match=match):
        make_toy_3diebench(tmp_path / "x", **{**base, **kwargs})
    assert not (tmp_path / "x").exists()


def test_refuses_to_overwrite(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("data")
    with pytest.raises(FileExistsError, match="out_dir"):
        make_toy_3diebench(tmp_path / "x", objects=1, views=2, classes=1, size=16, workers=1)
    assert (tmp_path / "x" / "keep.txt").read_text() == "data"


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["make-toy-3diebench", str(out), "--objects", "3", "--views", "2", "--classes", "3",
                 "--size", "16", "--seed", "1", "--workers", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (out / "train_images.npy").exists() and (out / "val_labels.npy").exists()
    assert main(["make-toy-3diebench", str(tmp_path / "bad"), "--classes", "20"]) == 2
    assert "classes" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_offers_every_scene_option_without_loading_the_generator():
    import subprocess
    import sys

    from seqjepa.cli import data as cli_data
    from seqjepa.data import synthetic

    assert cli_data.FACE_COLORS == synthetic.FACE_COLORS and cli_data.LIGHT_COLORS == synthetic.LIGHT_COLORS
    probe = ("import sys; from seqjepa.cli import main\n"
             "try:\n    main(['make-toy-3diebench', '--help'])\nexcept SystemExit:\n    pass\n"
             "print('seqjepa.data.synthetic' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "class-hue" in done.stdout and done.stderr.strip().endswith("False")
