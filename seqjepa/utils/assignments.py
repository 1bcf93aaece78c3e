"""``KEY=VALUE`` assignments from the command line (``--set``), parsed in one place.

Both ``seqjepa convert --set FIELD=VALUE`` and the training recipes' ``--set SECTION.KEY=VALUE`` go
through :func:`parse_assignment`, so they accept the same values and fail with the same kind of
message: ``--set 'ITEM': what is wrong`` (a :class:`ValueError`, which the command line reports as
one line and exit status 2).

VALUE is read as strict JSON (``4``, ``0.5``, ``true``, ``null``, ``[0.9, 0.999]``, ``{"a": 1}``,
``"text"``); anything that is not JSON is taken as a string (``--set optim.schedule=paper``).
``NaN``, ``Infinity`` and ``-Infinity`` are not JSON numbers: they stay strings, so a field that
wants a number refuses them by name instead of receiving a non-finite float.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

__all__ = ["parse_assignment", "parse_assignments", "parse_value"]

#: Deeper JSON than this is refused (Python's parser would raise RecursionError near 1000).
MAX_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _depth(value: Any) -> int:
    depth, layer = 0, [value]
    while layer:
        nxt: list[Any] = []
        for v in layer:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        if not nxt:
            return depth
        depth += 1
        layer = nxt
    return depth


def parse_value(text: str) -> Any:
    """``text`` as strict JSON, or the string itself if it is not JSON.

    Raises:
        ValueError: JSON nested more than :data:`MAX_DEPTH` levels.
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # JSONDecodeError, and the refused NaN/Infinity constants
        return text
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} levels deep")
    return value


def parse_assignment(item: str, *, form: str = "KEY=VALUE", option: str = "--set", dotted: bool = False) -> tuple[str, Any]:
    """Split ``KEY=VALUE`` and parse the value (:func:`parse_value`).

    Args:
        item: the argument as given.
        form: how the option's argument is spelled in the help (``FIELD=VALUE``, ``SECTION.KEY=VALUE``).
        option: the option's name, for the message.
        dotted: KEY must be at least two non-empty dot-separated names (``section.key``).

    Raises:
        ValueError: ``--set 'ITEM': ...`` naming what is wrong.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or not all(parts) or (dotted and len(parts) < 2) or any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError(f"{option} {item!r}: expected {form} (VALUE is JSON, or else a string)")
    try:
        return key, parse_value(raw)
    except ValueError as exc:
        raise ValueError(f"{option} {item!r}: {exc}") from None


def parse_assignments(items: Iterable[str], **kwargs: Any) -> list[tuple[str, Any]]:
    """:func:`parse_assignment` over each item, in order (a later assignment of a key wins where applied)."""
    return [parse_assignment(item, **kwargs) for item in items]
