"""Fast inference: bfloat16 autocast, channels_last and ``torch.inference_mode``, optionally compiled.

Three pieces, usable together or alone::

    import seqjepa
    from seqjepa.models.inference import optimize, fast_inference, embed

    model = optimize(seqjepa.load())               # eval, channels_last, (optionally) compiled encoder
    out = embed(model, views, actions)             # float32 SeqJEPAOutput computed in bfloat16

    with fast_inference(model):                    # any other call, e.g. single images
        z = model.equivariant_embedding(images)

Speed (``benchmarks/bench_fast_inference.py``, paper config at 128 px on a 2-core AVX-512-BF16
EPYC, one thread): about 2-3x faster than plain float32 ``encode_views``; see
``docs/benchmarks.md`` for the measured range.

Accuracy: the outputs are computed in bfloat16 (8 mantissa bits), so they differ from float32.
Measured against the float32 model on the same inputs (paper config at 128 px and the
small test config, random weights): cosine similarity of z and z_AGG to float32 >= 0.999 for
every row, and max abs diff <= 2 % of the float32 output's largest magnitude. The documented
tolerance, checked by ``tests/bench/test_inference.py``, is **cosine >= 0.99 per row and max abs
diff <= 0.05 x max |float32 output|**. Use the plain float32 model (or ``fast=False``) where
bit-level reproducibility matters, e.g. when comparing with published numbers.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Union

import torch
from torch import nn

from .model import SeqJEPA, SeqJEPAOutput

__all__ = ["optimize", "fast_inference", "embed", "supports_dtype", "resolve_precision", "PRECISIONS", "DEFAULT_DTYPE"]

#: The reduced precision the fast path computes in.
DEFAULT_DTYPE = torch.bfloat16

_AUTOCAST_DTYPES = (torch.bfloat16, torch.float16)


def _device_of(model_or_device: Union[nn.Module, str, torch.device]) -> torch.device:
    if isinstance(model_or_device, nn.Module):
        param = next(model_or_device.parameters(), None)
        return param.device if param is not None else torch.device("cpu")
    if isinstance(model_or_device, (str, torch.device)):
        try:
            return torch.device(model_or_device)
        except RuntimeError as exc:
            raise ValueError(f"model_or_device: expected a model or a torch device, got {model_or_device!r}") from exc
    raise ValueError(f"model_or_device: expected a model or a torch device, got {type(model_or_device).__name__}")


#: The precision names the trainer, the evaluation and extraction accept.
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def resolve_precision(precision: str, device: Union[str, torch.device], *, auto_on_cpu: bool = False) -> Optional[torch.dtype]:
    """The autocast dtype a precision name means on ``device``; ``None`` is plain float32.

    ``"auto"`` picks bfloat16 on a GPU that has it (float16 on an older one); on a CPU it picks
    bfloat16 only with ``auto_on_cpu`` (the trainer, where speed wins) and where oneDNN runs it
    natively, else float32 (inference and evaluation, where the numbers should match float32).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    dev = torch.device(device)
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if dev.type == "cuda":
        return torch.bfloat16 if supports_dtype(dev, torch.bfloat16) else torch.float16
    if auto_on_cpu and supports_dtype(dev, torch.bfloat16):
        return torch.bfloat16
    return None


def supports_dtype(device: Union[str, torch.device], dtype: torch.dtype = DEFAULT_DTYPE) -> bool:
    """Whether ``device`` runs ``dtype`` autocast natively (not emulated, which would be slower than float32).

    CPU bfloat16 needs oneDNN bfloat16 support (AVX-512 BF16 / AMX, or AVX-512 emulation that
    oneDNN accepts); CUDA bfloat16 needs compute capability 8.0+. float16 is reported as
    supported on CUDA only (on CPU it is far slower than float32).
    """
    dev = torch.device(device)
    if dtype not in _AUTOCAST_DTYPES:
        return False
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            return False
        return dtype == torch.float16 or torch.cuda.is_bf16_supported()
    if dev.type == "cpu":
        if dtype != torch.bfloat16:
            return False
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def optimize(model: SeqJEPA, *, channels_last: bool = True, compile: bool = False) -> SeqJEPA:
    """Prepare ``model`` for inference, in place, and return it.

    Switches to eval mode, turns off gradients, and (by default) stores the convolution weights
    in channels_last layout, which oneDNN and cuDNN run faster (most of all under bfloat16).
    ``compile=True`` also wraps the encoder's forward with :func:`torch.compile` (in place via
    ``nn.Module.compile``, so ``state_dict`` keys do not change); the first call then compiles
    for a while, and compilation needs a working C++ compiler (CPU) or Triton (CUDA).

    The weights' values and ``state_dict`` are untouched: ``save_pretrained`` of an optimized
    model writes the same file.
    """
    if not isinstance(model, SeqJEPA):
        raise ValueError(f"model: expected a seqjepa.SeqJEPA, got {type(model).__name__}")
    for name, flag in (("channels_last", channels_last), ("compile", compile)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name}: expected True or False, got {flag!r}")
    model.eval().requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile:
        model.encoder.compile()
    return model


@contextlib.contextmanager
def fast_inference(
    model_or_device: Union[nn.Module, str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = DEFAULT_DTYPE,
) -> Iterator[None]:
    """Context: ``torch.inference_mode`` plus autocast to ``dtype`` on the model's device.

    Args:
        model_or_device: the model (its parameters' device is used) or a device.
        dtype: ``torch.bfloat16`` (default) or ``torch.float16``; ``None`` gives inference mode
            alone (float32).

    Raises:
        ValueError: ``dtype`` is not a reduced floating-point type, or the device cannot run it
            natively (see :func:`supports_dtype`); pass ``dtype=None`` there.

    Tensors made inside are inference tensors: they cannot take part in autograd later.
    """
    device = _device_of(model_or_device)
    if dtype is not None:
        if dtype not in _AUTOCAST_DTYPES:
            raise ValueError(f"dtype: expected torch.bfloat16, torch.float16 or None, got {dtype}")
        if not supports_dtype(device, dtype):
            raise ValueError(
                f"dtype: {str(dtype).replace('torch.', '')} is not supported natively on {device} "
                "(it would be emulated, slower than float32); pass dtype=None for float32 inference mode"
            )
    with torch.inference_mode():
        if dtype is None:
            yield
        else:
            with torch.autocast(device.type, dtype=dtype):
                yield


def to_channels_last(views: torch.Tensor) -> torch.Tensor:
    """Same values, each (C, H, W) image stored channels-last; (B, M, C, H, W) stays reshapeable to 4-d without a copy."""
    if views.dim() == 4:
        return views.contiguous(memory_format=torch.channels_last)
    return views.movedim(-3, -1).contiguous().movedim(-1, -3)


def embed(
    model: SeqJEPA,
    views: torch.Tensor,
    actions: Optional[torch.Tensor] = None,
    *,
    fast: bool = True,
    dtype: Optional[torch.dtype] = DEFAULT_DTYPE,
) -> SeqJEPAOutput:
    """Equivariant z (B, M, D) and invariant z_AGG (B, E) of a batch of sequences, as float32.

    Args:
        model: a :class:`~seqjepa.SeqJEPA` (call :func:`optimize` on it once for channels_last).
        views: (B, M, C, H, W) normalized views (``model.transform`` of each image).
        actions: (B, M-1, A) relative actions, ``actions[:, j]`` leading from view j to view j+1;
            ``None`` for models trained without action conditioning.
        fast: compute under :func:`fast_inference` with ``dtype`` and feed channels-last images;
            ``False`` gives the plain float32 result (inference mode only).
        dtype: the reduced precision of the fast path (see :func:`fast_inference`).

    The model runs in whatever mode it is in (call ``model.eval()`` or :func:`optimize` first;
    training-mode BatchNorm would use batch statistics). Inputs are checked by the model.
    """
    if not isinstance(model, SeqJEPA):
        raise ValueError(f"model: expected a seqjepa.SeqJEPA, got {type(model).__name__}")
    if not isinstance(fast, bool):
        raise ValueError(f"fast: expected True or False, got {fast!r}")
    if not fast:
        with torch.inference_mode():
            return model.encode_views(views, actions)
    if isinstance(views, torch.Tensor) and views.dim() == 5:
        views = to_channels_last(views)
    with fast_inference(model, dtype=dtype):
        out = model.encode_views(views, actions)
        return SeqJEPAOutput(equivariant=out.equivariant.float(), invariant=out.invariant.float())
