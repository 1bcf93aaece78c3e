"""SeqJEPA edges found by mutation testing (tools/mutation.py): the single-layer predictor, dropout,
dtypes under autocast, what the training forward returns, messages, and the thin wrappers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import seqjepa.zoo._upload
from seqjepa import SeqJEPA
from seqjepa.models.model import Predictor

from .conftest import small_config


def _inputs(b=3, m=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, m, 3, 16, 16, generator=g), torch.randn(b, m, 4, generator=g), torch.randn(b, 3, 16, 16, generator=g)


# ----------------------------------------------------------------------------- the predictor
@pytest.mark.parametrize("hidden", [0, 1, 5])
def test_predictor_is_the_official_single_layer_at_0_and_an_mlp_otherwise(hidden):
    """hidden=0: Linear(no bias) -> BatchNorm1d(affine), compared with torch primitives; hidden >= 1: two layers."""
    torch.manual_seed(0)
    predictor = Predictor(6, hidden, 4).train()
    x = torch.randn(8, 6)
    keys = set(predictor.state_dict())
    if hidden == 0:
        assert keys == {"fc1.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}
        assert predictor.fc1.weight.shape == (4, 6)
        with torch.no_grad():
            predictor.bn.weight.uniform_(0.5, 2.0)
            predictor.bn.bias.uniform_(-1.0, 1.0)
        h = x @ predictor.fc1.weight.T
        want = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5) * predictor.bn.weight + predictor.bn.bias
        torch.testing.assert_close(predictor(x), want, rtol=1e-5, atol=1e-5)
    else:
        assert keys == {"fc1.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                        "bn.num_batches_tracked", "fc2.weight", "fc2.bias"}
        assert predictor.fc1.weight.shape == (hidden, 6) and predictor.fc2.weight.shape == (4, hidden)
        h = predictor.bn(x @ predictor.fc1.weight.T)
        torch.testing.assert_close(predictor(x), F.linear(torch.relu(h), predictor.fc2.weight, predictor.fc2.bias))


def test_a_model_with_the_single_layer_predictor_trains_and_predicts():
    torch.manual_seed(0)
    model = SeqJEPA(small_config(predictor_hidden=0)).train()
    views, actions, target = _inputs()
    out = model(views, actions, target)
    out.loss.backward()
    assert out.prediction.shape == (3, 32) and model.predictor.fc1.weight.grad is not None
    assert model.eval().predict_next(views, actions).shape == (3, 32)


# ----------------------------------------------------------------------------- the aggregator
def test_the_aggregator_uses_the_configured_dropout():
    """dropout=0.0 makes train mode deterministic; the configured rate reaches every layer."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config(dropout=0.0, num_layers=2)).train()
    tokens = torch.randn(4, 3, model.config.token_dim)
    torch.testing.assert_close(model.aggregator(tokens), model.aggregator(tokens), rtol=0, atol=0)
    noisy = SeqJEPA(small_config(dropout=0.3, num_layers=2)).train()
    assert not torch.equal(noisy.aggregator(tokens), noisy.aggregator(tokens))
    assert all(layer.dropout.p == 0.3 for layer in noisy.aggregator.layers)


@pytest.mark.parametrize("learned", [True, False], ids=["learned-action-embedding", "raw-actions"])
def test_under_autocast_the_token_sequence_keeps_the_autocast_dtype(learned):
    """The [AGG] token and the action slots (embedded, or raw fp32 actions padded) are cast to the
    encoder's output dtype, so under bf16 autocast the sequence the transformer sees stays bf16
    instead of being promoted to fp32."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config(learn_action_embedding=learned)).eval()
    seen = {}

    def record(_module, args):
        seen.setdefault("dtype", args[0].dtype)

    model.aggregator.layers[0].register_forward_pre_hook(record)
    views, actions, _ = _inputs()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        z = model.equivariant_embedding(views)
        tokens = model.observation_tokens(z, actions)
        model.encode_views(views, actions[:, :-1])
    assert z.dtype == torch.bfloat16
    assert tokens.dtype == torch.bfloat16
    assert seen["dtype"] == torch.bfloat16


def test_under_autocast_the_loss_is_reduced_in_fp32():
    """Under bf16 autocast the prediction and target embedding are bf16; the cosine of the loss is still
    computed in fp32 from those values (in bf16 its rounding drowns the action's effect)."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).train()
    views, actions, target = _inputs()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(views, actions, target)
    assert out.prediction.dtype == torch.bfloat16 and out.target_embedding.dtype == torch.bfloat16
    assert out.loss.dtype == torch.float32
    cos = F.cosine_similarity(out.prediction.double(), out.target_embedding.double(), dim=1)
    torch.testing.assert_close(out.loss.double(), 1.0 - cos.mean(), rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- the training forward
def test_the_training_forward_returns_the_sequence_it_aggregated(model):
    """In eval mode BatchNorm is per row, so the forward's z and z_AGG equal the public embeddings."""
    views, actions, target = _inputs()
    with torch.no_grad():
        out = model(views, actions, target)
        torch.testing.assert_close(out.z, model.equivariant_embedding(views))
        torch.testing.assert_close(out.z_agg, model.invariant_embedding(views, actions[:, :-1]))
        torch.testing.assert_close(out.prediction, model.predict_next(views, actions))
        torch.testing.assert_close(out.target_embedding, model.encode(target, target=True))


@pytest.mark.parametrize("where", ["target", "actions"])
def test_check_values_false_skips_the_scan_of_every_input(model, where):
    views, actions, target = _inputs()
    bad = {"target": target, "actions": actions}[where]
    bad.view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match=rf"^{where}: expected finite values"):
        model(views, actions, target)
    out = model(views, actions, target, check_values=False)
    assert not torch.isfinite(out.loss)


# ----------------------------------------------------------------------------- construction
def test_without_a_target_encoder_the_online_encoder_is_the_target():
    torch.manual_seed(0)
    model = SeqJEPA(small_config(), with_target_encoder=False).eval()
    assert not model.has_target_encoder and model.target_encoder is None
    images = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(model.encode(images, target=True), model.encode(images))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.update_target(0.5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_transform_maps_a_pil_image_to_the_models_input():
    model = SeqJEPA(small_config(image_size=16))
    image = Image.fromarray(np.full((40, 30, 3), 255, dtype=np.uint8))
    t = model.transform(image)
    assert isinstance(t, torch.Tensor) and t.shape == (3, 16, 16) and t.dtype == torch.float32
    mean, std = torch.tensor(model.config.mean), torch.tensor(model.config.std)
    torch.testing.assert_close(t[:, 0, 0], (1.0 - mean) / std)
    assert model.transform is model.transform  # built once


# ----------------------------------------------------------------------------- messages that name the argument
@pytest.mark.parametrize("entry", ["views", "images", "training views"])
def test_images_of_another_size_are_refused(model, entry):
    views, actions, target = _inputs()
    wrong = F.interpolate(views.flatten(0, 1), size=(20, 20)).reshape(3, 3, 3, 20, 20)
    name = entry.split()[-1]
    with pytest.raises(ValueError, match=rf"^{name}: expected 16x16 images \(the model's image_size"):
        if entry == "views":
            model.encode_views(wrong, actions[:, :-1])
        elif entry == "images":
            model.equivariant_embedding(wrong[:, 0])
        else:
            model(wrong, actions, F.interpolate(target, size=(20, 20)))


def test_feature_errors_say_what_the_features_are(model):
    with pytest.raises(ValueError, match=r"^z: expected shape \(B, M, 32\) \(\(B, M, D\) encoder outputs\), got \(2, 3, 31\)$"):
        model.aggregate(torch.zeros(2, 3, 31), torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"^z_agg: expected shape \(B, 40\) \(\(B, E\) aggregates\), got \(2, 39\)$"):
        model.predict(torch.zeros(2, 39), torch.zeros(2, 4))


@pytest.mark.parametrize("bad, got", [([[0.0] * 4] * 2, "got list$"), (torch.zeros(2, 5), r"got \(2, 5\)$")])
def test_a_wrong_next_action_names_what_came(model, bad, got):
    with pytest.raises(ValueError, match=rf"^next_action: expected shape \(B, A\) = \(2, 4\) .*{got}"):
        model.predict(torch.zeros(2, 40), bad)


def test_a_non_finite_next_action_is_named(model):
    action = torch.zeros(2, 4)
    action[1, 2] = float("inf")
    with pytest.raises(ValueError, match=r"^next_action: expected finite values"):
        model.predict(torch.zeros(2, 40), action)


# ----------------------------------------------------------------------------- the thin wrappers
def test_inference_parameters_are_the_state_dict_without_the_target_encoder(model):
    names = [k for k, _ in model.inference_parameters()]
    state = model.state_dict()
    assert names == [k for k in state if not k.startswith("target_encoder.")]
    assert any(k.startswith("encoder.") for k in names) and len(names) < len(state)
    assert all(v is state[k] or torch.equal(v, state[k]) for k, v in model.inference_parameters())


def test_save_pretrained_and_from_pretrained_round_trip(model, tmp_path):
    views, actions, _ = _inputs()
    out = model.save_pretrained(str(tmp_path / "saved"))
    assert out == str(tmp_path / "saved") and (tmp_path / "saved" / "model.safetensors").is_file()
    loaded = SeqJEPA.from_pretrained(str(tmp_path / "saved"))
    assert type(loaded) is SeqJEPA and not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded.invariant_embedding(views, actions[:, :-1]),
                                   model.invariant_embedding(views, actions[:, :-1]), rtol=0, atol=0)


def test_save_pretrained_passes_its_options_on(model, tmp_path):
    model.save_pretrained(str(tmp_path / "inference"), include_target_encoder=False)
    assert not SeqJEPA.from_pretrained(str(tmp_path / "inference")).has_target_encoder


def test_from_pretrained_builds_the_class_it_is_called_on(model, tmp_path):
    class Mine(SeqJEPA):
        pass

    model.save_pretrained(str(tmp_path / "saved"))
    assert type(Mine.from_pretrained(str(tmp_path / "saved"), dtype=torch.float64)) is Mine
    assert next(Mine.from_pretrained(str(tmp_path / "saved"), dtype=torch.float64).parameters()).dtype == torch.float64


def test_push_to_hub_hands_the_model_and_its_options_to_the_uploader(model, monkeypatch):
    calls = []
    monkeypatch.setattr(seqjepa.zoo._upload, "push_to_hub", lambda *a, **k: calls.append((a, k)) or "commit")
    assert model.push_to_hub("me/repo", private=True) == "commit"
    assert calls == [((model, "me/repo"), {"private": True})]


def test_repr_names_the_architecture(model):
    first, _, text = repr(model).splitlines()[:3]
    assert "backbone=narrow ResNet-10 (widths 8/16/16/32) (timm resnet18), D=32, E=40, A=4, layers=1, heads=4, target_encoder=True" in text
    inference = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("target_encoder."))
    assert first == (f"SeqJEPA: narrow ResNet-10 (widths 8/16/16/32) backbone, {inference / 1000:.3g} k parameters "
                     f"(+ {sum(p.numel() for p in model.target_encoder.parameters()) / 1000:.3g} k in the target encoder), "
                     "input 3x16x16, actions: rotation (4-d)")
    assert first == model.summary() and str(model).startswith(first + "\nSeqJEPA(")


def test_the_default_model_is_named_for_what_it_is():
    """It is built by timm's resnet18 constructor, but with one block per stage and a quarter of the widths."""
    from seqjepa.models._naming import backbone_label, format_parameters

    line = seqjepa.load().summary()
    assert line == "SeqJEPA: narrow ResNet-10 (widths 16/32/64/128) backbone, 1.02 M parameters, input 3x32x32, actions: rotation (4-d)"
    assert backbone_label("resnet18") == "ResNet-18" and backbone_label("resnet50", {"layers": [3, 4, 6, 3]}) == "ResNet-50"
    assert backbone_label("resnet18", {"channels": [128, 256, 512, 1024]}) == "wide ResNet-18 (widths 128/256/512/1024)"
    assert backbone_label("convnext_atto", {"drop_rate": 0.1}) == "convnext_atto (drop_rate=0.1)"
    assert [format_parameters(n) for n in (999, 8192, 11_689_512)] == ["999", "8.19 k", "11.7 M"]


def test_cpu_autocast_inference_leaves_the_fast_path_setting_as_it_was():
    """On a torch whose fused encoder path breaks under CPU autocast, the aggregator avoids it for one call only."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).eval()
    views, actions, _ = _inputs()
    before = torch.backends.mha.get_fastpath_enabled()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        z_agg = model.invariant_embedding(views, actions[:, :-1])
    assert torch.backends.mha.get_fastpath_enabled() == before
    assert z_agg.dtype == torch.bfloat16 and torch.isfinite(z_agg.float()).all()
