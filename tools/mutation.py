#!/usr/bin/env python
"""Mutation testing of seqjepa's core modules with mutmut (not part of the README's test command).

Each module is mutated on its own, in a scratch copy of the repository (``.mutation/<module>/``,
git-ignored), against a targeted test selection, so one module's run is minutes, not hours, and a
finished module is not run again (rerun the script to resume; ``--force`` reruns). A finished run's
statuses and survivors are kept in ``tools/mutation-results/<module>.json`` (committed), from which
the report (``tools/mutation-report.md`` by default) is written: per module the score and every
surviving mutant, each with the reason recorded in ``tools/mutation_equivalent.json`` (an equivalent
mutant) or flagged ``UNEXPLAINED`` (a missing test: write one that kills it). A reason is pinned to
the mutant's diff: when a rerun numbers the mutants differently, a reason whose diff no longer
matches is reported ``STALE`` and counts as unexplained.

After writing tests for the survivors, ``--retest`` copies the current tests into the scratch copy
and reruns the survivors only (refused if the mutated source changed since the run: that needs
``--force``). A mutant mutmut cannot switch (a closure built at import) is checked with ``--plant``,
which writes the mutant into a clean copy of the source and runs the selection on it.

Install the tool first (it is not a test dependency)::

    pip install "mutmut>=3.3,<4"

Run::

    python tools/mutation.py                      # every module, resumes finished ones
    python tools/mutation.py ema checkpoint       # some modules
    python tools/mutation.py --list               # the modules and their test selections
    python tools/mutation.py --report-only        # rewrite the report from finished runs
    python tools/mutation.py model --only 'seqjepa.models.model.x_ema_update_*'   # some mutants (partial)
    python tools/mutation.py model --retest       # rerun the survivors against the current tests
    python tools/mutation.py actions --plant NAME # plant one mutant in plain source and run the tests

Scores count ``killed`` and ``timeout`` as detected, over all mutants that ran (``skipped`` and
``no tests`` mutants count as survivors: no selected test runs that code).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".mutation"
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
RESULTS = Path(__file__).with_name("mutation-results")

#: module key -> (files to mutate, the tests that are meant to catch their defects), in priority order
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "ema": (["seqjepa/train/ema.py"],
            ["tests/train/test_schedule_recipes.py", "tests/train/test_reference_training.py", "tests/test_model.py"]),
    "three_die_bench": (["seqjepa/data/three_die_bench.py", "seqjepa/data/_contract.py"],
                        ["tests/data/test_three_die_bench.py", "tests/data/test_contract.py"]),
    "serialization": (["seqjepa/zoo/_serialization.py", "seqjepa/zoo/_verify.py"],
                      ["tests/test_io.py", "tests/test_verified_order.py", "tests/test_weights_checks.py",
                       "tests/reliability/test_verified_reads.py",
                       "tests/hub/test_download.py", "tests/hub/test_offline.py"]),
    "checkpoint": (["seqjepa/train/checkpoint.py"],
                   ["tests/train/test_checkpoint_rng.py", "tests/train/test_checkpoint_files.py", "tests/train/test_resume_faults.py",
                    "tests/train/test_run_lock.py",
                    "tests/train/test_reference_training.py", "tests/reliability/test_pickles.py"]),
    "actions": (["seqjepa/models/actions.py"],
                ["tests/data/test_actions.py", "tests/data/test_augmented.py", "tests/test_model.py"]),
    "model": (["seqjepa/models/model.py"],
              ["tests/test_model.py", "tests/test_model_edges.py", "tests/test_official_parity.py",
               "tests/reliability/test_inputs.py"]),
}

#: Lines that hold nothing but error-message or log text are not mutated: their wording is not the
#: behaviour under test (the messages that matter are pinned by ``pytest.raises(..., match=...)``),
#: and mutating every word would triple the run. A line with code besides a message is mutated.
MESSAGE_ONLY_LINES = [
    r"""^\s*[rf]?"([^"\\]|\\.)*"\s*[),]*\s*$""",  # a message's continuation line
    r"""^\s*raise [\w.]+\([rf]?["']""",  # raise SomeError("...": only the text is mutable there
    r"""^\s*(_logger|logger|log|echo|warnings)\.?\w*\(""",  # logging
]

STATUS_BY_EXIT_CODE = {  # mirrors mutmut's table, for the summary
    "killed": "detected", "timeout": "detected", "survived": "survived", "no tests": "survived",
    "skipped": "survived", "suspicious": "survived", "segfault": "detected", "check was interrupted by user": "not run",
    "not checked": "not run", "caught by type check": "detected",
}


def _copy_repo(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mutation", "mutants", ".venv*", "site", "build", "dist")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("seqjepa", "tests", "weights", "examples", "docs", "benchmarks"):
        if (REPO / name).exists() and not (dest / name).exists():
            shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "mkdocs.yml", "hubconf.py"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)


def _setup_cfg(files: list[str], tests: list[str]) -> str:
    def lines(items):
        return "\n".join(f"    {x}" for x in items)

    return (
        "[mutmut]\n"
        "source_paths =\n    seqjepa\n"
        f"only_mutate =\n{lines(files)}\n"
        f"pytest_add_cli_args_test_selection =\n{lines(tests)}\n"
        "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -q\n"
        "also_copy =\n    weights\n    examples\n    docs\n    benchmarks\n    hubconf.py\n    mkdocs.yml\n    README.md\n"
        "process_isolation = forkserver\n"
        "timeout_multiplier = 5.0\n"
        "timeout_constant = 20.0\n"
        "use_git_change_detection = false\n"
        "do_not_mutate_patterns =\n" + "\n".join(f"    {x}" for x in MESSAGE_ONLY_LINES) + "\n"
    )


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the scratch copy must be what is imported
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    return env


def _mutmut(args: list[str], cwd: Path, log=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=cwd, env=_env(), text=True,
                          stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT if log else subprocess.PIPE)


def run_module(key: str, force: bool, max_children: int, only: list[str] | None = None) -> None:
    files, tests = MODULES[key]
    dest = WORK / key
    done = dest / "done.json"
    if done.exists() and not force:
        print(f"[{key}] finished earlier ({done}); --force reruns it")
        return
    if force and dest.exists():
        shutil.rmtree(dest)
    _copy_repo(dest)
    (dest / "setup.cfg").write_text(_setup_cfg(files, tests))
    print(f"[{key}] mutating {', '.join(files)} against {' '.join(tests)}", flush=True)
    start = time.time()
    with open(dest / "mutmut.log", "a") as log:
        proc = _mutmut(["run", "--max-children", str(max_children), *(only or [])], dest, log)
    results = collect(key)
    results["wall_s"] = round(time.time() - start, 1)
    results["returncode"] = proc.returncode
    if only:
        results["only"] = only
    if proc.returncode == 0 and not only:  # a run of some mutants only is reported as partial
        _write_json(done, results)
        _write_json(RESULTS / f"{key}.json", results)
    print(f"[{key}] exit {proc.returncode} in {results['wall_s']} s: {results['counts']}", flush=True)


def _finished(key: str) -> dict:
    path = RESULTS / f"{key}.json"
    if not path.exists() or not (WORK / key / "mutants").is_dir():
        sys.exit(f"[{key}] no finished run with its scratch copy here: run `python tools/mutation.py {key}` first")
    return json.loads(path.read_text())


def retest(key: str, max_children: int) -> None:
    """Rerun a finished module's survivors against the current tests (the source must be unchanged)."""
    files, tests = MODULES[key]
    dest = WORK / key
    results = _finished(key)
    changed = [f for f in files if (REPO / f).read_bytes() != (dest / f).read_bytes()]
    if changed:
        sys.exit(f"[{key}] {', '.join(changed)} changed since the run: its mutants are not these; rerun with --force")
    shutil.rmtree(dest / "tests")
    shutil.copytree(REPO / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / "setup.cfg").write_text(_setup_cfg(files, tests))
    names = sorted(results["survivors"])
    if not names:
        print(f"[{key}] no survivors to retest")
        return
    print(f"[{key}] retesting {len(names)} survivors against the current tests", flush=True)
    start = time.time()
    with open(dest / "mutmut.log", "a") as log:
        proc = _mutmut(["run", "--max-children", str(max_children), *names], dest, log)
    if proc.returncode != 0:
        sys.exit(f"[{key}] mutmut exited {proc.returncode}; see {dest / 'mutmut.log'}")
    # mutmut forgets the other mutants' results on a run by name: only the retested ones are new
    statuses = _statuses(key)
    counts = dict(results["counts"])
    survivors = {}
    for name in names:
        old, now = results["survivors"][name]["status"], statuses[name]
        counts[old] -= 1
        counts[now] = counts.get(now, 0) + 1
        if STATUS_BY_EXIT_CODE.get(now, "survived") == "survived":
            survivors[name] = _survivor(key, name, now)
    new = {**results, "counts": {k: v for k, v in counts.items() if v}, "survivors": survivors, "tests": tests,
           "wall_s": round(results["wall_s"] + time.time() - start, 1),
           "retested": {**results.get("retested", {}), **{n: statuses[n] for n in names}},
           "planted": {n: v for n, v in results.get("planted", {}).items() if n in survivors}}
    _write_json(dest / "done.json", new)
    _write_json(RESULTS / f"{key}.json", new)
    print(f"[{key}] {len(names) - len(new['survivors'])} of {len(names)} survivors now killed", flush=True)


def run_tests(root: Path, tests: list[str] | tuple[str, ...], *, stop_at_first: bool = False) -> tuple[int, list[str]]:
    """Run ``tests`` with pytest on the copy of seqjepa at ``root`` (not the installed one):
    pytest's exit code and the tests that failed."""
    env = {**_env(), "PYTHONPATH": str(root)}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(["-x"] if stop_at_first else []), *tests]
    proc = subprocess.run(args, cwd=root, env=env, text=True, capture_output=True)
    return proc.returncode, [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("FAILED ")]


def plant(key: str, names: list[str], tests: list[str] | None) -> None:
    """Write each mutant into a clean copy of the source and run the tests on it (for mutants mutmut
    cannot switch at run time, such as closures built at import); the outcome goes into the results."""
    files, selection = MODULES[key]
    dest = WORK / key
    results = _finished(key)
    tests = tests or selection
    try:
        for name in names:
            if name not in results["survivors"]:
                sys.exit(f"[{key}] {name} is not a survivor of the finished run")
            for f in files:
                shutil.copy2(REPO / f, dest / f)
            applied = _mutmut(["apply", name], dest)
            if applied.returncode != 0 or all((REPO / f).read_bytes() == (dest / f).read_bytes() for f in files):
                sys.exit(f"[{key}] could not apply {name}: {applied.stdout}{applied.stderr}")
            code, failed = run_tests(dest, tests, stop_at_first=True)
            outcome = "killed" if code == 1 and failed else f"survived (pytest exit {code})"
            results.setdefault("planted", {})[name] = {"outcome": outcome, "tests": tests, "failed": failed[:5]}
            print(f"[{key}] planted {name}: {outcome} {' '.join(failed[:5])}", flush=True)
    finally:
        for f in files:
            shutil.copy2(REPO / f, dest / f)
    _write_json(RESULTS / f"{key}.json", results)


def _statuses(key: str) -> dict[str, str]:
    proc = _mutmut(["results", "--all", "true"], WORK / key)
    statuses: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s+(\S+): (.+)$", line)
        if m:
            statuses[m.group(1)] = m.group(2).strip()
    return statuses


def _survivor(key: str, name: str, status: str) -> dict:
    diff = _mutmut(["show", name], WORK / key).stdout
    return {"status": status, "diff": "\n".join(diff.splitlines()[1:])}


def collect(key: str) -> dict:
    statuses = _statuses(key)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = {name: _survivor(key, name, status) for name, status in sorted(statuses.items())
                 if STATUS_BY_EXIT_CODE.get(status, "survived") == "survived"}
    return {"module": key, "files": MODULES[key][0], "tests": MODULES[key][1], "counts": counts, "survivors": survivors}


def _changed_lines(diff: str) -> list[str]:
    """What a mutation changes: its -/+ lines (the hunk header and context move with unrelated edits)."""
    return [line for line in diff.splitlines()
            if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def _reason(name: str, survivor: dict, planted: dict, equivalent: dict) -> tuple[str, str]:
    """The survivor's explanation and its verdict: 'planted' (killed when planted), 'equivalent' or 'unexplained'."""
    if planted.get(name, {}).get("outcome") == "killed":
        p = planted[name]
        return f"Killed when planted by hand in plain source (`--plant`): {' '.join(p['failed']) or 'the selection'} failed.", "planted"
    entry = equivalent.get(name)
    if entry is None:
        return "UNEXPLAINED", "unexplained"
    if _changed_lines(entry["diff"]) != _changed_lines(survivor["diff"]):
        return f"STALE: the recorded reason is for another mutation ({entry['reason']})", "unexplained"
    return entry["reason"], "equivalent"


def write_report(path: Path) -> None:
    equivalent = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    out = ["# Mutation report", "", "Written by `tools/mutation.py` (mutmut). Detected = killed + timeout; the score is",
           "detected / mutants run. Every survivor is listed: killed when planted by hand in plain source",
           "(`--plant`, for code mutmut cannot switch), equivalent (the reason recorded in",
           "`tools/mutation_equivalent.json`, pinned to the mutant's diff), or UNEXPLAINED (a missing test).", "",
           "| module | files | mutants | detected | score | survivors killed when planted | equivalent | unexplained | wall time |",
           "|---|---|---|---|---|---|---|---|---|"]
    details = []
    for key in MODULES:
        done = RESULTS / f"{key}.json"
        if done.exists():
            r = json.loads(done.read_text())
        elif (WORK / key / "mutants").is_dir():  # stopped part-way: report what ran, say so
            r = collect(key)
            r["wall_s"], r["partial"] = 0.0, True
        else:
            out.append(f"| {key} | {', '.join(MODULES[key][0])} | not run | | | | | | |")
            continue
        if r.get("partial"):
            not_run = sum(v for s, v in r["counts"].items() if STATUS_BY_EXIT_CODE.get(s) == "not run")
            r["files"] = [*r["files"], f"(partial: {not_run} mutants not run)"]
        total = sum(v for s, v in r["counts"].items() if STATUS_BY_EXIT_CODE.get(s) != "not run")
        detected = sum(v for s, v in r["counts"].items() if STATUS_BY_EXIT_CODE.get(s) == "detected")
        planted = r.get("planted", {})
        reasons = {n: _reason(n, s, planted, equivalent) for n, s in r["survivors"].items()}
        verdicts = [verdict for _, verdict in reasons.values()]
        score = f"{100.0 * detected / total:.1f} %" if total else "n/a"
        out.append(f"| {key} | {', '.join(r['files'])} | {total} | {detected} | {score} | {verdicts.count('planted')} | "
                   f"{verdicts.count('equivalent')} | {verdicts.count('unexplained')} | {r['wall_s']:.0f} s |")
        details += [f"## {key}", "", f"Tests: `{' '.join(r['tests'])}`", ""]
        if r.get("retested"):
            now_killed = sum(1 for n in r["retested"] if n not in r["survivors"])
            details += [f"Survivors of the first run retested against later tests (`--retest`): "
                        f"{now_killed} of {len(r['retested'])} killed; the counts above include them.", ""]
        if not r["survivors"]:
            details += ["No survivors.", ""]
        for name, s in r["survivors"].items():
            reason = reasons[name][0]
            details += [f"### `{name}` ({s['status']})", "", f"Reason: {reason}", "", "```diff", s["diff"].strip(), "```", ""]
    path.write_text("\n".join(out + [""] + details) + "\n")
    print(f"report: {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"modules to run (default all): {', '.join(MODULES)}")
    parser.add_argument("--force", action="store_true", help="rerun modules that finished earlier")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant runs (default 2)")
    parser.add_argument("--report", type=Path, default=Path(__file__).with_name("mutation-report.md"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--only", action="append", metavar="PATTERN",
                        help="run only the mutants whose names match (mutmut's wildcards), e.g. 'seqjepa.models.model.x_ema_update_*'")
    parser.add_argument("--retest", action="store_true",
                        help="rerun the survivors of finished modules against the current tests")
    parser.add_argument("--plant", action="append", metavar="MUTANT",
                        help="write this survivor into a clean copy of the source and run the tests (one module)")
    parser.add_argument("--plant-tests", nargs="+", metavar="TEST",
                        help="tests to run on a planted mutant (default: the module's selection)")
    args = parser.parse_args(argv)
    if args.list:
        for key, (files, tests) in MODULES.items():
            print(f"{key}: {' '.join(files)}  <-  {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {', '.join(MODULES)}")
    if not args.report_only:
        try:
            import mutmut  # noqa: F401
        except ImportError:
            parser.error('mutmut is not installed: pip install "mutmut>=3.3,<4"')
        if args.plant:
            if len(args.modules) != 1:
                parser.error("--plant takes exactly one module")
            plant(args.modules[0], args.plant, args.plant_tests)
        for key in [] if args.plant else args.modules or list(MODULES):
            if args.retest:
                retest(key, args.max_children)
            else:
                run_module(key, args.force, args.max_children, args.only)
    write_report(args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
