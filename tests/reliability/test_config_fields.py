"""Every config.json field is checked for type, finiteness and range at load, and the shapes a config
implies are compared with the weights' header before anything is allocated (hypothesis over every field)."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seqjepa
from seqjepa.errors import ConfigError, ConfigWeightsMismatchError

from ..conftest import small_config

BAD_VALUES = {
    "image_size": [10**9, 0, -1, 32.0, True, "32", None],
    "train_seq_len": [10**100, 0, 2.5],
    "action_embed_dim": [10**9],
    "predictor_hidden": [10**10, -1],
    "mlp_ratio": [1e9, float("inf"), float("nan"), 0, -1],
    "num_layers": [10**6, 0],
    "num_heads": [10**6],
    "encoder_dim": [10**8],
    "action_space": ["teleport", "", 3],
    "std": [[float("inf")] * 3, [0.0, 0.1, 0.1], [1e9] * 3, [0.1, 0.1], "0.1"],
    "mean": [[float("nan")] * 3, [1e30] * 3, [0.5, 0.5]],
    "dropout": [float("nan"), 1.0, -0.1],
    "ema_momentum": [float("inf"), 2.0],
    "backbone_kwargs": [{"channels": [10**9, 1, 1, 1]}, {"x": float("inf")}, {"x": {"y": {"z": {"a": {"b": {"c": 1}}}}}}],
    "backbone": ["hf-hub:evil/model", "local-dir:/etc"],
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    seqjepa.SeqJEPA(small_config()).save_pretrained(d)
    return d


def _with_field(saved, tmp_path, field, value):
    doc = json.loads((saved / "config.json").read_text())
    doc["model"][field] = value
    out = tmp_path / "m"
    out.mkdir(exist_ok=True)
    (out / "config.json").write_text(json.dumps(doc))
    weights = out / "model.safetensors"
    if not weights.exists():
        weights.write_bytes((saved / "model.safetensors").read_bytes())
    return out


@pytest.mark.parametrize("field, value", [(f, v) for f, vs in BAD_VALUES.items() for v in vs])
def test_an_absurd_or_ill_typed_field_is_refused_quickly_naming_it(saved, tmp_path, field, value):
    d = _with_field(saved, tmp_path, field, value)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=rf"'?{field}'?"):
        seqjepa.load(d)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("field, value, blamed", [
    ("action_embed_dim", 12, "action_embed_dim"),
    ("predictor_hidden", 64, "predictor_hidden"),
    ("num_layers", 2, "num_layers"),
    ("mlp_ratio", 2.0, "mlp_ratio"),
])
def test_a_valid_config_that_contradicts_the_weights_names_the_field_before_allocating(saved, tmp_path, monkeypatch,
                                                                                      field, value, blamed):
    d = _with_field(saved, tmp_path, field, value)
    built_for_real = []
    real_init = seqjepa.SeqJEPA.__init__

    def spy(self, config, **kw):
        real_init(self, config, **kw)
        built_for_real.append(next(self.parameters()).device.type != "meta")

    monkeypatch.setattr(seqjepa.SeqJEPA, "__init__", spy)
    with pytest.raises(ConfigWeightsMismatchError, match=blamed):
        seqjepa.load(d)
    assert not any(built_for_real), "the model was allocated before the header was compared"


_scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
_value = st.one_of(_scalar, st.lists(_scalar, max_size=4), st.dictionaries(st.text(max_size=4), _scalar, max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(small_config().to_dict())), value=_value)
def test_any_value_in_any_field_loads_or_is_a_config_error(saved, tmp_path_factory, field, value):
    tmp = tmp_path_factory.mktemp("h")
    d = _with_field(saved, tmp, field, value)
    try:
        model = seqjepa.load(d)
    except ConfigError:
        return
    except seqjepa.CheckpointMismatchError:
        return  # a valid config of another architecture: refused as a mismatch
    # accepted: then the value is what was written and the model works on its own input size
    cfg = model.config
    assert math.isfinite(sum(cfg.mean)) and math.isfinite(sum(cfg.std)) and all(s > 0 for s in cfg.std)
    x = torch.zeros(1, cfg.in_channels, cfg.image_size, cfg.image_size)
    assert model.equivariant_embedding(x).shape == (1, cfg.encoder_dim)
