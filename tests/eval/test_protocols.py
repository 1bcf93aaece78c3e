import json
import math

import numpy as np

import pytest
import torch

from seqjepa import SeqJEPA
from seqjepa.eval import PROTOCOLS, EvalOptions, FeatureCache, ProbeSettings, compute_probe_features, run_protocol, write_report
from tests.conftest import small_config
from tests.eval.conftest import ACTION_DIM, ContractToy3DIE, contract_factory

FAST = EvalOptions(max_views=3, probe=ProbeSettings(epochs=2, batch_size=16), batch_size=8, mlp_width=32)


def _model(protocol):
    torch.manual_seed(0)
    dim = 6 if protocol.action_space == "rotation_color" else ACTION_DIM[protocol.dataset]
    return SeqJEPA(small_config(action_dim=dim, predictor_hidden=16)).eval()


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_runs_end_to_end(name, tmp_path):
    protocol = PROTOCOLS[name]
    results = run_protocol(_model(protocol), name, options=FAST, dataset_factory=contract_factory(16, 8))
    if protocol.classification:
        assert set(results["top1_zagg"]) == {"1", "2", "3"}
        # top-1 is a count over the 8 validation sequences: a multiple of 12.5 %, not any number in 0..100
        assert results["num_val"] == 8
        for v in [*results["top1_zagg"].values(), *([results["top1_z"]] if "top1_z" in results else [])]:
            assert v * 8 / 100 == pytest.approx(round(v * 8 / 100), abs=1e-9) and 0 <= round(v * 8 / 100) <= 8, v
    for rp in protocol.relative:
        assert math.isfinite(results["r2"][rp.name]) and math.isfinite(results["r2_sie"][rp.name])
    if protocol.individual_rotation:
        assert math.isfinite(results["r2"]["individual_rotation"])
    has_zagg_probe = any(rp.name == "rotation" for rp in protocol.relative) and protocol.classification
    assert ("rotation_from_zagg" in results.get("r2", {})) == has_zagg_probe
    if has_zagg_probe:
        assert math.isfinite(results["r2"]["rotation_from_zagg"])
    if protocol.path_integration:
        assert set(results["path_integration"]) == {"vision+action", "vision only", "action only"}
        assert set(results["path_integration"]["action only"]) == {"1", "2"}
    # a dataset factory without a root: nothing tells the data apart, so no reference, and the report says so
    assert results["reference"]["kind"] == "none" and results["data"]["root"] is None
    assert set(results["spread"]) == {k for k in ("top1_z", "top1_zagg", "r2", "r2_sie", "path_integration",
                                                  "path_integration_sie") if k in results}
    paths = write_report(results, tmp_path)
    saved = json.loads(open(paths["json"]).read())
    assert saved["protocol"] == name and "paper" not in saved and saved["reference"]["kind"] == "none"
    assert paths["plots"] and all(open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in paths["plots"])
    assert ("r2.png" in {p.rsplit("/", 1)[-1] for p in paths["plots"]}) == bool(protocol.relative or protocol.individual_rotation)


def test_prefix_zagg_equals_model_on_the_first_views(model):
    ds = ContractToy3DIE(n=5, num_views=3, size=16)
    fs = compute_probe_features(model, ds, batch_size=2, precision="fp32", conditions=("noaction", "novision"))
    item = [ds[i] for i in range(5)]
    views = torch.stack([torch.cat([it["views"], it["target"][None]]) for it in item])
    acts = torch.stack([it["actions"] for it in item])
    with torch.no_grad():
        for m in (1, 2, 4):
            want = model.invariant_embedding(views[:, :m], acts[:, : m - 1])
            assert torch.allclose(fs["z_agg"][:, m - 1], want, atol=1e-5)
        assert torch.allclose(fs["z"], model.equivariant_embedding(views), atol=1e-5)
        blank = model.invariant_embedding(torch.zeros_like(views[:, :3]), acts[:, :2])
        assert torch.allclose(fs["z_agg_novision"][:, 2], blank, atol=1e-5)
        noact = model.invariant_embedding(views[:, :3], torch.zeros_like(acts[:, :2]))
        assert torch.allclose(fs["z_agg_noaction"][:, 2], noact, atol=1e-5)
    assert fs["latents"].shape == (5, 4, 7) and fs["actions"].shape == (5, 3, 4)


def test_extraction_leaves_batchnorm_statistics_alone(model):
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compute_probe_features(model, ContractToy3DIE(n=4, num_views=2), batch_size=4)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_cache_hit_gives_identical_results(model, tmp_path):
    opts = EvalOptions(max_views=3, probe=ProbeSettings(epochs=2, batch_size=16), mlp_width=32)
    first = run_protocol(model, "3diebench-rot", options=opts, dataset_factory=contract_factory(12, 6), cache_dir=tmp_path)
    second = run_protocol(model, "3diebench-rot", options=opts, dataset_factory=contract_factory(12, 6), cache_dir=tmp_path)
    assert first["timing"]["cached_sets"] == 0 and second["timing"]["cached_sets"] == 2
    assert first["top1_zagg"] == second["top1_zagg"] and first["r2"] == second["r2"]
    assert len(list(tmp_path.glob("features-*.safetensors"))) == 2
    other = run_protocol(model, "3diebench-rot", options=EvalOptions(max_views=3, seed=1, probe=opts.probe, mlp_width=32),
                         dataset_factory=contract_factory(12, 6), cache_dir=tmp_path)
    assert other["timing"]["cached_sets"] == 0  # the seed is part of the key


def test_cache_rejects_a_file_under_the_wrong_key(tmp_path, model):
    cache = FeatureCache(tmp_path)
    fs = compute_probe_features(model, ContractToy3DIE(n=2, num_views=1), batch_size=2)
    cache.save("a" * 32, fs)
    cache.path("a" * 32).rename(cache.path("b" * 32))
    with pytest.raises(ValueError, match="key"):
        cache.load("b" * 32)


def test_redraw_uses_several_training_draws(model, tmp_path):
    opts = EvalOptions(max_views=2, redraw=2, probe=ProbeSettings(epochs=3, batch_size=16), mlp_width=32)
    run_protocol(model, "3diebench-rot", options=opts, dataset_factory=contract_factory(8, 4), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("features-*.safetensors"))) == 3  # train draws 0 and 1, val


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="protocol"):
        run_protocol(model, "imagenet-magic", dataset_factory=contract_factory())
    with pytest.raises(ValueError, match="ood_root"):
        run_protocol(model, "ood-rot", data_root="/nonexistent")
    with pytest.raises(ValueError, match="max_views"):
        EvalOptions(max_views=1)
    with pytest.raises(ValueError, match="bootstrap"):
        EvalOptions(bootstrap=1)
    with pytest.raises(ValueError, match="actions"):  # a 4-d model on 6-d rotation+colour sequences
        run_protocol(model, "3diebench-rotcolor", options=FAST, dataset_factory=contract_factory(4, 4))
    with pytest.raises(TypeError, match="data_rot"):  # a misspelt setting is named, not ignored
        run_protocol(model, "3diebench-rot", data_rot="/data", dataset_factory=contract_factory())


def test_run_protocol_takes_the_settings_of_protocol_run_once():
    """One parameter list: run_protocol forwards to ProtocolRun, whose signature holds every setting."""
    import inspect

    from seqjepa.eval import ProtocolRun

    forwarded = inspect.signature(run_protocol).parameters
    assert list(forwarded) == ["model", "protocol", "settings"]
    assert forwarded["settings"].kind is inspect.Parameter.VAR_KEYWORD
    own = inspect.signature(ProtocolRun).parameters
    assert {"data_root", "ood_root", "options", "cache_dir", "dataset_factory", "model_name", "log"} <= set(own)


def test_run_protocol_is_the_run_of_protocol_run(model):
    from seqjepa.eval import ProtocolRun

    opts = EvalOptions(max_views=2, probe=ProbeSettings(epochs=2, batch_size=16), mlp_width=16, bootstrap=4)
    lines: list[str] = []
    direct = ProtocolRun(model, "3diebench-rot", options=opts, dataset_factory=contract_factory(8, 4)).run()
    through = run_protocol(model, "3diebench-rot", options=opts, dataset_factory=contract_factory(8, 4), log=lines.append)
    for key in ("top1_z", "top1_zagg", "r2", "r2_sie", "spread", "num_train", "num_val"):
        assert through[key] == direct[key], key
    assert any(line.startswith("features train") for line in lines)


@pytest.mark.parametrize("conditioned", [True, False])
def test_single_view_aggregates_are_each_views_own_z_agg(conditioned):
    from seqjepa.eval.protocols import _single_view_aggregates

    torch.manual_seed(0)
    model = SeqJEPA(small_config(action_conditioned=conditioned, learn_action_embedding=conditioned)).eval()
    views = torch.randn(5, 2, 3, 16, 16)
    with torch.no_grad():
        z = model.equivariant_embedding(views)
        want = [model.invariant_embedding(views[:, j:j + 1], torch.zeros(5, 0, 4) if conditioned else None) for j in (0, 1)]
    got = _single_view_aggregates(model, z, chunk=2)  # chunks smaller than the batch
    assert got.shape == (5, 2 * model.config.token_dim)
    torch.testing.assert_close(got, torch.cat(want, dim=1), rtol=0, atol=1e-5)


def test_real_generator_and_loader(tmp_path):
    from seqjepa.data import synthetic

    root = tmp_path / "toy3die"
    synthetic.make_toy_3diebench(root, objects=12, views=6, classes=3, size=16, seed=0)
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).eval()
    results = run_protocol(model, "3diebench-rot", data_root=str(root), options=FAST)
    assert set(results["top1_zagg"]) == {"1", "2", "3"} and math.isfinite(results["r2"]["rotation"])
    path = run_protocol(model, "path-integration", data_root=str(root), options=FAST)
    assert set(path["path_integration"]["vision+action"]) == {"1", "2"}


def _image_folder(root, classes=3, per_class=4, size=32, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = (rng.random((size, size, 3)) * 80 + c * 60).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")


@pytest.mark.parametrize(
    "protocol, changes",
    [("cifar100-aug", {"image_size": 32}), ("stl10-pls", {"image_size": 32, "action_dim": 2, "action_space": "saccade"})],
)
def test_image_folder_protocols_use_the_real_readers(tmp_path, protocol, changes):
    size = 96 if protocol == "stl10-pls" else 32
    _image_folder(tmp_path, size=size)
    action_dim = changes.get("action_dim", 9)
    torch.manual_seed(0)
    model = SeqJEPA(small_config(**{**changes, "action_dim": action_dim})).eval()
    results = run_protocol(model, protocol, data_root=str(tmp_path), options=FAST)  # "val" falls back to test/
    assert results["top1_zagg"] and all(math.isfinite(v) for v in results["r2"].values())
    with pytest.raises(FileNotFoundError, match="image folder"):
        run_protocol(model, protocol, data_root=str(tmp_path / "nothing"), options=FAST)
