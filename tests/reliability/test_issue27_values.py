"""Values accepted without a check before issue 27: huge inputs and actions, numeric strings, NaN weights."""

from __future__ import annotations

import pytest
import torch

import seqjepa
from seqjepa.errors import IntegrityError

from ..conftest import small_config


@pytest.fixture
def model():
    torch.manual_seed(0)
    return seqjepa.SeqJEPA(small_config()).eval()


def test_huge_finite_images_and_actions_are_refused(model):
    s = model.config.image_size
    with pytest.raises(ValueError, match=r"images: expected normalized image values of magnitude at most 1e\+08, "
                                         r"got 3e\+38"):
        model.equivariant_embedding(torch.full((1, 3, s, s), 3e38))
    views = torch.zeros(1, 2, 3, s, s)
    actions = torch.full((1, 1, model.config.action_dim), 1e30)
    with pytest.raises(ValueError, match=r"actions: expected action values of magnitude at most 1e\+06"):
        model.encode_views(views, actions)
    out = model.encode_views(views, torch.zeros(1, 1, model.config.action_dim))
    assert torch.isfinite(out.invariant).all()


@pytest.mark.parametrize("actions, match", [
    ([["0", "0", "0.38", "0.92"]], "must be a list of 1 lists of 4 numbers"),
    ([[0, 0, 1e308, 1]], "magnitude at most 1e\\+06"),
    ([[True, 0, 0, 1]], "must be a list of 1 lists of 4 numbers"),
])
def test_manifest_actions_must_be_plain_bounded_numbers(tmp_path, actions, match):
    import json

    from seqjepa.features.sources import ManifestSource

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "views": ["x.png", "y.png"], "actions": actions}) + "\n")
    with pytest.raises(ValueError, match=rf"line 1: 'actions'.*{match}"):
        ManifestSource(manifest, image_size=16, interpolation="bilinear", draft=False, action_space="rotation",
                       action_dim=4)


def test_nan_weights_are_refused_when_loaded(model, tmp_path):
    with torch.no_grad():
        next(model.parameters())[0].fill_(float("nan"))
    model.save_pretrained(str(tmp_path / "m"))
    with pytest.raises(IntegrityError, match="holds NaN or Inf values"):
        seqjepa.load(str(tmp_path / "m"))


def test_sparse_and_inference_mode_tensors_are_named_not_foreign_errors(model):
    s = model.config.image_size
    x = torch.zeros(2, 3, s, s)
    with pytest.raises(ValueError, match=r"images: expected a dense tensor, got a sparse_coo one"):
        model.equivariant_embedding(x.to_sparse())
    with torch.inference_mode():
        frozen = torch.zeros(2, 3, s, s)
    with pytest.raises(ValueError, match=r"images: a tensor created under torch.inference_mode\(\) cannot enter"):
        model.train().equivariant_embedding(frozen)
    with torch.no_grad():  # nothing recorded: fine
        assert model.equivariant_embedding(frozen).shape[0] == 2


def test_a_text_pth_and_a_malicious_resume_pickle_get_seqjepa_messages(tmp_path, capsys):
    import os

    from seqjepa.cli import main
    from seqjepa.errors import CheckpointMismatchError, UnsafeCheckpointError
    from seqjepa.train.checkpoint import load_checkpoint

    text = tmp_path / "notes.pth"
    text.write_text("hello, this is a text file\n")
    with pytest.raises(CheckpointMismatchError, match=r"notes.pth is not a torch checkpoint: neither a zip archive "
                                                      r"nor a pickle"):
        seqjepa.load(str(text))
    with pytest.raises(IntegrityError, match=r"is not a torch checkpoint"):
        load_checkpoint(text)

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError, match=r"references \S*system, which no seqjepa checkpoint holds"):
        load_checkpoint(tmp_path / "evil.pt")
    from seqjepa.data import make_toy_3diebench

    make_toy_3diebench(tmp_path / "toy", objects=4, views=6, classes=2, size=24, seed=0, workers=1)
    status = main(["train", "--recipe", "toy-3diebench", "--output", str(tmp_path / "run"), "--data-root",
                   str(tmp_path / "toy"), "--resume", str(tmp_path / "evil.pt"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert not marker.exists()
    assert status != 0 and "none of its code ran" in err and len(err) < 600, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer on a machine without a GPU")
@pytest.mark.parametrize("device, match", [
    ("cuda", r"device: 'cuda' was asked for, but no CUDA device is available here"),
    ("cuda:3", r"device: 'cuda:3' was asked for, but no CUDA device"),
    ("xla", r"device: expected 'cpu', 'cuda', 'cuda:N' or 'mps', got 'xla'"),
])
def test_load_on_a_device_this_machine_lacks_is_named(model, tmp_path, device, match):
    model.save_pretrained(str(tmp_path / "m"))
    with pytest.raises(ValueError, match=match):
        seqjepa.load(str(tmp_path / "m"), device=device)


def test_one_image_in_training_mode_through_batchnorm_is_explained():
    torch.manual_seed(0)
    model = seqjepa.SeqJEPA(small_config(cifar_stem=False)).train()  # 16 px -> 1x1 in the last stage
    s = model.config.image_size
    with pytest.raises(ValueError, match=r"images: 1 image\(s\) in training mode: a BatchNorm layer .* model.eval\(\)"):
        model.equivariant_embedding(torch.randn(1, 3, s, s))
    assert model.equivariant_embedding(torch.randn(2, 3, s, s)).shape == (2, model.config.encoder_dim)
