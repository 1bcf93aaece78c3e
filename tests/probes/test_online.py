"""The online probes (trained alongside pretraining): detached inputs, and metrics summed so ranks can add them."""

import pytest
import torch

from seqjepa.probes.online import OnlineProbes, ProbeMetrics


def test_probe_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, r2_score

    g = torch.Generator().manual_seed(0)
    y = torch.randn(50, 4, generator=g)
    y[:, 3] = 2.0  # a constant column: sklearn's force_finite rule
    p = y + 0.5 * torch.randn(50, 4, generator=g)
    logits, labels = torch.randn(50, 5, generator=g), torch.randint(0, 5, (50,), generator=g)
    metrics = ProbeMetrics(4, torch.device("cpu"))
    for sl in (slice(0, 17), slice(17, 50)):
        metrics.update(logits[sl], labels[sl], p[sl], y[sl])
    out = metrics.compute()
    assert out["r2"] == pytest.approx(r2_score(y.double().numpy(), p.double().numpy()), abs=1e-9)
    assert out["acc"] == pytest.approx(100 * accuracy_score(labels.numpy(), logits.argmax(1).numpy()))


def test_online_probes_see_detached_features_only():
    torch.manual_seed(0)
    probes = OnlineProbes(token_dim=6, encoder_dim=4, action_dim=3, num_classes=5, hidden=8)
    z_agg, z_pair = torch.randn(2, 6, requires_grad=True), torch.randn(2, 8, requires_grad=True)
    logits, pred = probes(z_agg, z_pair)
    assert logits.shape == (2, 5) and pred.shape == (2, 3)
    OnlineProbes.losses(logits, torch.tensor([0, 4]), pred, torch.zeros(2, 3)).backward()
    assert z_agg.grad is None and z_pair.grad is None  # they do not shape the representation
    assert all(p.grad is not None for p in probes.parameters())
    with pytest.raises(ValueError, match="num_classes"):
        OnlineProbes(6, 4, 3, num_classes=0)
