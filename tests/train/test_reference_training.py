"""The Trainer against a training loop written out by hand from torch primitives.

The resume tests compare the Trainer with itself, so a deterministic change to the training maths
(the learning-rate schedule, the weight-decay groups, the EMA order or momentum, what a resume
restores) would pass them. Here the reference is independent: ``torch.optim.AdamW`` with the
groups built in the test, the per-epoch learning rate and the cosine EMA momentum computed from
their formulas (paper-notes §2.1-2.2), and the EMA as a per-parameter Python loop applied in the
official order (update with the held momentum, then set the epoch's). Only the model's forward and
loss are the package's (they have a primitive-level reference in tests/test_model.py).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.train import Trainer

from .tinydata import TinySequences, tiny_recipe

EPOCHS, STEPS, BATCH = 3, 6, 4  # 24 sequences / 4 per batch = 6 steps per epoch
# Measured (fp32, one thread, 18 steps): the Trainer (fused AdamW, foreach EMA) and this loop
# (per-tensor AdamW, per-parameter EMA) agree to max |diff| = 4.8e-7 on every tensor but two; 2e-6
# leaves margin, while one step with the wrong EMA momentum moves the target encoder by >= 1e-5.
ATOL = 2e-6
# The exception: the aggregator's final LayerNorm bias gets a gradient of rounding noise only
# (measured max |grad| = 4.7e-9: the predictor's BatchNorm removes any constant shift of z_AGG),
# which Adam scales up to full-size steps, so its value (and predictor.bn.running_mean, which
# sees it) depends on the last bits of the arithmetic: measured 6.9e-4 apart after 18 steps. The
# bound is what Adam can move a parameter in 18 steps at these learning rates (sum of lr ~ 4.9e-3).
NOISE_ONLY = {"aggregator.norm.bias": 5e-3, "predictor.bn.running_mean": 5e-3}


def _recipe(**train):
    r = tiny_recipe(epochs=EPOCHS, probes=False, **train)
    r["optim"].update(optimizer="adamw", weight_decay=0.05)  # decay groups matter
    return r


def _lr(epoch: int, optim: dict) -> float:
    if epoch < optim["warmup_epochs"]:
        return optim["initial_lr"] + (optim["lr"] - optim["initial_lr"]) * epoch / optim["warmup_epochs"]
    return optim["lr"]  # "as_run": constant after the warm-up


def _momentum(epoch: int, base: float) -> float:
    return 1.0 - (1.0 - base) * (math.cos(math.pi * epoch / EPOCHS) + 1.0) / 2.0


def reference_training(recipe: dict, total_steps: int = EPOCHS * STEPS) -> tuple[dict, list[float]]:
    """The official step order by hand; returns the final state dict and the momentum used at each step."""
    t, optim = recipe["train"], recipe["optim"]
    random.seed(t["seed"])
    np.random.seed(t["seed"])
    torch.manual_seed(t["seed"])
    model = SeqJEPA(SeqJEPAConfig.from_dict(recipe["model"]))
    data = TinySequences(n=24, num_views=2, seed=t["seed"])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": [p for p in params if p.ndim > 1], "weight_decay": optim["weight_decay"]},
         {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}],
        lr=optim["initial_lr"], betas=tuple(optim["betas"]), foreach=False,
    )
    held, used = t["ema_base"], []
    model.train()
    for epoch in range(EPOCHS):
        for group in opt.param_groups:
            group["lr"] = _lr(epoch, optim)
        data.set_epoch(epoch)
        order = torch.randperm(24, generator=torch.Generator().manual_seed(t["seed"] * 1_000_003 + epoch)).tolist()
        for step in range(STEPS):
            if len(used) == total_steps:
                break
            items = [data[i] for i in order[step * BATCH:(step + 1) * BATCH]]
            views, target, actions = (torch.stack([it[k] for it in items]) for k in ("views", "target", "actions"))
            loss = model(views, actions, target).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():  # update with the momentum held, then set this epoch's
                for tp, op in zip(model.target_encoder.parameters(), model.encoder.parameters()):
                    tp.copy_(held * tp + (1.0 - held) * op)
            used.append(held)
            held = _momentum(epoch, t["ema_base"])
    return {k: v.clone() for k, v in model.state_dict().items()}, used


@pytest.fixture(scope="module")
def reference():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return reference_training(_recipe())
    finally:
        torch.set_num_threads(before)


def _assert_matches(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        got = actual[key]
        if want.is_floating_point():
            torch.testing.assert_close(got, want, rtol=0, atol=NOISE_ONLY.get(key, ATOL), msg=lambda m: f"{key}: {m}")
        else:
            assert torch.equal(got, want), key


def test_the_reference_itself_is_not_trivial(reference):
    state, used = reference
    # the momentum of epoch 0 (= base) is held into the first step of epoch 1; epoch 1's into epoch 2
    assert used[:STEPS + 1] == [0.996] * (STEPS + 1)
    assert used[2 * STEPS] == pytest.approx(_momentum(1, 0.996)) and used[2 * STEPS] > 0.996 + 1e-4
    online = state["encoder.conv1.weight"]
    assert not torch.allclose(online, state["target_encoder.conv1.weight"], atol=1e-4)


def test_an_uninterrupted_run_matches_the_hand_written_loop(tmp_path, reference, one_thread):
    trainer = Trainer(_recipe(), tmp_path, log=lambda s: None)
    assert trainer.run().global_step == EPOCHS * STEPS
    _assert_matches(trainer.model.state_dict(), reference[0])


@pytest.mark.parametrize("stop_at", [8, 12], ids=["mid-epoch", "epoch-boundary"])
def test_a_resumed_run_matches_the_hand_written_loop(tmp_path, reference, one_thread, stop_at):
    """Step 8 is 2 batches into epoch 2; step 12 ends epoch 2, where the held momentum is no longer the base."""
    first = Trainer(_recipe(max_steps=stop_at), tmp_path, log=lambda s: None).run()
    assert first.status == "stopped" and first.global_step == stop_at  # max_steps reached before the last epoch ends
    resumed = Trainer(_recipe(), tmp_path, resume="auto", log=lambda s: None)
    assert resumed.run().global_step == EPOCHS * STEPS
    _assert_matches(resumed.model.state_dict(), reference[0])
