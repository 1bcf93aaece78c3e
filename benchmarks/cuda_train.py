"""Short CUDA training benchmark: seqjepa's train step on one GPU with toy data; images/s and peak memory.

    python benchmarks/cuda_train.py --recipe 3diebench-rot --batch 128 --steps 30 [--compile] [--fp32]

Uses the recipe's model (e.g. ResNet-18 at 128 px for 3diebench-rot) on random tensors, so it
measures the step itself, not data loading. Needs a CUDA device; prints a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="3diebench-rot")
    ap.add_argument("--batch", type=int, default=0, help="per-GPU batch (default: the recipe's)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="torch.compile the step module")
    ap.add_argument("--fp32", action="store_true", help="no autocast (TF32 stays on)")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("cuda_train: no CUDA device here; nothing measured")
        return 1
    from seqjepa import SeqJEPA
    from seqjepa.train import load_recipe, model_config
    from seqjepa.train.ema import TargetEMA
    from seqjepa.train.loop import TrainStep, build_optimizer, resolve_precision, train_step
    from seqjepa.probes.online import OnlineProbes

    recipe = load_recipe(args.recipe)
    cfg = model_config(recipe)
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    b = args.batch or recipe["train"]["batch_size"]
    m = recipe["data"]["num_views"]
    model = SeqJEPA(cfg)
    step = TrainStep(model, OnlineProbes(cfg.token_dim, cfg.encoder_dim, cfg.action_dim, 55)).to(device)
    step = step.to(memory_format=torch.channels_last)
    opt = build_optimizer([(n, p) for n, p in step.named_parameters() if p.requires_grad], recipe["optim"], device)
    dtype = None if args.fp32 else resolve_precision("auto", device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    ema = TargetEMA(0.996, 1000)
    runner = torch.compile(step) if args.compile else step
    s = cfg.image_size
    views = torch.randn(b, m, 3, s, s, device=device)
    target = torch.randn(b, 3, s, s, device=device)
    actions = torch.randn(b, m, cfg.action_dim, device=device)
    labels = torch.randint(0, 55, (b,), device=device)
    online, tparams = list(model.encoder.parameters()), list(model.target_encoder.parameters())
    for _ in range(args.warmup):
        train_step(runner, opt, scaler, ema, online, tparams, views, target, actions, labels, 0, dtype)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        train_step(runner, opt, scaler, ema, online, tparams, views, target, actions, labels, 0, dtype)
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / args.steps
    print(f"{torch.cuda.get_device_name()} {args.recipe} batch {b} x ({m}+1) views at {s} px, {dtype or 'fp32'}"
          f"{' compiled' if args.compile else ''}: {dt * 1000:.1f} ms/step, {b / dt:.1f} seq/s, "
          f"{b * (m + 1) / dt:.0f} img/s, peak memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
