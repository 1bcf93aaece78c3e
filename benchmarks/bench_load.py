"""Load time: ``seqjepa.load(directory)`` beyond building the model, and ``import seqjepa`` vs ``import torch``.

1. ``seqjepa.load(dir)`` of a ``save_pretrained`` export of the paper config (with its EMA target
   encoder, as released) vs ``SeqJEPA(config)`` construction alone, interleaved in this process:
   the time beyond construction (file checks, sha256, safetensors read, strict copy) must be
   <= 0.5 s.
2. The same through the Hugging Face cache (``seqjepa.load("hf-hub:...")`` from a cache laid out on
   disk, offline).
3. ``import seqjepa`` vs ``import torch`` alone, each in a fresh interpreter (reported, no target).

    python benchmarks/bench_load.py           # paper config
    python benchmarks/bench_load.py --quick   # tiny model, smoke run
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "load"
MAX_EXTRA_SECONDS = 0.5
_FAKE_REPO = "seqjepa-bench/paper-config"
_FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def import_seconds(statement: str) -> float:
    """Wall time of a fresh interpreter running ``statement`` (interpreter start-up included in both rows)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=env)
    return time.perf_counter() - start


def make_hf_cache(cache_dir: Path, export_dir: Path) -> None:
    """Lay the export out as the Hugging Face cache does (refs/main + snapshots/<commit>/)."""
    repo = cache_dir / ("models--" + _FAKE_REPO.replace("/", "--"))
    snapshot = repo / "snapshots" / _FAKE_COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(_FAKE_COMMIT)
    for f in export_dir.iterdir():
        os.link(f, snapshot / f.name)


def hub_loader(cache_dir: Path):
    """A zero-argument loader of the fake hf-hub repo from the HF cache, offline."""
    import seqjepa

    return lambda: seqjepa.load(f"hf-hub:{_FAKE_REPO}", cache_dir=cache_dir, local_files_only=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=5)
    parser.add_argument("--import-repeats", type=int, default=3, help="fresh interpreters per import (default 3)")
    args = parser.parse_args(argv)

    import torch

    import seqjepa
    from seqjepa import SeqJEPA, SeqJEPAConfig

    h.set_threads(args.threads)
    if args.quick:
        config = SeqJEPAConfig(
            backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
            encoder_dim=32, image_size=32, action_embed_dim=8, num_layers=1, predictor_hidden=32, dropout=0.0,
        )
        repeats, import_repeats = 2, 1
    else:
        config, repeats, import_repeats = SeqJEPAConfig(), args.repeats, args.import_repeats
    rows, checks = [], []
    with tempfile.TemporaryDirectory(prefix="seqjepa-bench-load-") as tmp:
        export = Path(tmp) / "export"
        torch.manual_seed(0)
        SeqJEPA(config).save_pretrained(export)
        size_mb = (export / "model.safetensors").stat().st_size / 2**20
        h.print_hardware({
            "model": f"{'tiny' if args.quick else 'paper'} config, with EMA target encoder, "
                     f"model.safetensors {size_mb:.1f} MiB (float32)",
            "disk": f"temporary directory under {Path(tmp).parent} (page cache warm after the first load)",
        })
        fns = {"construct": lambda: SeqJEPA(config), "load": lambda: seqjepa.load(export)}
        cache = Path(tmp) / "hf-cache"
        make_hf_cache(cache, export)
        fns["hub"] = hub_loader(cache)
        times = h.interleaved_times(fns, repeats=repeats)
        t_new = h.median(times["construct"])
        rows.append(["SeqJEPA(config) (baseline)", f"{t_new:.3f}", "1.00x", "-"])
        t_load = h.median(times["load"])
        rows.append(["seqjepa.load(local directory)", f"{t_load:.3f}", f"{t_load / t_new:.2f}x", f"{t_load - t_new:+.3f}"])
        checks.append(h.Check("seqjepa.load(dir) beyond construction", t_load - t_new, "<=", MAX_EXTRA_SECONDS, unit=" s", digits=3))
        t_hub = h.median(times["hub"])
        rows.append(["seqjepa.load('hf-hub:...') from the HF cache, offline", f"{t_hub:.3f}",
                     f"{t_hub / t_new:.2f}x", f"{t_hub - t_new:+.3f}"])
        checks.append(h.Check("seqjepa.load(hf-hub) beyond construction", t_hub - t_new, "<=", MAX_EXTRA_SECONDS, unit=" s", digits=3))

    imports = h.interleaved_times(
        {"torch": lambda: import_seconds("import torch"), "seqjepa": lambda: import_seconds("import seqjepa")},
        repeats=import_repeats, warmup=0 if args.quick else 1,
    )
    t_torch, t_pkg = h.median(imports["torch"]), h.median(imports["seqjepa"])
    rows.append(["python -c 'import torch' (baseline, fresh process)", f"{t_torch:.3f}", "1.00x", "-"])
    rows.append(["python -c 'import seqjepa' (fresh process)", f"{t_pkg:.3f}", f"{t_pkg / t_torch:.2f}x", f"{t_pkg - t_torch:+.3f}"])
    print(h.format_table(["what", "median s", "vs baseline", "extra s"], rows))
    h.print_checks(checks)
    print(f"INFO import seqjepa / import torch: ratio={t_pkg / t_torch:.2f}x (no target)")
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
