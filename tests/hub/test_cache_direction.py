"""The resolver asks the cache; the cache never asks back.

``seqjepa.zoo._resolve`` reads what the cache knows about a name with one call,
``_cache.lookup``, and writes through ``_cache.claim`` / ``store``. These tests fail if the cache
module imports the resolver (even inside a function), if any resolver code runs while a cache
function is on the stack (a callback), or if a resolution reads the cache more than once.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import seqjepa
from seqjepa.zoo import _cache, _resolve
from tests.architecture.test_imports import import_graph, reachable

from .conftest import OURS_REPO

CACHE_FILE = Path(_cache.__file__).resolve()
RESOLVE_FILE = Path(_resolve.__file__).resolve()
ZOO_DIR = CACHE_FILE.parent


def test_the_cache_module_reaches_no_other_zoo_module():
    reach = reachable(import_graph(), "seqjepa.zoo._cache")
    assert "seqjepa.zoo._resolve" not in reach
    assert not {m for m in reach if m.startswith("seqjepa.zoo")}, sorted(reach)


def _walk(name: str) -> tuple[list[str], list[str]]:
    """Load ``name``; return (cache functions the resolver called, resolver functions run under a cache frame)."""
    asked, callbacks = [], []
    files: dict[str, Path] = {}

    def where(code) -> Path:
        if code.co_filename not in files:
            files[code.co_filename] = Path(code.co_filename).resolve()
        return files[code.co_filename]

    def profile(frame, event, arg):
        if event != "call":
            return
        here = where(frame.f_code)
        if here == CACHE_FILE:
            caller = frame.f_back
            while caller is not None and where(caller.f_code).parent != ZOO_DIR:
                caller = caller.f_back  # contextlib and the like stand between a `with` and its generator
            if caller is not None and where(caller.f_code) == RESOLVE_FILE and frame.f_code.co_name != "<genexpr>":
                asked.append(frame.f_code.co_name)
        elif here == RESOLVE_FILE:
            outer = frame.f_back
            while outer is not None:
                if where(outer.f_code) == CACHE_FILE:
                    callbacks.append(frame.f_code.co_name)
                    break
                outer = outer.f_back

    sys.setprofile(profile)
    try:
        seqjepa.load(name)
    finally:
        sys.setprofile(None)
    return asked, callbacks


@pytest.mark.parametrize("name", ["toy-official", f"hf-hub:{OURS_REPO}"])
def test_the_resolver_asks_the_cache_once_and_is_never_called_back(zoo, name):
    asked, callbacks = _walk(name)  # first load: download (and convert), then write the record
    assert callbacks == []
    assert asked.count("lookup") == 1, asked
    assert set(asked) <= {"lookup", "claim", "store"}, asked
    assert "store" in asked  # the record was written

    asked, callbacks = _walk(name)  # again: everything comes from the one lookup
    assert callbacks == []
    assert asked == ["lookup"]


def test_the_walk_sees_a_second_question_and_a_callback(zoo, monkeypatch):
    """The checks above can fail: a resolver that reads the record again, or a cache that calls back, is seen."""
    real_lookup = _cache.lookup

    def asks_twice(*args, **kwargs):
        _cache.read_record(Path("/nonexistent"), "x", None)
        return real_lookup(*args, **kwargs)

    monkeypatch.setattr(_resolve.hc, "lookup", asks_twice)
    asked, _ = _walk("toy-official")
    assert asked[:2] == ["read_record", "lookup"]  # the wrapper is not in the zoo: the resolver is its caller
    monkeypatch.setattr(_resolve.hc, "lookup", real_lookup)

    monkeypatch.setattr(_cache, "offline_mode", lambda local_files_only=None: _resolve.match_pattern("*", ["a"], what="x") and False)
    _, callbacks = _walk(f"hf-hub:{OURS_REPO}")
    assert callbacks[0] == "match_pattern"
