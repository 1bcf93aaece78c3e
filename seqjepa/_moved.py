"""Module paths that moved in 0.1's layout, kept importable for one release with a DeprecationWarning.

``import seqjepa.io`` (or ``from seqjepa.hub import download``) still works: a finder on
``sys.meta_path`` hands back the module that took its place, or, where an old module was split,
a stand-in that looks names up in the new homes. Nothing inside seqjepa imports these paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any, Optional, Sequence

__all__ = ["MOVED", "install"]

#: old module -> the new module(s) its names live in, searched in order.
MOVED: dict[str, tuple[str, ...]] = {
    "seqjepa.config": ("seqjepa.models.config",),
    "seqjepa.model": ("seqjepa.models.model",),
    "seqjepa.backbones": ("seqjepa.models.backbones",),
    "seqjepa.actions": ("seqjepa.models.actions",),
    "seqjepa.transforms": ("seqjepa.models.transforms",),
    "seqjepa.validation": ("seqjepa.models.checks",),
    "seqjepa.inference": ("seqjepa.models.inference",),
    "seqjepa.fileio": ("seqjepa.utils.files",),
    "seqjepa.registry": ("seqjepa.zoo.registry",),
    "seqjepa.factory": ("seqjepa.zoo.factory", "seqjepa.zoo._loading"),
    "seqjepa.io": ("seqjepa.zoo._serialization", "seqjepa.zoo._model_card"),
    "seqjepa.convert": ("seqjepa.zoo._convert_official", "seqjepa.zoo.factory"),
    "seqjepa.hub": ("seqjepa.zoo._resolve", "seqjepa.zoo.factory", "seqjepa.zoo.publish", "seqjepa.zoo._model_card",
                    "seqjepa.zoo._hub_api", "seqjepa.zoo._upload", "seqjepa.errors"),
    "seqjepa.hub_cache": ("seqjepa.zoo._cache",),
}

#: names that changed along with their module: old module -> {old name: new name}.
_RENAMED = {"seqjepa.hub": {"load_named": "load"}}


def _warn(old: str, targets: Sequence[str]) -> None:
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; import from {' / '.join(targets)} "
        "(or the top-level seqjepa names)",
        DeprecationWarning,
        stacklevel=4,
    )


class _SplitModule(types.ModuleType):
    """Stands in for an old module whose names now live in several modules."""

    def __init__(self, name: str, targets: Sequence[str]) -> None:
        super().__init__(name, f"Deprecated: moved to {', '.join(targets)}.")
        self.__targets = tuple(targets)

    def __getattr__(self, attr: str) -> Any:
        wanted = _RENAMED.get(self.__name__, {}).get(attr, attr)
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, wanted):
                return getattr(module, wanted)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} (it moved to {', '.join(self.__targets)})")


class _Loader(importlib.abc.Loader):
    def __init__(self, targets: Sequence[str]) -> None:
        self.targets = targets

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        _warn(spec.name, self.targets)
        if len(self.targets) == 1:
            return importlib.import_module(self.targets[0])
        return _SplitModule(spec.name, self.targets)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        targets = MOVED.get(fullname)
        if targets is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(targets))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def old_module(attr: str) -> Optional[types.ModuleType]:
    """``seqjepa.<attr>`` for a moved module name (``seqjepa.io`` after ``import seqjepa``), else None."""
    name = f"seqjepa.{attr}"
    if name not in MOVED:
        return None
    return importlib.import_module(name)
