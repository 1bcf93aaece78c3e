"""The model zoo's registry: one JSON card per checkpoint in the top-level ``weights/`` folder.

A card says what a checkpoint is (config, preprocessing, action space), where its bytes live
(a pinned Hub file, a documented file pattern, or a file inside the package), how it was trained,
what the paper reports and what we measured. :func:`validate_card` checks a card's schema and
:class:`ModelCard` is its typed form; names are matched case- and ``-``/``_``-insensitively, and
unknown names raise :class:`~seqjepa.errors.UnknownModelError` with suggestions.

As in timm, :func:`list_pretrained` lists the names that have weights and
:func:`get_pretrained_cfg` returns a name's pretrained configuration (its :class:`ModelCard`).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import fnmatch
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import ConfigError, UnknownModelError
from ..models.config import SeqJEPAConfig

__all__ = [
    "CARD_FORMAT_VERSION",
    "WEIGHTS_DIR",
    "ModelCard",
    "CardSource",
    "CardMetric",
    "HUB_PREFIX",
    "list_models",
    "list_pretrained",
    "get_pretrained_cfg",
    "resolve_name",
    "normalize_name",
    "validate_card",
    "validate_repo_id",
    "validate_revision",
    "validate_repo_filename",
    "parse_hub_name",
    "load_cards",
    "card_path",
]

CARD_FORMAT_VERSION = 1


def _find_weights_dir() -> Path:
    # installed: the wheel maps the top-level weights/ to seqjepa/weights/; a source checkout
    # (editable install) reads the top-level folder itself, so there is one copy to edit
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "weights", package.parent / "weights"):
        if candidate.is_dir():
            return candidate
    return package / "weights"


#: The directory holding the cards and the embedded default model's weights.
WEIGHTS_DIR = _find_weights_dir()
HUB_PREFIX = "hf-hub:"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,63}$")
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,95}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,199}$")
_FORMATS = ("safetensors", "official-pth")
_SOURCE_KINDS = ("hub", "package")


# --------------------------------------------------------------------------- name checks
def normalize_name(name: str) -> str:
    """Registry key of a name: lower case, ``_`` read as ``-``, surrounding blanks dropped."""
    if not isinstance(name, str):
        raise ValueError(f"name: expected a string, got {type(name).__name__}")
    return name.strip().lower().replace("_", "-")


def validate_repo_id(repo_id: str, *, what: str = "repo_id") -> str:
    """Accept ``org/name`` only: no scheme, host, query, ``..``, empty or absolute parts."""
    if not isinstance(repo_id, str):
        raise ValueError(f"{what}: expected 'org/name', got {type(repo_id).__name__}")
    parts = repo_id.split("/")
    if (
        len(parts) != 2
        or not all(_REPO_PART_RE.match(p) for p in parts)
        or any(".." in p or "--" in p or p.endswith((".", "-")) for p in parts)
    ):
        raise ValueError(
            f"{what}: expected a Hugging Face repo id 'org/name' (letters, digits, '.', '_', '-'), got {repo_id!r}"
        )
    return repo_id


def validate_revision(revision: Optional[str], *, what: str = "revision") -> Optional[str]:
    """A branch, tag or 40-hex commit; no whitespace, ``..``, ``//``, URL syntax or leading ``/``."""
    if revision is None:
        return None
    if not isinstance(revision, str) or not _REVISION_RE.match(revision) or ".." in revision or "//" in revision:
        raise ValueError(
            f"{what}: expected a branch, tag or 40-hex commit (letters, digits, '.', '_', '-', '/'), got {revision!r}"
        )
    if revision.endswith(("/", ".lock")):
        raise ValueError(f"{what}: {revision!r} is not a valid git reference")
    return revision


def validate_repo_filename(filename: str, *, what: str = "filename") -> str:
    """A relative file path inside a repo: no absolute path, ``..``, backslash or empty part."""
    if not isinstance(filename, str) or not filename:
        raise ValueError(f"{what}: expected a relative file name, got {filename!r}")
    parts = filename.split("/")
    if (
        filename.startswith("/")
        or "\\" in filename
        or ":" in filename
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 for c in filename)
    ):
        raise ValueError(f"{what}: expected a relative file name inside the repository, got {filename!r}")
    return filename


def parse_hub_name(name: str) -> tuple[str, Optional[str]]:
    """``hf-hub:org/repo[@revision]`` -> (repo_id, revision); validated."""
    if not name.startswith(HUB_PREFIX):
        raise ValueError(f"name: expected {HUB_PREFIX}org/repo[@revision], got {name!r}")
    rest = name[len(HUB_PREFIX):]
    repo_id, sep, revision = rest.partition("@")
    validate_repo_id(repo_id, what="name")
    if sep:
        if not revision:
            raise ValueError(f"name: empty revision after '@' in {name!r}")
        validate_revision(revision, what="name")
    return repo_id, (revision if sep else None)


# --------------------------------------------------------------------------- schema
class _Problems:
    def __init__(self, where: str) -> None:
        self.where, self.items = where, []

    def need(self, obj: Mapping[str, Any], key: str, types, *, path: str, nullable: bool = False) -> Any:
        if key not in obj:
            self.items.append(f"{path}{key}: missing")
            return None
        value = obj[key]
        if value is None and nullable:
            return None
        allow_bool = types is bool or (isinstance(types, tuple) and bool in types)
        ok = isinstance(value, types) and (allow_bool or not isinstance(value, bool))
        if not ok:
            names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
            self.items.append(f"{path}{key}: expected {names}{' or null' if nullable else ''}, got {type(value).__name__} {value!r}"[:300])
            return None
        return value

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(f"invalid model card {self.where}: " + "; ".join(self.items))


def validate_card(card: Mapping[str, Any], *, where: str = "<card>") -> None:
    """Check a registry card against the schema; raise :class:`ConfigError` listing every problem.

    Required: ``card_format_version``, ``name``, ``aliases``, ``description`` (one line),
    ``model`` (a valid :class:`SeqJEPAConfig` dict), ``preprocessing`` (agreeing with ``model``),
    ``actions`` (dimension agreeing with ``model``, order, units, how relative actions are formed),
    ``source``, ``training``, ``reported``, ``measured``, ``license``, ``citation``.
    """
    p = _Problems(where)
    if not isinstance(card, Mapping):
        raise ConfigError(f"invalid model card {where}: expected a JSON object, got {type(card).__name__}")
    version = p.need(card, "card_format_version", int, path="")
    if version is not None and version != CARD_FORMAT_VERSION:
        p.add(f"card_format_version: this seqjepa reads {CARD_FORMAT_VERSION}, got {version}")
    name = p.need(card, "name", str, path="")
    if name is not None and (not _NAME_RE.match(name) or normalize_name(name) != name):
        p.add(f"name: expected lower case letters, digits, '.' and '-' (at most 64), got {name!r}")
    aliases = p.need(card, "aliases", list, path="")
    for alias in aliases or []:
        if not isinstance(alias, str) or not _NAME_RE.match(normalize_name(alias)):
            p.add(f"aliases: {alias!r} is not a valid model name")
    description = p.need(card, "description", str, path="")
    if description is not None and (not description.strip() or "\n" in description or len(description) > 200):
        p.add("description: expected one non-empty line of at most 200 characters")
    for key in ("license", "citation"):
        p.need(card, key, str, path="")

    config = None
    model = p.need(card, "model", dict, path="")
    if model is not None:
        try:
            config = SeqJEPAConfig.from_dict(model)
        except ConfigError as exc:
            p.add(f"model: {exc}")

    pre = p.need(card, "preprocessing", dict, path="")
    if pre is not None:
        size = p.need(pre, "image_size", int, path="preprocessing.")
        mean = p.need(pre, "mean", list, path="preprocessing.")
        std = p.need(pre, "std", list, path="preprocessing.")
        p.need(pre, "interpolation", str, path="preprocessing.")
        p.need(pre, "input", str, path="preprocessing.")
        if config is not None:
            if size is not None and size != config.image_size:
                p.add(f"preprocessing.image_size {size} disagrees with model.image_size {config.image_size}")
            for key, value, want in (("mean", mean, config.mean), ("std", std, config.std)):
                if value is not None and tuple(float(v) for v in value) != tuple(want):
                    p.add(f"preprocessing.{key} {value} disagrees with model.{key} {list(want)}")
            if pre.get("interpolation") not in (None, config.interpolation):
                p.add(f"preprocessing.interpolation {pre.get('interpolation')!r} disagrees with model.interpolation")

    actions = p.need(card, "actions", dict, path="")
    if actions is not None:
        dim = p.need(actions, "dim", int, path="actions.")
        order = p.need(actions, "order", list, path="actions.")
        p.need(actions, "space", str, path="actions.")
        p.need(actions, "units", str, path="actions.")
        p.need(actions, "relative", str, path="actions.")
        if dim is not None and order is not None and len(order) != dim:
            p.add(f"actions.order has {len(order)} entries but actions.dim is {dim}")
        if config is not None and dim is not None and config.action_conditioned and dim != config.action_dim:
            p.add(f"actions.dim {dim} disagrees with model.action_dim {config.action_dim}")
        if config is not None and actions.get("space") not in (None, config.action_space):
            p.add(f"actions.space {actions.get('space')!r} disagrees with model.action_space {config.action_space!r}")

    _validate_source(p, p.need(card, "source", dict, path=""))

    training = p.need(card, "training", dict, path="")
    if training is not None:
        p.need(training, "dataset", str, path="training.")
        seq_len = p.need(training, "train_seq_len", int, path="training.")
        p.need(training, "recommended_inference_seq_len", int, path="training.")
        p.need(training, "recipe", str, path="training.")
        if config is not None and seq_len is not None and seq_len != config.train_seq_len:
            p.add(f"training.train_seq_len {seq_len} disagrees with model.train_seq_len {config.train_seq_len}")

    for key in ("reported", "measured"):
        rows = p.need(card, key, list, path="")
        for i, row in enumerate(rows or []):
            if not isinstance(row, dict):
                p.add(f"{key}[{i}]: expected an object")
                continue
            p.need(row, "metric", str, path=f"{key}[{i}].")
            p.need(row, "value", (int, float), path=f"{key}[{i}].")
            p.need(row, "setting", str, path=f"{key}[{i}].")
            p.need(row, "source", str, path=f"{key}[{i}].")
            for optional in ("spread", "floor", "floor_spread"):
                if optional in row:
                    v = p.need(row, optional, (int, float), path=f"{key}[{i}].")
                    if v is not None and (not math.isfinite(v) or (optional != "floor" and v < 0)):
                        p.add(f"{key}[{i}].{optional}: expected a finite number{'' if optional == 'floor' else ' >= 0'}, got {v!r}")
            if "seeds" in row:
                n = p.need(row, "seeds", int, path=f"{key}[{i}].")
                if n is not None and n < 1:
                    p.add(f"{key}[{i}].seeds: expected an integer >= 1, got {n!r}")
            extra = sorted(set(row) - set(_METRIC_FIELDS))
            if extra:
                p.add(f"{key}[{i}]: unknown field(s) {extra}")
    known = {
        "card_format_version", "name", "aliases", "description", "model", "preprocessing", "actions",
        "source", "training", "reported", "measured", "license", "citation", "notes",
    }
    unknown = sorted(set(card) - known)
    if unknown:
        p.add(f"unknown field(s) {unknown}")
    p.raise_if_any()


def _validate_source(p: _Problems, source: Optional[Mapping[str, Any]]) -> None:
    if source is None:
        return
    kind = p.need(source, "kind", str, path="source.")
    fmt = p.need(source, "format", str, path="source.")
    if fmt is not None and fmt not in _FORMATS:
        p.add(f"source.format: expected one of {_FORMATS}, got {fmt!r}")
    sha = p.need(source, "sha256", str, path="source.", nullable=True)
    if sha is not None and not _SHA256_RE.match(sha):
        p.add(f"source.sha256: expected 64 lower-case hex digits, got {sha!r}")
    size = p.need(source, "size", int, path="source.", nullable=True)
    if size is not None and size <= 0:
        p.add(f"source.size: expected a positive byte count, got {size}")
    if kind == "package":
        filename = p.need(source, "filename", str, path="source.")
        if filename is not None and ("/" in filename or "\\" in filename or filename.startswith(".")):
            p.add(f"source.filename: a package file is a bare name inside seqjepa/weights/, got {filename!r}")
        if sha is None:
            p.add("source.sha256: a package file must be pinned by its sha256")
        if fmt not in (None, "safetensors"):
            p.add("source.format: a package file must be safetensors")
    elif kind == "hub":
        repo = p.need(source, "repo", str, path="source.")
        if repo is not None:
            try:
                validate_repo_id(repo, what="source.repo")
            except ValueError as exc:
                p.add(str(exc))
        revision = p.need(source, "revision", str, path="source.", nullable=True)
        if revision is not None and not _COMMIT_RE.match(revision):
            p.add(f"source.revision: a card pins a 40-hex commit (or null while unpinned), got {revision!r}")
        filename = p.need(source, "filename", str, path="source.", nullable=True)
        pattern = p.need(source, "file_pattern", str, path="source.", nullable=True)
        if filename is not None:
            try:
                validate_repo_filename(filename, what="source.filename")
            except ValueError as exc:
                p.add(str(exc))
        if filename is None and pattern is None:
            p.add("source: give a filename or a file_pattern")
        if pattern is not None and ("/" in pattern or ".." in pattern):
            p.add(f"source.file_pattern: a glob over top-level file names, got {pattern!r}")
        if sha is not None and (revision is None or filename is None):
            p.add("source: a pinned sha256 needs the pinned revision and filename it belongs to")
        if fmt == "safetensors" and filename is None:
            p.add("source.filename: a safetensors source names its file")
    elif kind is not None:
        p.add(f"source.kind: expected one of {_SOURCE_KINDS}, got {kind!r}")


# --------------------------------------------------------------------------- typed cards
@dataclass(frozen=True)
class CardSource:
    """Where a card's bytes live: a Hub file (pinned, or found by ``file_pattern``) or a package file."""

    kind: str
    format: str
    sha256: Optional[str] = None
    size: Optional[int] = None
    repo: Optional[str] = None
    revision: Optional[str] = None
    filename: Optional[str] = None
    file_pattern: Optional[str] = None

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None and self.revision is not None and self.filename is not None


@dataclass(frozen=True)
class CardMetric:
    """One number on a card: what was measured, its value, in which setting, and where it comes from.

    Measured numbers also carry how much they move: ``value`` is then the mean over ``seeds`` fresh
    data seeds, ``spread`` their standard deviation, and ``floor`` / ``floor_spread`` the same metric
    for an untrained network of the same architecture under the same protocol.
    """

    metric: str
    value: float
    setting: str
    source: str
    spread: Optional[float] = None
    seeds: Optional[int] = None
    floor: Optional[float] = None
    floor_spread: Optional[float] = None

    def describe(self, digits: int = 3) -> str:
        """``value ± spread (n seeds; untrained floor f ± s)``, with the parts the row has."""
        text = f"{self.value:.{digits}f}"
        if self.spread is not None:
            text += f" ± {self.spread:.{digits}f}"
        extra = []
        if self.seeds is not None:
            extra.append(f"{self.seeds} data seeds")
        if self.floor is not None:
            floor = f"{self.floor:.{digits}f}" + (f" ± {self.floor_spread:.{digits}f}" if self.floor_spread is not None else "")
            extra.append(f"untrained floor {floor}")
        return text + (f" ({'; '.join(extra)})" if extra else "")


_METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(CardMetric))


@dataclass(frozen=True)
class ModelCard:
    """A validated registry card (see :func:`validate_card` for the schema)."""

    name: str
    aliases: tuple[str, ...]
    description: str
    config: SeqJEPAConfig
    preprocessing: Mapping[str, Any]
    actions: Mapping[str, Any]
    source: CardSource
    training: Mapping[str, Any]
    reported: tuple[CardMetric, ...]
    measured: tuple[CardMetric, ...]
    license: str
    citation: str
    notes: Optional[str] = None
    card_format_version: int = CARD_FORMAT_VERSION
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, card: Mapping[str, Any], *, where: str = "<card>") -> "ModelCard":
        """Validate ``card`` and build its typed form."""
        validate_card(card, where=where)
        src = card["source"]
        return cls(
            name=card["name"],
            aliases=tuple(card["aliases"]),
            description=card["description"],
            config=SeqJEPAConfig.from_dict(card["model"]),
            preprocessing=copy.deepcopy(card["preprocessing"]),
            actions=copy.deepcopy(card["actions"]),
            source=CardSource(**{f.name: src.get(f.name) for f in dataclasses.fields(CardSource)}),
            training=copy.deepcopy(card["training"]),
            reported=tuple(CardMetric(**{k: r[k] for k in _METRIC_FIELDS if k in r}) for r in card["reported"]),
            measured=tuple(CardMetric(**{k: r[k] for k in _METRIC_FIELDS if k in r}) for r in card["measured"]),
            license=card["license"],
            citation=card["citation"],
            notes=card.get("notes"),
            card_format_version=card["card_format_version"],
            raw=copy.deepcopy(dict(card)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The card as its JSON document (a copy)."""
        return copy.deepcopy(dict(self.raw))

    def __getitem__(self, key: str) -> Any:
        # cards were plain dicts before 0.1: keep ``card["source"]["kind"]`` working for one release
        warnings.warn(
            "indexing a ModelCard like a dict is deprecated; use its attributes (card.source.kind) or card.to_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_dict()[key]


# --------------------------------------------------------------------------- loading
def card_path(name: str) -> Path:
    """Path of the card of a registry name (after alias resolution)."""
    return WEIGHTS_DIR / f"{resolve_name(name)}.json"


@lru_cache(maxsize=1)
def _load_all() -> tuple[dict[str, ModelCard], dict[str, str]]:
    cards: dict[str, ModelCard] = {}
    index: dict[str, str] = {}
    if not WEIGHTS_DIR.is_dir():
        return cards, index
    for path in sorted(WEIGHTS_DIR.glob("*.json")):
        try:
            with open(path, encoding="utf-8") as fh:
                card = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid model card {path}: not valid JSON: {exc}") from exc
        if not isinstance(card, dict) or "card_format_version" not in card:
            continue  # not a registry card (e.g. a golden-test config)
        typed = ModelCard.from_dict(card, where=str(path))
        if path.stem != card["name"]:
            raise ConfigError(f"invalid model card {path}: file name must be '{card['name']}.json'")
        for key in [card["name"], *card["aliases"]]:
            key = normalize_name(key)
            if key in index and index[key] != card["name"]:
                raise ConfigError(f"model name {key!r} is claimed by both {index[key]!r} and {card['name']!r}")
            index[key] = card["name"]
        cards[card["name"]] = typed
    return cards, index


def load_cards() -> dict[str, ModelCard]:
    """Every card, by canonical name."""
    return dict(_load_all()[0])


def resolve_name(name: str) -> str:
    """Canonical registry name for ``name`` or an alias; unknown names raise with suggestions."""
    key = normalize_name(name)
    cards, index = _load_all()
    if key in index:
        return index[key]
    if name.strip().startswith(HUB_PREFIX):
        raise UnknownModelError(
            f"name: {name.strip()!r} is a Hub repository, not a registry name; registry cards exist for "
            f"{', '.join(sorted(cards)) or '(none)'}. Load the repository with seqjepa.load({name.strip()!r}) or "
            f"fetch it with `seqjepa download {name.strip()}`"
        )
    if not _NAME_RE.match(key):
        raise UnknownModelError(
            f"name: {name!r} is not a model name (letters, digits, '.', '-', '_'); for a file give a path, "
            f"for a Hub repo give '{HUB_PREFIX}org/repo'"
        )
    close = difflib.get_close_matches(key, list(index), n=6, cutoff=0.5)
    suggestions = list(dict.fromkeys(index[c] for c in close))[:3]
    hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    raise UnknownModelError(f"name: unknown model {name!r}{hint} Known models: {', '.join(sorted(cards)) or '(none)'}")


def list_models() -> list[str]:
    """Registry names, sorted."""
    return sorted(_load_all()[0])


def list_pretrained(filter: str = "*") -> list[str]:
    """Registry names that have pretrained weights, sorted; ``filter`` is a glob (as in timm)."""
    if not isinstance(filter, str):
        raise ValueError(f"filter: expected a glob pattern string, got {type(filter).__name__}")
    return [name for name in sorted(_load_all()[0]) if fnmatch.fnmatch(name, filter.lower())]


def get_pretrained_cfg(name: str) -> ModelCard:
    """The pretrained configuration of a registry name or alias: its typed :class:`ModelCard`."""
    return _load_all()[0][resolve_name(name)]


def clear_cache() -> None:
    """Forget the loaded cards (tests that write cards call this)."""
    _load_all.cache_clear()
