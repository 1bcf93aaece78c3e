"""Parity with the official implementation on golden tensors it produced (../shared/fixtures).

The fixture holds the official SeqJEPA_Transforms non-encoder weights under their official keys,
encoder outputs z and actions as inputs, and z_AGG and predictions for 1..4 observed views.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.zoo._convert_official import official_to_seqjepa_key

from .conftest import FIXTURES

GOLDEN = FIXTURES / "official-small-golden.safetensors"


@pytest.fixture(scope="module")
def golden():
    tensors = load_file(str(GOLDEN))
    meta = json.loads((FIXTURES / "official-small-golden.json").read_text())
    return tensors, meta["config"]


@pytest.fixture(scope="module")
def official_model(golden):
    tensors, cfg = golden
    config = SeqJEPAConfig(
        num_layers=cfg["num_enc_layers"],
        num_heads=cfg["num_heads"],
        action_embed_dim=cfg["act_projdim"],
        action_dim=cfg["act_latentdim"],
        predictor_hidden=cfg["pred_hidden"],
        encoder_dim=cfg["encoder_dim"],
        mlp_ratio=float(cfg["mlp_ratio"]),
        dropout=cfg["dropout"],
    )
    model = SeqJEPA(config, with_target_encoder=False).eval()
    weights = {official_to_seqjepa_key(k[len("weight."):]): v for k, v in tensors.items() if k.startswith("weight.")}
    own = model.state_dict()
    non_encoder = {k for k in own if not k.startswith("encoder.")}
    assert set(weights) == non_encoder, "the fixture must cover every non-encoder tensor, and only those"
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.startswith("encoder.") for k in missing)
    return model


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_z_agg_matches_official(golden, official_model, m):
    tensors, cfg = golden
    z, actions = tensors["input.z"], tensors["input.actions"]
    with torch.no_grad():
        z_agg = official_model.aggregate(z[:, :m], actions[:, : m - 1])
    expected = tensors[f"output.z_agg.m{m}"]
    assert z_agg.shape == expected.shape == (6, cfg["emb_dim"])
    assert (z_agg - expected).abs().max().item() <= 1e-5


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_prediction_matches_official(golden, official_model, m):
    tensors, _ = golden
    z, actions = tensors["input.z"], tensors["input.actions"]
    with torch.no_grad():
        pred = official_model.predict(official_model.aggregate(z[:, :m], actions[:, : m - 1]), actions[:, m - 1])
    expected = tensors[f"output.prediction.m{m}"]
    assert (pred - expected).abs().max().item() <= 1e-5


def test_parity_fails_when_last_slot_is_not_zeroed(golden, official_model):
    """Guards the test itself: a wrong token layout must be visible at this tolerance."""
    tensors, _ = golden
    z, actions = tensors["input.z"], tensors["input.actions"]
    with torch.no_grad():
        tokens = torch.cat([z[:, :3], official_model.action_embedding(actions[:, :3])], dim=-1)
        wrong = official_model.aggregator(tokens)
    assert (wrong - tensors["output.z_agg.m3"]).abs().max().item() > 1e-3
