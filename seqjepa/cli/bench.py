"""``seqjepa bench [NAME...] [--quick]``: run the benchmark scripts and collect their SUMMARY lines.

Every ``benchmarks/bench_<name>.py`` is discovered and run in its own interpreter (so thread
settings, imports and memory of one benchmark cannot leak into the next); its output streams
through, and a table of the SUMMARY lines closes the run. The benchmarks live in a source
checkout and the sdist, not in the wheel: ``--dir`` points at them when running from elsewhere.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

_SUMMARY = re.compile(r"^SUMMARY (?P<name>\S+): (?P<text>.*)$")


#: Where the scripts come from when the package was installed from a wheel (said by every message that misses them).
WHERE_FROM = (
    "benchmarks/ comes with a seqjepa source checkout or the sdist, not with the installed wheel: get the sdist with "
    "`pip download seqjepa --no-deps --no-binary :all:` and unpack it (or clone the repository), then run "
    "`seqjepa bench` inside it or `seqjepa bench --dir PATH/benchmarks`"
)


def default_directory() -> Optional[Path]:
    """``benchmarks/`` beside the ``seqjepa`` package (an editable install of a checkout or an unpacked sdist),
    else ``./benchmarks`` when the working directory is such a tree; ``None`` when neither has one."""
    for candidate in (Path(__file__).resolve().parents[2] / "benchmarks", Path.cwd() / "benchmarks"):
        if candidate.is_dir() and any(candidate.glob("bench_*.py")):
            return candidate
    return None


def discover(directory: Optional[Path]) -> dict[str, Path]:
    """name -> script for every ``bench_<name>.py`` in ``directory`` (``None``: the default one, which is missing)."""
    if directory is None:
        raise FileNotFoundError(f"seqjepa bench: no benchmarks/ beside the installed package or in the working directory; {WHERE_FROM}")
    if not directory.is_dir():
        raise FileNotFoundError(f"--dir: benchmark directory {directory} not found; {WHERE_FROM}")
    return {p.stem[len("bench_"):]: p for p in sorted(directory.glob("bench_*.py"))}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmarks of a source checkout or the sdist (ratios against same-run baselines)",
                       description="Run the scripts in benchmarks/ of a seqjepa source checkout or unpacked sdist (they are not part of the installed wheel): each reports ratios against a baseline measured in the same run. Outside such a tree, point --dir at its benchmarks/. " + WHERE_FROM + ".")
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all); e.g. extract load")
    p.add_argument("--quick", action="store_true", help="tiny models and few repeats: a smoke run, not a measurement")
    p.add_argument("--threads", type=int, default=None, help="torch threads inside each benchmark (default: theirs, 1)")
    p.add_argument("--dir", type=Path, default=None,
                   help="directory holding bench_*.py (default: benchmarks/ of the checkout seqjepa runs from, else ./benchmarks)")
    p.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed (default: only on a crash)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scripts = discover(args.dir or default_directory())
    if args.list:
        for name, path in scripts.items():
            print(f"{name}\t{path}")
        return 0
    unknown = [n for n in args.names if n not in scripts]
    if unknown:
        raise ValueError(f"NAME: unknown benchmark(s) {', '.join(unknown)}; found: {', '.join(scripts) or 'none'}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {args.threads}")
    chosen = args.names or list(scripts)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    results: list[tuple[str, str, float]] = []
    crashed = missed = 0
    for name in chosen:
        cmd = [sys.executable, str(scripts[name])]
        if args.quick:
            cmd.append("--quick")
        if args.threads is not None:
            cmd += ["--threads", str(args.threads)]
        print(f"=== {name}: {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        summary = None
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            match = _SUMMARY.match(line.strip())
            if match:
                summary = match.group("text")
        status = proc.wait()
        elapsed = time.perf_counter() - start
        if status != 0 or summary is None:
            crashed += 1
            summary = f"CRASHED (exit status {status})" if status != 0 else "NO SUMMARY LINE"
        elif " FAIL" in summary:
            missed += 1
        results.append((name, summary, elapsed))
    print("\n=== summary" + (" (--quick: smoke run, ratios mean nothing)" if args.quick else ""))
    width = max(len(n) for n, _, _ in results)
    for name, summary, elapsed in results:
        print(f"{name.ljust(width)}  {summary}  ({elapsed:.0f} s)")
    if crashed:
        return 1
    return 1 if (args.strict and missed) else 0
