"""The package's shape: no import cycle among seqjepa modules, the layers of seqjepa/ respected,
and no import of a package that pyproject.toml does not declare.

Imports are read from the source with ``ast``, inside functions too. ``if TYPE_CHECKING:`` blocks
are left out (they never run). Importing ``seqjepa.a.b`` from outside ``seqjepa.a`` also runs
``seqjepa/a/__init__.py``, so that counts as an edge; the root package ``seqjepa/__init__.py``
only re-exports and is loaded before any of its modules, so edges to it are not counted, and
neither is a module's edge to its own package (``from . import sibling``), which is already loading.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seqjepa"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for stmt in child.orelse for n in [stmt, *_walk_runtime(stmt)])
            continue
        yield child
        yield from _walk_runtime(child)


def imported_names(name: str, path: Path) -> Iterator[tuple[str, Optional[str]]]:
    """(module, imported attribute or None) for every runtime import statement, relative ones resolved."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name in graph:
        own_package = name if modules[name].name == "__init__.py" else name.rpartition(".")[0]
        for target, attr in imported_names(name, modules[name]):
            candidates = [target] + ([f"{target}.{attr}"] if attr else [])
            for cand in candidates:
                if cand not in modules:
                    continue
                if own_package == cand or own_package.startswith(cand + "."):
                    continue  # `from . import sibling`: the importer's own package is already being loaded
                graph[name].add(cand)
                # the packages between the root and the target run their __init__ when entered from outside
                parts = cand.split(".")
                for i in range(2, len(parts)):
                    parent = ".".join(parts[:i])
                    if not own_package.startswith(parent):
                        graph[name].add(parent)
    for edges in graph.values():
        edges.discard("seqjepa")
    return graph


def find_cycle(graph: dict[str, set[str]]) -> Optional[list[str]]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Optional[list[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_graph_reader_sees_imports_inside_functions_and_skips_type_checking(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .hidden import X\n"
        "def f():\n    from ..zoo import factory\n    import seqjepa.data\n"
    )
    found = set(imported_names("seqjepa.models.m", src))
    assert ("seqjepa.zoo", "factory") in found and ("seqjepa.data", None) in found
    assert not any(t.endswith("hidden") for t, _ in found)


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_seqjepa_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_models_know_nothing_of_files_datasets_or_tasks():
    graph = import_graph()
    forbidden = ("seqjepa.data", "seqjepa.train", "seqjepa.eval", "seqjepa.demo", "seqjepa.cli",
                 "seqjepa.zoo.factory", "seqjepa.zoo.publish", "seqjepa.probes")
    for name in graph:
        if name.startswith("seqjepa.models"):
            bad = sorted(t for t in graph[name] if t.startswith(forbidden))
            assert not bad, f"{name} imports {bad}"


def test_probes_stand_below_training_and_evaluation():
    """train/ and eval/ share the probes, so the probes import neither of them (nor anything above the model)."""
    graph = import_graph()
    probes = [name for name in graph if name.startswith("seqjepa.probes")]
    assert {"seqjepa.probes.online", "seqjepa.probes.offline"} <= set(probes)
    above = ("seqjepa.data", "seqjepa.train", "seqjepa.eval", "seqjepa.demo", "seqjepa.cli", "seqjepa.zoo",
             "seqjepa.features", "seqjepa.world")
    for name in probes:
        bad = sorted(t for t in reachable(graph, name) if t.startswith(above))
        assert not bad, f"{name} reaches {bad}"


def test_world_queries_sit_on_the_models_alone():
    """seqjepa.world uses the model's public methods: nothing of data, train, eval, features, demo, cli or the zoo."""
    graph = import_graph()
    assert any(name.startswith("seqjepa.world") for name in graph)
    forbidden = ("seqjepa.data", "seqjepa.train", "seqjepa.eval", "seqjepa.features", "seqjepa.probes",
                 "seqjepa.demo", "seqjepa.cli", "seqjepa.zoo")
    for name in graph:
        if name.startswith("seqjepa.world"):
            bad = sorted(t for t in reachable(graph, name) if t.startswith(forbidden))
            assert not bad, f"{name} reaches {bad}"


def test_resolution_never_reaches_the_factory_or_the_model_class():
    graph = import_graph()
    # every private zoo module is below the front door: the model's own methods call them with its class
    lower_modules = sorted(m for m in graph if m.startswith("seqjepa.zoo._"))
    assert {"seqjepa.zoo._resolve", "seqjepa.zoo._loading", "seqjepa.zoo._cache", "seqjepa.zoo._serialization",
            "seqjepa.zoo._upload", "seqjepa.zoo._convert_official", "seqjepa.zoo._verify"} <= set(lower_modules)
    for lower in (*lower_modules, "seqjepa.zoo.registry"):
        reach = reachable(graph, lower)
        assert not reach & {"seqjepa.zoo.factory", "seqjepa.zoo.publish", "seqjepa.models.model"}, lower


# --------------------------------------------------------------------------- declared dependencies
#: import name -> distribution, for the packages pyproject.toml declares (core or an extra)
_IMPORT_TO_DIST = {"PIL": "pillow", "huggingface_hub": "huggingface_hub", "torch": "torch", "torchvision": "torchvision",
                   "timm": "timm", "safetensors": "safetensors", "numpy": "numpy", "filelock": "filelock",
                   "tqdm": "tqdm", "matplotlib": "matplotlib", "tensorboard": "tensorboard",
                   "scipy": "scipy", "sklearn": "scikit-learn"}


def _declared() -> tuple[set[str], set[str]]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def dist(req: str) -> str:
        for sep in "<>=!~[; ":
            req = req.split(sep)[0]
        return req.strip().lower().replace("-", "_")

    core = {dist(r) for r in project["dependencies"]}
    extras = {dist(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    return core, extras


def test_every_import_is_the_standard_library_seqjepa_or_declared():
    core, extras = _declared()
    problems = []
    for name, path in all_modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node in _walk_runtime(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            for root in roots:
                if root == "seqjepa" or root in sys.stdlib_module_names:
                    continue
                dist = _IMPORT_TO_DIST.get(root, root).lower().replace("-", "_")
                if dist in core:
                    continue
                if dist in extras and id(node) not in top_level:
                    continue  # an optional extra, imported where it is used
                problems.append(f"{name}: imports {root!r}, which pyproject.toml does not declare"
                                + (" (an extra: import it inside the function that needs it)" if dist in extras else ""))
    assert not problems, "\n".join(problems)


def test_import_seqjepa_loads_the_library_not_the_trainer_or_the_tools():
    # like open_clip: the training code stays apart, and `seqjepa.load_finetuned` imports it on first use
    code = ("import json, sys, seqjepa\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[:2] in [['seqjepa', p] for p in ('train', 'eval', 'cli', 'demo')])\n"
            "from seqjepa import load_finetuned\n"
            "import seqjepa.train.finetune as ft\n"
            "print(json.dumps({'heavy': heavy, 'same': load_finetuned is ft.load_finetuned}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"heavy": [], "same": True}
