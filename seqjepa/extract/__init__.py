"""Feature extraction as a product: files in, feature shards out, resumable, sharded over processes.

>>> import seqjepa
>>> seqjepa.extract("tiny-toy3diebench", "photos/", "feats/")       # doctest: +SKIP
>>> feats = seqjepa.read_features("feats/")                          # doctest: +SKIP
>>> feats["z"].shape, feats["path"][:2]                              # doctest: +SKIP

The same from the command line: ``seqjepa extract MODEL SOURCE --out DIR`` (or
``torchrun --nproc-per-node N -m seqjepa.extract MODEL SOURCE --out DIR``). See ``docs/extract.md``.

Modules: :mod:`~seqjepa.extract.sources` (what the rows are), :mod:`~seqjepa.extract.shards`
(the output directory), :mod:`~seqjepa.extract.runner` (the loop).
"""

from . import runner, shards, sources
from .runner import ExtractResult, extract
from .shards import Features, iter_shards, read_features

__all__ = ["extract", "read_features", "iter_shards", "Features", "ExtractResult"]

# ``seqjepa.extract`` is this package's ``extract`` function (``seqjepa/__init__.py`` imports it over the
# package's name). Giving the function the package's contents as attributes keeps ``seqjepa.extract.shards``,
# ``seqjepa.extract.iter_shards`` and ``import seqjepa.extract.runner as r`` working all the same.
for _name in ("runner", "shards", "sources", *__all__):
    if _name != "extract":
        setattr(extract, _name, globals()[_name])
del _name
