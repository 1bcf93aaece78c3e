"""Feature-extraction overhead of seqjepa over the bare timm encoder, float32, eval, inference mode.

1. ``model.equivariant_embedding(images)`` vs a bare ``timm.create_model("resnet18", num_classes=0)``
   holding the same weights, on the same (N, C, H, W) batch: target speed ratio >= 0.95x
   (input checks and the reshape must cost next to nothing).
2. ``model.encode_views(views, actions)`` at M = 3 and M = 8 vs the encoder alone on the same
   B*M images: aggregator + action embedding overhead <= 10 % (speed ratio >= 1/1.1 = 0.91x).
   The aggregator's cost is mostly reading its ~15 M weights once per forward, a constant that a
   batch amortizes: at B=16 sequences it adds ~4 % (M=3); at B=4, ~11 % (measured, docs/benchmarks.md).

    python benchmarks/bench_extract.py           # paper config (ResNet-18, 128 px), N=16, B=16
    python benchmarks/bench_extract.py --batch 4 # the small-batch worst case
    python benchmarks/bench_extract.py --quick   # tiny model, smoke run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h  # noqa: E402

NAME = "extract"
TARGET_EQUIVARIANT = 0.95
MAX_AGGREGATOR_OVERHEAD = 0.10


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, repeats=7)
    parser.add_argument("--images", type=int, default=16, help="images per batch for check 1 (default 16)")
    parser.add_argument("--batch", type=int, default=16, help="sequences per batch for check 2 (default 16)")
    args = parser.parse_args(argv)

    import timm
    import torch

    from seqjepa import SeqJEPA, SeqJEPAConfig

    h.set_threads(args.threads)
    if args.quick:
        config = SeqJEPAConfig(
            backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
            encoder_dim=32, image_size=32, action_embed_dim=8, num_layers=1, predictor_hidden=32, dropout=0.0,
        )
        n_images, batch, repeats, view_counts = 4, 2, 2, (3,)
    else:
        config = SeqJEPAConfig()
        n_images, batch, repeats, view_counts = args.images, args.batch, args.repeats, (3, 8)
    if config.cifar_stem:
        raise ValueError("this benchmark compares with a stock timm model: cifar_stem must be False")
    torch.manual_seed(0)
    model = SeqJEPA(config, with_target_encoder=False).eval()
    bare = timm.create_model(config.backbone, pretrained=False, num_classes=0, **config.backbone_kwargs).eval()
    bare.load_state_dict(model.encoder.state_dict(), strict=True)
    size, c = config.image_size, config.in_channels
    h.print_hardware({
        "model": f"{'tiny' if args.quick else 'paper'} config ({config.backbone}), {size} px, fp32, eval, inference_mode",
        "sizes": f"check 1: N={n_images} images; check 2: B={batch} sequences, M in {view_counts}",
    })

    rows, checks = [], []
    images = torch.randn(n_images, c, size, size)
    with torch.inference_mode():
        same = torch.equal(bare(images), model.equivariant_embedding(images))
        times = h.interleaved_times(
            {"timm": lambda: bare(images), "seqjepa": lambda: model.equivariant_embedding(images)}, repeats=repeats
        )
    t_bare, t_eq = h.median(times["timm"]), h.median(times["seqjepa"])
    rows.append([f"bare timm {config.backbone}(num_classes=0)", f"N={n_images}", f"{t_bare * 1e3:.1f}", "1.00x", "-"])
    rows.append(["equivariant_embedding", f"N={n_images}", f"{t_eq * 1e3:.1f}", f"{t_bare / t_eq:.2f}x",
                 "outputs identical" if same else "OUTPUTS DIFFER"])
    checks.append(h.Check("equivariant_embedding vs bare timm", t_bare / t_eq, ">=", TARGET_EQUIVARIANT))
    if not same:
        checks.append(h.Check("equivariant_embedding output equals timm (1 = yes)", 0.0, ">=", 1.0, unit=""))

    for m in view_counts:
        views = torch.randn(batch, m, c, size, size)
        actions = torch.randn(batch, m - 1, config.action_dim)
        flat = views.reshape(batch * m, c, size, size)
        with torch.inference_mode():
            times = h.interleaved_times(
                {"encoder": lambda: model.encoder(flat), "encode_views": lambda: model.encode_views(views, actions)},
                repeats=repeats,
            )
        t_enc, t_ev = h.median(times["encoder"]), h.median(times["encode_views"])
        rows.append(["encoder alone on B*M images", f"B={batch}, M={m}", f"{t_enc * 1e3:.1f}", "1.00x", "-"])
        rows.append(["encode_views (z and z_AGG)", f"B={batch}, M={m}", f"{t_ev * 1e3:.1f}", f"{t_enc / t_ev:.2f}x",
                     f"overhead {100 * (t_ev / t_enc - 1):+.1f} %"])
        checks.append(h.Check(f"encode_views M={m} vs encoder alone", t_enc / t_ev, ">=", 1 / (1 + MAX_AGGREGATOR_OVERHEAD)))

    print(h.format_table(["variant", "batch", "median ms", "speed vs baseline", "note"], rows))
    h.print_checks(checks)
    print(h.summary_line(NAME, checks, quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
