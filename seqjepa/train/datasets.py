"""Dataset factory: builds the recipe's train/val sequence datasets, importing seqjepa.data lazily.

Every dataset follows the shared contract (a dict with ``views``, ``target``, ``actions``,
``label``, ``latents``; attributes ``num_views``, ``action_dim``, ``num_classes``, ``set_epoch``).
``data.dataset`` is either a known name below or ``"package.module:callable"``; the callable is
called as ``fn(root, split=..., num_views=..., image_size=..., mean=..., std=..., seed=..., **options)``.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import ConfigError
from .recipe import model_config

__all__ = ["KNOWN_DATASETS", "build_dataset", "check_dataset", "check_data_arguments"]

#: name -> "module:attribute" in seqjepa.data (written by the data package).
KNOWN_DATASETS: dict[str, str] = {
    "3diebench": "seqjepa.data:ThreeDIEBench",
    "cifar100": "seqjepa.data:cifar100_sequences",
    "tinyimagenet": "seqjepa.data:tinyimagenet_sequences",
    "stl10-saccades": "seqjepa.data:stl10_saccades",
    "imagenet-saccades": "seqjepa.data:imagenet_saccades",
}


def _resolve(name: str) -> Any:
    spec = KNOWN_DATASETS.get(name, name)
    module_name, sep, attr = spec.partition(":")
    if not sep:
        raise ConfigError(f"data.dataset: unknown dataset {name!r}; expected one of {sorted(KNOWN_DATASETS)} or 'module:callable'")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"data.dataset {name!r} needs {spec}, which cannot be imported here: {exc}") from exc


def check_data_arguments(recipe: Mapping[str, Any], root: Optional[str]) -> None:
    """Before any work: the data root a named dataset needs, and ``data.options`` its constructor accepts.

    Raises:
        ConfigError: an option the dataset's constructor does not take (named, with the ones it does).
        ValueError / FileNotFoundError: no root for a named dataset, or a root that is not a directory.
    """
    data = recipe["data"]
    name = data["dataset"]
    factory = _resolve(name)
    if name in KNOWN_DATASETS:
        if root is None or not str(root).strip():
            raise ValueError(f"--data-root: dataset {name!r} (data.dataset) reads its files from a directory; give --data-root DIR")
        if not Path(root).is_dir():
            kind = "a file" if Path(root).exists() else "no such directory"
            raise FileNotFoundError(f"--data-root: {root} is not a directory ({kind})")
    for key in ("mean", "std"):  # a normalization out of range trains to "completed" on blank pixels
        if key in data["options"]:
            from ..data._sources import channel_triplet

            channel_triplet(f"data.options.{key}", data["options"][key])
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature: the constructor will say
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]  # [0] is the root
    unknown = sorted(set(data["options"]) - set(accepted))
    if unknown:
        raise ConfigError(
            f"data.options: dataset {name!r} ({KNOWN_DATASETS.get(name, name)}) takes no option(s) {unknown}; "
            f"it accepts {accepted}"
        )


def build_dataset(recipe: Mapping[str, Any], root: Optional[str], split: str) -> Any:
    """Build one split of the recipe's dataset and check it fits the model config."""
    cfg = model_config(recipe)
    data = recipe["data"]
    factory = _resolve(data["dataset"])
    kwargs: dict[str, Any] = dict(
        split=split, num_views=data["num_views"], image_size=cfg.image_size,
        mean=tuple(cfg.mean), std=tuple(cfg.std), seed=recipe["train"]["seed"],
    )
    kwargs.update(data["options"])
    try:
        params = inspect.signature(factory).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            kwargs = {k: v for k, v in kwargs.items() if k in params or k in data["options"]}
    except (TypeError, ValueError):  # builtins without a signature
        pass
    dataset = factory(root, **kwargs)
    check_dataset(dataset, recipe, split)
    return dataset


def check_dataset(dataset: Any, recipe: Mapping[str, Any], split: str) -> None:
    """The dataset's M and A must be the recipe's: a mismatch would silently train another model."""
    cfg = model_config(recipe)
    where = f"dataset {recipe['data']['dataset']!r} ({split})"
    m = getattr(dataset, "num_views", None)
    if m != recipe["data"]["num_views"]:
        raise ConfigError(f"{where}: num_views is {m!r}, the recipe's data.num_views is {recipe['data']['num_views']}")
    a = getattr(dataset, "action_dim", None)
    if a != cfg.action_dim:
        raise ConfigError(f"{where}: action_dim is {a!r}, the model's action_dim is {cfg.action_dim}")
    if not isinstance(getattr(dataset, "num_classes", None), int):
        raise ConfigError(f"{where}: expected an integer num_classes attribute (the online linear probe needs it)")
    if len(dataset) == 0:
        raise ConfigError(f"{where}: the dataset is empty")
