"""JSON from a user's file read as it must be: every failure one short reason, and JSON Lines one object a line."""

from __future__ import annotations

import json
from typing import Any, Iterator

__all__ = ["parse_json", "iter_json_objects"]


def parse_json(text: str) -> Any:
    """``json.loads(text)``, with every way it fails as a ``ValueError`` holding a short reason.

    Besides invalid JSON, Python's parser fails with a ``RecursionError`` on deep nesting (a few thousand
    brackets) and a plain ``ValueError`` on an integer of more digits than it converts; both are reported
    without the parser's traceback.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ValueError(str(exc)[:100]) from None


def iter_json_objects(text: str, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of ``text``, numbered from 1.

    A line that :func:`parse_json` refuses, or that is not a JSON object, raises a ``ValueError`` that starts
    with ``"{where} line {n}: "``.
    """
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{where} line {lineno}"
        try:
            obj = parse_json(line)
        except ValueError as exc:
            raise ValueError(f"{at}: not valid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{at}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj
