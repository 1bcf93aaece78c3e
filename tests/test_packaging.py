"""The wheel carries everything a user needs offline: registry cards, the default weights, recipes, demo assets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set:
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    # a checkout as users have it (weights/ and examples/assets/ are mapped into the package by pyproject.toml)
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", "site", ".pytest_cache", "tests", "docs"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "w")],
        cwd=src, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp / "w").glob("seqjepa-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.mark.slow
def test_every_card_and_package_weight_is_in_the_wheel(wheel_names):
    cards = sorted(p.name for p in (REPO / "weights").glob("*.json"))
    assert cards, "weights/ has no cards"
    for name in cards:
        assert f"seqjepa/weights/{name}" in wheel_names, name
        card = json.loads((REPO / "weights" / name).read_text())
        if card["source"]["kind"] == "package":
            assert f"seqjepa/weights/{card['source']['filename']}" in wheel_names


@pytest.mark.slow
def test_recipes_assets_and_cli_are_in_the_wheel(wheel_names):
    recipes = sorted(p.name for p in (REPO / "seqjepa" / "train" / "recipes").glob("*.json"))
    assert recipes and all(f"seqjepa/train/recipes/{r}" in wheel_names for r in recipes)
    assert "seqjepa/assets/example.json" in wheel_names
    assert any(n.endswith("entry_points.txt") for n in wheel_names)


def test_the_package_list_names_every_package_in_the_tree():
    """pyproject.toml lists the packages by hand (two are mapped folders): a new subpackage must be added there."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    in_tree = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "seqjepa").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert in_tree <= listed, f"add to [tool.setuptools] packages: {sorted(in_tree - listed)}"
    assert listed - in_tree == {"seqjepa.weights", "seqjepa.assets"}


def test_no_symlinks_in_the_package():
    links = [p for p in (REPO / "seqjepa").rglob("*") if p.is_symlink()]
    assert links == [], "package data comes from the top-level folders through pyproject.toml, not links"


def test_the_floors_stage_pins_exactly_the_declared_floors():
    """.ci/floors.txt is what CI installs to prove the floors; it must not drift from pyproject.toml."""
    tomllib = pytest.importorskip("tomllib")
    floors = {}
    for req in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        name, _, rest = req.partition(">=")
        if rest:
            floors[name.strip().lower()] = rest.split(",")[0].strip()
    pins = {}
    for line in (REPO / ".ci" / "floors.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    untested = {"torch", "torchvision"}  # installed as the main stage installs them (the only builds here)
    assert {k: v for k, v in floors.items() if k not in untested} == pins
