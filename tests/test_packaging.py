"""The wheel carries everything a user needs offline: registry cards, the default weights, recipes, demo assets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_NOT_SOURCE = (".git", ".venv", ".venv-floors", "__pycache__", "build", "dist", "*.egg-info", "site", ".pytest_cache",
               ".mutation", "runs")


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


@pytest.mark.slow
def test_the_wheel_carries_the_demo_data_not_its_generator(wheel_names):
    assert {"seqjepa/assets/view_0.jpg", "seqjepa/assets/example.json"} <= wheel_names
    assert [n for n in wheel_names if n.startswith("seqjepa/assets/") and n.endswith(".py")] == []
    assert any(n.endswith("licenses/LICENSE") for n in wheel_names)


@pytest.fixture(scope="module")
def sdist_names(tmp_path_factory) -> set:
    pytest.importorskip("build")
    tmp = tmp_path_factory.mktemp("sdist")
    src = tmp / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check", "-o", str(tmp / "d"), "."],
        cwd=src, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = (tmp / "d").glob("seqjepa-*.tar.gz")
    with tarfile.open(sdist) as tf:
        return {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}


def _tree(*patterns: str) -> set:
    out = set()
    for pattern in patterns:
        for p in REPO.glob(pattern):
            rel = p.relative_to(REPO)
            if p.is_file() and not any(part in ("__pycache__", ".pytest_cache") or part.endswith(".pyc") for part in rel.parts):
                out.add(rel.as_posix())
    return out


@pytest.mark.slow
def test_the_sdist_carries_what_distributions_build_and_test_from(sdist_names):
    """Distributions and conda-forge run the test suite from the sdist: all of it, with the files it reads."""
    expected = _tree("tests/**/*", "docs/**/*", "benchmarks/**/*", "examples/*.py", "examples/*.sh", "tools/**/*")
    expected |= {"CHANGELOG.md", "LICENSE", "README.md", "mkdocs.yml", ".ci/floors.txt", "tests/conftest.py"}
    assert {n for n in expected if "/fixtures/" in n}, "tests/fixtures is empty?"
    missing = sorted(expected - sdist_names)
    assert missing == [], f"MANIFEST.in leaves out: {missing[:20]}"
    assert any(n.startswith("tests/") and n.count("/") >= 2 for n in sdist_names)  # test subfolders too


def test_the_package_list_names_every_package_in_the_tree():
    """pyproject.toml lists the packages by hand (two are mapped folders): a new subpackage must be added there."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    in_tree = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "seqjepa").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert in_tree <= listed, f"add to [tool.setuptools] packages: {sorted(in_tree - listed)}"
    # data-only folders (no __init__.py): listed so that setuptools ships and does not warn about them
    assert listed - in_tree == {"seqjepa.weights", "seqjepa.assets", "seqjepa.train.recipes"}


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
    assert floors == pins
    assert {"torch", "torchvision"} <= set(pins)  # the floors stage installs the lowest torch too


def test_torch_is_not_capped_below_the_newest_release():
    """Installing seqjepa must not replace a user's newer torch: no upper bound on torch or torchvision."""
    tomllib = pytest.importorskip("tomllib")
    deps = {req.split(">=")[0].split("<")[0].strip(): req for req in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert "<" not in deps["torch"] and "<" not in deps["torchvision"], deps


def test_ci_runs_exactly_the_readme_commands():
    """.ci/run is the README's install-and-test commands, verbatim: what CI proves is what users type."""
    readme = (REPO / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```bash\n")[1:]]
    readme_lines = {line.strip() for block in blocks for line in block.splitlines() if line.strip()}
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip().startswith("python3 -m venv")]
    assert len(ci) == 2 and all(line in readme_lines for line in ci), ci
    assert any("--index-url https://download.pytorch.org/whl/cpu torch torchvision" in line for line in readme_lines)
