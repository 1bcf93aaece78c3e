"""Frozen-model evaluation: the probes' features + cache, the paper's protocols, reports.

The probes the protocols train live in :mod:`seqjepa.probes.offline`; their names are re-exported here.
"""

from .probe_features import FeatureCache, FeatureSet, compute_probe_features, model_fingerprint
from ..probes.offline import ProbeSettings, bootstrap_std, make_head, r2_score, r2_sie, top1_accuracy, train_probe
from .protocols import PROTOCOLS, EvalOptions, Protocol, ProtocolRun, cumulative_action, run_protocol
from .provenance import data_fingerprint
from .reference import reference_for
from .report import render_markdown, write_heatmap_report, write_report

__all__ = [
    "FeatureCache", "FeatureSet", "compute_probe_features", "model_fingerprint",
    "ProbeSettings", "bootstrap_std", "make_head", "r2_score", "r2_sie", "top1_accuracy", "train_probe",
    "PROTOCOLS", "EvalOptions", "Protocol", "ProtocolRun", "cumulative_action", "run_protocol", "data_fingerprint", "reference_for",
    "render_markdown", "write_heatmap_report", "write_report",
]
