"""Deprecated: the quaternion helpers live in :mod:`seqjepa.models.actions` (one home for rotations).

The old names stay importable from here for one release.
"""

from __future__ import annotations

import warnings

from ..models.actions import (
    canonical_quaternion as canonical_quat,
    compose_rotations as compose_relative,
    euler_xyz_to_quaternion as euler_xyz_to_quat,
    quaternion_conjugate as quat_conj,
    quaternion_multiply as quat_mul,
)

__all__ = ["quat_mul", "quat_conj", "euler_xyz_to_quat", "canonical_quat", "compose_relative"]

warnings.warn(
    "seqjepa.eval.rotations is deprecated and will be removed in the next release; use seqjepa.models.actions "
    "(quaternion_multiply, quaternion_conjugate, euler_xyz_to_quaternion, canonical_quaternion, compose_rotations)",
    DeprecationWarning,
    stacklevel=2,
)
