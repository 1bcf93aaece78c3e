"""What importing seqjepa does to the interpreter, and what its names mean: ``import seqjepa`` (or any of its
modules) installs no import hook, and no subpackage shares its name with a function, so that
``seqjepa.x`` means one thing whichever import ran first."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seqjepa"


def _module_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts and p.name != "__main__.py"]


def test_importing_seqjepa_and_all_its_modules_leaves_sys_meta_path_alone():
    # a fresh interpreter: the test session has imported seqjepa long before this test runs
    code = (
        "import importlib, json, pkgutil, sys\n"
        # the dependencies first: an old setuptools adds its vendoring finders when torchvision.datasets
        # imports it, which is no doing of seqjepa's
        "import torch, torchvision.datasets, timm, huggingface_hub, safetensors.torch, PIL.Image\n"
        "before = list(sys.meta_path)\n"
        "import seqjepa\n"
        "names = [m.name for m in pkgutil.walk_packages(seqjepa.__path__, 'seqjepa.') if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({'imported': len(names) + 1, 'before': [repr(f) for f in before],\n"
        "                  'after': [repr(f) for f in sys.meta_path], 'same': sys.meta_path == before}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["imported"] == len(_module_files()), "pkgutil did not walk every module of seqjepa/"
    assert result["same"], f"sys.meta_path was {result['before']}, is {result['after']}"


def name_clashes(modules: dict[str, ModuleType]) -> list[str]:
    """``module.name`` for every function bound in one of ``modules`` under the name of a subpackage, and
    ``package.sub`` for every subpackage its parent's attribute does not lead to."""
    subpackages = {name for name, mod in modules.items() if hasattr(mod, "__path__") and "." in name}
    short = {name.rpartition(".")[2] for name in subpackages}
    found = []
    for name, mod in sorted(modules.items()):
        for attr, value in sorted(vars(mod).items()):
            if attr in short and (inspect.isroutine(value) or isinstance(value, functools.partial)):
                found.append(f"{name}.{attr}")
    for name in sorted(subpackages):
        parent, _, child = name.rpartition(".")
        if parent in modules and getattr(modules[parent], child, None) is not modules[name]:
            found.append(name)
    return found


def test_the_clash_finder_finds_a_function_named_like_a_subpackage():
    root, sub = ModuleType("pkg"), ModuleType("pkg.thing")
    root.__path__, sub.__path__ = [], []

    def thing():
        pass

    root.thing = sub
    assert name_clashes({"pkg": root, "pkg.thing": sub}) == []
    root.thing = thing  # the function imported over the subpackage's name
    assert name_clashes({"pkg": root, "pkg.thing": sub}) == ["pkg.thing", "pkg.thing"]


def test_no_subpackage_shares_its_name_with_a_function():
    import seqjepa

    names = [m.name for m in pkgutil.walk_packages(seqjepa.__path__, "seqjepa.") if not m.name.endswith("__main__")]
    modules = {"seqjepa": seqjepa, **{name: importlib.import_module(name) for name in names}}
    assert len(modules) == len(_module_files())
    assert {"seqjepa.features", "seqjepa.eval", "seqjepa.train"} <= set(modules)
    assert name_clashes(modules) == []


def test_every_name_in_a_modules_all_exists():
    # `from seqjepa.x import *` fails on a name __all__ promises and the module lacks
    missing = []
    for info in pkgutil.walk_packages([str(PACKAGE)], "seqjepa."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        missing += [f"{info.name}.{name}" for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
    assert not missing
