"""Load an official seq-JEPA checkpoint (.pth) and convert it to the seqjepa layout.

    python examples/load_official_checkpoint.py --checkpoint 3diebench_rot_seqlen3.pth --out converted/
    python examples/load_official_checkpoint.py          # builds a small fake official checkpoint first

The official checkpoints (from https://github.com/hafezgh/seq-jepa) are published on the Hugging
Face Hub (https://huggingface.co/Hafez/seq-JEPA) as pickled ``.pth`` files: a dict with ``model``
(the state dict, online probes included), ``optimizer``, ``epoch`` and ``args`` (an
``argparse.Namespace``). The registry loads them for you (``seqjepa.load("resnet18-3diebench")``);
this script shows what happens underneath, on a file you already have:

1. ``seqjepa.load_official(path)`` unpickles with ``weights_only=True`` (only tensors and
   ``argparse.Namespace`` are allowed: no code in the file can run), infers the config from the
   tensor shapes and ``args``, drops the online probes and loads the rest strictly;
2. ``seqjepa.convert_official(path, out)`` writes ``config.json`` + ``model.safetensors`` +
   ``README.md``, which ``seqjepa.load(out)`` then reads without any pickle.

Without ``--checkpoint`` the script writes an official-format file from a small randomly
initialized model (a narrow ResNet that the converter cannot infer from shapes alone, hence the
``overrides``; a real checkpoint is a standard ResNet-18 and needs none) and checks that both
paths give back exactly the embeddings of the model it came from.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

import seqjepa
from seqjepa.zoo._convert_official import seqjepa_to_official_key

#: The small model's encoder; real checkpoints are standard ResNet-18s and need no overrides.
SMALL_BACKBONE = {"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8}


def small_model(seed: int = 0) -> seqjepa.SeqJEPA:
    """A small seq-JEPA with random weights (16 px, rotation actions), standing in for a trained one."""
    torch.manual_seed(seed)
    config = seqjepa.SeqJEPAConfig(
        backbone_kwargs=SMALL_BACKBONE, encoder_dim=32, image_size=16, cifar_stem=True,
        action_embed_dim=8, num_layers=1, num_heads=4, predictor_hidden=32, dropout=0.0,
    )
    return seqjepa.SeqJEPA(config).eval()


def write_fake_official_checkpoint(model: seqjepa.SeqJEPA, path: Path) -> None:
    """Save ``model`` the way the official training script saves its checkpoints (for this demo only)."""
    state = {seqjepa_to_official_key(k): v.clone() for k, v in model.state_dict().items()}
    # the official file also holds the online probes; the converter drops them
    state["online_linprobe.0.weight"] = torch.zeros(55, model.config.token_dim)
    state["online_linprobe.0.bias"] = torch.zeros(55)
    args = argparse.Namespace(dataset="3diebench", img_size=model.config.image_size, seq_len=3,
                              num_heads=model.config.num_heads, latent_type="rot", ema=True, ema_decay=0.996)
    torch.save({"model": state, "optimizer": {"state": {}, "param_groups": []}, "epoch": 0, "args": args}, path)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="an official seq-JEPA .pth (default: build a fake one)")
    parser.add_argument("--out", type=Path, help="write the converted model here (default: a temporary directory)")
    parser.add_argument("--fast", action="store_true", help="accepted for the test suite; the demo is already small")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        reference: Optional[seqjepa.SeqJEPA] = None
        overrides: Optional[dict[str, Any]] = None
        checkpoint = args.checkpoint
        if checkpoint is None:
            reference = small_model()
            checkpoint = Path(tmp) / "official.pth"
            write_fake_official_checkpoint(reference, checkpoint)
            overrides = {"backbone_kwargs": SMALL_BACKBONE, "dropout": 0.0}
            print(f"wrote a small official-format checkpoint to {checkpoint}")

        # 1. in memory: safe unpickling, config inferred, probes dropped, strict load
        model = seqjepa.load_official(checkpoint, overrides=overrides)
        report = model.conversion_report
        print(f"loaded {checkpoint.name}: sha256 {report.source_sha256[:12]}..., dropped {len(report.dropped_keys)} "
              f"probe tensors, assumed {report.assumed or 'nothing'}")
        print(f"config: backbone={model.config.backbone} image_size={model.config.image_size} "
              f"A={model.config.action_dim} M_tr={model.config.train_seq_len} E={model.config.token_dim}")

        # 2. on disk: config.json + model.safetensors + README.md, then load without pickle
        out = args.out or Path(tmp) / "converted"
        seqjepa.convert_official(checkpoint, out, overrides=overrides)
        converted = seqjepa.load(out)
        print(f"converted to {out}: {sorted(p.name for p in Path(out).iterdir())}")

        cfg = converted.config
        views = torch.randn(2, cfg.train_seq_len, cfg.in_channels, cfg.image_size, cfg.image_size)
        actions = torch.randn(2, cfg.train_seq_len - 1, cfg.action_dim) if cfg.action_conditioned else None
        with torch.no_grad():
            a = model.invariant_embedding(views, actions)
            b = converted.invariant_embedding(views, actions)
            if not torch.equal(a, b):
                raise SystemExit("the in-memory and the converted model disagree")
            if reference is not None and not torch.equal(a, reference.invariant_embedding(views, actions)):
                raise SystemExit("the converted model differs from the model the checkpoint was made from")
        print(f"z_AGG {tuple(a.shape)}: identical from the .pth, from the converted directory"
              + (" and from the original model" if reference is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
