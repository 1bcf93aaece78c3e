"""Fast image decoding shared by the datasets: JPEG draft mode, one resize, batch normalization."""

from __future__ import annotations

import os
import stat
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import IntegrityError
from ..models.transforms import to_rgb

__all__ = ["load_rgb", "to_normalized_tensor", "PIL_INTERPOLATION"]

PIL_INTERPOLATION = {
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "nearest": Image.NEAREST,
}


def _open_regular(path: str):
    """``path`` opened for reading, refused unless it is a regular file. Opened non-blocking and checked on the
    descriptor: opening a FIFO for reading would wait forever for a writer, and a check by name could race."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device or special file")
            raise IntegrityError(f"image file {path} is {kind}, not a regular file")
        return open(path, "rb", opener=lambda _path, _flags: fd)  # named by its path, not its descriptor
    except BaseException:
        os.close(fd)
        raise


def load_rgb(path: Union[str, "os.PathLike[str]"], size: int | None, *, interpolation: str = "bilinear",
             draft: bool = True) -> np.ndarray:
    """Decode ``path`` to a ``(size, size, 3)`` uint8 array (or the native size when ``size`` is None).

    With ``draft`` a JPEG is decoded by libjpeg's DCT scaling directly at 1/2, 1/4 or 1/8 of its size
    when that is still >= ``size`` (256 -> 128 decodes straight at 128, no resize at all). This is
    not bit-identical to decoding at full size and resizing (torchvision's ``Resize``): pixel values
    differ by a few levels (see benchmarks/bench_loader.py). Pass ``draft=False`` for the exact
    official preprocessing.

    A missing file raises FileNotFoundError; an unreadable, truncated or non-image file, and anything
    that is not a regular file (a FIFO, a device such as ``/dev/zero``, a directory), raises
    :class:`~seqjepa.errors.IntegrityError`, both naming the file.
    """
    path = os.fspath(path)
    try:
        with _open_regular(path) as fh, Image.open(fh) as im:
            if draft and size is not None and im.format == "JPEG":
                im.draft("RGB", (size, size))
            im.load()
            rgb = to_rgb(im, what=f"image file {path}")
            if size is not None and rgb.size != (size, size):
                rgb = rgb.resize((size, size), PIL_INTERPOLATION[interpolation])
            return np.asarray(rgb)
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: {path}") from None
    except IntegrityError:
        raise
    except Image.DecompressionBombError as exc:
        raise IntegrityError(f"image file {path} was refused as a possible decompression bomb: {exc}") from None
    except ValueError as exc:
        if str(exc).startswith(f"image file {path}"):  # to_rgb: a pixel mode without an 8-bit reading
            raise IntegrityError(str(exc)) from None
        raise IntegrityError(f"image file {path} cannot be decoded (corrupt or truncated?): {exc}") from exc
    except UnidentifiedImageError:  # PIL's text names the file object; the path is named here already
        raise IntegrityError(f"image file {path} cannot be decoded (corrupt or truncated?): cannot identify "
                             "image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise IntegrityError(f"image file {path} cannot be decoded (corrupt or truncated?): {exc}") from exc


def to_normalized_tensor(images: Sequence[np.ndarray], mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Stack ``(H, W, 3)`` uint8 arrays -> float32 ``(N, 3, H, W)``, scaled to [0, 1] and normalized."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, -1, 1, 1)
    # (x / 255 - mean) / std as one multiply-add; contiguous NCHW output
    return (batch.contiguous() * scale).add_(shift)
