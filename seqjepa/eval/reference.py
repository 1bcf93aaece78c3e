"""The reference column of an evaluation report: numbers for the evaluated model itself, or none.

Three cases, decided from the model's registry card and the data:

* ``"paper"``: an official checkpoint (a card whose weights are not shipped in the package and
  whose ``reported`` rows come from the paper) evaluated on the real data set it was trained on:
  the paper's numbers (:func:`seqjepa.eval.paper.paper_reference`) for its M_tr.
* ``"card"``: a registry model whose card has ``measured`` rows (the shipped default model): those
  rows, with their spread and untrained floor, mapped onto the report's keys.
* ``"none"``: anything else (a local directory, an official checkpoint on toy data, ...), with a
  one-line reason.

The numbers use the report's own shape: ``top1_z``, ``top1_zagg`` ``{M_val: %}``, ``r2`` and
``r2_sie`` ``{target: R²}``, ``path_integration`` ``{condition: {M_val: R²}}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Mapping, Optional

from .paper import paper_reference

__all__ = ["REFERENCE_KINDS", "reference_for", "card_numbers", "card_dataset"]

_logger = logging.getLogger("seqjepa.eval")

REFERENCE_KINDS = ("paper", "card", "none")

# longest names first: "tinyimagenet" must not be read as another data set
_DATASETS = ("tinyimagenet", "cifar100", "3diebench", "stl10")
_DATASET_NAMES = {"3diebench": "3DIEBench", "stl10": "STL-10", "cifar100": "CIFAR-100", "tinyimagenet": "Tiny ImageNet"}
#: card metric target names -> the report's R² keys
_TARGET_ALIASES = {"relative_rotation": "rotation", "saccade": "saccade_position"}
_MVAL = re.compile(r"\bM_val\s*=\s*(\d+)\b")
_R2 = re.compile(r"^(?P<target>[a-z0-9_]+?)_r2(?P<sie>_sie)?$")


def _none(reason: str) -> dict[str, Any]:
    return {"kind": "none", "source": None, "note": reason}


def card_dataset(card) -> Optional[str]:
    """The protocol data set a card's model was trained on (``"3diebench"``, ``"stl10"``, ...), or None if unknown."""
    text = re.sub(r"[^a-z0-9]", "", str(card.training.get("dataset", "")).lower())
    return next((name for name in _DATASETS if name in text), None)


def _report_key(metric: str, setting: str) -> Optional[tuple[str, ...]]:
    """Where a card row goes in the report, e.g. ``("top1_zagg", "3")`` or ``("r2_sie", "rotation")``; None if nowhere."""
    if metric == "top1_linear_z":
        return ("top1_z",)
    if metric == "top1_linear_zagg":
        m = _MVAL.search(setting)
        return ("top1_zagg", m.group(1)) if m else None
    r2 = _R2.match(metric)
    if r2:
        target = _TARGET_ALIASES.get(r2.group("target"), r2.group("target"))
        return ("r2_sie" if r2.group("sie") else "r2", target)
    return None


def _put(tree: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    for part in key[:-1]:
        tree = tree.setdefault(part, {})
    tree[key[-1]] = value


def _has(tree: Mapping[str, Any], key: tuple[str, ...]) -> bool:
    for part in key:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def card_numbers(card) -> dict[str, Any]:
    """The card's ``measured`` rows for its own model, on the report's keys.

    Rows whose setting mentions an ablation describe another model and are left out, and so are
    rows no report key fits. Returns the numbers plus ``spread``, ``floor`` and ``floor_spread``
    trees of the same shape (only where a row has them) and the rows' ``sources``.
    """
    out: dict[str, Any] = {}
    extras: dict[str, dict[str, Any]] = {"spread": {}, "floor": {}, "floor_spread": {}}
    sources: list[str] = []
    for row in card.measured:
        if "ablation" in row.setting.lower():
            continue
        key = _report_key(row.metric, row.setting)
        if key is None:
            _logger.debug("card %s: no report key for %s (%s), skipped", card.name, row.metric, row.setting)
            continue
        if _has(out, key):
            _logger.debug("card %s: a second row for %s (%s), skipped", card.name, row.metric, row.setting)
            continue
        _put(out, key, float(row.value))
        for name in extras:
            value = getattr(row, name)
            if value is not None:
                _put(extras[name], key, float(value))
        if row.source not in sources:
            sources.append(row.source)
    if out:
        out.update({name: tree for name, tree in extras.items() if tree})
        out["sources"] = sources
    return out


def _paper_numbers(dataset: str, train_seq_len: int) -> dict[str, Any]:
    """:func:`paper_reference` reshaped to the report's keys (string M_val keys, ``r2`` by target)."""
    flat = paper_reference(dataset, train_seq_len)
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if key == "top1_zagg" or key == "table1":
            out[key] = {str(m): v for m, v in value.items()}
        elif key == "path_integration":
            out[key] = {cond: {str(k): v for k, v in curve.items()} for cond, curve in value.items()}
        elif key.startswith("r2_"):
            out.setdefault("r2", {})[key[3:]] = value
    return out


def reference_for(
    model_name: Optional[str],
    dataset: str,
    *,
    train_seq_len: int,
    data_root: Optional[str],
    toy: Optional[Mapping[str, Any]],
    ood: bool = False,
) -> dict[str, Any]:
    """The reference numbers for a report: ``{"kind": "paper"|"card"|"none", "source", "note", ...numbers}``.

    Args:
        model_name: the registry name the model was loaded by (None for a local directory).
        dataset: the protocol's data set (``"3diebench"``, ``"stl10"``, ...).
        train_seq_len: the model's M_tr (the paper's numbers depend on it).
        data_root: the evaluated data's root (None when a custom dataset factory has none).
        toy: the toy generator's settings found in ``data_root`` (None for real data).
        ood: the protocol tests on an out-of-distribution set.
    """
    from ..errors import UnknownModelError
    from ..zoo.registry import get_pretrained_cfg

    if model_name is None:
        return _none("no reference: a local model has no registry card, so nothing gives numbers for it")
    try:
        card = get_pretrained_cfg(model_name)
    except (UnknownModelError, ValueError):
        return _none(f"no reference: {model_name!r} is not a registry name, so no card gives numbers for it")
    trained_on = card_dataset(card)
    if trained_on is not None and trained_on != dataset:
        return _none(f"no reference: {card.name} was trained on {_DATASET_NAMES[trained_on]}, "
                     f"this protocol runs on {_DATASET_NAMES.get(dataset, dataset)}")
    if ood:
        return _none(f"no reference: the numbers for {card.name} are in-distribution; this run tests on "
                     f"{_DATASET_NAMES.get(dataset, dataset)}-OOD")
    if card.source.kind != "package":  # an official checkpoint: only the paper has numbers for it
        return _official(card, dataset, train_seq_len=train_seq_len, data_root=data_root, toy=toy)
    numbers = card_numbers(card)
    if not numbers:
        return _none(f"no reference: the card of {card.name} lists no measured numbers for this model")
    return {"kind": "card", "source": f"model card {card.name}: " + "; ".join(numbers.pop("sources")),
            "note": f"the card's own measurements of {card.name}, on {card.training.get('dataset')}", **numbers}


def _official(card, dataset: str, *, train_seq_len: int, data_root: Optional[str], toy) -> dict[str, Any]:
    name = _DATASET_NAMES.get(dataset, dataset)
    if not card.reported:
        return _none(f"no reference: the paper's numbers for {card.name} are not available (its card lists none)")
    if data_root is None:
        return _none(f"no reference: the data comes from a dataset factory without a root, so it cannot be told "
                     f"to be the real {name} the paper's numbers are for")
    if toy is not None:
        return _none(f"no reference: the paper's numbers are for the official checkpoints on the real {name}; "
                     f"this is toy data (toy.json in {data_root})")
    numbers = _paper_numbers(dataset, train_seq_len)
    source = paper_reference(dataset, train_seq_len).get("source")
    if not any(key in numbers for key in ("top1_zagg", "r2", "path_integration")):
        return _none(f"no reference: the paper gives no numbers for {name} at M_tr = {train_seq_len}")
    return {"kind": "paper", "source": source,
            "note": f"the paper's numbers for the official checkpoint {card.name} on the real {name}, M_tr = {train_seq_len}",
            **numbers}
