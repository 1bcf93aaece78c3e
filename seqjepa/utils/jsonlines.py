"""JSON Lines read as a user's file must be: one object a line, each refusal naming the line."""

from __future__ import annotations

import json
from typing import Any, Iterator

__all__ = ["iter_json_objects"]


def iter_json_objects(text: str, where: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of ``text``, numbered from 1.

    A line that is not JSON, is nested too deeply for Python's parser, holds a number Python will not convert,
    or is not a JSON object raises a ``ValueError`` that starts with ``"{where} line {n}: "``.
    """
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{where} line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{at}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise ValueError(f"{at}: JSON nested too deeply to be a line of this file") from None
        except ValueError as exc:  # e.g. an integer of more digits than Python converts
            raise ValueError(f"{at}: not valid JSON ({str(exc)[:100]})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{at}: expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj
