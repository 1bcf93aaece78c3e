"""Shared fixtures: small configs and models that build in well under a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# No test may reach the real Hub: seqjepa reads HF_HUB_OFFLINE at call time and then never asks
# huggingface_hub for the network. huggingface_hub itself reads it once, at import, and would
# then refuse the fake Hub on loopback that tests/hub serves, so it is imported before it is set.
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
import huggingface_hub.constants  # noqa: E402,F401  (the package itself imports its constants lazily)

os.environ["HF_HUB_OFFLINE"] = "1"

from seqjepa import SeqJEPA, SeqJEPAConfig  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

torch.set_num_threads(min(2, torch.get_num_threads()))


def load_module(path: Path, name: str):
    """Import the script at ``path`` as module ``name`` (registered in sys.modules, so its functions pickle)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def small_config(**changes) -> SeqJEPAConfig:
    """A seq-JEPA small enough for unit tests: narrow ResNet, 16-px images, 1 aggregator layer."""
    base = dict(
        backbone="resnet18",
        backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
        encoder_dim=32,
        image_size=16,
        cifar_stem=True,
        action_embed_dim=8,
        num_layers=1,
        num_heads=4,
        predictor_hidden=32,
        dropout=0.0,
    )
    base.update(changes)
    return SeqJEPAConfig(**base)


@pytest.fixture
def config() -> SeqJEPAConfig:
    return small_config()


@pytest.fixture
def model(config) -> SeqJEPA:
    torch.manual_seed(0)
    return SeqJEPA(config).eval()


# ----------------------------------------------------------------------------- spies that cannot be bypassed
_OPEN_RECORDER: list | None = None


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPEN_RECORDER is not None and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPEN_RECORDER.append(os.fsdecode(args[0]))


@pytest.fixture
def opened_files():
    """Every path the process opens while the test runs, seen by an audit hook on the ``open`` event.

    That event fires for ``open``/``io.open``, ``os.open``, ``Path.read_bytes``/``read_text``,
    ``np.load`` and every other Python-level open, so patching one of them cannot bypass it. (It
    does not see files that native code opens itself, e.g. safetensors' Rust reader; see
    :func:`deserialized`.) An audit hook cannot be removed, so one is installed once and records
    only while this fixture is active.
    """
    global _OPEN_RECORDER
    if not getattr(_audit, "installed", False):
        import sys

        sys.addaudithook(_audit)
        _audit.installed = True
    _OPEN_RECORDER = []
    try:
        yield _OPEN_RECORDER
    finally:
        _OPEN_RECORDER = None


@pytest.fixture
def deserialized(monkeypatch):
    """Names of the deserializers called while the test runs: safetensors (bytes, file, ``safe_open``),
    ``torch.load`` and ``nn.Module.load_state_dict``.

    Each is replaced where it is defined and under every name a ``seqjepa`` module imported it as
    (``from safetensors.torch import load as load_safetensors_bytes``), so no import alias bypasses it.
    """
    import sys

    import safetensors
    import safetensors.torch

    calls: list[str] = []
    owners = [(safetensors.torch, "load"), (safetensors.torch, "load_file"), (safetensors.torch, "safe_open"),
              (safetensors, "safe_open"), (torch, "load"), (torch.nn.Module, "load_state_dict")]
    for owner, name in owners:
        real = getattr(owner, name)
        label = f"{getattr(owner, '__name__', owner)}.{name}"

        def spy(*args, _real=real, _label=label, **kwargs):
            calls.append(_label)
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
        for modname, module in list(sys.modules.items()):
            if modname.startswith("seqjepa") and module is not None:
                for attr, value in list(vars(module).items()):
                    if value is real:
                        monkeypatch.setattr(module, attr, spy)
    return calls
