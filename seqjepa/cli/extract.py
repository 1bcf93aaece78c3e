"""``seqjepa extract MODEL SOURCE --out DIR``: run a model over files into a directory of feature shards."""

from __future__ import annotations

import argparse
import logging
import sys

from ..features.runner import DECODES, DEFAULT_SHARD_SIZE, PRECISIONS
from ..features.sources import DATASETS
from ._options import worker_count


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "extract",
        help="run a model over an image folder, a sequence manifest or a dataset into feature shards (resumable)",
        description="Extract z (and z_AGG) into DIR/shard-*.safetensors + meta.json; rerun the same command to "
        "resume. Under torchrun (torchrun --nproc-per-node N -m seqjepa extract ...) ranks share the shards.",
    )
    p.add_argument("model", metavar="MODEL", help="registry name, hf-hub:org/repo[@rev], model directory or official .pth")
    p.add_argument("source", metavar="SOURCE",
                   help="image folder (recursive; class sub-folders give labels), JSON Lines manifest of sequences, "
                   "or dataset root (3DIEBench layout, or with --dataset)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (new, empty, or this extraction's own)")
    p.add_argument("--invariant", action="store_true", help="image folders: also store z_AGG of each image alone")
    p.add_argument("--dataset", choices=DATASETS, help="read SOURCE as this named dataset, as the evaluation does")
    p.add_argument("--split", default="train", help="datasets: split to read (default train)")
    p.add_argument("--num-views", type=int, default=8, help="datasets: views per sequence, observed + target (default 8)")
    p.add_argument("--seed", type=int, default=0, help="datasets: seed of the view draws (default 0)")
    p.add_argument("--batch-size", type=int, default=None, help="images per forward pass (default 64 on CPU, 256 on CUDA)")
    p.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE,
                   help=f"rows per shard file (default {DEFAULT_SHARD_SIZE})")
    p.add_argument("--workers", type=worker_count, default=None,
                   help="DataLoader processes decoding images (default: 0 on CPU, the main process decodes each batch "
                   "on its threads then runs the model; on CUDA cores - 1, at most 8)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda when available)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 on a GPU that has it, else fp32 (features are stored as float32)")
    p.add_argument("--decode", choices=DECODES, default="exact",
                   help="exact: the pixels of model.transform (default); draft: faster JPEG decoding at reduced "
                   "scale, pixels differ by a few levels")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                   help="keep images and weights in NCHW layout")
    p.add_argument("--strict", action="store_true", help="fail on the first unreadable image instead of skipping it")
    p.add_argument("--revision", default=None, help="Hub revision of a named model")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or warnings, only the final line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..features.runner import extract

    logger = logging.getLogger("seqjepa.features")
    level = logger.level
    if args.quiet:
        logger.setLevel(logging.ERROR)
    try:
        result = extract(
            args.model, args.source, args.out, invariant=args.invariant, batch_size=args.batch_size,
            shard_size=args.shard_size, num_workers=args.workers, device=args.device, precision=args.precision,
            decode=args.decode, channels_last=args.channels_last, strict=args.strict,
            progress=False if args.quiet else None, dataset=args.dataset, split=args.split, num_views=args.num_views,
            seed=args.seed, revision=args.revision,
        )
    finally:
        logger.setLevel(level)
    if result.rank == 0:
        print(result.summary())
        sys.stdout.flush()
    return 0
