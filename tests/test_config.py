"""SeqJEPAConfig: defaults are the paper's model, JSON round trip, clashing fields are named."""

from __future__ import annotations

import json

import pytest

from seqjepa import ConfigError, SeqJEPAConfig


def test_defaults_are_the_paper_3diebench_model():
    c = SeqJEPAConfig()
    assert (c.backbone, c.image_size, c.cifar_stem) == ("resnet18", 128, False)
    assert (c.encoder_dim, c.action_embed_dim, c.token_dim, c.predictor_in_dim) == (512, 128, 640, 768)
    assert (c.num_layers, c.num_heads, c.ffn_dim, c.predictor_hidden) == (3, 4, 2560, 1024)
    assert c.train_seq_len == 3 and c.action_dim == 4


def test_json_round_trip_is_exact(tmp_path):
    c = SeqJEPAConfig(action_dim=6, action_space="rotation_color", train_seq_len=4, backbone_kwargs={"layers": [1, 1, 1, 1]})
    again = SeqJEPAConfig.from_json(c.to_json())
    assert again == c
    path = tmp_path / "config.json"
    path.write_text(c.to_json())
    assert SeqJEPAConfig.from_file(path) == c


def test_raw_action_concat_pads_to_head_multiple():
    c = SeqJEPAConfig(learn_action_embedding=False, action_dim=6, num_heads=4)
    # official: emb_dim = 512 + 6 padded up to a multiple of 4 -> 520, predictor input 520 + 6 + 2
    assert (c.action_pad, c.token_dim, c.predictor_in_dim) == (2, 520, 528)


def test_no_action_conditioning_sizes():
    c = SeqJEPAConfig(action_conditioned=False, learn_action_embedding=False)
    assert (c.token_dim, c.predictor_in_dim) == (512, 512)


@pytest.mark.parametrize(
    "changes, fields",
    [
        ({"num_heads": 3}, ["encoder_dim", "action_embed_dim", "num_heads"]),
        ({"action_conditioned": False}, ["action_conditioned", "learn_action_embedding"]),
        ({"mean": (0.5, 0.5)}, ["mean", "in_channels"]),
        ({"dropout": 1.5}, ["dropout"]),
        ({"last_slot_in_batchnorm": "sometimes"}, ["last_slot_in_batchnorm"]),
        ({"image_size": True}, ["image_size"]),
        ({"cifar_stem": 1}, ["cifar_stem"]),
        ({"action_dim": 0}, ["action_conditioned", "action_dim"]),
    ],
)
def test_invalid_combinations_name_the_fields(changes, fields):
    with pytest.raises(ConfigError) as info:
        SeqJEPAConfig(**changes)
    assert isinstance(info.value, ValueError)
    for field in fields:
        assert field in str(info.value)


def test_unknown_and_future_fields_are_rejected():
    data = SeqJEPAConfig().to_dict()
    with pytest.raises(ConfigError, match="unknown config field.*'colour'"):
        SeqJEPAConfig.from_dict({**data, "colour": 1})
    with pytest.raises(ConfigError, match="config_format_version"):
        SeqJEPAConfig.from_dict({**data, "config_format_version": 99})
    with pytest.raises(ConfigError, match="not valid JSON"):
        SeqJEPAConfig.from_json("{")
    assert json.loads(SeqJEPAConfig().to_json())["config_format_version"] == 1
