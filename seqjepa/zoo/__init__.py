"""The model zoo: names -> verified weights -> models, and back out to files and the Hub.

Public modules (what users call; the top-level :mod:`seqjepa` re-exports most of it):

* ``factory``: ``load``, ``create_model``, ``download``, ``load_official``, ``convert_official``,
  ``DEFAULT_MODEL``; the one zoo module that knows :class:`seqjepa.SeqJEPA`, which it binds;
* ``registry``: the typed cards (``list_models``, ``list_pretrained``, ``get_pretrained_cfg``);
* ``publish``: ``export`` (a model or a name -> a directory ready to publish), above the factory.

Saving, reloading and pushing are the model's methods (``save_pretrained``, ``from_pretrained``,
``push_to_hub``). Everything else is plumbing, private by name, lowest first (a module imports only
from modules above it in this list):

* ``_cache`` (seqjepa's corner of the HF cache, asked once per resolution; it calls nothing back),
  ``_verify`` (hashes before reads), ``_hub_api`` (the Hub's public API);
* ``_model_card``, ``_serialization`` (the local HF layout; its ``write_model_directory`` is the writer
  behind ``save_pretrained``), ``_convert_official`` (official ``.pth`` -> our layout);
* ``_resolve`` (name -> verified files), ``_upload`` (``push_to_hub``), ``_loading`` (name or path ->
  a model of the class it is handed).
"""
