"""Export, push_to_hub, the zoo CLI and torch.hub, on the fake Hub."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import seqjepa
from seqjepa.zoo._upload import push_to_hub
from seqjepa.cli import main
from seqjepa.utils.files import sha256_file

from .conftest import OFFICIAL_FILE


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_package_card_loads_offline(zoo, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert same_weights(seqjepa.load("toy-package"), zoo.ours_model)
    with pytest.raises(ValueError, match="ships inside the package"):
        seqjepa.load("toy-package", revision="main")


def test_export_a_registry_model_writes_a_complete_card(zoo, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "toy-official", "--to", str(out)]) == 0
    assert same_weights(seqjepa.load(str(out)), zoo.official_model)
    readme = (out / "README.md").read_text()
    config = json.loads((out / "config.json").read_text())
    digest = sha256_file(out / "model.safetensors")
    assert digest in readme and config["weights"]["model.safetensors"]["sha256"] == digest
    assert f"Hafez/seq-JEPA@{zoo.official_commit}/{OFFICIAL_FILE}" in readme  # provenance
    assert "top1 (test), paper" in readme  # metrics table from the card
    assert "Test model toy-official." in readme


def test_push_to_hub_uploads_the_exported_folder(zoo):
    class FakeApi:
        def __init__(self):
            self.calls = []

        def create_repo(self, repo_id, **kwargs):
            self.calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            folder = Path(kwargs["folder_path"])
            self.files = {p.name: p.read_bytes() for p in folder.iterdir()}
            self.calls.append(("upload_folder", kwargs))
            return "commit-info"

    api = FakeApi()
    assert push_to_hub(zoo.ours_model, "me/my-model", private=True, api=api, metadata={"name": "mine"}) == "commit-info"
    assert api.calls[0] == ("create_repo", "me/my-model", {"repo_type": "model", "private": True, "exist_ok": True, "token": None})
    kwargs = api.calls[1][1]
    assert kwargs["repo_id"] == "me/my-model" and kwargs["repo_type"] == "model"
    assert set(api.files) == {"config.json", "model.safetensors", "README.md"}
    assert b"# mine" in api.files["README.md"]
    mirror = zoo.tmp / "pushed"
    mirror.mkdir()
    for name, data in api.files.items():
        (mirror / name).write_bytes(data)
    assert same_weights(seqjepa.load(str(mirror)), zoo.ours_model)
    with pytest.raises(ValueError, match="repo_id"):
        push_to_hub(zoo.ours_model, "../x", api=api)
    again = FakeApi()
    assert zoo.ours_model.push_to_hub("me/other", api=again) == "commit-info"  # the method on the model
    assert again.calls[1][1]["repo_id"] == "me/other"


def test_cli_download_prints_the_pin(zoo, capsys):
    assert main(["download", "toy-official"]) == 0
    out = capsys.readouterr().out
    assert zoo.official_commit in out and OFFICIAL_FILE in out and '"sha256"' in out
    assert main(["download", "toy-official", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["from_cache"] is True and res["commit"] == zoo.official_commit


def test_cli_list_and_info(zoo, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "resnet18-3diebench " in out and "toy-official" in out
    assert main(["info", "toy_official", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "toy-official"
    assert main(["info", "resnet18-stl10-pls", "--all"]) == 0
    assert "source.file_pattern" in capsys.readouterr().out
    assert main(["info", "toy-oficial"]) == 2
    assert "did you mean 'toy-official'" in capsys.readouterr().err


def test_cli_list_is_a_table_that_knows_what_is_cached(zoo, capsys):
    assert main(["list"]) == 0
    header, rule, *rows = capsys.readouterr().out.splitlines()
    assert header.split("  ")[0] == "name" and "parameters" in header and "cached" in header and set(rule) <= {"-", " "}
    by_name = {line.split()[0]: line for line in rows if line and not line.startswith("top-1")}
    assert by_name["toy-official"].rstrip().endswith("no") and by_name["toy-package"].rstrip().endswith("in package")
    assert main(["download", "toy-official"]) == 0
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["toy-official"]["cached"] == "yes" and listed["toy-official"]["weights"].endswith(("kB", "MB"))
    assert listed["toy-official"]["parameter_count"] == sum(p.numel() for p in zoo.official_model.parameters()
                                                            if p is not None) - sum(
        p.numel() for p in zoo.official_model.target_encoder.parameters())
    assert listed["toy-pinned"]["cached"] == "no"


def test_torch_hub_local(zoo, monkeypatch):
    repo_dir = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = torch.hub.load(str(repo_dir), "load", "toy-package", source="local")
    assert same_weights(model, zoo.ours_model)
    assert "toy-official" in torch.hub.load(str(repo_dir), "list_models", source="local")
