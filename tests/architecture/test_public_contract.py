"""The front door's contract: every deliberate error is a SeqJEPAError, cards are typed, return types are declared."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

import seqjepa
from seqjepa import errors


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
