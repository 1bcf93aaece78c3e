"""Probes: small heads that read a seq-JEPA's features to measure what they hold. Two kinds, one module each.

* :mod:`seqjepa.probes.online`: the **online** probes of pretraining (``OnlineProbes``, ``ProbeMetrics``), a
  linear classifier on z_AGG and an equivariance MLP on [z_1, z_2], trained alongside the SSL loss on detached
  features by :class:`seqjepa.train.Trainer`, never part of an export.
* :mod:`seqjepa.probes.offline`: the **offline** probes of evaluation (``ProbeSettings``, ``make_head``,
  ``train_probe``, ``predict``) and the metrics the paper reports (top-1, both R² definitions, bootstrap
  spreads), trained after pretraining on features of a frozen model by :mod:`seqjepa.eval.protocols`.

Both stand on torch and numpy alone, so :mod:`seqjepa.train` and :mod:`seqjepa.eval` share them without
importing each other.
"""
