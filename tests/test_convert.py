"""Official checkpoint conversion: the key map against the official key list, bit-exact round trips."""

from __future__ import annotations

import argparse
import re

import pytest
import torch

import seqjepa
from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.cli import main as cli_main
from seqjepa.zoo._convert_official import PROBE_PREFIXES, official_to_seqjepa_key, seqjepa_to_official_key

from .conftest import FIXTURES, small_config


def _official_keys():
    """(key, shape) of the pretraining checkpoint's model state dict, probes included, eval-only heads not."""
    rows = []
    for line in (FIXTURES / "official_state_dict_keys.txt").read_text().splitlines():
        if line.startswith("# --- Extra entries after model.add_probes"):
            break
        if not line or line.startswith("#"):
            continue
        key, shape, _dtype, _kind = line.split("\t")
        rows.append((key, tuple(int(x) for x in re.findall(r"\d+", shape))))
    return rows


def test_every_official_key_maps_to_exactly_one_of_ours_and_back():
    official = _official_keys()
    assert len(official) == 291 + 8  # 291 model entries + 8 online-probe tensors
    model = SeqJEPA(SeqJEPAConfig(image_size=32, cifar_stem=True))
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    mapped = {}
    for key, shape in official:
        if key.startswith(PROBE_PREFIXES):
            with pytest.raises(KeyError, match=re.escape(key)):
                official_to_seqjepa_key(key)
            continue
        target = official_to_seqjepa_key(key)
        assert target in ours, key
        assert ours[target] == shape, f"{key}: official {shape} vs ours {ours[target]}"
        assert seqjepa_to_official_key(target) == key
        mapped[target] = key
    assert set(mapped) == set(ours), "a parameter or buffer of ours has no official counterpart"


def _fake_official_checkpoint(path, model: SeqJEPA, **args):
    state = {seqjepa_to_official_key(k): v.clone() for k, v in model.state_dict().items()}
    state["online_linprobe.0.weight"] = torch.randn(10, model.config.token_dim)
    state["online_linprobe.0.bias"] = torch.randn(10)
    namespace = argparse.Namespace(dataset="3diebench", img_size=16, seq_len=3, num_heads=4, latent_type="rot", ema=True, **args)
    torch.save({"model": state, "optimizer": {"state": {}, "param_groups": []}, "epoch": 7, "min_loss": 0.25, "args": namespace}, path)


def _perturbed(config) -> SeqJEPA:
    torch.manual_seed(0)
    model = SeqJEPA(config)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.1)
    return model


SMALL_OVERRIDES = {"backbone_kwargs": {"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8}, "dropout": 0.0}


def test_convert_round_trip_is_bit_exact(tmp_path):
    model = _perturbed(small_config())
    ckpt = tmp_path / "official.pth"
    _fake_official_checkpoint(ckpt, model)
    report = seqjepa.convert_official(ckpt, tmp_path / "out", overrides=SMALL_OVERRIDES)
    assert sorted(report.dropped_keys) == ["online_linprobe.0.bias", "online_linprobe.0.weight"]
    assert report.epoch == 7 and len(report.source_sha256) == 64
    loaded = seqjepa.load(tmp_path / "out")
    assert not loaded.training and loaded.config == small_config()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    card = (tmp_path / "out" / "README.md").read_text()
    assert "official.pth" in card and report.source_sha256 in card
    in_memory = seqjepa.load_official(ckpt, overrides=SMALL_OVERRIDES)
    views = torch.randn(2, 3, 3, 16, 16)
    acts = torch.randn(2, 2, 4)
    model.eval()
    with torch.no_grad():
        assert torch.equal(in_memory.invariant_embedding(views, acts), model.invariant_embedding(views, acts))


def test_inferred_config_from_shapes_and_args(tmp_path):
    model = _perturbed(SeqJEPAConfig(image_size=32, cifar_stem=True, action_dim=6, num_layers=1, predictor_hidden=0))
    ckpt = tmp_path / "rotcol.pth"
    _fake_official_checkpoint(ckpt, model)
    config, _, report = seqjepa.zoo._convert_official.read_official_checkpoint(ckpt)
    assert config.cifar_stem and config.action_dim == 6 and config.num_layers == 1 and config.predictor_hidden == 0
    assert config.image_size == 16  # from args.img_size
    assert config.last_slot_in_batchnorm == "next_action"
    assert "num_heads" not in report.assumed


def test_unknown_keys_and_non_checkpoints_are_refused(tmp_path):
    model = _perturbed(small_config())
    state = {seqjepa_to_official_key(k): v for k, v in model.state_dict().items()}
    state["mystery.weight"] = torch.zeros(1)
    torch.save({"model": state, "args": argparse.Namespace()}, tmp_path / "x.pth")
    with pytest.raises(seqjepa.CheckpointMismatchError, match="mystery.weight"):
        seqjepa.load_official(tmp_path / "x.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(seqjepa.CheckpointMismatchError, match="expected an official seq-JEPA checkpoint"):
        seqjepa.load_official(tmp_path / "list.pth")


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/seqjepa-should-not-exist",))


def test_code_running_pickle_is_refused_and_never_runs(tmp_path):
    marker = "/tmp/seqjepa-should-not-exist"
    import os

    if os.path.exists(marker):
        os.unlink(marker)
    torch.save({"model": {}, "args": _Payload()}, tmp_path / "evil.pth")
    with pytest.raises(seqjepa.UnsafeCheckpointError, match="system"):
        seqjepa.load(tmp_path / "evil.pth")
    assert not os.path.exists(marker)


def test_cli_convert(tmp_path, capsys):
    model = _perturbed(small_config())
    ckpt = tmp_path / "c.pth"
    _fake_official_checkpoint(ckpt, model)
    sets = ["--set", 'backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8}', "--set", "dropout=0.0"]
    assert cli_main(["convert", str(ckpt), str(tmp_path / "o"), "--inference-only", *sets]) == 0
    out = capsys.readouterr().out
    assert "dropped 2 probe tensors: online_linprobe" in out
    loaded = seqjepa.load(tmp_path / "o")
    assert not loaded.has_target_encoder
    assert cli_main(["convert", str(tmp_path / "missing.pth"), str(tmp_path / "o2")]) == 2
