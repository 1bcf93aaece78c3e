"""seqjepa.models.inference: the fast path stays within its documented tolerance of float32 (nothing is timed)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from seqjepa.models.inference import embed, fast_inference, optimize, supports_dtype, to_channels_last

from ..conftest import small_config

# The tolerance documented in seqjepa/inference.py and docs/benchmarks.md.
MIN_COSINE = 0.99
MAX_REL_DIFF = 0.05

needs_bf16 = pytest.mark.skipif(not supports_dtype("cpu"), reason="CPU without native bfloat16")


def _inputs(config, b=3, m=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    views = torch.randn(b, m, config.in_channels, config.image_size, config.image_size, generator=g)
    actions = torch.randn(b, m - 1, config.action_dim, generator=g)
    return views, actions


# What bf16 really costs this small model (outputs of magnitude ~2.5): measured max |fast - fp32| =
# 0.0197 over input seeds 1-3 (0.9 % of the largest output), while swapping two batch rows changes
# the output by >= 0.68. The documented tolerance above (5 % of the largest value, ~0.12 here) is
# the public contract; this one, twice the measured error, is what catches a wrong row or a wrong op.
MEASURED_ATOL = 0.04


def _assert_close(ref: torch.Tensor, out: torch.Tensor) -> None:
    assert out.dtype == torch.float32 and out.shape == ref.shape
    cos = F.cosine_similarity(out.flatten(1), ref.flatten(1), dim=-1)
    assert float(cos.min()) >= MIN_COSINE
    assert float((out - ref).abs().max()) <= MAX_REL_DIFF * float(ref.abs().max())
    torch.testing.assert_close(out, ref, rtol=0, atol=MEASURED_ATOL)
    # the tolerance can tell the batch rows apart: the same outputs with two rows swapped fail it
    assert float((out[[1, 0, *range(2, len(out))]] - ref).abs().max()) > MEASURED_ATOL


@needs_bf16
def test_fast_path_matches_fp32_within_documented_tolerance(model, config):
    views, actions = _inputs(config)
    with torch.no_grad():
        ref = model.encode_views(views, actions)
    fast = optimize(copy.deepcopy(model))
    out = embed(fast, views, actions)
    _assert_close(ref.equivariant, out.equivariant)
    _assert_close(ref.invariant, out.invariant)
    # it really ran in reduced precision: bit-identical results would mean autocast was ignored
    assert not torch.equal(ref.invariant, out.invariant)


def test_plain_path_equals_encode_views_exactly(model, config):
    views, actions = _inputs(config)
    with torch.no_grad():
        ref = model.encode_views(views, actions)
    out = embed(model, views, actions, fast=False)
    assert torch.equal(ref.equivariant, out.equivariant) and torch.equal(ref.invariant, out.invariant)


def test_channels_last_inputs_accepted(model, config):
    views, actions = _inputs(config)
    with torch.no_grad():
        ref = model.encode_views(views, actions)
        images = views[:, 0]
        ref_images = model.equivariant_embedding(images)
    optimize(model)
    cl_views = to_channels_last(views)
    assert torch.equal(cl_views, views) and cl_views.reshape(-1, *views.shape[2:]).is_contiguous(
        memory_format=torch.channels_last
    )
    out = embed(model, cl_views, actions, fast=False)
    torch.testing.assert_close(out.invariant, ref.invariant, rtol=1e-4, atol=1e-5)
    cl_images = images.contiguous(memory_format=torch.channels_last)
    with fast_inference(model, dtype=None):
        z = model.equivariant_embedding(cl_images)
    torch.testing.assert_close(z, ref_images, rtol=1e-4, atol=1e-5)


def test_optimize_keeps_weights_and_keys(config):
    torch.manual_seed(0)
    from seqjepa import SeqJEPA

    model = SeqJEPA(config).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = optimize(model)
    assert out is model and not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert model.encoder.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_fast_inference_runs_in_inference_mode(model):
    with fast_inference(model, dtype=None):
        assert torch.is_inference_mode_enabled()
        assert not torch.is_autocast_enabled("cpu")
    if supports_dtype("cpu"):
        with fast_inference("cpu"):
            assert torch.is_autocast_enabled("cpu")
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_input_checks(model, config):
    views, actions = _inputs(config)
    with pytest.raises(ValueError, match="model: expected a seqjepa.SeqJEPA"):
        embed(torch.nn.Linear(2, 2), views, actions)
    with pytest.raises(ValueError, match="model: expected a seqjepa.SeqJEPA"):
        optimize(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="compile: expected True or False"):
        optimize(model, compile="yes")
    with pytest.raises(ValueError, match="fast: expected True or False"):
        embed(model, views, actions, fast=1)
    with pytest.raises(ValueError, match="dtype: expected torch.bfloat16, torch.float16 or None"):
        with fast_inference(model, dtype=torch.float32):
            pass
    with pytest.raises(ValueError, match="model_or_device"):
        with fast_inference(42):
            pass
    with pytest.raises(ValueError, match="not supported natively on cpu"):
        with fast_inference("cpu", dtype=torch.float16):
            pass
    # the model's own checks still apply on the fast path
    with pytest.raises(ValueError, match="actions"):
        embed(model, views, actions[:, :1])
    with pytest.raises(ValueError, match="views"):
        embed(model, views[:, 0], actions)


def test_supports_dtype():
    assert supports_dtype("cpu", torch.float32) is False
    assert supports_dtype("cpu", torch.float16) is False
    assert supports_dtype("meta") is False
