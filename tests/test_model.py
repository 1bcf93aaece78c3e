"""SeqJEPA: token layout, a primitive-level reference, EMA, train-mode BatchNorm, batch independence."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqjepa import SeqJEPA

from .conftest import small_config


def _views(b=3, m=4, size=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, m, 3, size, size, generator=g), torch.randn(b, m, 4, generator=g)


def _reference_z_agg(model: SeqJEPA, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """z_AGG from torch primitives only (no nn.Module forward), following the paper's description."""
    c = model.config
    emb = model.action_embedding
    bn = emb.norm
    a = F.linear(actions, emb.proj.weight)
    a = (a - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    slots = torch.cat([a, torch.zeros_like(a[:, :1])], dim=1)  # last observation's slot is zero
    x = torch.cat([model.aggregator.agg_token.expand(z.shape[0], 1, -1), torch.cat([z, slots], -1)], dim=1)
    heads, width = c.num_heads, c.token_dim
    for layer in model.aggregator.layers:
        att = layer.self_attn
        q, k, v = F.linear(x, att.in_proj_weight, att.in_proj_bias).chunk(3, dim=-1)
        split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, width // heads).transpose(1, 2)  # noqa: E731
        weights = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(width // heads), dim=-1)
        attended = (weights @ split(v)).transpose(1, 2).reshape(x.shape)
        x = F.layer_norm(x + F.linear(attended, att.out_proj.weight, att.out_proj.bias), (width,), layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
        ff = F.linear(torch.relu(F.linear(x, layer.linear1.weight, layer.linear1.bias)), layer.linear2.weight, layer.linear2.bias)
        x = F.layer_norm(x + ff, (width,), layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
    norm = model.aggregator.norm
    return F.layer_norm(x[:, 0], (width,), norm.weight, norm.bias, norm.eps)


def _randomize(model: SeqJEPA, seed: int = 0) -> SeqJEPA:
    """Give every parameter and BN statistic non-trivial values (fresh inits hide layout bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                noise = torch.randn(t.shape, generator=g) * 0.2
                t.copy_(noise.abs() + 0.5 if name.endswith("running_var") else noise)
    return model


@pytest.fixture
def trained_like(model):
    return _randomize(model)


def test_invariant_embedding_matches_primitive_reference(trained_like):
    views, actions = _views(m=4)
    with torch.no_grad():
        z = trained_like.equivariant_embedding(views)
        ours = trained_like.invariant_embedding(views, actions[:, :3])
        ref = _reference_z_agg(trained_like, z, actions[:, :3])
    assert ours.shape == (3, trained_like.config.token_dim)
    assert (ours - ref).abs().max().item() <= 1e-5


def test_last_observation_slot_has_no_effect(trained_like):
    views, actions = _views(m=3)
    with torch.no_grad():
        z = trained_like.equivariant_embedding(views)
        a = trained_like.aggregator(trained_like.observation_tokens(z, actions[:, :3]))
        other = actions[:, :3].clone()
        other[:, -1] = torch.randn_like(other[:, -1]) * 10
        b = trained_like.aggregator(trained_like.observation_tokens(z, other))
        changed = actions[:, :3].clone()
        changed[:, 0] += 1.0
        c = trained_like.aggregator(trained_like.observation_tokens(z, changed))
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3  # a non-last slot does matter


def test_tokens_permuted_together_leave_z_agg_unchanged(trained_like):
    _, actions = _views(m=4)
    z = torch.randn(3, 4, trained_like.config.encoder_dim, generator=torch.Generator().manual_seed(3)) * 3
    with torch.no_grad():
        tokens = trained_like.observation_tokens(z, actions)
        perm = torch.tensor([2, 0, 3, 1])
        a = trained_like.aggregator(tokens)
        b = trained_like.aggregator(tokens[:, perm])
        # permuting views alone (actions kept in place) is a different sequence
        mixed = torch.cat([z[:, perm], tokens[:, :, z.shape[-1]:]], dim=-1)
        c = trained_like.aggregator(mixed)
    assert (a - b).abs().max().item() <= 1e-5
    assert (a - c).abs().max().item() > 1e-3


def test_encode_views_is_consistent_with_single_methods(trained_like):
    views, actions = _views(m=3)
    with torch.no_grad():
        out = trained_like.encode_views(views, actions[:, :2])
        assert torch.equal(out.equivariant, trained_like.equivariant_embedding(views))
        assert torch.equal(out.invariant, trained_like.invariant_embedding(views, actions[:, :2]))
        single = trained_like.equivariant_embedding(views[:, 0])
        assert (single - out.equivariant[:, 0]).abs().max() <= 1e-5
        pred = trained_like.predict_next(views, actions[:, :3])
        assert torch.equal(pred, trained_like.predict(out.invariant, actions[:, 2]))


def test_eval_mode_is_batch_size_independent(trained_like):
    views, actions = _views(b=5, m=3)
    with torch.no_grad():
        batch = trained_like.invariant_embedding(views, actions[:, :2])
        rows = torch.cat([trained_like.invariant_embedding(views[i : i + 1], actions[i : i + 1, :2]) for i in range(5)])
    assert (batch - rows).abs().max().item() <= 1e-5


def test_m_longer_than_training_and_m_equal_one(trained_like):
    views, actions = _views(m=8)
    with torch.no_grad():
        assert trained_like.invariant_embedding(views, actions[:, :7]).shape == (3, trained_like.config.token_dim)
        one = trained_like.invariant_embedding(views[:, :1], actions[:, :0])
        assert one.shape == (3, trained_like.config.token_dim) and torch.isfinite(one).all()


def test_update_target_is_ema_of_parameters_only(model):
    model.train()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(0.5)
    before = {k: v.clone() for k, v in model.target_encoder.state_dict().items()}
    online = dict(model.encoder.named_parameters())
    model.update_target(0.9)
    after = model.target_encoder.state_dict()
    for name, p in model.target_encoder.named_parameters():
        expected = 0.9 * before[name] + 0.1 * online[name]
        assert torch.allclose(p, expected, atol=1e-6), name
    buffers = {n for n, _ in model.target_encoder.named_buffers()}
    assert buffers and all(torch.equal(after[n], before[n]) for n in buffers)
    assert all(not p.requires_grad for p in model.target_encoder.parameters())


@pytest.mark.parametrize("entry", ["SeqJEPA.update_target", "TargetEMA.step"])
def test_both_ema_entry_points_match_one_hand_written_reference(model, entry):
    """The trainer's EMA and the model's are one arithmetic: each against a float64 per-parameter loop."""
    from seqjepa.train.ema import TargetEMA

    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(torch.randn_like(p))
    target = [p.detach().double().clone() for p in model.target_encoder.parameters()]
    online = [p.detach().double().clone() for p in model.encoder.parameters()]
    m = 0.75
    want = [m * t + (1.0 - m) * o for t, o in zip(target, online)]
    if entry == "SeqJEPA.update_target":
        model.update_target(m)
    else:
        ema = TargetEMA(m, epochs=4)
        assert ema.step(list(model.encoder.parameters()), list(model.target_encoder.parameters()), epoch=0) == m
    # fp32 against the float64 reference: measured max |diff| = 7.5e-8 (float32 rounding of values of a few units)
    for got, exp in zip(model.target_encoder.parameters(), want):
        torch.testing.assert_close(got.double(), exp, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"momentum: expected a value in \[0, 1\]"):
        model.update_target(1.5)


def test_ema_momentum_0_copies_the_online_encoder_and_1_keeps_the_target(model):
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.target_encoder.parameters()]
    model.update_target(1.0)
    assert all(torch.equal(p, b) for p, b in zip(model.target_encoder.parameters(), before))
    model.update_target(0.0)
    assert all(torch.equal(t, o) for t, o in zip(model.target_encoder.parameters(), model.encoder.parameters()))


def test_training_forward_loss_and_gradients(model):
    model.train()
    views, actions = _views(m=3)
    target = torch.randn(3, 3, 16, 16)
    tgt_bn_before = model.target_encoder.bn1.running_mean.clone()
    out = model(views, actions, target)
    assert out.loss.ndim == 0 and 0.0 <= out.loss.item() <= 2.0
    expected = 1 - F.cosine_similarity(out.prediction, out.target_embedding, dim=1).mean()
    assert torch.allclose(out.loss, expected)
    out.loss.backward()
    assert model.encoder.conv1.weight.grad is not None and model.encoder.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.target_encoder.parameters())
    # the target encoder runs in train mode: its own BN statistics move (official behaviour)
    assert not torch.equal(model.target_encoder.bn1.running_mean, tgt_bn_before)


@pytest.mark.parametrize("mode", ["next_action", "zeros"])
def test_train_mode_action_batchnorm_sees_the_official_rows(mode):
    torch.manual_seed(0)
    model = SeqJEPA(small_config(last_slot_in_batchnorm=mode)).train()
    views, actions = _views(m=3)
    target = torch.randn(3, 3, 16, 16)
    model(views, actions, target)
    proj = model.action_embedding.proj.weight.detach()
    slots = actions.clone()
    if mode == "zeros":
        slots[:, -1] = 0
    first = F.linear(slots.reshape(-1, 4), proj)  # one BN call over all M slot rows...
    second = F.linear(actions[:, -1], proj)  # ...then one over the actions to the unseen views
    m = 0.1
    expected = (1 - m) * ((1 - m) * 0 + m * first.mean(0)) + m * second.mean(0)
    assert torch.allclose(model.action_embedding.norm.running_mean, expected, atol=1e-6)
    assert model.action_embedding.norm.num_batches_tracked.item() == 2


def test_action_free_and_raw_action_variants():
    torch.manual_seed(0)
    free = SeqJEPA(small_config(action_conditioned=False, learn_action_embedding=False)).eval()
    views, actions = _views(m=3)
    with torch.no_grad():
        assert free.invariant_embedding(views).shape == (3, 32)
        assert free.predict_next(views).shape == (3, 32)
    with pytest.raises(ValueError, match="actions.*without action conditioning"):
        free.invariant_embedding(views, actions[:, :2])
    raw = SeqJEPA(small_config(learn_action_embedding=False, action_dim=6)).eval()
    assert raw.action_embedding is None and raw.config.token_dim == 40  # 32 + 6 + 2 zero columns
    acts = torch.randn(3, 3, 6)
    with torch.no_grad():
        assert raw.invariant_embedding(views, acts[:, :2]).shape == (3, 40)
        assert raw.predict_next(views, acts).shape == (3, 32)


def test_parameter_count_matches_the_official_model():
    from seqjepa import SeqJEPAConfig

    model = SeqJEPA(SeqJEPAConfig(image_size=32, cifar_stem=True))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # official SeqJEPA_Transforms (CIFAR variant, L=4): 38,423,936 total, 27,255,104 trainable
    assert (total, trainable) == (38_423_936, 27_255_104)


def test_bad_inputs_name_the_argument(model):
    views, actions = _views(m=3)
    with pytest.raises(ValueError, match=r"views: expected shape \(B, M, C, H, W\)"):
        model.invariant_embedding(views[:, 0], actions[:, :2])
    with pytest.raises(ValueError, match=r"actions: expected shape \(B, steps, A\) = \(3, 2, 4\)"):
        model.invariant_embedding(views, actions)
    with pytest.raises(ValueError, match="actions: expected relative actions"):
        model.invariant_embedding(views, None)
    bad = views.clone()
    bad[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="views: expected finite values"):
        model.encode_views(bad, actions[:, :2])
    with pytest.raises(ValueError, match="images: expected dtype float32"):
        model.equivariant_embedding(views.double())
    with pytest.raises(ValueError, match="images: expected a floating-point"):
        model.equivariant_embedding(views.to(torch.uint8))


def test_forward_can_skip_the_value_scan_but_not_the_shape_checks(model):
    model.train()
    views, actions = _views(m=3)
    views[0, 0, 0, 0, 0] = float("nan")
    target = torch.randn(3, 3, 16, 16)
    with pytest.raises(ValueError, match="views: expected finite values"):
        model(views, actions, target)
    out = model(views, actions, target, check_values=False)
    assert not torch.isfinite(out.loss)  # the trainer's loss check is what catches it then
    with pytest.raises(ValueError, match="actions: expected shape"):
        model(views, actions[:, :2], target, check_values=False)
