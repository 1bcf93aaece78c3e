"""No function or method in seqjepa/ is longer than :data:`LIMIT` lines, its docstring not counted.

A function that long does several jobs; split it into named phases. Lengths are read from the
source with ``ast``: from the ``def`` line to the function's last line, nested functions and
classes included, less the lines of its docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "seqjepa"
LIMIT = 120


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def function_lengths(source: str) -> Iterator[tuple[str, int, int]]:
    """(qualified name, line of its ``def``, length without the docstring) of every function in ``source``."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                yield name, child.lineno, child.end_lineno - child.lineno + 1 - _docstring_lines(child)
                yield from walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(source), "")


def test_the_measure_counts_code_not_docstrings():
    doc = ['        """A docstring', *["        of many lines"] * 30, '        """']
    long = ["    def long(self):", *doc, *[f"        x{i} = {i}" for i in range(LIMIT)]]
    short = ["    def short(self):", *doc, "        pass"]
    found = {name: (line, length) for name, line, length in function_lengths("\n".join(["class A:", *long, *short]))}
    assert found == {"A.long": (2, LIMIT + 1), "A.short": (2 + len(long), 2)}  # the def line counts, the docstring not
    nested = "def outer():\n    def inner():\n        return 1\n    return inner\n"
    assert [(n, length) for n, _, length in function_lengths(nested)] == [("outer", 4), ("outer.inner", 2)]


def test_no_function_in_seqjepa_is_longer_than_the_limit():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        for name, line, length in function_lengths(path.read_text(encoding="utf-8")):
            if length > LIMIT:
                offenders.append(f"{path.relative_to(ROOT)}:{line} {name}: {length} lines")
    assert not offenders, f"longer than {LIMIT} lines without the docstring (split into named phases):\n" + "\n".join(offenders)
