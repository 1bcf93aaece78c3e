"""The seq-JEPA model and what it needs: config, backbones, actions, preprocessing, input checks, fast path.

Nothing here knows about files, the Hub or datasets. The modules are imported by their own
paths (``seqjepa.models.model``, ``seqjepa.models.config``, ...) and the public names are
re-exported by :mod:`seqjepa`; this package's ``__init__`` imports nothing, so that the zoo can
read :mod:`seqjepa.models.config` without loading the model class (whose ``from_pretrained``
calls back into the zoo).
"""
