"""Quaternion helpers for rotation targets (scalar-last ``(x, y, z, w)``, scipy's order)."""

from __future__ import annotations

import torch

__all__ = ["quat_mul", "quat_conj", "euler_xyz_to_quat", "canonical_quat", "compose_relative"]


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a ⊗ b`` of (..., 4) scalar-last quaternions (rotation ``a`` after ``b``)."""
    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        dim=-1,
    )


def quat_conj(q: torch.Tensor) -> torch.Tensor:
    """Conjugate (the inverse of a unit quaternion)."""
    return torch.cat([-q[..., :3], q[..., 3:]], dim=-1)


def euler_xyz_to_quat(angles: torch.Tensor) -> torch.Tensor:
    """Extrinsic x-y-z Euler angles (..., 3), as 3DIEBench stores them, -> unit quaternions (..., 4).

    Equals ``scipy.spatial.transform.Rotation.from_euler("xyz", angles).as_quat()`` up to sign.
    """
    half = angles / 2
    c, s = torch.cos(half), torch.sin(half)
    zero = torch.zeros_like(half[..., 0])
    qx = torch.stack([s[..., 0], zero, zero, c[..., 0]], dim=-1)
    qy = torch.stack([zero, s[..., 1], zero, c[..., 1]], dim=-1)
    qz = torch.stack([zero, zero, s[..., 2], c[..., 2]], dim=-1)
    return quat_mul(qz, quat_mul(qy, qx))


def canonical_quat(q: torch.Tensor) -> torch.Tensor:
    """Pick the representative with ``w >= 0`` (q and -q are the same rotation)."""
    return torch.where(q[..., 3:] < 0, -q, q)


def compose_relative(steps: torch.Tensor) -> torch.Tensor:
    """Compose relative rotations (N, K, 4), ``steps[:, j]`` taking view j to j+1, into view 0 -> view K.

    With ``R_rel_j = R_j^-1 R_{j+1}`` the product ``R_rel_0 R_rel_1 ... R_rel_{K-1} = R_0^-1 R_K``.
    """
    out = steps[:, 0]
    for j in range(1, steps.shape[1]):
        out = quat_mul(out, steps[:, j])
    return out
