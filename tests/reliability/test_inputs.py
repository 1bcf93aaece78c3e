"""Adversarial inputs to the public model API: each call either works correctly or raises the
documented ValueError that names the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
HEAVY = settings(SETTINGS, max_examples=8)  # examples that run the encoder many times
C, S, A = 3, 16, 4  # channels, image side, action dim of small_config()
D, E = 32, 40  # encoder dim, token dim


def views_of(b: int, m: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, m, C, S, S, generator=torch.Generator().manual_seed(seed))


def actions_of(b: int, steps: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(b, steps, A, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- valid inputs
@HEAVY
@given(b=st.integers(1, 3), m=st.integers(1, 6), seed=st.integers(0, 2**16))
@torch.no_grad()
def test_every_entry_point_works_for_any_batch_and_sequence_length(tiny, b, m, seed):
    """M = 1 and M beyond train_seq_len (3) work: the aggregator has no positional embedding."""
    v, a = views_of(b, m, seed), actions_of(b, m, seed + 1)
    z = tiny.equivariant_embedding(v)
    assert z.shape == (b, m, D)
    assert tiny.equivariant_embedding(v[:, 0]).shape == (b, D)
    out = tiny.encode_views(v, a[:, :-1])
    assert out.equivariant.shape == (b, m, D) and out.invariant.shape == (b, E)
    torch.testing.assert_close(out.equivariant, z, rtol=0, atol=1e-6)
    torch.testing.assert_close(tiny.invariant_embedding(v, a[:, :-1]), out.invariant, rtol=0, atol=1e-6)
    torch.testing.assert_close(tiny.aggregate(z, a[:, :-1]), out.invariant, rtol=0, atol=1e-6)
    pred = tiny.predict_next(v, a)
    assert pred.shape == (b, D)
    torch.testing.assert_close(tiny.predict(out.invariant, a[:, -1]), pred, rtol=0, atol=1e-6)
    train = tiny(v, a, views_of(b, 1, seed + 2)[:, 0])
    assert train.loss.shape == () and bool(torch.isfinite(train.loss))
    for t in (z, out.invariant, pred):
        assert bool(torch.isfinite(t).all())


@HEAVY
@given(b=st.integers(2, 3), m=st.integers(1, 4), seed=st.integers(0, 2**16))
@torch.no_grad()
def test_rows_do_not_depend_on_the_rest_of_the_batch_in_eval_mode(tiny, b, m, seed):
    v, a = views_of(b, m, seed), actions_of(b, m, seed + 1)
    inv, pred = tiny.invariant_embedding(v, a[:, :-1]), tiny.predict_next(v, a)
    for i in range(b):
        one = slice(i, i + 1)
        torch.testing.assert_close(tiny.invariant_embedding(v[one], a[one, :-1]), inv[one], rtol=0, atol=1e-5)
        torch.testing.assert_close(tiny.predict_next(v[one], a[one]), pred[one], rtol=0, atol=1e-5)


def _layout(v: torch.Tensor, kind: str) -> torch.Tensor:
    """The same values as ``v`` in another memory layout."""
    if kind == "transposed":  # H and W stored swapped
        out = v.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif kind == "strided":  # every other element of a twice-as-wide buffer
        buf = torch.zeros(*v.shape[:-1], v.shape[-1] * 2)
        buf[..., ::2] = v
        out = buf[..., ::2]
    elif kind == "channels_last":
        out = v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else (
            v.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, v.shape[:2])
        )
    elif kind == "batch_reversed":  # negative-stride-like view: a flipped copy read back through a view
        out = v.flip(0).contiguous().flip(0)
    else:  # pragma: no cover
        raise AssertionError(kind)
    assert torch.equal(out, v)
    return out


@HEAVY
@given(
    kind=st.sampled_from(["transposed", "strided", "channels_last", "batch_reversed"]),
    b=st.integers(1, 3),
    m=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
@torch.no_grad()
def test_memory_layout_does_not_change_results(tiny, kind, b, m, seed):
    v, a = views_of(b, m, seed), actions_of(b, m, seed + 1)
    w = _layout(v, kind)
    if kind != "batch_reversed":
        assert not w.is_contiguous()
    a_strided = torch.zeros(b, m, A * 2)
    a_strided[..., ::2] = a
    a_strided = a_strided[..., ::2]
    torch.testing.assert_close(tiny.equivariant_embedding(w), tiny.equivariant_embedding(v), rtol=0, atol=1e-5)
    torch.testing.assert_close(
        tiny.equivariant_embedding(_layout(v[:, 0], kind)), tiny.equivariant_embedding(v[:, 0]), rtol=0, atol=1e-5
    )
    torch.testing.assert_close(
        tiny.invariant_embedding(w, a_strided[:, :-1]), tiny.invariant_embedding(v, a[:, :-1]), rtol=0, atol=1e-5
    )
    torch.testing.assert_close(tiny.predict_next(w, a_strided), tiny.predict_next(v, a), rtol=0, atol=1e-5)


# ----------------------------------------------------------------------------- wrong inputs
@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool, torch.complex64])
def test_non_floating_images_are_refused(tiny, dtype):
    v = views_of(1, 2).to(dtype)
    with pytest.raises(ValueError, match=r"^views: expected a floating-point tensor"):
        tiny.invariant_embedding(v, actions_of(1, 1))
    with pytest.raises(ValueError, match=r"^images: expected a floating-point tensor"):
        tiny.equivariant_embedding(v[:, 0])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_refused_outside_autocast(tiny, dtype):
    v, a = views_of(2, 2), actions_of(2, 2)
    want = str(dtype).replace("torch.", "")
    with pytest.raises(ValueError, match=rf"^views: expected dtype float32 .*got {want}$"):
        tiny.predict_next(v.to(dtype), a)
    with pytest.raises(ValueError, match=rf"^actions: expected dtype float32 .*got {want}$"):
        tiny.predict_next(v, a.to(dtype))
    with pytest.raises(ValueError, match=rf"^target: expected dtype float32 .*got {want}$"):
        tiny(v, a, v[:, 0].to(dtype))
    with pytest.raises(ValueError, match=rf"^z: expected dtype float32 .*got {want}$"):
        tiny.aggregate(torch.randn(2, 2, D, dtype=dtype), a[:, :1])


@torch.no_grad()
def test_autocast_accepts_low_precision_inputs(tiny):
    v, a = views_of(2, 3), actions_of(2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = tiny.invariant_embedding(v.bfloat16(), a.bfloat16())
    assert low.shape == (2, E) and bool(torch.isfinite(low).all())
    full = tiny.invariant_embedding(v, a)
    assert (low.float() - full).abs().max().item() < 0.25  # bf16 has ~3 significant digits


@pytest.mark.parametrize(
    "shape, match",
    [
        ((0, 2, C, S, S), "non-empty"),
        ((2, 0, C, S, S), "non-empty"),
        ((2, 2, C, 0, S), "non-empty"),
        ((2, 2, 1, S, S), "C=3 channels"),
        ((2, C, S, S), r"\(B, M, C, H, W\)"),
        ((1, 2, 2, C, S, S), r"\(B, M, C, H, W\)"),
    ],
)
def test_bad_view_shapes_are_refused(tiny, shape, match):
    with pytest.raises(ValueError, match=rf"^views: expected .*{match}"):
        tiny.invariant_embedding(torch.zeros(shape), actions_of(max(shape[0], 1), 1))


@pytest.mark.parametrize("value", [[[0.0]], np.zeros((2, 3, S, S), dtype=np.float32), None, 3.0])
def test_non_tensors_are_refused(tiny, value):
    with pytest.raises(ValueError, match=r"^images: expected a torch.Tensor, got "):
        tiny.equivariant_embedding(value)


@SETTINGS
@given(
    steps=st.integers(0, 5),
    adim=st.integers(1, 7),
    batch=st.integers(1, 3),
    m=st.integers(1, 4),
)
def test_wrong_action_shapes_name_the_argument(tiny, steps, adim, batch, m):
    """Only (B, M-1, A) for the invariant embedding and (B, M, A) for prediction are taken; no broadcasting."""
    v = views_of(2, m)
    a = torch.zeros(batch, steps, adim)
    ok_inv = (batch, steps, adim) == (2, m - 1, A)
    ok_pred = (batch, steps, adim) == (2, m, A)
    with torch.no_grad():
        for ok, call in ((ok_inv, lambda: tiny.invariant_embedding(v, a)), (ok_pred, lambda: tiny.predict_next(v, a))):
            if ok:
                call()
            else:
                with pytest.raises(ValueError, match=r"^actions: expected shape \(B, steps, A\)"):
                    call()
    with pytest.raises(ValueError, match=r"^actions: expected shape"):
        tiny.invariant_embedding(v, a.flatten(0, 1) if steps else a[0])  # 2-d actions never broadcast


@SETTINGS
@given(
    where=st.sampled_from(["views", "actions", "target", "z"]),
    bad=st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    index=st.integers(0, 10**6),
)
def test_non_finite_values_are_refused(tiny, where, bad, index):
    v, a, tgt, z = views_of(2, 3), actions_of(2, 3), views_of(2, 1)[:, 0], torch.randn(2, 3, D)
    tensor = {"views": v, "actions": a, "target": tgt, "z": z}[where]
    tensor.view(-1)[index % tensor.numel()] = bad
    with pytest.raises(ValueError, match=rf"^{where}: expected finite values, got NaN or Inf"):
        if where == "z":
            tiny.aggregate(z, a[:, :2])
        else:
            tiny(v, a, tgt)
    if where == "views" or (where == "actions" and not bool(torch.isfinite(a[:, :2]).all())):
        with pytest.raises(ValueError, match=rf"^{where}: expected finite values"):
            tiny.invariant_embedding(v, a[:, :2])


@pytest.mark.parametrize("where", ["views", "actions", "target", "z", "images"])
def test_inputs_on_another_device_are_refused(tiny, where):
    """'meta' stands in for a GPU: the check must come before anything reads the values."""
    v, a, tgt, z = views_of(2, 3), actions_of(2, 3), views_of(2, 1)[:, 0], torch.randn(2, 3, D)
    meta = lambda t: t.to("meta")  # noqa: E731
    with pytest.raises(ValueError, match=rf"^{where}: expected a tensor on cpu .*got one on meta"):
        if where == "views":
            tiny.predict_next(meta(v), a)
        elif where == "actions":
            tiny.predict_next(v, meta(a))
        elif where == "target":
            tiny(v, a, meta(tgt))
        elif where == "z":
            tiny.aggregate(meta(z), a[:, :2])
        else:
            tiny.equivariant_embedding(meta(tgt))


def test_target_must_match_the_views(tiny):
    v, a = views_of(2, 3), actions_of(2, 3)
    with pytest.raises(ValueError, match=r"^target: expected shape \(2, 3, 16, 16\)"):
        tiny(v, a, views_of(3, 1)[:, 0])
    with pytest.raises(ValueError, match=r"^target: expected shape \(2, 3, 16, 16\)"):
        tiny(v, a, torch.zeros(2, C, S + 1, S))


def test_aggregate_and_predict_check_their_inputs(tiny):
    a = actions_of(2, 2)
    with pytest.raises(ValueError, match=rf"^z: expected shape \(B, M, {D}\)"):
        tiny.aggregate(torch.zeros(2, 3, D + 1), a)
    with pytest.raises(ValueError, match=r"^z: expected a floating-point tensor"):
        tiny.aggregate(torch.zeros(2, 3, D, dtype=torch.int64), a)
    with pytest.raises(ValueError, match=rf"^z_agg: expected shape \(B, {E}\)"):
        tiny.predict(torch.zeros(2, E - 1), a[:, 0])
    with pytest.raises(ValueError, match=r"^next_action: expected shape \(B, A\) = \(2, 4\)"):
        tiny.predict(torch.zeros(2, E), torch.zeros(2, A + 1))
    with pytest.raises(ValueError, match=r"^next_action: expected shape \(B, A\) = \(2, 4\)"):
        tiny.predict(torch.zeros(2, E), torch.zeros(1, A))
    with pytest.raises(ValueError, match=r"^next_action: expected shape .*got None"):
        tiny.predict(torch.zeros(2, E))


# ----------------------------------------------------------------------------- the action-free model
@torch.no_grad()
def test_action_free_model_takes_none_and_refuses_actions(tiny_free):
    v = views_of(2, 3)
    assert tiny_free.invariant_embedding(v).shape == (2, D)  # E = D without action slots
    assert tiny_free.predict_next(v).shape == (2, D)
    assert tiny_free.encode_views(v, None).invariant.shape == (2, D)
    assert tiny_free.aggregate(tiny_free.equivariant_embedding(v)).shape == (2, D)
    assert tiny_free(v, None, v[:, 0]).loss.shape == ()
    z = tiny_free.equivariant_embedding(v)
    for call in (
        lambda: tiny_free.invariant_embedding(v, actions_of(2, 2)),
        lambda: tiny_free.predict_next(v, actions_of(2, 3)),
        lambda: tiny_free(v, actions_of(2, 3), v[:, 0]),
        lambda: tiny_free.aggregate(z, actions_of(2, 2)),
    ):
        with pytest.raises(ValueError, match=r"^actions: this model was trained without action conditioning"):
            call()
    with pytest.raises(ValueError, match=r"^next_action: this model was trained without action conditioning"):
        tiny_free.predict(torch.zeros(2, D), torch.zeros(2, A))


def test_action_conditioned_model_refuses_missing_actions(tiny):
    with pytest.raises(ValueError, match=r"^actions: expected relative actions of shape \(B, 2, 4\).*got None"):
        tiny.invariant_embedding(views_of(1, 3))
