"""Schedules, EMA order and recipes against the as-run facts (paper-notes §2.2, §3.1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqjepa.errors import ConfigError
from seqjepa.train import list_recipes, load_recipe, model_config
from seqjepa.train.ema import TargetEMA
from seqjepa.train.loop import build_optimizer
from seqjepa.train.schedule import ema_momentum, learning_rate

LR = dict(epochs=1000, lr=4e-4, initial_lr=1e-5, warmup_epochs=20, min_lr=1e-5)


def test_as_run_lr_is_linear_warmup_then_constant():
    assert learning_rate(0, **LR) == pytest.approx(1e-5)
    assert learning_rate(10, **LR) == pytest.approx(1e-5 + (4e-4 - 1e-5) * 10 / 20)
    assert learning_rate(19, **LR) == pytest.approx(1e-5 + (4e-4 - 1e-5) * 19 / 20)
    assert [learning_rate(e, **LR) for e in (20, 500, 999)] == [4e-4] * 3


def test_paper_lr_decays_by_cosine_to_min_lr():
    assert learning_rate(5, schedule="paper", **LR) == learning_rate(5, **LR)
    assert learning_rate(20, schedule="paper", **LR) == pytest.approx(4e-4)
    mid = 20 + (1000 - 20) / 2
    assert learning_rate(int(mid), schedule="paper", **LR) == pytest.approx(1e-5 + (4e-4 - 1e-5) / 2, rel=1e-3)
    assert learning_rate(999, schedule="paper", **LR) < 1.1e-5
    with pytest.raises(ValueError, match="schedule"):
        learning_rate(0, schedule="cosine", **LR)


def test_ema_momentum_cosine_and_official_update_then_set_order():
    assert ema_momentum(0, epochs=10, base=0.996) == pytest.approx(0.996)
    assert ema_momentum(5, epochs=10, base=0.996) == pytest.approx(0.998)
    assert ema_momentum(10, epochs=10, base=0.996) == pytest.approx(1.0)
    ema = TargetEMA(0.996, 4)
    online, target = [torch.ones(3)], [torch.zeros(3)]
    assert ema.step(online, target, epoch=2) == pytest.approx(0.996)  # the held momentum is used first...
    assert torch.allclose(target[0], torch.full((3,), 0.004))
    assert ema.momentum == pytest.approx(ema_momentum(2, epochs=4, base=0.996))  # ...then epoch 2's is set
    assert ema.step(online, target, epoch=2) == pytest.approx(ema_momentum(2, epochs=4, base=0.996))
    restored = TargetEMA(0.5, 1)
    restored.load_state_dict(ema.state_dict())
    assert restored.momentum == ema.momentum


def test_shipped_recipes_follow_the_as_run_facts():
    assert set(list_recipes()) >= {
        "3diebench-rot", "3diebench-rotcolor", "cifar100-aug", "tinyimagenet-aug", "stl10-pls",
        "imagenet-pls", "3diebench-rot-noaction", "toy-3diebench",
    }
    rot = load_recipe("3diebench-rot")
    assert (rot["optim"]["optimizer"], rot["optim"]["lr"], rot["optim"]["initial_lr"], rot["optim"]["warmup_epochs"],
            rot["optim"]["weight_decay"], rot["optim"]["schedule"]) == ("adam", 4e-4, 1e-5, 20, 0.0, "as_run")
    assert (rot["train"]["epochs"], rot["train"]["batch_size"], rot["train"]["ema_base"]) == (1000, 128, 0.996)
    assert model_config(rot).train_seq_len == 3 and model_config(rot).image_size == 128
    rc = model_config(load_recipe("3diebench-rotcolor"))
    assert (rc.train_seq_len, rc.action_dim) == (4, 6)
    for name in ("cifar100-aug", "tinyimagenet-aug"):
        c = model_config(load_recipe(name))
        assert (c.action_dim, c.last_slot_in_batchnorm) == (9, "zeros")
    pls = load_recipe("stl10-pls")
    assert (pls["optim"]["optimizer"], pls["optim"]["weight_decay"]) == ("adamw", 1e-3)
    assert model_config(load_recipe("3diebench-rot-noaction")).action_conditioned is False


def test_optimizer_decays_only_matrices_and_paper_switch_uses_adamw():
    rot = load_recipe("3diebench-rot")
    params = [("w", torch.nn.Parameter(torch.ones(3, 3))), ("b", torch.nn.Parameter(torch.ones(3)))]
    opt = build_optimizer(params, rot["optim"], torch.device("cpu"))
    assert type(opt) is torch.optim.Adam and [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.0]
    pls = build_optimizer(params, load_recipe("stl10-pls")["optim"], torch.device("cpu"))
    assert type(pls) is torch.optim.AdamW and [g["weight_decay"] for g in pls.param_groups] == [1e-3, 0.0]
    paper = build_optimizer(params, load_recipe("3diebench-rot", ["optim.schedule=paper"])["optim"], torch.device("cpu"))
    assert type(paper) is torch.optim.AdamW and paper.param_groups[0]["weight_decay"] == 1e-3


def test_bad_overrides_and_recipes_are_named():
    with pytest.raises(ValueError, match="unknown key 'epoch'"):
        load_recipe("toy-3diebench", ["train.epoch=3"])
    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        load_recipe("toy-3diebench", ["epochs=3"])
    with pytest.raises(ConfigError, match="optim.schedule"):
        load_recipe("toy-3diebench", ["optim.schedule=cosine"])
    with pytest.raises(ConfigError, match="data.num_views"):
        load_recipe("toy-3diebench", ["data.num_views=5"])
    with pytest.raises(ValueError, match="unknown recipe"):
        load_recipe("no-such-recipe")
    assert load_recipe("toy-3diebench", ["train.epochs=7"])["train"]["epochs"] == 7


@pytest.mark.parametrize("base", [0.0, 1.0])
def test_target_ema_accepts_the_closed_interval(base):
    assert TargetEMA(base, 3).momentum == base


@pytest.mark.parametrize("base", [-0.01, 1.01, 2.0])
def test_target_ema_refuses_a_momentum_outside_0_1(base):
    with pytest.raises(ValueError, match=rf"base: expected a momentum in \[0, 1\], got {base}"):
        TargetEMA(base, 3)
