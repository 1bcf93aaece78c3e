"""Deterministic candidate sets for the action search, and the rotation arithmetic the queries report in.

The rotation grid is a super-Fibonacci spiral on the unit 3-sphere (M. Alexa, "Super-Fibonacci
Spirals: Fast, Low-Discrepancy Sampling of SO(3)", CVPR 2022): ``n`` unit quaternions spread
evenly over all of S^3, so both ``q`` and ``-q`` of every rotation lie near some grid point. A
seq-JEPA's action embedding is a linear map of the raw quaternion, so ``q`` and ``-q`` are two
different inputs to it; searching the whole sphere lets the model pick the sign it was trained on.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "rotation_grid",
    "rotation_grid_resolution",
    "box_grid",
    "geodesic_degrees",
    "quaternion_to_axis_angle",
]

#: the second irrational of the super-Fibonacci spiral (the root of x^4 = x + 4), as in Alexa (2022)
_PSI = 1.533751168755204288118041
#: covering constant: no rotation is farther than ``_COVER / n ** (1/3)`` degrees from an n-point grid.
#: Measured covering radii are 13.5 deg at n = 4096 and 22.3 deg at n = 1024 (216-224 / n^(1/3));
#: the stated bound leaves about 15 % on top (tests/world/test_grids.py checks it).
_COVER = 256.0
_MIN_GRID = 64


def _check_count(name: str, n: object, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {n!r}")
    return n


def rotation_grid(n: int = 4096, *, dtype: torch.dtype = torch.float32, device: "torch.device | str" = "cpu") -> torch.Tensor:
    """``n`` unit quaternions (x, y, z, w) covering all rotations evenly (a super-Fibonacci spiral): (n, 4).

    Deterministic: the same ``n`` gives the same grid everywhere. Every rotation lies within
    :func:`rotation_grid_resolution` (n) degrees of a grid point.
    """
    n = _check_count("n", n, _MIN_GRID)
    i = torch.arange(n, dtype=torch.float64) + 0.5
    s = i / n
    r, big_r = s.sqrt(), (1.0 - s).sqrt()
    alpha = 2.0 * math.pi * i / math.sqrt(2.0)
    beta = 2.0 * math.pi * i / _PSI
    q = torch.stack([r * alpha.sin(), r * alpha.cos(), big_r * beta.sin(), big_r * beta.cos()], dim=-1)
    return q.to(dtype=dtype, device=device)


def rotation_grid_resolution(n: int = 4096) -> float:
    """The stated resolution of :func:`rotation_grid` (n), in degrees: no rotation is farther from a grid point."""
    n = _check_count("n", n, _MIN_GRID)
    return _COVER / n ** (1.0 / 3.0)


def box_grid(low: float, high: float, points: int, dims: int, *, dtype: torch.dtype = torch.float32,
             device: "torch.device | str" = "cpu") -> torch.Tensor:
    """Every point of a regular grid with ``points`` values per axis on [low, high]^dims: (points**dims, dims)."""
    points = _check_count("points", points, 2)
    axis = torch.linspace(low, high, points, dtype=dtype, device=device)
    mesh = torch.meshgrid(*([axis] * dims), indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1)


def geodesic_degrees(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Angle of the rotation between unit quaternions ``p`` and ``q`` (..., 4), in degrees; ``q`` and ``-q`` are equal."""
    p = torch.nn.functional.normalize(p.double(), dim=-1)
    q = torch.nn.functional.normalize(q.double(), dim=-1)
    dot = (p * q).sum(-1).abs().clamp(max=1.0)
    return torch.rad2deg(2.0 * torch.acos(dot)).float()


def quaternion_to_axis_angle(q: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
    """Unit quaternions (..., 4) as (x, y, z, w) -> (unit axis (..., 3), angle in degrees (...) in [0, 180]).

    The sign is chosen so that the angle is at most 180 degrees; the identity gets the axis (0, 0, 1).
    """
    q = torch.nn.functional.normalize(q.double(), dim=-1)
    q = torch.where(q[..., 3:] < 0, -q, q)
    vec = q[..., :3]
    norm = vec.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(norm[..., 0], q[..., 3])
    default = torch.tensor([0.0, 0.0, 1.0], dtype=q.dtype, device=q.device).expand_as(vec)
    axis = torch.where(norm > 1e-12, vec / norm.clamp(min=1e-300), default)
    return axis.float(), torch.rad2deg(angle).float()
