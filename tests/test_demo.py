"""``seqjepa demo``: end to end on a small saved model, its numbers, its PNG, its errors, its packaged assets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from seqjepa import SeqJEPA
from seqjepa.models.actions import get_action_space
from seqjepa.cli import main
from seqjepa.data.synthetic import FACE_COLORS, make_mesh, render_view, sample_latents
from seqjepa.demo import ASSETS_DIR, EXAMPLE_FILE, FIGURE_SIZE, load_example, run_demo

from .conftest import small_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("demo") / "small-model"
    SeqJEPA(small_config(image_size=32)).eval().save_pretrained(str(out))
    return out


def test_demo_end_to_end_prints_sections_and_draws_the_figure(model_dir, tmp_path):
    lines: list[str] = []
    png = tmp_path / "fig.png"
    result = run_demo(str(model_dir), png, objects_per_class=2, sweep_steps=6, random_actions=4, echo=lines.append)
    text = "\n".join(lines)
    for section in ("relative actions", "equivariant embeddings z", "invariant embedding z_AGG",
                    "cos(prediction, true z)", "random actions", "nearest classes", "figure:", "done in"):
        assert section in text, section
    assert str(png.resolve()) in text

    cfg = small_config(image_size=32)
    assert tuple(result.equivariant.shape) == (3, cfg.encoder_dim)
    assert tuple(result.invariant.shape) == (cfg.token_dim,)
    assert [name for name, _ in result.nearest][:1] and len(result.nearest) == 8  # the default model's 8 classes
    assert sorted((s for _, s in result.nearest), reverse=True) == [s for _, s in result.nearest]
    assert len(result.cos_random) == 4
    # the printed rank and means are the result's numbers, counted and averaged here
    rank = 1 + sum(c > result.cos_true for c in result.cos_random)
    assert f"the true action ranks {rank} of 5" in text
    assert f"{float(np.mean(result.cos_random)):+.3f}  mean over 4 random actions (best {max(result.cos_random):+.3f})" in text
    assert (f"over 16 gallery sequences: {result.gallery_cos_true:+.3f} with the true action, "  # 8 classes x 2 objects
            f"{result.gallery_cos_random:+.3f} with random ones; the true action is the best of 5 "
            f"in {result.gallery_true_best} of 16 (chance: 3.2)") in text
    effect = result.gallery_cos_true - result.gallery_cos_random
    assert f"action effect: {effect:+.3f} (true minus random" in text

    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == FIGURE_SIZE and im.mode == "RGB"
        colors = im.getcolors(maxcolors=1 << 20)
        assert colors is not None and len(colors) > 50  # views, points and text were drawn, not a blank canvas


def test_demo_numbers_match_the_model_api(model_dir, tmp_path):
    """The printed prediction is SeqJEPA.predict_next with the true actions; the target z is the target encoder's."""
    result = run_demo(str(model_dir), None, objects_per_class=1, random_actions=0, echo=lambda s: None)
    model = __import__("seqjepa").load(str(model_dir))
    example = load_example()
    views = torch.stack([model.transform(im) for im in example.images])
    actions = torch.as_tensor(get_action_space("rotation").actions(example.latents), dtype=torch.float32)
    assert np.allclose(result.actions, actions.numpy())
    with torch.no_grad():
        pred = model.predict_next(views[None, :3], actions[None])[0]
        target_z = model.encode(views[3:], target=True)[0]
        out = model.encode_views(views[None, :3], actions[None, :2])
    torch.testing.assert_close(result.prediction, pred, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(result.target_embedding, target_z, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(result.invariant, out.invariant[0], rtol=1e-4, atol=1e-5)
    assert result.cos_true == pytest.approx(float(F.cosine_similarity(pred, target_z, dim=0)), abs=1e-5)
    assert result.figure is None


def test_cli_demo_returns_0_and_writes_the_png(model_dir, tmp_path, capsys):
    png = tmp_path / "out.png"
    assert main(["demo", "--model", str(model_dir), "--out", str(png), "--objects-per-class", "1"]) == 0
    out = capsys.readouterr().out
    assert "nearest classes" in out and f"figure: {png.resolve()}" in out
    with Image.open(png) as im:
        assert im.size == FIGURE_SIZE


@pytest.mark.parametrize("argv", [
    ["--model", "no-such-model"],
    ["--model", "/nonexistent/seqjepa-model-dir"],
    ["--classes", "9"],
])
def test_cli_demo_bad_arguments_give_one_line(model_dir, tmp_path, capsys, argv):
    argv = argv if argv[0] == "--model" else ["--model", str(model_dir), *argv]
    status = main(["demo", *argv, "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert status in (1, 2)
    assert err.count("\n") == 1 and err.startswith("seqjepa: error:") and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_missing_default_model_says_how_to_proceed(monkeypatch, capsys):
    import seqjepa.zoo.registry

    monkeypatch.setattr(seqjepa.zoo.registry, "list_models", lambda *a, **k: [])
    assert main(["demo", "--no-figure"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "tiny-toy3diebench" in err and "--model DIR" in err and "save_pretrained" in err


def test_non_rotation_model_is_refused(tmp_path, capsys):
    d = tmp_path / "saccade"
    SeqJEPA(small_config(action_space="saccade", action_dim=2)).save_pretrained(str(d))
    assert main(["demo", "--model", str(d), "--no-figure"]) == 2
    err = capsys.readouterr().err
    assert "rotation" in err and "'saccade'" in err and err.count("\n") == 1


def test_bad_out_path_is_reported(model_dir, tmp_path, capsys):
    assert main(["demo", "--model", str(model_dir), "--objects-per-class", "1", "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the shipped assets
def test_assets_are_small_and_reproducible_from_their_seed():
    doc = json.loads((ASSETS_DIR / EXAMPLE_FILE).read_text())
    total = sum(p.stat().st_size for p in ASSETS_DIR.iterdir() if p.is_file())
    assert total < 200_000
    rng = np.random.default_rng(doc["mesh_seed"])
    make_mesh(doc["shape"], rng, face_colors=doc["scene"]["face_colors"])
    expected = sample_latents(rng, len(doc["views"]), max_angle=doc["scene"]["max_angle"])
    if doc["scene"]["light_color"] == "white":
        expected[:, 6] = 0.0  # a white light has no hue
    np.testing.assert_allclose(np.array([v["latent"] for v in doc["views"]]), expected, rtol=0, atol=1e-12)
    example = load_example()
    assert len(example.images) == 4 and all(im.size == (doc["image_size"],) * 2 for im in example.images)


def test_asset_views_are_renders_of_the_recorded_scene():
    """Each JPEG is the view example.json describes: its mesh, its latent, its scene (within JPEG error)."""
    doc = json.loads((ASSETS_DIR / EXAMPLE_FILE).read_text())
    scene = doc["scene"]

    def errors(face_colors: str) -> list[float]:
        mesh = make_mesh(doc["shape"], np.random.default_rng(doc["mesh_seed"]), face_colors=face_colors)
        out = []
        for view in doc["views"]:
            rendered = render_view(mesh, np.asarray(view["latent"]), doc["image_size"], light_color=scene["light_color"])
            with Image.open(ASSETS_DIR / view["image"]) as im:
                shipped = np.asarray(im.convert("RGB"), dtype=np.float64)
            out.append(float(np.abs(rendered.astype(np.float64) - shipped).mean()))
        return out

    # JPEG quality 88 at 128 px: measured 1.6 to 2.0 grey levels of mean absolute error per view
    assert max(errors(scene["face_colors"])) < 4.0
    for other in FACE_COLORS:  # views of another face-colour rule are told apart (measured 12 to 19 on average)
        if other != scene["face_colors"]:
            assert np.mean(errors(other)) > 4.0, other


def test_load_example_rejects_broken_assets(tmp_path):
    with pytest.raises(FileNotFoundError, match="example.json"):
        load_example(tmp_path)
    shutil.copytree(ASSETS_DIR, tmp_path / "a")
    (tmp_path / "a" / "view_2.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="view_2.jpg"):
        load_example(tmp_path / "a")
    doc = json.loads((ASSETS_DIR / EXAMPLE_FILE).read_text())
    doc["views"][0]["latent"] = doc["views"][0]["latent"][:3]
    (tmp_path / "a" / EXAMPLE_FILE).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="latent"):
        load_example(tmp_path / "a")
    doc = json.loads((ASSETS_DIR / EXAMPLE_FILE).read_text())
    doc["scene"]["max_angle"] = 3.0  # beyond pi/2
    (tmp_path / "a" / EXAMPLE_FILE).write_text(json.dumps(doc))
    (tmp_path / "a" / "view_2.jpg").write_bytes((ASSETS_DIR / "view_2.jpg").read_bytes())
    with pytest.raises(ValueError, match="scene.max_angle"):
        load_example(tmp_path / "a")


@pytest.mark.slow
def test_wheel_ships_the_assets(tmp_path):
    """A non-editable install must carry the views: build a wheel from a copy and read the demo's files from it."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    # the package and the two top-level folders pyproject.toml maps into it
    for folder in ("seqjepa", "weights", "examples/assets"):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.safetensors"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "w")],
        cwd=src, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0 and "No module named pip" in proc.stderr:
        pytest.skip("pip is not available in this interpreter")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "w").glob("seqjepa-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "seqjepa/demo/__init__.py" in names and "seqjepa/cli/demo.py" in names
        doc = json.loads(zf.read(f"seqjepa/assets/{EXAMPLE_FILE}"))
        for view in doc["views"]:
            assert f"seqjepa/assets/{view['image']}" in names
        zf.extractall(tmp_path / "site", [n for n in names if n.startswith("seqjepa/assets/")])
    assert len(load_example(tmp_path / "site" / "seqjepa" / "assets").images) == len(doc["views"])


def test_docs_transcript_is_the_shipped_models_output(tmp_path):
    """docs/index.md shows `seqjepa demo`'s output: the shipped model prints exactly that, but its paths and time."""
    from seqjepa import DEFAULT_MODEL

    doc = (REPO / "docs" / "index.md").read_text(encoding="utf-8")
    block = doc.split("```text\n$ seqjepa demo\n", 1)[1].split("```", 1)[0].rstrip("\n").split("\n")
    lines: list[str] = []
    png = tmp_path / "seqjepa-demo.png"
    result = run_demo(DEFAULT_MODEL, png, echo=lines.append)
    shown = [line.replace(f"({ASSETS_DIR})", "(.../site-packages/seqjepa/assets)")
                 .replace(f"figure: {png.resolve()}", "figure: /home/you/seqjepa-demo.png") for line in lines]
    assert shown[-1].startswith("done in ") and block[-1].startswith("done in ")
    assert shown[:-1] == block[:-1]
    assert result.figure == png.resolve()
