"""Training recipes: one JSON file per setting with ``model``, ``data``, ``optim`` and ``train`` sections.

A recipe is read, merged over :data:`DEFAULTS` (so every knob has a documented value), overridden
with ``--set section.key=value`` and validated; unknown sections or keys are errors, never ignored.
The ``model`` section is a :class:`~seqjepa.models.config.SeqJEPAConfig`.
"""

from __future__ import annotations

import copy
import math
import os
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..models.config import SeqJEPAConfig
from ..errors import ConfigError
from ..utils.assignments import parse_assignment
from ..utils.jsonlines import parse_json
from .schedule import SCHEDULES

__all__ = [
    "DEFAULTS", "RESUME_FREE_KEYS", "list_recipes", "load_recipe", "recipe_from_dict", "apply_overrides", "validate_recipe",
    "model_config", "recipe_differences",
]

#: Every data/optim/train key with its default. Recipes only state what differs.
DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {
        "dataset": "3diebench",        # a known name (see seqjepa.train.datasets) or "module:callable"
        "num_views": 3,                # M: observed views per sequence (the target view comes on top)
        "val_split": "val",            # split used for the online-probe metrics; null: no validation
        "options": {},                 # extra keyword arguments for the dataset constructor
    },
    "optim": {
        "schedule": "as_run",          # "as_run" (official code) | "paper" (flags: AdamW + cosine)
        "optimizer": "adam",           # "adam" | "adamw" (as_run); "paper" always uses AdamW
        "lr": 4e-4,
        "initial_lr": 1e-5,            # warm-up start
        "warmup_epochs": 20,
        "min_lr": 1e-5,                # end of the cosine ("paper" only)
        "weight_decay": 0.0,           # applied to parameters with ndim > 1 only
        "paper_weight_decay": 1e-3,    # weight decay of the "paper" schedule
        "betas": [0.9, 0.999],
    },
    "train": {
        "epochs": 1000,
        "batch_size": 128,             # per process (per GPU), as the official --distributed scripts
        "seed": 42,
        "num_workers": 8,
        "ema": True,                   # EMA target encoder (official --ema); false: stop-grad online target
        "ema_base": 0.996,
        "precision": "auto",           # "auto" (bf16 where supported) | "bf16" | "fp16" | "fp32"
        "channels_last": True,
        "compile": False,              # torch.compile the training step
        "sync_batchnorm": False,
        "deterministic": False,        # torch.use_deterministic_algorithms + cudnn.deterministic
        "tf32": True,
        "probes": True,
        "probe_hidden": 1024,
        "log_every": 50,               # steps between progress lines
        "checkpoint_every": 50,        # epochs between kept epoch_N.pt files (last.pt: every epoch)
        "checkpoint_every_steps": 0,   # also refresh last.pt every N steps (0: only at epoch ends)
        "tensorboard": False,          # write TensorBoard events if the package is installed
        "max_steps": 0,                # steps this invocation may take, then save last.pt and stop; 0: no limit
    },
}

#: Recipe keys that say how a run is operated, not what it computes: they may change when a run is resumed.
RESUME_FREE_KEYS = frozenset({
    "name", "description", "source", "train.num_workers", "train.log_every", "train.tensorboard", "train.max_steps",
    "train.checkpoint_every", "train.checkpoint_every_steps",
})

_SECTIONS = ("name", "description", "source", "model", "data", "optim", "train")
_RECIPE_DIR = "recipes"


def list_recipes() -> list[str]:
    """Names of the recipes shipped with the package, sorted."""
    folder = resources.files(__package__) / _RECIPE_DIR
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_recipe(name_or_path: str | os.PathLike[str], overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read a shipped recipe by name or a JSON file by path; apply ``key=value`` overrides; validate."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"--recipe: no recipe file at {text}")
        raw = path.read_text(encoding="utf-8")
        where = text
    else:
        candidate = resources.files(__package__) / _RECIPE_DIR / f"{text}.json"
        if not candidate.is_file():
            raise ValueError(f"--recipe: unknown recipe {text!r}; shipped recipes are {list_recipes()} (or give a .json path)")
        raw = candidate.read_text(encoding="utf-8")
        where = f"recipe {text!r}"
    try:
        data = parse_json(raw)
    except ValueError as exc:
        raise ConfigError(f"{where} is not valid JSON: {exc}") from None
    recipe = _merge_defaults(data, where)
    apply_overrides(recipe, overrides)
    validate_recipe(recipe)
    return recipe


def recipe_from_dict(data: Mapping[str, Any], overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Merge a recipe given as a dict over :data:`DEFAULTS`, apply overrides, validate."""
    recipe = _merge_defaults(dict(data), "recipe")
    apply_overrides(recipe, overrides)
    validate_recipe(recipe)
    return recipe


def _merge_defaults(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {unknown}; expected {list(_SECTIONS)}")
    recipe: dict[str, Any] = {"name": data.get("name", "custom"), "description": data.get("description", "")}
    if "source" in data:
        recipe["source"] = data["source"]
    model = data.get("model", {})
    if not isinstance(model, dict):
        raise ConfigError(f"{where}: section 'model' must be an object, got {type(model).__name__}")
    recipe["model"] = copy.deepcopy(model)
    for section, defaults in DEFAULTS.items():
        given = data.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: section {section!r} must be an object, got {type(given).__name__}")
        bad = sorted(set(given) - set(defaults))
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {bad} in section {section!r}; known: {sorted(defaults)}")
        merged = copy.deepcopy(defaults)
        merged.update(copy.deepcopy(given))
        recipe[section] = merged
    return recipe


def apply_overrides(recipe: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` in place; the value is parsed by :func:`seqjepa.utils.assignments.parse_value`
    (JSON, else a string), the same parser ``seqjepa convert --set`` uses."""
    for item in overrides:
        key, parsed = parse_assignment(item, form="SECTION.KEY=VALUE (e.g. train.epochs=10)", dotted=True)
        parts = key.split(".")
        section = parts[0]
        if section not in ("model", "data", "optim", "train"):
            raise ValueError(f"--set {item!r}: unknown section {section!r}; expected model, data, optim or train")
        if section != "model" and parts[1] not in DEFAULTS[section]:
            raise ValueError(f"--set {item!r}: unknown key {parts[1]!r} in {section!r}; known: {sorted(DEFAULTS[section])}")
        node = recipe[section]
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item!r}: {p!r} is not an object")
        node[parts[-1]] = parsed
    return recipe


_ABSENT = "<absent>"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def recipe_differences(old: Mapping[str, Any], new: Mapping[str, Any], *, ignore: Iterable[str] = RESUME_FREE_KEYS) -> list[tuple[str, Any, Any]]:
    """``(dotted.key, old value, new value)`` for every leaf that differs (``"<absent>"`` where a key is missing).

    Objects are compared key by key, everything else (lists included) as a whole; keys in ``ignore`` are skipped.
    """
    skip = set(ignore)
    out: list[tuple[str, Any, Any]] = []

    def walk(a: Any, b: Any, prefix: str) -> None:
        if prefix in skip:
            return
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, _ABSENT), b.get(key, _ABSENT), f"{prefix}.{key}" if prefix else str(key))
        elif not _same(a, b):
            out.append((prefix, a, b))

    walk(old, new, "")
    return out


def model_config(recipe: Mapping[str, Any]) -> SeqJEPAConfig:
    """The recipe's model section as a validated config."""
    try:
        return SeqJEPAConfig.from_dict(recipe["model"])
    except ConfigError as exc:
        raise ConfigError(f"recipe {recipe.get('name')!r}, section 'model': {exc}") from exc


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


_MAX_INT = 2**62  # counts and sizes beyond this are mistakes, and overflow torch's int64 arithmetic


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_field(where: str, v: Any, low: int, high: int = _MAX_INT) -> None:
    _check(_is_int(v) and low <= v <= high, f"{where}: expected an integer in [{low}, {high}], got {v!r}")


def _number_field(where: str, v: Any, low: float, high: float = math.inf, *, open_high: bool = False) -> None:
    ok = _is_number(v) and low <= v and (v < high if open_high else v <= high)
    rng = f"[{low}, {high})" if open_high else (f">= {low}" if high == math.inf else f"in [{low}, {high}]")
    _check(ok, f"{where}: expected a finite number {rng}, got {v!r}")


#: The ``train`` section's booleans and integers with their ranges.
_BOOL_KEYS = ("ema", "channels_last", "compile", "sync_batchnorm", "deterministic", "tf32", "probes", "tensorboard")
_INT_KEYS = {  # key: (lowest, highest)
    "epochs": (1, 10**7),
    "batch_size": (2, 2**24),  # BatchNorm needs at least 2 sequences per process
    "seed": (0, 2**32 - 1),
    "num_workers": (0, 1024),
    "probe_hidden": (1, 2**20),
    "log_every": (0, _MAX_INT),
    "checkpoint_every": (0, _MAX_INT),
    "checkpoint_every_steps": (0, _MAX_INT),
    "max_steps": (0, _MAX_INT),
}


def _check_sections(recipe: Mapping[str, Any]) -> None:
    _check(isinstance(recipe, Mapping), f"recipe: expected an object, got {type(recipe).__name__}")
    for key in ("name", "description", "source"):
        if key in recipe or key != "source":
            _check(isinstance(recipe.get(key), str), f"{key}: expected a string, got {recipe.get(key)!r}")
    _check(isinstance(recipe.get("model"), Mapping), f"model: expected an object, got {recipe.get('model')!r}")
    for section, defaults in DEFAULTS.items():
        given = recipe.get(section)
        _check(isinstance(given, Mapping), f"{section}: expected an object, got {given!r}")
        unknown, missing = sorted(set(given) - set(defaults)), sorted(set(defaults) - set(given))
        _check(not unknown, f"{section}: unknown key(s) {unknown}; known: {sorted(defaults)}")
        _check(not missing, f"{section}: missing key(s) {missing} (recipe_from_dict fills in the defaults)")


def validate_recipe(recipe: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the field for anything ill-typed, non-finite, out of range or clashing.

    Every field is checked: strings and choices by value, integers (never booleans) and numbers (finite,
    never booleans) within their range, booleans as booleans; the ``model`` section by
    :class:`~seqjepa.models.config.SeqJEPAConfig`.
    """
    _check_sections(recipe)
    cfg = model_config(recipe)
    d, o, t = recipe["data"], recipe["optim"], recipe["train"]
    _check(isinstance(d["dataset"], str) and bool(d["dataset"].strip()), f"data.dataset: expected a name, got {d['dataset']!r}")
    _int_field("data.num_views", d["num_views"], 1, 4096)
    _check(d["val_split"] is None or (isinstance(d["val_split"], str) and bool(d["val_split"].strip())),
           f"data.val_split: expected a split name or null, got {d['val_split']!r}")
    _check(isinstance(d["options"], dict) and all(isinstance(k, str) and k.isidentifier() for k in d["options"]),
           f"data.options: expected an object of keyword arguments, got {d['options']!r}")
    _check(o["schedule"] in SCHEDULES, f"optim.schedule: expected one of {SCHEDULES}, got {o['schedule']!r}")
    _check(o["optimizer"] in ("adam", "adamw"), f"optim.optimizer: expected 'adam' or 'adamw', got {o['optimizer']!r}")
    for key in ("lr", "initial_lr", "min_lr", "weight_decay", "paper_weight_decay"):
        _number_field(f"optim.{key}", o[key], 0.0)
    _int_field("optim.warmup_epochs", o["warmup_epochs"], 0, 10**7)
    betas = o["betas"]
    _check(isinstance(betas, (list, tuple)) and len(betas) == 2 and all(_is_number(b) and 0.0 <= b < 1.0 for b in betas),
           f"optim.betas: expected two finite numbers in [0, 1), got {betas!r}")
    for key, (low, high) in _INT_KEYS.items():
        _int_field(f"train.{key}", t[key], low, high)
    for key in _BOOL_KEYS:
        _check(isinstance(t[key], bool), f"train.{key}: expected true or false, got {t[key]!r}")
    _check(t["precision"] in ("auto", "bf16", "fp16", "fp32"), f"train.precision: expected auto, bf16, fp16 or fp32, got {t['precision']!r}")
    _number_field("train.ema_base", t["ema_base"], 0.0, 1.0)
    _check(
        t["ema"] == cfg.use_target_encoder,
        f"train.ema ({t['ema']}) clashes with model.use_target_encoder ({cfg.use_target_encoder}): set both the same way",
    )
    _check(
        d["num_views"] == cfg.train_seq_len,
        f"data.num_views ({d['num_views']}) clashes with model.train_seq_len ({cfg.train_seq_len}): set both to M_tr",
    )
