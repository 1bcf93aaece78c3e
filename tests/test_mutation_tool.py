"""tools/mutation.py's bookkeeping (mutmut itself is not needed): survivors' verdicts and the committed results."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import load_module

TOOLS = Path(__file__).resolve().parents[1] / "tools"
mutation = load_module(TOOLS / "mutation.py", "seqjepa_mutation_tool")

DIFF = """--- seqjepa/x.py
+++ seqjepa/x.py
@@ -1,3 +1,3 @@
 def f(a):
-    return a + 1
+    return a - 1
"""


def test_a_reason_counts_only_for_the_mutation_it_was_written_for():
    survivor = {"status": "survived", "diff": DIFF}
    moved = DIFF.replace("@@ -1,3 +1,3 @@", "@@ -4,3 +4,3 @@")  # the same mutation elsewhere in the file
    other = DIFF.replace("a - 1", "a * 1")
    assert mutation._reason("m", survivor, {}, {"m": {"reason": "why", "diff": moved}}) == ("why", "equivalent")
    text, verdict = mutation._reason("m", survivor, {}, {"m": {"reason": "why", "diff": other}})
    assert verdict == "unexplained" and text.startswith("STALE")
    assert mutation._reason("m", survivor, {}, {}) == ("UNEXPLAINED", "unexplained")
    planted = {"m": {"outcome": "killed", "tests": ["t.py"], "failed": ["t.py::test_x"]}}
    text, verdict = mutation._reason("m", survivor, planted, {})
    assert verdict == "planted" and "t.py::test_x" in text
    assert mutation._reason("m", survivor, {"m": {"outcome": "survived (pytest exit 0)"}}, {}) == ("UNEXPLAINED", "unexplained")


def test_the_committed_results_leave_no_survivor_unexplained(tmp_path, monkeypatch):
    """The report written from tools/mutation-results and tools/mutation_equivalent.json has no UNEXPLAINED or
    STALE survivor, and covers every module of the tool."""
    monkeypatch.setattr(mutation, "WORK", tmp_path / "no-scratch")  # read only what is committed
    report = tmp_path / "report.md"
    mutation.write_report(report)
    text = report.read_text()
    assert "UNEXPLAINED" not in text.split("## ", 1)[1] and "STALE" not in text
    for key in mutation.MODULES:
        results = json.loads((TOOLS / "mutation-results" / f"{key}.json").read_text())
        assert results["module"] == key and sum(results["counts"].values()) > 0
        row = next(line for line in text.splitlines() if line.startswith(f"| {key} |"))
        assert row.split(" | ")[-2] == "0", row  # the unexplained column


def test_every_planted_defect_still_finds_its_source_text():
    """tools/planted_defects.py edits the current source; a defect whose text moved would plant nothing."""
    planted = load_module(TOOLS / "planted_defects.py", "seqjepa_planted_defects_tool")
    repo = TOOLS.parent
    assert len(planted.DEFECTS) >= 8
    for d in planted.DEFECTS:
        assert (repo / d.path).read_text().count(d.old) == 1, d.name
        assert d.new != d.old and all((repo / t).is_file() for t in d.tests), d.name
