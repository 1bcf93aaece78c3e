"""Feature extraction as a product: files in, feature shards out, resumable, sharded over processes.

>>> import seqjepa
>>> seqjepa.extract("tiny-toy3diebench", "photos/", "feats/")       # doctest: +SKIP
>>> feats = seqjepa.read_features("feats/")                          # doctest: +SKIP
>>> feats["z"].shape, feats["path"][:2]                              # doctest: +SKIP

The same from the command line: ``seqjepa extract MODEL SOURCE --out DIR`` (or
``torchrun --nproc-per-node N -m seqjepa extract MODEL SOURCE --out DIR``). See ``docs/extract.md``.

Modules: :mod:`~seqjepa.features.sources` (what the rows are), :mod:`~seqjepa.features.shards`
(the output directory), :mod:`~seqjepa.features.runner` (the loop).
"""

from .runner import ExtractResult, extract
from .shards import Features, iter_shards, read_features

__all__ = ["extract", "read_features", "iter_shards", "Features", "ExtractResult"]
