"""torch.hub entry points: ``torch.hub.load(repo_dir, "load", name, source="local")``.

Names are seqjepa registry names (``seqjepa list``), ``hf-hub:org/repo`` or local paths.
"""

dependencies = ["torch", "timm", "huggingface_hub", "safetensors"]

from seqjepa import list_models as _list_models  # noqa: E402
from seqjepa import load as _load  # noqa: E402


def load(name, **kwargs):
    """Load a pretrained seq-JEPA (eval mode); keyword arguments as :func:`seqjepa.load`."""
    return _load(name, **kwargs)


def list_models():
    """Registry names."""
    return _list_models()
