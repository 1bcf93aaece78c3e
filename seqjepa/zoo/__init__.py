"""The model zoo: names -> verified weights -> models, and back out to files and the Hub.

Layers, lowest first (a module imports only from layers below it):

* ``registry`` (typed cards), ``_cache`` and ``verify`` (the HF cache, hashes), ``_hub_api``
  (the Hub's public API), ``serialization`` and ``model_card`` (the local HF layout),
  ``official`` (safe reading of official ``.pth`` files);
* ``resolve`` (name -> verified files), ``upload`` (push_to_hub), ``loading`` (name -> model of
  a given class);
* ``factory`` (``load``/``create_model`` with :class:`seqjepa.SeqJEPA`), then ``publish`` (export).

Modules whose names start with ``_`` are internal.
"""
