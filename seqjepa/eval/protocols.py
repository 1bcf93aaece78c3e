"""The paper's evaluation protocols on a frozen seq-JEPA, run on cached features.

Each protocol extracts features once per split (see :mod:`seqjepa.eval.probe_features`), then trains
small probes on them (see :mod:`seqjepa.probes.offline`):

* linear top-1 on z_AGG for every inference length M_val = 1..M (one classifier per M_val, z_AGG
  of the first M_val views of a sequence with the actions between them), and on z (view 0);
* relative-action R² from [z_0, z_1] (rotation MLP 1024-1024, colour Linear, crop/jitter MLP,
  blur Linear, saccade position Linear), as the official offline evaluation's heads;
* the per-view "individual" rotation R² (absolute rotation from one z, MLP 1024-1024);
* path integration: R² of the cumulative action from the first to the last view regressed from
  z_AGG, under three conditions (vision+action, vision only, action only).

Every number comes with a spread (``results["spread"]``, same shape): the bootstrap standard
deviation over the val sequences of the predictions already made. ``results["data"]`` records the
data root, a fingerprint of its index files and the toy settings; ``results["reference"]`` holds
numbers for the evaluated model itself, or none (see :mod:`seqjepa.eval.reference`).

Differences from the official evaluation code, on purpose (paper-notes §3.2):
the rotation regressor is always trained (officially, ``--latent-type rot`` scored R² against
an untrained zero output); the z_AGG classifiers are trained (officially created but never
optimized); the frozen backbone stays in eval mode (officially its BatchNorm statistics were
updated during the probe pass).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import torch

from ..models.actions import canonical_quaternion, compose_rotations, euler_xyz_to_quaternion
from .probe_features import FeatureCache, FeatureSet, compute_probe_features, model_fingerprint
from ..probes.offline import ProbeSettings, bootstrap_std, make_head, predict, r2_score, r2_sie, top1_accuracy, train_probe
from .provenance import describe_data
from .reference import reference_for

_logger = logging.getLogger("seqjepa.eval")

__all__ = ["RelativeProbe", "Protocol", "PROTOCOLS", "EvalOptions", "run_protocol", "ProtocolRun", "cumulative_action", "PATH_CONDITIONS"]

#: Path-integration condition -> which z_AGG variant it reads.
PATH_CONDITIONS = {"vision+action": "z_agg", "vision only": "z_agg_noaction", "action only": "z_agg_novision"}


@dataclass(frozen=True)
class RelativeProbe:
    """Regress ``actions[:, 0, start:stop]`` (view 0 -> view 1) from [z_0, z_1]."""

    name: str
    start: int
    stop: int
    hidden: tuple[int, ...] = ()


_ROT = RelativeProbe("rotation", 0, 4, (1024, 1024))


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol: which data, which probes."""

    name: str
    dataset: str
    description: str
    action_space: Optional[str] = None
    classification: bool = True
    relative: tuple[RelativeProbe, ...] = ()
    individual_rotation: bool = False
    path_integration: bool = False
    #: action columns holding a relative quaternion (composed, not summed, along a path)
    quaternion_dims: Optional[tuple[int, int]] = None
    ood: bool = False


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("3diebench-rot", "3diebench", "3DIEBench, rotation actions: top-1 (z, z_AGG by M_val), relative and individual rotation R²",
                 action_space="rotation", relative=(_ROT,), individual_rotation=True, quaternion_dims=(0, 4)),
        Protocol("3diebench-rotcolor", "3diebench", "3DIEBench, rotation+colour actions: adds colour R² (Δfloor hue, Δlight hue)",
                 action_space="rotation_color", relative=(_ROT, RelativeProbe("color", 4, 6)), individual_rotation=True,
                 quaternion_dims=(0, 4)),
        Protocol("ood-rot", "3diebench", "probes trained on 3DIEBench train, tested on 3DIEBench-OOD (rotations outside ±π/2)",
                 action_space="rotation", relative=(_ROT,), individual_rotation=True, quaternion_dims=(0, 4), ood=True),
        Protocol("cifar100-aug", "cifar100", "CIFAR-100, crop/jitter/blur actions: top-1 and crop, jitter, blur R²",
                 relative=(RelativeProbe("crop", 0, 4, (1024, 1024)), RelativeProbe("jitter", 4, 8, (1024, 1024)), RelativeProbe("blur", 8, 9))),
        Protocol("tinyimagenet-aug", "tinyimagenet", "Tiny ImageNet, crop/jitter/blur actions: top-1 and crop, jitter, blur R²",
                 relative=(RelativeProbe("crop", 0, 4, (1024, 1024)), RelativeProbe("jitter", 4, 8, (1024, 1024)), RelativeProbe("blur", 8, 9))),
        Protocol("stl10-pls", "stl10", "STL-10 saccades: top-1 and saccade (relative position) R²",
                 relative=(RelativeProbe("saccade_position", 0, 2),)),
        Protocol("path-integration", "3diebench", "3DIEBench angular path integration: R² of the composed rotation from view 0 to the last view",
                 action_space="rotation", classification=False, path_integration=True, quaternion_dims=(0, 4)),
        Protocol("path-integration-stl10", "stl10", "STL-10 saccade path integration: R² of the summed displacement from the first to the last glance",
                 classification=False, path_integration=True),
    )
}


@dataclass
class EvalOptions:
    """Everything about a protocol run except the model and the data location."""

    max_views: int = 8
    probe: ProbeSettings = field(default_factory=ProbeSettings)
    batch_size: int = 64
    device: str = "cpu"
    precision: str = "auto"
    num_workers: int = 0
    max_train: Optional[int] = None
    max_val: Optional[int] = None
    redraw: int = 0
    seed: int = 0
    path_hidden: tuple[int, ...] = (1024, 1024)
    individual_hidden: tuple[int, ...] = (1024, 1024)
    #: replace every MLP hidden width (the paper's 1024) by this, keeping the depth; for quick checks
    mlp_width: Optional[int] = None
    #: resamples of the val sequences behind every number's spread (bootstrap std; no probe is retrained)
    bootstrap: int = 200

    def __post_init__(self) -> None:
        if not isinstance(self.max_views, int) or self.max_views < 2:
            raise ValueError(f"max_views: expected an integer >= 2 (relative probes need two views), got {self.max_views!r}")
        if self.mlp_width is not None and (not isinstance(self.mlp_width, int) or self.mlp_width < 1):
            raise ValueError(f"mlp_width: expected a positive integer or None, got {self.mlp_width!r}")
        if not isinstance(self.redraw, int) or self.redraw < 0:
            raise ValueError(f"redraw: expected an integer >= 0, got {self.redraw!r}")
        if isinstance(self.bootstrap, bool) or not isinstance(self.bootstrap, int) or self.bootstrap < 2:
            raise ValueError(f"bootstrap: expected an integer >= 2 (resamples for the spreads), got {self.bootstrap!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["probe"] = self.probe.to_dict()
        return d


# ---------------------------------------------------------------- datasets
DatasetFactory = Callable[..., Any]


def default_dataset(protocol: Protocol, root: str, split: str, num_views: int, config, seed: int):
    """Build the protocol's contract dataset from :mod:`seqjepa.data` (imported lazily)."""
    try:
        import seqjepa.data as data
    except ImportError as exc:  # the data package ships separately in development trees
        raise ValueError(f"protocol {protocol.name!r} needs seqjepa.data, which is not importable: {exc}") from exc
    if protocol.dataset == "3diebench":
        return data.ThreeDIEBench(root, split=split, num_views=num_views, action_space=protocol.action_space,
                                  image_size=config.image_size, mean=config.mean, std=config.std, seed=seed)
    common = dict(split=split, num_views=num_views, image_size=config.image_size, mean=config.mean, std=config.std, seed=seed)
    if protocol.dataset == "stl10":
        return data.stl10_saccades(root, **common)
    builder = data.cifar100_sequences if protocol.dataset == "cifar100" else data.tinyimagenet_sequences
    return builder(root, action_space=protocol.action_space or "augmentation", **common)


# ---------------------------------------------------------------- targets
def cumulative_action(actions: torch.Tensor, steps: int, quaternion_dims: Optional[tuple[int, int]]) -> torch.Tensor:
    """The action from view 0 to view ``steps``: quaternion columns composed (then w >= 0), the rest summed.

    Summing is exact for actions that are differences of per-view quantities (saccade positions,
    hues, normalized augmentation parameters). q and -q are the same rotation, so the composed
    quaternion is sign-canonicalized to make the regression target a function of the rotation.
    """
    if not 1 <= steps <= actions.shape[1]:
        raise ValueError(f"steps: expected 1..{actions.shape[1]}, got {steps}")
    total = actions[:, :steps].sum(dim=1)
    if quaternion_dims is not None:
        a, b = quaternion_dims
        total[:, a:b] = canonical_quaternion(compose_rotations(actions[:, :steps, a:b]))
    return total


# ---------------------------------------------------------------- the run
def run_protocol(model, protocol: "str | Protocol", **settings: Any) -> dict[str, Any]:
    """Evaluate a frozen model with one protocol; returns the JSON-able results.

    ``run_protocol(model, protocol, **settings)`` is ``ProtocolRun(model, protocol, **settings).run()``:
    the keyword arguments (``data_root``, ``ood_root``, ``options``, ``cache_dir``,
    ``dataset_factory``, ``model_name``, ``log``) are :class:`ProtocolRun`'s, described there.
    """
    return ProtocolRun(model, protocol, **settings).run()


class ProtocolRun:
    """One evaluation of a frozen model under one protocol: cached features per (split, view draw), then probes.

    Args:
        model: the frozen seq-JEPA (put in eval mode).
        protocol: a name from :data:`PROTOCOLS` or a :class:`Protocol`.
        data_root: dataset root (train and val splits).
        ood_root: for ``ood-rot``, the 3DIEBench-OOD root holding the test sequences.
        options: everything else about the run (:class:`EvalOptions`; default: its defaults).
        cache_dir: where features are cached (none: computed in memory every time).
        dataset_factory: ``(protocol, root, split, num_views, config, seed) -> dataset``; defaults
            to the :mod:`seqjepa.data` readers.
        model_name: the registry name the model was loaded by; it picks the reference numbers (None,
            a local model: no reference).
        weights_sha256: the sha256 of the weights file the model was loaded from, recorded in the report
            (see :func:`seqjepa.zoo.factory.describe_weights`); None when unknown. The report also records
            the model's fingerprint, a sha256 of its config and state dict, which identifies its features.
        log: an extra receiver of the progress lines; they always go to the ``seqjepa.eval`` logger.
    """

    def __init__(
        self,
        model,
        protocol: "str | Protocol",
        *,
        data_root: Optional[str] = None,
        ood_root: Optional[str] = None,
        options: Optional[EvalOptions] = None,
        cache_dir: Optional[str] = None,
        dataset_factory: Optional[DatasetFactory] = None,
        model_name: Optional[str] = None,
        weights_sha256: Optional[str] = None,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        if isinstance(protocol, str):
            if protocol not in PROTOCOLS:
                raise ValueError(f"protocol: expected one of {sorted(PROTOCOLS)}, got {protocol!r}")
            protocol = PROTOCOLS[protocol]
        if protocol.ood and ood_root is None and dataset_factory is None:
            raise ValueError("ood_root: protocol 'ood-rot' needs the 3DIEBench-OOD root (--ood-root)")
        if dataset_factory is None and data_root is None:
            raise ValueError("data_root: expected the dataset directory, got None")
        self.model, self.protocol, self.model_name, self.weights_sha256 = model, protocol, model_name, weights_sha256
        self.data_root, self.ood_root = data_root, ood_root
        self.options = options or EvalOptions()
        self.factory = dataset_factory or default_dataset
        self.config = model.config
        model.eval()
        self.fingerprint = model_fingerprint(model)
        self.cache = FeatureCache(cache_dir) if cache_dir else None
        self.conditions = ("noaction", "novision") if protocol.path_integration else ()
        self.timing: dict[str, float] = {"extract_s": 0.0, "cached_sets": 0}
        self._sets: dict[Any, FeatureSet] = {}
        self._heads_made = 0
        self._log = log
        self.draws = max(1, self.options.redraw)
        #: bootstrap std of every number, in the shape of the results (``spread["top1_zagg"]["3"]``)
        self.spread: dict[str, Any] = {}

    def log(self, message: str) -> None:
        _logger.info(message)
        if self._log is not None:
            self._log(message)

    # ------------------------------------------------------------ features
    def features(self, split: str, epoch: int) -> FeatureSet:
        """The features of one split under view draw ``epoch``: from memory, the cache, or extracted now."""
        if (split, epoch) in self._sets:
            return self._sets[(split, epoch)]
        options, protocol = self.options, self.protocol
        root = self.ood_root if (protocol.ood and split == "val" and self.ood_root is not None) else self.data_root
        limit = options.max_train if split == "train" else options.max_val
        parts = {
            "model_fingerprint": self.fingerprint, "protocol": protocol.name, "root": os.path.abspath(root) if root else None,
            "split": split, "epoch": epoch, "seed": options.seed, "views": options.max_views, "limit": limit,
            "precision": options.precision, "conditions": list(self.conditions),
        }

        def compute() -> FeatureSet:
            ds = self.factory(protocol, root, split, options.max_views - 1, self.config, options.seed)
            if hasattr(ds, "set_epoch"):
                ds.set_epoch(epoch)
            start = time.perf_counter()
            fs = compute_probe_features(self.model, ds, batch_size=options.batch_size, device=options.device,
                                        precision=options.precision, num_workers=options.num_workers,
                                        conditions=self.conditions, max_samples=limit, seed=options.seed)
            self.timing["extract_s"] += time.perf_counter() - start
            fs.meta["num_classes"] = getattr(ds, "num_classes", None)
            return fs

        if self.cache is not None:
            fs, hit = self.cache.get_or_compute(parts, compute)
            self.timing["cached_sets"] += int(hit)
        else:
            fs = compute()
        self.log(f"features {split} (draw {epoch}): {fs.num_samples} sequences x {fs.num_views} views")
        self._sets[(split, epoch)] = fs
        return fs

    def _train_data(self, fn: Callable[[FeatureSet], "tuple[torch.Tensor, torch.Tensor]"]):
        if self.draws == 1:
            return fn(self.features("train", 0))
        return lambda epoch: fn(self.features("train", epoch % self.draws))

    # ------------------------------------------------------------ probes
    def _new_head(self, in_dim: int, out_dim: int, hidden: tuple[int, ...] = ()) -> torch.nn.Module:
        """A probe head with a seeded, order-determined initialization (results repeat run to run)."""
        if self.options.mlp_width is not None:
            hidden = tuple(self.options.mlp_width for _ in hidden)
        self._heads_made += 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.options.probe.seed * 1000 + self._heads_made)
            return make_head(in_dim, out_dim, hidden)

    def _scored(self, metric: Callable[[Any, Any], float], y_true, y_pred) -> "tuple[float, float]":
        """The metric on the val predictions and its bootstrap std over the val sequences."""
        spread = bootstrap_std(metric, y_true, y_pred, resamples=self.options.bootstrap, seed=self.options.seed)
        return metric(y_true, y_pred), spread

    def _record(self, results: dict[str, Any], path: "tuple[str, ...]", scored: "tuple[float, float]") -> None:
        _set_path(results, path, scored[0])
        _set_path(self.spread, path, scored[1])

    def _regress(self, fn, hidden) -> "dict[str, tuple[float, float]]":
        """Train one regression probe; ``{"r2": (value, spread), "r2_sie": (value, spread)}`` on val."""
        train0, val = self.features("train", 0), self.features("val", 0)
        x_tr, y_tr = fn(train0)
        head = train_probe(self._new_head(x_tr.shape[-1], y_tr.shape[-1], hidden), self._train_data(fn),
                           task="regression", settings=self.options.probe)
        x_va, y_va = fn(val)
        out = predict(head, x_va)
        return {"r2": self._scored(r2_score, y_va, out), "r2_sie": self._scored(r2_sie, y_va, out)}

    def _classification(self, results: dict[str, Any]) -> None:
        train0, val = self.features("train", 0), self.features("val", 0)
        num_classes = int(max(train0.meta.get("num_classes") or 0, int(train0["labels"].max()) + 1, int(val["labels"].max()) + 1))
        results["num_classes"] = num_classes

        def classify(key: str, index: int) -> "tuple[float, float]":
            head = self._new_head(train0[key].shape[-1], num_classes)
            head = train_probe(head, self._train_data(lambda fs: (fs[key][:, index], fs["labels"])),
                               task="classification", settings=self.options.probe)
            return self._scored(top1_accuracy, val["labels"], predict(head, val[key][:, index]))

        self._record(results, ("top1_z",), classify("z", 0))
        for m in range(1, self.options.max_views + 1):
            self._record(results, ("top1_zagg", str(m)), classify("z_agg", m - 1))
        self.log(f"top-1 z {results['top1_z']:.2f}; z_AGG by M_val {results['top1_zagg']}")

    def _relative(self, results: dict[str, Any]) -> None:
        protocol = self.protocol
        results["r2"], results["r2_sie"] = {}, {}
        for rp in protocol.relative:
            def pair(fs, rp=rp):
                if fs["actions"].shape[-1] < rp.stop:
                    raise ValueError(f"actions: protocol {protocol.name!r} reads columns {rp.start}:{rp.stop} ({rp.name}), "
                                     f"the dataset gives {fs['actions'].shape[-1]}")
                return torch.cat([fs["z"][:, 0], fs["z"][:, 1]], dim=1), fs["actions"][:, 0, rp.start:rp.stop]
            self._record_r2(results, rp.name, self._regress(pair, rp.hidden))
            if rp.name == "rotation" and protocol.classification:
                # the same probe on the invariant side: [z_AGG of view 0 alone, z_AGG of view 1 alone]
                def agg_pair(fs, rp=rp):
                    return _single_view_aggregates(self.model, fs["z"][:, :2]), fs["actions"][:, 0, rp.start:rp.stop]
                self._record_r2(results, "rotation_from_zagg", self._regress(agg_pair, rp.hidden))
        self.log(f"R² {results['r2']}")

    def _individual_rotation(self, results: dict[str, Any]) -> None:
        def absolute(fs):
            return fs["z"][:, 0], canonical_quaternion(euler_xyz_to_quaternion(fs["latents"][:, 0, :3]))
        self._record_r2(results, "individual_rotation", self._regress(absolute, self.options.individual_hidden))

    def _record_r2(self, results: dict[str, Any], target: str, scores: "dict[str, tuple[float, float]]") -> None:
        self._record(results, ("r2", target), scores["r2"])
        self._record(results, ("r2_sie", target), scores["r2_sie"])

    def _path_integration(self, results: dict[str, Any]) -> None:
        results["path_integration"], results["path_integration_sie"] = {}, {}
        for cond, key in PATH_CONDITIONS.items():
            if cond != "vision only" and not self.config.action_conditioned:
                continue  # a model trained without actions cannot be given any
            for k in range(1, self.options.max_views):
                def path(fs, k=k, key=key):
                    return fs[key][:, k], cumulative_action(fs["actions"], k, self.protocol.quaternion_dims)
                scores = self._regress(path, self.options.path_hidden)
                self._record(results, ("path_integration", cond, str(k)), scores["r2"])
                self._record(results, ("path_integration_sie", cond, str(k)), scores["r2_sie"])
        self.log(f"path integration R² {results['path_integration']}")

    # ------------------------------------------------------------ all of it
    def run(self) -> dict[str, Any]:
        """Extract (or read) the features, train every probe the protocol names, return the results."""
        options, protocol, config = self.options, self.protocol, self.config
        train0, val = self.features("train", 0), self.features("val", 0)
        for name, fs in (("train", train0), ("val", val)):
            if fs.num_views != options.max_views:
                raise ValueError(f"dataset: {name} sequences have {fs.num_views} views (observed + target), expected {options.max_views}")
        results: dict[str, Any] = {
            "protocol": protocol.name, "description": protocol.description, "dataset": protocol.dataset,
            "model": {"name": self.model_name, "fingerprint": self.fingerprint, "weights_sha256": self.weights_sha256,
                      "train_seq_len": config.train_seq_len,
                      "action_conditioned": config.action_conditioned, "config": config.to_dict()},
            "num_train": train0.num_samples, "num_val": val.num_samples, "max_views": options.max_views,
            "options": options.to_dict(),
            "data": describe_data(self.data_root, ood_root=self.ood_root if protocol.ood else None),
        }
        results["reference"] = reference_for(self.model_name, protocol.dataset, train_seq_len=config.train_seq_len,
                                             data_root=results["data"]["root"], toy=results["data"]["toy"], ood=protocol.ood)
        self.log(f"reference: {results['reference']['note']}")
        start = time.perf_counter()
        if protocol.classification:
            self._classification(results)
        if protocol.relative:
            self._relative(results)
        if protocol.individual_rotation:
            self._individual_rotation(results)
        if protocol.path_integration:
            self._path_integration(results)
        self.timing["probe_s"] = time.perf_counter() - start
        results["timing"] = self.timing
        results["spread"] = self.spread
        results["notes"] = [*_NOTES, _spread_note(options.bootstrap, val.num_samples)]
        return results


def _set_path(tree: dict[str, Any], path: "tuple[str, ...]", value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _spread_note(resamples: int, num_val: int) -> str:
    return (f"± is a bootstrap standard deviation over the {num_val} val sequences ({resamples} resamples of the "
            "predictions already made): it covers the sampling of the test set, not probe training or the view draws.")


def _single_view_aggregates(model, z: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """(N, K, D) encoder outputs -> (N, K*E): z_AGG of each view on its own (M_val = 1), concatenated."""
    param = next(model.parameters())
    outs = []
    with torch.no_grad():
        for start in range(0, z.shape[0], chunk):
            block = z[start:start + chunk].to(param.device, param.dtype)
            n, k = block.shape[:2]
            acts = None
            if model.config.action_conditioned:  # one view: no action between views, its slot is zero
                acts = block.new_zeros(n * k, 0, model.config.action_dim)
            outs.append(model.aggregate(block.reshape(n * k, 1, -1), acts).reshape(n, -1).float().cpu())
    return torch.cat(outs)


_NOTES = [
    "R² is scikit-learn's (mean over output dimensions of per-dimension R²); r2_sie is SIE's variant (one scalar mean over all dimensions), not comparable with it.",
    "Frozen backbone in eval mode (the official evaluation updated its BatchNorm statistics); the rotation regressor and every z_AGG classifier are trained (the official code left them untrained).",
    "Path integration at M_val = k: z_AGG of views 0..k with the k actions between them, target = composed (quaternion, w >= 0) or summed action from view 0 to view k. 'vision only' zeroes the actions given to an action-conditioned model; 'action only' replaces every view by one constant (all-zero, i.e. mean-colour) image.",
    "Top-1 on z uses the first view of each sequence; relative R² uses views 0 and 1 of each sequence.",
    "rotation_from_zagg: the relative-rotation probe on [z_AGG of view 0 alone, z_AGG of view 1 alone] (M_val = 1 each) instead of [z_0, z_1]: how much pose the invariant embedding keeps.",
]

