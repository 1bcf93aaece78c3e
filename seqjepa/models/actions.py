"""Action spaces: how per-view latents become the relative actions a seq-JEPA is conditioned on.

Every action space maps per-view latents of shape ``(V, K)`` (observed views first, the target
last) to relative actions of shape ``(V - 1, A)``: row ``j`` leads from view ``j`` to view ``j + 1``.
With ``V = M + 1`` views this is exactly the ``(M, A)`` layout of :meth:`seqjepa.SeqJEPA.forward`
(the last row leads from the last observation to the unseen target). A leading batch dimension
``(B, V, K) -> (B, V - 1, A)`` is accepted too.

Conventions follow the official seq-JEPA / SIE code (paper-notes §2.3, §3.3):

* Rotation: 3DIEBench's latent ``[0:3]`` are extrinsic ``"xyz"`` Euler angles (radians). The relative
  rotation is ``R(a_j)^-1 R(a_{j+1})`` as a quaternion in scalar-last order ``(x, y, z, w)``, with the
  sign that quaternion composition gives (scipy's ``from_euler``/``inv``/``*``/``as_quat``); it is
  *not* made canonical (``w`` may be negative).
* Augmentation parameters: ``(crop i, j, h, w, brightness, contrast, saturation, hue, blur sigma)``;
  each parameter is L2-normalized across the views of one sequence, then consecutive normalized
  vectors are differenced.
* Saccades: fixation ``(row, col) / image_size``; the action is the difference of positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import torch
import torch.nn.functional as F

Array = Union[torch.Tensor, np.ndarray]

__all__ = [
    "ActionSpace",
    "get_action_space",
    "list_action_spaces",
    "euler_xyz_to_quaternion",
    "quaternion_multiply",
    "quaternion_conjugate",
    "relative_rotation",
    "canonical_quaternion",
    "compose_rotations",
    "normalize_across_views",
    "AUGMENTATION_PARAM_NAMES",
]

AUGMENTATION_PARAM_NAMES = (
    "crop_i", "crop_j", "crop_h", "crop_w", "brightness", "contrast", "saturation", "hue", "blur_sigma",
)


def _as_float_array(name: str, value: object):
    """A floating torch tensor or numpy array (kept as given); lists become tensors."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise ValueError(f"{name}: expected floating-point values, got dtype {value.dtype}")
        return value
    if isinstance(value, torch.Tensor):
        t = value
    else:
        try:
            t = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{name}: expected a tensor or array of numbers, got {type(value).__name__}") from exc
    if not t.is_floating_point():
        raise ValueError(f"{name}: expected floating-point values, got dtype {t.dtype}")
    return t


# The functions below take torch tensors or numpy arrays alike (a dataset computes the actions of one
# item in numpy: a few dozen torch ops on 4-element tensors cost more than decoding the images).
def _xp(x):
    return np if isinstance(x, np.ndarray) else torch


def _stack(items, x):
    return np.stack(items, axis=-1) if isinstance(x, np.ndarray) else torch.stack(items, dim=-1)


def euler_xyz_to_quaternion(angles: Array) -> Array:
    """Extrinsic ``"xyz"`` Euler angles ``(..., 3)`` in radians -> unit quaternions ``(..., 4)`` as (x, y, z, w).

    Extrinsic xyz means: rotate about the fixed x axis, then the fixed y axis, then the fixed z
    axis, so ``q = q_z * q_y * q_x`` (scipy's ``Rotation.from_euler("xyz", angles)``). Accepts a
    torch tensor or a numpy array and returns the same kind.
    """
    angles = _as_float_array("angles", angles)
    if tuple(angles.shape[-1:]) != (3,):
        raise ValueError(f"angles: expected shape (..., 3) Euler angles, got {tuple(angles.shape)}")
    xp = _xp(angles)
    half = angles * 0.5
    c, s = xp.cos(half), xp.sin(half)
    cx, cy, cz = c[..., 0], c[..., 1], c[..., 2]
    sx, sy, sz = s[..., 0], s[..., 1], s[..., 2]
    # q_z * (q_y * q_x) expanded
    return _stack(
        [
            cz * cy * sx - sz * sy * cx,
            cz * sy * cx + sz * cy * sx,
            sz * cy * cx - cz * sy * sx,
            cz * cy * cx + sz * sy * sx,
        ],
        angles,
    )


def quaternion_multiply(p: Array, q: Array) -> Array:
    """Hamilton product ``p * q`` of scalar-last quaternions ``(..., 4)`` (rotation ``q`` first, then ``p``)."""
    px, py, pz, pw = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qx, qy, qz, qw = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return _stack(
        [
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
            pw * qw - px * qx - py * qy - pz * qz,
        ],
        p,
    )


def quaternion_conjugate(q: Array) -> Array:
    """Inverse of a unit quaternion (x, y, z, w): ``(-x, -y, -z, w)``."""
    return _stack([-q[..., 0], -q[..., 1], -q[..., 2], q[..., 3]], q)


def relative_rotation(angles: Array) -> Array:
    """Per-view Euler angles ``(..., V, 3)`` -> relative quaternions ``(..., V - 1, 4)``.

    Row ``j`` is ``R(a_j)^-1 R(a_{j+1})`` in (x, y, z, w) order, not sign-canonicalized.
    """
    q = euler_xyz_to_quaternion(angles)
    return quaternion_multiply(quaternion_conjugate(q[..., :-1, :]), q[..., 1:, :])


def canonical_quaternion(q: Array) -> Array:
    """The representative of each rotation with ``w >= 0`` (``q`` and ``-q`` are the same rotation)."""
    if isinstance(q, np.ndarray):
        return np.where(q[..., 3:] < 0, -q, q)
    return torch.where(q[..., 3:] < 0, -q, q)


def compose_rotations(steps: Array) -> Array:
    """Relative rotations ``(N, K, 4)``, ``steps[:, j]`` leading view j to j + 1, composed into view 0 -> view K.

    With ``R_rel_j = R_j^-1 R_{j+1}``, the product ``R_rel_0 R_rel_1 ... R_rel_{K-1}`` is ``R_0^-1 R_K``.
    """
    out = steps[:, 0]
    for j in range(1, steps.shape[1]):
        out = quaternion_multiply(out, steps[:, j])
    return out


def normalize_across_views(params: Array, eps: float = 1e-12) -> Array:
    """L2-normalize each parameter (last dim) across the views (dim -2) of a sequence.

    Matches ``F.normalize(params, dim=1)`` on the official ``(B, V, 9)`` tensor. A parameter that
    is zero in every view (e.g. hue when jitter was off everywhere) stays zero.
    """
    if isinstance(params, np.ndarray):
        return params / np.maximum(np.sqrt((params * params).sum(axis=-2, keepdims=True)), eps)
    return F.normalize(params, p=2.0, dim=-2, eps=eps)


def _differences(x: Array) -> Array:
    return x[..., 1:, :] - x[..., :-1, :]


@dataclass(frozen=True)
class ActionSpace:
    """One action space: name, action dimension A, latent dimension K and the latents -> actions map.

    Attributes:
        name: registry name (``get_action_space(name)``).
        dim: A, the size of one relative action.
        latent_dim: K, the size of one per-view latent this space reads.
        components: names of the A action components, in order.
        units: what the components mean and in which units.
        fn: the map from ``(..., V, K)`` latents to ``(..., V - 1, A)`` actions.
    """

    name: str
    dim: int
    latent_dim: int
    components: tuple[str, ...]
    units: str
    fn: Callable[[Array], Array]

    def __call__(self, latents: Array) -> Array:
        return self.actions(latents)

    def actions(self, latents: Array) -> Array:
        """Per-view latents ``(V, K)`` or ``(B, V, K)`` -> relative actions ``(V-1, A)`` / ``(B, V-1, A)``.

        Takes a torch tensor or a numpy array and returns the same kind, in the latents' floating
        dtype. At least two views are needed.
        """
        t = _as_float_array("latents", latents)
        if t.ndim not in (2, 3):
            raise ValueError(f"latents: expected shape (V, K) or (B, V, K), got {tuple(t.shape)}")
        if t.shape[-1] != self.latent_dim:
            raise ValueError(
                f"latents: action space {self.name!r} expects K={self.latent_dim} values per view, "
                f"got shape {tuple(t.shape)}"
            )
        if t.shape[-2] < 2:
            raise ValueError(f"latents: expected at least 2 views to form a relative action, got shape {tuple(t.shape)}")
        if not bool(_xp(t).isfinite(t).all()):
            raise ValueError(f"latents: expected finite values, got NaN or Inf in shape {tuple(t.shape)}")
        out = self.fn(t)
        assert out.shape[-1] == self.dim
        return out


def _rotation(lat: Array) -> Array:
    return relative_rotation(lat[..., 0:3])


def _rotation_color(lat: Array) -> Array:
    rot, color = relative_rotation(lat[..., 0:3]), _differences(lat[..., [3, 6]])
    return np.concatenate([rot, color], axis=-1) if isinstance(lat, np.ndarray) else torch.cat([rot, color], dim=-1)


def _augmentation_slice(lo: int, hi: int) -> Callable[[Array], Array]:
    def fn(lat: Array) -> Array:
        return _differences(normalize_across_views(lat)[..., lo:hi])

    return fn


def _saccade(lat: Array) -> Array:
    return _differences(lat)


_ROT = ("qx", "qy", "qz", "qw")
_THREEDIE_LATENT = (
    "3DIEBench 7-d latent per view: rot x, y, z (extrinsic xyz Euler, rad), floor hue, light theta, light phi, light hue"
)
_AUG_LATENT = "9 augmentation parameters per view: crop i, j, h, w (px), brightness, contrast, saturation, hue factors, blur sigma"

_REGISTRY: dict[str, ActionSpace] = {
    s.name: s
    for s in (
        ActionSpace(
            "rotation", 4, 7, _ROT,
            f"unit quaternion (x, y, z, w) of R(a_j)^-1 R(a_j+1), not sign-canonicalized; reads the {_THREEDIE_LATENT}",
            _rotation,
        ),
        ActionSpace(
            "rotation_color", 6, 7, _ROT + ("d_floor_hue", "d_light_hue"),
            "relative quaternion (x, y, z, w), then differences of floor hue (latent[3]) and light hue (latent[6]), "
            f"hue in [0, 1) turns; reads the {_THREEDIE_LATENT}",
            _rotation_color,
        ),
        ActionSpace(
            "augmentation", 9, 9, tuple(f"d_{n}" for n in AUGMENTATION_PARAM_NAMES),
            f"differences of consecutive per-view parameter vectors, each parameter L2-normalized across views; reads {_AUG_LATENT}",
            _augmentation_slice(0, 9),
        ),
        ActionSpace(
            "crop", 4, 9, tuple(f"d_{n}" for n in AUGMENTATION_PARAM_NAMES[0:4]),
            f"crop slice (i, j, h, w) of the normalized augmentation differences; reads {_AUG_LATENT}",
            _augmentation_slice(0, 4),
        ),
        ActionSpace(
            "jitter", 4, 9, tuple(f"d_{n}" for n in AUGMENTATION_PARAM_NAMES[4:8]),
            f"color-jitter slice (brightness, contrast, saturation, hue) of the normalized differences; reads {_AUG_LATENT}",
            _augmentation_slice(4, 8),
        ),
        ActionSpace(
            "blur", 1, 9, ("d_blur_sigma",),
            f"blur-sigma slice of the normalized augmentation differences; reads {_AUG_LATENT}",
            _augmentation_slice(8, 9),
        ),
        ActionSpace(
            "saccade", 2, 2, ("d_row", "d_col"),
            "difference of fixation positions (row, col) / image_size, each position in [0, 1]",
            _saccade,
        ),
    )
}

def list_action_spaces() -> list[str]:
    """Names accepted by :func:`get_action_space`, sorted."""
    return sorted(_REGISTRY)


def get_action_space(name: str) -> ActionSpace:
    """The action space called ``name`` (one of :func:`list_action_spaces`)."""
    if isinstance(name, ActionSpace):
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"action_space: expected one of {list_action_spaces()}, got {name!r}")
    return _REGISTRY[name]
