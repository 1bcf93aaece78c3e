"""The offline probes (trained on frozen features after pretraining): heads, their training, top-1, R², spreads."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from sklearn.metrics import r2_score as sk_r2

from seqjepa.probes.offline import ProbeSettings, bootstrap_std, make_head, predict, r2_score, r2_sie, top1_accuracy, train_probe


def test_r2_matches_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    for shape in [(50, 1), (40, 4), (33, 9)]:
        y, p = rng.normal(size=shape), rng.normal(size=shape) * 0.5
        assert r2_score(y, p) == pytest.approx(sk_r2(y, p), abs=1e-12)
        assert r2_score(torch.from_numpy(y), torch.from_numpy(y + 0.1 * p)) == pytest.approx(sk_r2(y, y + 0.1 * p), abs=1e-12)


def test_r2_constant_output_follows_sklearn_convention():
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.normal(size=(20, 2)), np.ones((20, 1))], axis=1)
    p = y + rng.normal(size=y.shape) * 0.3
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), abs=1e-12)
    p[:, 2] = 1.0
    assert r2_score(y, p) == pytest.approx(sk_r2(y, p), abs=1e-12)


def test_r2_sie_hand_computed():
    y = np.array([[1.0, 0.0], [3.0, 0.0]])
    p = np.array([[1.0, 1.0], [2.0, 0.0]])
    # scalar mean 1: SS_tot = 0 + 1 + 4 + 1 = 6; SS_res = 0 + 1 + 1 + 0 = 2
    assert r2_sie(y, p) == pytest.approx(1 - 2 / 6)
    assert r2_score(y, p) != pytest.approx(r2_sie(y, p))


def test_r2_sie_scores_mean_predictor_above_zero_unlike_sklearn():
    rng = np.random.default_rng(2)
    q = Rotation.random(2000, random_state=3).as_quat()
    q = q * np.sign(q[:, 3:])  # w >= 0 so the last column has a nonzero mean
    pred = np.broadcast_to(q.mean(axis=0), q.shape)
    assert r2_score(q, pred) == pytest.approx(0.0, abs=1e-9)
    assert r2_sie(q, pred) > 0.05
    del rng


def test_metric_bad_input():
    with pytest.raises(ValueError, match="y_pred"):
        r2_score(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="logits"):
        top1_accuracy(torch.zeros(3, dtype=torch.long), torch.zeros(4, 2))


def test_train_probe_separates_linear_classes_and_regresses_linear_map():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g)
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    s = ProbeSettings(epochs=60, batch_size=50, lr=1e-2)
    head = train_probe(make_head(6, 4), (x, y), task="classification", settings=s)
    assert top1_accuracy(y, predict(head, x)) > 90
    w = torch.randn(6, 3, generator=g)
    reg = train_probe(make_head(6, 3, (16,)), (x, x @ w), task="regression", settings=s)
    assert r2_score(x @ w, predict(reg, x)) > 0.9


def test_train_probe_validates():
    with pytest.raises(ValueError, match="targets"):
        train_probe(make_head(3, 2), (torch.randn(5, 3), torch.randn(5)), task="classification")
    with pytest.raises(ValueError, match="task"):
        train_probe(make_head(3, 2), (torch.randn(5, 3), torch.zeros(5, dtype=torch.long)), task="ranking")
    with pytest.raises(ValueError, match="epochs"):
        ProbeSettings(epochs=0)
    assert isinstance(make_head(4, 2, (8, 8)), torch.nn.Sequential)


def _hand_bootstrap(score, y, p, resamples, seed):
    """The bootstrap written out: paired rows drawn with replacement by numpy's Generator, sample std of the scores."""
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(resamples):
        idx = rng.integers(0, len(y), size=len(y))
        scores.append(score(y[idx], p[idx]))
    return float(np.std(scores, ddof=1))


def test_bootstrap_std_matches_a_hand_computed_loop():
    y = np.array([0, 1, 1, 2, 0, 1, 2])
    logits = np.eye(3)[[0, 1, 2, 2, 0, 0, 2]]  # 4 of 7 right
    want = _hand_bootstrap(lambda t, p: 100.0 * np.mean(p.argmax(1) == t), y, logits, 50, 3)
    assert want > 0
    assert bootstrap_std(top1_accuracy, y, logits, resamples=50, seed=3) == pytest.approx(want, abs=1e-12)
    assert bootstrap_std(top1_accuracy, torch.from_numpy(y), torch.from_numpy(logits), resamples=50, seed=3) == pytest.approx(want, abs=1e-12)
    rng = np.random.default_rng(0)
    t = rng.normal(size=(9, 2))
    p = t + rng.normal(size=(9, 2))
    assert bootstrap_std(r2_score, t, p, resamples=40, seed=1) == pytest.approx(_hand_bootstrap(sk_r2, t, p, 40, 1), abs=1e-12)


def test_bootstrap_std_is_zero_for_a_perfect_predictor_and_grows_with_noise():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 4))
    assert bootstrap_std(r2_score, y, y, resamples=100, seed=0) == 0.0
    assert bootstrap_std(r2_sie, y, y, resamples=100, seed=0) == 0.0
    labels = rng.integers(0, 5, size=200)
    assert bootstrap_std(top1_accuracy, labels, np.eye(5)[labels], resamples=100, seed=0) == 0.0
    noise = rng.normal(size=y.shape)
    small = bootstrap_std(r2_score, y, y + 0.1 * noise, resamples=100, seed=0)
    large = bootstrap_std(r2_score, y, y + 1.0 * noise, resamples=100, seed=0)
    assert 0 < small < large


def test_bootstrap_std_bad_arguments():
    y = np.zeros((4, 2))
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_std(r2_score, y, y, resamples=1)
    with pytest.raises(ValueError, match="y_pred"):
        bootstrap_std(r2_score, y, y[:3])
    with pytest.raises(ValueError, match="y_true"):
        bootstrap_std(r2_score, [[0.0]], y)
