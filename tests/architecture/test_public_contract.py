"""The front door's contract after the 0.1 layout: old module paths still work (with a warning),
every deliberate error is a SeqJEPAError, cards are typed, return types are declared."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import typing

import pytest

import seqjepa
from seqjepa import errors
from seqjepa._moved import MOVED


@pytest.mark.slow
def test_every_old_module_path_imports_with_a_deprecation_warning():
    # a fresh interpreter: each old path warns once, when it is first imported
    code = (
        "import warnings, importlib, sys\n"
        f"for old in {sorted(MOVED)!r}:\n"
        "    with warnings.catch_warnings(record=True) as w:\n"
        "        warnings.simplefilter('always')\n"
        "        importlib.import_module(old)\n"
        "    assert any(issubclass(x.category, DeprecationWarning) and old in str(x.message) for x in w), old\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_old_names_resolve_to_the_objects_in_their_new_homes():
    with pytest.warns(DeprecationWarning):
        io = importlib.import_module("seqjepa.io")
        hub = importlib.import_module("seqjepa.hub")
        convert = importlib.import_module("seqjepa.convert")
    from seqjepa.zoo import _convert_official as official, _model_card as model_card, _serialization as serialization, factory

    assert io.write_model_directory is serialization.write_model_directory and io.render_model_card is model_card.render_model_card
    assert hub.load_named is factory.load and hub.download is factory.download
    assert convert.load_official is factory.load_official and convert.PROBE_PREFIXES is official.PROBE_PREFIXES
    with pytest.raises(AttributeError, match="moved to"):
        hub.no_such_name  # noqa: B018


def test_every_exception_class_lives_in_errors_under_seqjepa_error():
    for module in ("seqjepa.train.loop", "seqjepa.train.checkpoint", "seqjepa.cli", "seqjepa.zoo._resolve"):
        mod = importlib.import_module(module)
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("seqjepa"):
                assert cls.__module__ == "seqjepa.errors", f"{cls.__name__} is defined in {cls.__module__}"
    for name in errors.__all__:
        cls = getattr(errors, name)
        if issubclass(cls, Exception) and not issubclass(cls, Warning):
            assert issubclass(cls, errors.SeqJEPAError), name


def test_an_unknown_name_is_an_unknown_model_error_that_is_also_a_value_error():
    with pytest.raises(seqjepa.UnknownModelError, match="did you mean 'resnet18-3diebench'"):
        seqjepa.load("resnet18-3diebenc")
    assert issubclass(seqjepa.UnknownModelError, ValueError)


def test_cards_are_typed_and_list_pretrained_means_what_it_means_in_timm():
    names = seqjepa.list_pretrained()
    assert names == sorted(names) and seqjepa.DEFAULT_MODEL in names and all(isinstance(n, str) for n in names)
    assert seqjepa.list_pretrained("resnet18-3die*") == ["resnet18-3diebench", "resnet18-3diebench-rotcolor"]
    card = seqjepa.get_pretrained_cfg(seqjepa.DEFAULT_MODEL)
    assert isinstance(card, seqjepa.ModelCard) and card.source.kind == "package" and card.config.image_size == 32
    assert card.to_dict()["source"]["sha256"] == card.source.sha256
    with pytest.warns(DeprecationWarning, match="indexing a ModelCard"):
        assert card["name"] == seqjepa.DEFAULT_MODEL


@pytest.mark.parametrize("fn", [seqjepa.load, seqjepa.create_model, seqjepa.load_official, seqjepa.download,
                                seqjepa.get_pretrained_cfg, seqjepa.list_pretrained, seqjepa.list_models])
def test_the_front_door_declares_its_return_type(fn):
    hints = typing.get_type_hints(fn)
    assert "return" in hints and hints["return"] is not type(None), fn.__name__


def test_get_action_space_is_exported():
    assert seqjepa.get_action_space("rotation").dim == 4
