"""The documentation site builds with ``mkdocs build --strict``; generated pages are up to date."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import load_module as _load
from .conftest import ROOT

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site once, strictly (any warning fails), into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.mark.slow
def test_every_nav_page_is_built(site):
    for page in ("index.html", "concepts/index.html", "model-zoo/index.html", "training/index.html",
                 "evaluation/index.html", "reproducing/index.html", "examples/index.html", "api/index.html",
                 "changelog/index.html", "figures/token-layout.png"):
        assert (site / page).is_file(), page


def test_api_reference_is_rendered_from_docstrings(site):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("invariant_embedding", "equivariant_embedding", "SeqJEPAConfig", "save_pretrained", "convert_official",
                 "WeightsNotAvailableError"):
        assert name in html, name
    # a docstring sentence, so the objects were documented and not just named
    assert "the aggregate of the sequence" in html


def test_changelog_page_includes_the_changelog(site):
    html = (site / "changelog" / "index.html").read_text(encoding="utf-8")
    first_entry = next(line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("- "))
    assert "Unreleased" in html and first_entry[2:20].replace("`", "") in html.replace("<code>", "").replace("</code>", "")


def test_committed_model_zoo_page_matches_the_cards():
    gen = _load(DOCS / "gen_model_zoo.py", "gen_model_zoo_check")
    expected = gen.render(gen.load_cards(ROOT / "weights"))
    assert (DOCS / "model-zoo.md").read_text(encoding="utf-8") == expected, "run: python docs/gen_model_zoo.py"


def test_model_zoo_table_from_cards(tmp_path):
    gen = _load(DOCS / "gen_model_zoo.py", "gen_model_zoo_cards")
    assert "No models are registered yet" in gen.render(gen.load_cards(tmp_path))
    card = {
        "name": "resnet18-demo",
        "description": "A demo | card",
        "model": {"backbone": "resnet18", "image_size": 128, "action_space": "rotation", "action_dim": 4, "train_seq_len": 3},
        "source": {"kind": "hub", "repo": "org/repo", "revision": "a" * 40, "sha256": "b" * 64, "format": "safetensors"},
        "training": {"dataset": "3DIEBench", "train_seq_len": 3},
        "reported": [{"metric": "top1", "value": 87.41, "setting": "M_val=5", "source": "Table 1"}],
    }
    (tmp_path / "resnet18-demo.json").write_text(json.dumps(card))
    (tmp_path / "aaa-package.json").write_text(json.dumps({"name": "aaa-package", "source": {"kind": "package"}}))
    page = gen.render(gen.load_cards(tmp_path))
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["aaa-package", "resnet18-demo"]  # sorted by name
    assert ("| ResNet-18 | 128 px | rotation (4-d) | 3 | — | — | 3DIEBench | [org/repo](https://huggingface.co/org/repo) | "
            "`aaaaaaaaaa` |") in rows[1]
    assert "A demo \\| card" in page and "| top1 | 87.41 | M_val=5 | Table 1 |" in page
    # the pinning paragraph says what is true of these cards: one package model, one pinned Hub model
    assert "checked against the sha256 on their card" in page and "A pinned Hub model" in page and "Not pinned yet" not in page
    card["reported"] = [{"metric": "top1_linear_zagg", "value": 87.41, "setting": "M_val=5", "source": "Table 1"},
                        {"metric": "relative_rotation_r2", "value": 0.71, "setting": "MLP", "source": "Table 1"}]
    card["model"]["backbone_kwargs"] = {"layers": [1, 1, 1, 1], "channels": [16, 32, 64, 128]}
    card["source"]["revision"] = None
    (tmp_path / "resnet18-demo.json").write_text(json.dumps(card))
    page = gen.render(gen.load_cards(tmp_path))
    row = [line for line in page.splitlines() if line.startswith("| `resnet18-demo")][0]
    assert "| narrow ResNet-10 (widths 16/32/64/128) |" in row and "| 87.41 @5 (paper) | 0.71 (paper) |" in row
    assert "| not yet (recorded on first download) |" in row and "Not pinned yet: `resnet18-demo`" in page
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json"):
        gen.load_cards(tmp_path)


def test_model_zoo_check_mode(tmp_path):
    gen = _load(DOCS / "gen_model_zoo.py", "gen_model_zoo_main")
    page = tmp_path / "zoo.md"
    assert gen.main(["--weights-dir", str(tmp_path), "--out", str(page)]) == 0
    assert gen.main(["--weights-dir", str(tmp_path), "--out", str(page), "--check"]) == 0
    page.write_text(page.read_text() + "stale\n")
    assert gen.main(["--weights-dir", str(tmp_path), "--out", str(page), "--check"]) == 1


def test_figure_script_draws_a_small_png(tmp_path):
    figures = _load(DOCS / "figures" / "make_figures.py", "make_figures")
    assert figures.main(["--out-dir", str(tmp_path)]) == 0
    for png in (tmp_path / "token-layout.png", DOCS / "figures" / "token-layout.png"):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 100 * 1024, png


@pytest.mark.slow
def test_api_reference_renders_sphinx_roles_as_links(site):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert re.search(r":(func|class|meth|mod|attr|exc):<code>", html) is None, "raw Sphinx roles left in the API page"
    target = "seqjepa.models.model.SeqJEPA.save_pretrained"  # named by a role in SeqJEPA.push_to_hub's docstring
    assert f'<a href="#{target}"><code>{target}</code></a>' in html
    # load's Returns: the type is SeqJEPA, not the first word of the sentence
    section = html[html.index('id="seqjepa.zoo.factory.load"'):][:20000]
    returns = section[section.index("Returns:"):][:1500]
    assert "SeqJEPA" in returns and "the model, in eval mode" in returns and "<code>A</code>" not in returns
