"""The ``seqjepa`` command. Each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Optional, Sequence

from ..errors import CommandLineError, SeqJEPAError, WeightsNotAvailableError
from ..utils.log import configure_cli_logging
from ..version import __version__

__all__ = ["main", "build_parser", "CommandLineError"]


def _command_modules() -> list[str]:
    """Every module of this package adds its sub-commands through ``register(subparsers)``."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump, exit 2
        raise CommandLineError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seqjepa", description="seq-JEPA models: load, convert, train, evaluate.")
    parser.add_argument("--version", action="version", version=f"seqjepa {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more messages (debug details)")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only: no progress messages or bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _command_modules():
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 bad arguments)."""
    try:
        args = build_parser().parse_args(argv)
        configure_cli_logging(-1 if args.quiet else args.verbose)
        return int(args.func(args) or 0)
    except CommandLineError as exc:
        print(f"seqjepa: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (ValueError, OSError, SeqJEPAError) as exc:
        # a path argument that is missing or of the wrong kind is a bad argument (2); weights that
        # cannot be had, integrity failures and other I/O errors are runtime failures (1)
        bad_argument = (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError)
        status = 2 if isinstance(exc, bad_argument) and not isinstance(exc, WeightsNotAvailableError) else 1
        print(f"seqjepa: error: {_one_line(exc)}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print("seqjepa: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    """The message on one line: whitespace runs (line and record separators too) become one space, and any
    other unprintable character an escape, so an argument echoed in a message cannot break it up."""
    text = " ".join(_cut(word) for word in str(exc).split())
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE // 2] + f" …[{len(text) - _MAX_MESSAGE + _MAX_MESSAGE // 4} characters cut]… " + \
            text[-_MAX_MESSAGE // 4:]
    return text or type(exc).__name__


#: The longest word (a name, a path, a --set value echoed back) and the longest message printed in full.
_MAX_WORD = 200
_MAX_MESSAGE = 2000


def _cut(word: str) -> str:
    """A word of a message, its middle cut when it is longer than _MAX_WORD characters (a 10,000-character
    name or a 100 KB value is not worth a screenful; its start and end identify it)."""
    if len(word) <= _MAX_WORD:
        return word
    return f"{word[:120]}…[{len(word) - 180} characters]…{word[-60:]}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
