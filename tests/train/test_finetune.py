import json

import pytest
import torch

from seqjepa import SeqJEPA
from seqjepa.errors import IntegrityError
from seqjepa.train.finetune import Classifier, PoseRegressor, load_finetuned
from tests.conftest import small_config


@pytest.fixture
def backbone():
    torch.manual_seed(0)
    return SeqJEPA(small_config())


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(3, 3, 3, 16, 16, generator=g), torch.randn(3, 2, 4, generator=g)


@pytest.mark.parametrize("on", ["invariant", "equivariant", "both"])
def test_classifier_round_trips_bit_exactly(backbone, on, tmp_path):
    clf = Classifier(backbone, 5, on)
    # one optimizer step so that the saved weights differ from any fresh initialization
    views, acts = _inputs()
    a = None if on == "equivariant" else acts
    opt = torch.optim.AdamW(clf.param_groups(1e-3, 1e-2))
    torch.nn.functional.cross_entropy(clf.train()(views, a), torch.tensor([0, 1, 2])).backward()
    opt.step()
    clf.eval()
    clf.save_pretrained(tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["finetune"]["kind"] == "classifier" and doc["finetune"]["on"] == on
    loaded = load_finetuned(tmp_path)
    assert isinstance(loaded, Classifier) and loaded.on == on
    own = clf.state_dict()
    theirs = loaded.state_dict()
    assert set(theirs) == {k for k in own if not k.startswith("backbone.target_encoder.")}
    assert all(torch.equal(theirs[k], own[k]) for k in theirs)
    with torch.no_grad():
        assert torch.equal(clf(views, a), loaded(views, a))


def test_pose_regressor_round_trip_and_shapes(backbone, tmp_path):
    reg = PoseRegressor(backbone, "relative")
    assert reg(torch.randn(2, 2, 3, 16, 16)).shape == (2, 4)
    with pytest.raises(ValueError, match="images"):
        reg(torch.randn(2, 3, 16, 16))
    reg.eval().save_pretrained(tmp_path)
    loaded = PoseRegressor.from_pretrained(tmp_path)
    x = torch.randn(2, 2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(reg(x), loaded(x))
    with pytest.raises(Exception, match="pose_regressor"):
        Classifier.from_pretrained(tmp_path)
    absolute = PoseRegressor(backbone, "absolute", hidden=(8,))
    assert absolute(torch.randn(2, 3, 16, 16)).shape == (2, 4)


def test_tampered_weights_are_refused(backbone, tmp_path):
    Classifier(backbone, 3, "equivariant").save_pretrained(tmp_path)
    data = bytearray((tmp_path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="has sha256 [0-9a-f]{64}, expected"):
        load_finetuned(tmp_path)


def test_param_groups_and_freezing(backbone):
    clf = Classifier(backbone, 4, "invariant", freeze_encoder=True)
    groups = clf.param_groups(backbone_lr=1e-5, head_lr=1e-3, weight_decay=0.05)
    head_ids = {id(p) for p in clf.head.parameters()}
    enc_ids = {id(p) for p in backbone.encoder.parameters()}
    for g in groups:
        ids = {id(p) for p in g["params"]}
        assert not ids & enc_ids
        assert g["lr"] == (1e-3 if ids <= head_ids else 1e-5)
        assert g["weight_decay"] == (0.05 if all(p.ndim > 1 for p in g["params"]) else 0.0)
    assert sum(len(g["params"]) for g in groups) == sum(1 for n, p in clf.named_parameters()
                                                       if p.requires_grad and "target_encoder" not in n)
    clf.train()
    assert not backbone.encoder.training and backbone.aggregator.training
    stats = backbone.encoder.state_dict()
    before = {k: v.clone() for k, v in stats.items()}
    views, acts = _inputs()
    clf(views, acts)
    assert all(torch.equal(before[k], v) for k, v in backbone.encoder.state_dict().items())
    both = Classifier(backbone, 4, "both", freeze_aggregator=True)
    assert not any(p.requires_grad for p in backbone.aggregator.parameters())
    assert both(views, acts).shape == (3, 4)


def test_classifier_bad_arguments(backbone):
    with pytest.raises(ValueError, match="on"):
        Classifier(backbone, 3, "sideways")
    with pytest.raises(ValueError, match="num_classes"):
        Classifier(backbone, 1)
    with pytest.raises(ValueError, match="actions"):
        Classifier(backbone, 3, "invariant")(torch.randn(2, 3, 3, 16, 16))
    with pytest.raises(ValueError, match="model"):
        Classifier(torch.nn.Linear(2, 2), 3)


def test_fit_and_evaluate_on_contract_batches_with_an_action_free_backbone():
    """fit_classifier is one hand-written SGD epoch (no actions fed), evaluate_classifier a hand count."""
    import copy

    from seqjepa.train.finetune import evaluate_classifier, fit_classifier

    torch.manual_seed(0)
    free = SeqJEPA(small_config(action_conditioned=False, learn_action_embedding=False))
    clf = Classifier(free, num_classes=2, on="invariant")
    g = torch.Generator().manual_seed(2)
    batches = [{"views": torch.randn(n, 2, 3, 16, 16, generator=g), "actions": torch.randn(n, 2, 4, generator=g),
                "label": torch.randint(0, 2, (n,), generator=g)} for n in (4, 2)]
    ref = copy.deepcopy(clf).train()
    ref_opt = torch.optim.SGD(ref.param_groups(0.01, 0.01), lr=0.01)
    losses = []
    for b in batches:  # the dataset's actions are not fed to an action-free model
        loss = torch.nn.functional.cross_entropy(ref(b["views"], None), b["label"])
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()
        losses.append(loss.item())
    want = (4 * losses[0] + 2 * losses[1]) / 6  # the mean over sequences, not over batches
    opt = torch.optim.SGD(clf.param_groups(0.01, 0.01), lr=0.01)
    assert fit_classifier(clf, batches, opt) == pytest.approx(want, rel=1e-6)
    for (name, p), q in zip(clf.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)
    # accuracy: labels made from the model's own predictions with 3 of 8 flipped -> exactly 62.5 %
    views = torch.randn(8, 2, 3, 16, 16, generator=g)
    with torch.no_grad():
        pred = clf.eval()(views, None).argmax(dim=1)
    labels = pred.clone()
    labels[:3] = 1 - labels[:3]
    split = [{"views": views[:5], "actions": torch.zeros(5, 2, 4), "label": labels[:5]},
             {"views": views[5:], "actions": torch.zeros(3, 2, 4), "label": labels[5:]}]
    assert evaluate_classifier(clf, split) == pytest.approx(62.5)


# ----------------------------------------------------------------------------- the training subset
def test_stratified_subset_keeps_every_class_share_in_class_sorted_data():
    from collections import Counter

    from seqjepa.train.finetune import stratified_subset

    labels = [c for c in range(8) for _ in range(160)]  # 1,280 items sorted by class, as 3DIEBench's index
    subset = stratified_subset(labels, 640, seed=0)
    assert len(subset) == len(set(subset)) == 640 and subset == sorted(subset)
    assert Counter(labels[i] for i in subset) == {c: 80 for c in range(8)}
    one_each = stratified_subset(labels, 8, seed=3)
    assert sorted(labels[i] for i in one_each) == list(range(8))
    # seeded: the same seed gives the same items, another seed others (with the same shares)
    assert stratified_subset(labels, 640, seed=0) == subset
    other = stratified_subset(labels, 640, seed=1)
    assert other != subset and Counter(labels[i] for i in other) == Counter(labels[i] for i in subset)


def test_stratified_subset_rounds_to_the_largest_remainders_and_takes_all_when_asked_for_more():
    from collections import Counter

    from seqjepa.train.finetune import stratified_subset

    labels = [0] * 50 + [1] * 30 + [2] * 20
    assert Counter(labels[i] for i in stratified_subset(labels, 7, seed=0)) == {0: 4, 1: 2, 2: 1}  # 3.5, 2.1, 1.4: the one left goes to 0.5
    assert stratified_subset(labels, 100, seed=0) == list(range(100))
    assert stratified_subset(labels, 1000, seed=0) == list(range(100))
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="size: expected a positive integer"):
            stratified_subset(labels, bad)


def test_finetune_cli_subset_is_stratified_and_says_what_it_took(caplog):
    import logging
    from collections import Counter

    from seqjepa.cli.evaluate import _training_subset

    class Sorted(torch.utils.data.Dataset):
        targets = [c for c in range(8) for _ in range(80)]

        def __len__(self):
            return len(self.targets)

    with caplog.at_level(logging.INFO, logger="seqjepa"):
        subset = _training_subset(Sorted(), 128, seed=0)
    assert Counter(Sorted.targets[i] for i in subset.indices) == {c: 16 for c in range(8)}
    assert "class-stratified subset (seed 0) of 640 training items, 16 to 16 per class over 8 classes" in caplog.text


def test_seqjepa_load_of_a_finetuned_folder_names_load_finetuned(backbone, tmp_path):
    import seqjepa
    from seqjepa.errors import ConfigError

    Classifier(backbone, 3, "equivariant").save_pretrained(tmp_path / "ft")
    with pytest.raises(ConfigError, match=r"fine-tuned model \(classifier\).*seqjepa\.load_finetuned\("):
        seqjepa.load(str(tmp_path / "ft"))
    assert isinstance(seqjepa.load_finetuned(tmp_path / "ft"), Classifier)
