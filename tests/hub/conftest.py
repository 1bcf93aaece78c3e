"""Fixtures for the model-zoo tests: a fake Hub on loopback, test cards, an isolated HF cache."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from seqjepa import SeqJEPA
from seqjepa.zoo import registry
from seqjepa.zoo._convert_official import seqjepa_to_official_key
from seqjepa.utils.files import sha256_file
from tests.conftest import small_config

from .fakehub import FakeHub

OFFICIAL_REPO = "Hafez/seq-JEPA"
OURS_REPO = "someone/tiny"
PINNED_REPO = "someone/pinned"
OFFICIAL_FILE = "toy3diebench_rot_seqlen3.pth"


def official_pth_bytes(model: SeqJEPA) -> bytes:
    """An official-format checkpoint of ``model``: official key names, probes, argparse args."""
    state = {seqjepa_to_official_key(k): v.clone() for k, v in model.state_dict().items()}
    state["online_linprobe.weight"] = torch.zeros(3, model.config.token_dim)
    state["online_linprobe.bias"] = torch.zeros(3)
    args = argparse.Namespace(dataset="3diebench", latent_type="rot", seq_len=3, img_size=16, num_heads=4,
                              ema=True, ema_decay=0.996)
    buf = io.BytesIO()
    torch.save({"model": state, "args": args, "epoch": 1, "min_loss": 0.1, "optimizer": {}}, buf)
    return buf.getvalue()


def card(name: str, config, source: dict, **extra) -> dict:
    c = config
    return {
        "card_format_version": 1, "name": name, "aliases": [f"{name}-alias"],
        "description": f"Test model {name}.", "model": c.to_dict(),
        "preprocessing": {"image_size": c.image_size, "interpolation": c.interpolation, "mean": list(c.mean),
                          "std": list(c.std), "input": "test images"},
        "actions": {"space": c.action_space, "dim": c.action_dim, "order": [f"a{i}" for i in range(c.action_dim)],
                    "units": "none", "relative": "differences"},
        "source": source,
        "training": {"dataset": "none", "train_seq_len": c.train_seq_len, "recommended_inference_seq_len": 3,
                     "recipe": "random init"},
        "reported": [{"metric": "top1", "value": 1.0, "setting": "test", "source": "test"}],
        "measured": [], "license": "mit", "citation": "none", **extra,
    }


class Zoo:
    """What a test needs: the fake hub, the models it serves, the cache, the cards directory."""

    def __init__(self, tmp: Path, hub: FakeHub) -> None:
        self.tmp, self.hub = tmp, hub
        self.cache = tmp / "hf-cache"
        self.cards = tmp / "cards"
        torch.manual_seed(0)
        self.config = small_config()
        self.official_model = SeqJEPA(self.config).eval()
        self.pth = official_pth_bytes(self.official_model)
        self.official_commit = hub.add_commit(OFFICIAL_REPO, {
            OFFICIAL_FILE: self.pth,
            "toy3diebench_rotcol_seqlen4.pth": b"not used by the tests",
            "README.md": b"# seq-JEPA\n",
        })
        torch.manual_seed(1)
        self.ours_model = SeqJEPA(self.config).eval()
        out = tmp / "ours"
        self.ours_model.save_pretrained(out)
        self.ours_files = {f: (out / f).read_bytes() for f in ("config.json", "model.safetensors", "README.md")}
        self.ours_commit = hub.add_commit(OURS_REPO, self.ours_files)
        self.weights_sha = sha256_file(out / "model.safetensors")
        self.pinned_commit = hub.add_commit(PINNED_REPO, {"model.safetensors": self.ours_files["model.safetensors"]})

    def write_cards(self) -> None:
        self.cards.mkdir(exist_ok=True)
        for path in registry.WEIGHTS_DIR.glob("*.json"):
            shutil.copy(path, self.cards / path.name)
        cards = [
            card("toy-official", self.config, {
                "kind": "hub", "repo": OFFICIAL_REPO, "revision": None, "filename": None,
                "file_pattern": "*toy3diebench*rot[!c]*seqlen3*.pth", "sha256": None, "size": None,
                "format": "official-pth"}),
            card("toy-pinned", self.config, {
                "kind": "hub", "repo": PINNED_REPO, "revision": self.pinned_commit, "filename": "model.safetensors",
                "file_pattern": None, "sha256": self.weights_sha,
                "size": len(self.ours_files["model.safetensors"]), "format": "safetensors"}),
            card("toy-package", self.config, {
                "kind": "package", "filename": "toy-package.safetensors", "sha256": self.weights_sha,
                "size": len(self.ours_files["model.safetensors"]), "format": "safetensors"}),
        ]
        (self.cards / "toy-package.safetensors").write_bytes(self.ours_files["model.safetensors"])
        for c in cards:
            (self.cards / f"{c['name']}.json").write_text(json.dumps(c, indent=2))


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    hub = FakeHub().start()
    z = Zoo(tmp_path, hub)
    z.write_cards()
    monkeypatch.setattr(registry, "WEIGHTS_DIR", z.cards)
    registry.clear_cache()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(z.cache))
    monkeypatch.setenv("SEQJEPA_HUB_TIMEOUT", "2")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    yield z
    hub.stop()
    registry.clear_cache()
