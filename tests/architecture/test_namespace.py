"""What importing seqjepa does to the interpreter, and what its names mean: ``import seqjepa`` (or any of its
modules) installs no import hook, and no subpackage shares its name with a function, so that
``seqjepa.x`` means one thing whichever import ran first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seqjepa"


def _module_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts and p.name != "__main__.py"]


def test_importing_seqjepa_and_all_its_modules_leaves_sys_meta_path_alone():
    # a fresh interpreter: the test session has imported seqjepa long before this test runs
    code = (
        "import importlib, json, pkgutil, sys\n"
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
