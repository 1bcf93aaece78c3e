"""Shared timing harness for the benchmark scripts (not a benchmark itself: no ``bench_`` prefix).

Every figure is a ratio against a baseline measured in the same process, because the machines
these run on are shared and noisy. Baseline and candidate repeats are interleaved (A B A B ...)
after warm-up so that slow drift hits both alike, and the median of the repeats is reported.

Each benchmark prints one table and ends with one line the runner parses::

    SUMMARY <name>: ratio=1.93x (target >= 1.80x) PASS [what the ratio compares]

When a benchmark has several checks, the SUMMARY line shows the first (primary) check, or the
first failing one if any fails; the benchmark passes only if every check passes. ``--quick``
runs are smoke runs on tiny models: their ratios are marked ``quick`` and mean nothing.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

__all__ = [
    "Check",
    "hardware_info",
    "print_hardware",
    "set_threads",
    "interleaved_times",
    "median",
    "format_table",
    "summary_line",
    "add_common_args",
]


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def set_threads(threads: int) -> int:
    """Fix torch's intra-op thread count (reported with every result); returns it."""
    import torch

    if threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {threads}")
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def hardware_info() -> dict[str, str]:
    """What the numbers were measured on: CPU model, cores, ISA, torch version and threads."""
    import torch

    flags = cpu_flags()
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    info = {
        "cpu": cpu_model(),
        "logical cores": str(os.cpu_count()),
        "cpu flags": ", ".join(isa) or "n/a",
        "torch": torch.__version__,
        "torch cpu capability": torch.backends.cpu.get_cpu_capability(),
        "torch threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["load average (1 min)"] = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        pass
    return info


def print_hardware(extra: Optional[Mapping[str, object]] = None) -> None:
    info = hardware_info()
    if extra:
        info.update({k: str(v) for k, v in extra.items()})
    width = max(len(k) for k in info)
    print("hardware / settings:")
    for key, value in info.items():
        print(f"  {key.ljust(width)}  {value}")


def interleaved_times(
    fns: Mapping[str, Callable[[], object]], *, repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds per call of each function, repeats interleaved round-robin after ``warmup`` calls of each.

    The order inside each round alternates (forward, then reversed) so that neither function
    always runs right after the other.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected >= 0, got {warmup}")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (pastes straight into docs/benchmarks.md)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


@dataclass
class Check:
    """One target: ``value`` compared with ``target`` by ``op`` (">=" or "<=")."""

    label: str
    value: float
    op: str
    target: float
    unit: str = "x"
    digits: int = 2

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"op: expected '>=' or '<=', got {self.op!r}")

    @property
    def passed(self) -> bool:
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    def text(self) -> str:
        metric = "ratio" if self.unit == "x" else "value"
        d = self.digits
        return (
            f"{metric}={self.value:.{d}f}{self.unit} (target {self.op} {self.target:.{d}f}{self.unit}) "
            f"{'PASS' if self.passed else 'FAIL'}"
        )


def summary_line(name: str, checks: Sequence[Check], *, quick: bool = False) -> str:
    """The final line: the primary (first) check, or the first failing one; how many checks pass."""
    if not checks:
        raise ValueError("checks: expected at least one check")
    failing = [c for c in checks if not c.passed]
    shown = failing[0] if failing else checks[0]
    passed = len(checks) - len(failing)
    note = "; quick: smoke run, not a measurement" if quick else ""
    return f"SUMMARY {name}: {shown.text()} [{shown.label}; {passed}/{len(checks)} checks pass{note}]"


def print_checks(checks: Sequence[Check]) -> None:
    for c in checks:
        print(f"CHECK {c.label}: {c.text()}")


def add_common_args(parser, *, repeats: int) -> None:
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (a smoke run, not a measurement)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: the CPU is shared)")
    parser.add_argument("--repeats", type=int, default=repeats, help=f"timed repeats per variant (default {repeats})")
