"""Training-step speed: seqjepa's trainer step vs a reference step shaped like the official one, same run.

Reference (written here from the description of the official trainer, paper-notes §2.1/§3.1 and
environment-notes §5): torchvision ResNet-18 with the CIFAR stem and zero-initialized residual BN,
a deep-copied target encoder, Linear(A->128, no bias)+BatchNorm1d(no affine) action projection,
[AGG] + 3-layer post-norm transformer, Linear(768->1024, no bias)+BN+ReLU+Linear predictor,
1 - cosine loss, online linear and equivariance probes on detached features, fp32 eager,
``torch.optim.Adam`` with its default CPU implementation, ``zero_grad()``, and the EMA as a Python
loop over parameters with ``.data =`` assignments.

Ours: :func:`seqjepa.train.loop.train_step` with the trainer's defaults (bf16 autocast where the
CPU/GPU supports it, channels_last, fused/foreach Adam, foreach EMA, grads set to None).

Both see the same batches: 32 sequences of 3 observed + 1 target view at 32 px (``--quick``:
4 sequences at 16 px, one untimed-warm-up-free step each, for the test suite). Prints the median time per step of each
and the ratio reference/ours (> 1 means ours is faster).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn


class ReferenceSeqJEPA(nn.Module):
    """The official model's structure in plain torch."""

    def __init__(self, action_dim: int, num_classes: int) -> None:
        super().__init__()
        enc = torchvision.models.resnet18(weights=None, zero_init_residual=True)
        enc.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        enc.maxpool = nn.Identity()
        enc.fc = nn.Identity()
        self.encoder = enc
        self.target_encoder = copy.deepcopy(enc)
        for p in self.target_encoder.parameters():
            p.requires_grad = False
        self.action_proj = nn.Sequential(nn.Linear(action_dim, 128, bias=False), nn.BatchNorm1d(128, affine=False))
        layer = nn.TransformerEncoderLayer(640, 4, 2560, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(640)
        self.agg_token = nn.Parameter(torch.zeros(1, 1, 640))
        self.predictor = nn.Sequential(nn.Linear(768, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(), nn.Linear(1024, 512))
        self.linprobe = nn.Linear(640, num_classes)
        self.equiprobe = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, action_dim))
        self.ema_decay = 0.996

    def forward(self, obs, target, obs_actions, next_action):
        b, m = obs.shape[:2]
        z = self.encoder(obs.flatten(0, 1)).view(b, m, -1)
        with torch.no_grad():
            z_t = self.target_encoder(target)
        emb = self.action_proj(obs_actions.flatten(0, 1)).view(b, m, -1)
        emb = torch.cat([emb[:, :-1], torch.zeros_like(emb[:, -1:])], dim=1)
        tokens = torch.cat([self.agg_token.expand(b, -1, -1), torch.cat([z, emb], dim=-1)], dim=1)
        agg = self.norm(self.transformer(tokens)[:, 0])
        pred = self.predictor(torch.cat([agg, self.action_proj(next_action)], dim=-1))
        loss = 1 - F.cosine_similarity(pred, z_t.detach(), dim=-1).mean()
        return loss, agg, z[:, 0], z[:, 1]

    def update_moving_average(self):
        for online, tgt in zip(self.encoder.parameters(), self.target_encoder.parameters()):
            tgt.data = self.ema_decay * tgt.data + (1 - self.ema_decay) * online.data


def reference_step(model, optimizer, batch):
    views, target, actions, labels = batch
    optimizer.zero_grad()
    loss, agg, z1, z2 = model(views, target, actions, actions[:, -1])
    loss = loss + F.cross_entropy(model.linprobe(agg.detach()), labels)
    loss = loss + F.mse_loss(model.equiprobe(torch.cat([z1.detach(), z2.detach()], dim=1)), actions[:, 0])
    loss.backward()
    optimizer.step()
    model.update_moving_average()


def build_ours(action_dim: int, num_classes: int, image_size: int, device: torch.device):
    from seqjepa import SeqJEPA, SeqJEPAConfig
    from seqjepa.train.ema import TargetEMA
    from seqjepa.train.loop import TrainStep, build_optimizer, resolve_precision
    from seqjepa.probes.online import OnlineProbes
    from seqjepa.train.recipe import DEFAULTS

    cfg = SeqJEPAConfig(cifar_stem=True, image_size=image_size, action_dim=action_dim, last_slot_in_batchnorm="next_action")
    model = SeqJEPA(cfg)
    step = TrainStep(model, OnlineProbes(cfg.token_dim, cfg.encoder_dim, action_dim, num_classes)).to(device)
    step = step.to(memory_format=torch.channels_last)
    optim = dict(DEFAULTS["optim"])
    opt = build_optimizer([(n, p) for n, p in step.named_parameters() if p.requires_grad], optim, device)
    dtype = resolve_precision("auto", device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    ema = TargetEMA(0.996, 1000)
    online, target = list(model.encoder.parameters()), list(model.target_encoder.parameters())
    return step, opt, scaler, ema, online, target, dtype


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one step each, no warm-up (checks that it runs, not speed)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    args = ap.parse_args(argv)
    from seqjepa.train.loop import train_step

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    batch, size, steps = (4, 16, 1) if args.quick else (32, 32, args.steps)
    m, a, classes = 3, 4, 10
    torch.manual_seed(0)
    views = torch.randn(batch, m, 3, size, size)
    target = torch.randn(batch, 3, size, size)
    actions = torch.randn(batch, m, a)
    labels = torch.randint(0, classes, (batch,))
    ref = ReferenceSeqJEPA(a, classes).train()
    ref_opt = torch.optim.Adam(ref.parameters(), lr=4e-4, weight_decay=0.0)
    ours = build_ours(a, classes, size, device)
    step, opt, scaler, ema, online, tparams, dtype = ours
    step.train()

    def run_ref():
        reference_step(ref, ref_opt, (views, target, actions, labels))

    def run_ours():
        train_step(step, opt, scaler, ema, online, tparams, views, target, actions, labels, 0, dtype)

    if not args.quick:
        run_ref(), run_ours()  # warm-up (allocations, oneDNN primitives)
    t_ref, t_ours = [], []
    for _ in range(steps):  # interleaved so that load from other processes hits both alike
        t0 = time.perf_counter(); run_ref(); t_ref.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); run_ours(); t_ours.append(time.perf_counter() - t0)
    r, o = statistics.median(t_ref), statistics.median(t_ours)
    print(f"device cpu, threads {torch.get_num_threads()}, batch {batch} x ({m}+1) views at {size} px, {steps} timed steps")
    print(f"reference (official-shaped, fp32 eager): {r * 1000:.1f} ms/step, {batch / r:.1f} seq/s")
    print(f"seqjepa ({dtype or 'fp32'}, channels_last, {type(opt).__name__} fused/foreach, foreach EMA): {o * 1000:.1f} ms/step, {batch / o:.1f} seq/s")
    print(f"ratio reference/seqjepa: {r / o:.2f}x")
    verdict = "PASS" if r / o >= 1.25 else "FAIL"
    note = "; quick: smoke run, not a measurement" if args.quick else ""
    print(f"SUMMARY train: ratio={r / o:.2f}x (target >= 1.25x) {verdict} [training step vs official-shaped reference{note}]")
    return r / o


if __name__ == "__main__":
    main()
