"""The regression targets of the protocols: quaternions as scipy has them, cumulative actions along a path."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from seqjepa.eval.protocols import cumulative_action
from seqjepa.models.actions import canonical_quaternion as canonical_quat
from seqjepa.models.actions import compose_rotations as compose_relative
from seqjepa.models.actions import euler_xyz_to_quaternion as euler_xyz_to_quat
from seqjepa.models.actions import quaternion_conjugate as quat_conj
from seqjepa.models.actions import quaternion_multiply as quat_mul


def test_quaternions_match_scipy():
    rng = np.random.default_rng(4)
    angles = (rng.random((64, 3)) - 0.5) * np.pi
    ours = euler_xyz_to_quat(torch.from_numpy(angles)).numpy()
    ref = Rotation.from_euler("xyz", angles).as_quat()
    assert np.allclose(np.abs((ours * ref).sum(axis=1)), 1.0, atol=1e-9)  # equal up to sign
    rel = quat_mul(quat_conj(torch.from_numpy(ours[:32])), torch.from_numpy(ours[32:])).numpy()
    rel_ref = (Rotation.from_euler("xyz", angles[:32]).inv() * Rotation.from_euler("xyz", angles[32:])).as_quat()
    assert np.allclose(np.abs((rel * rel_ref).sum(axis=1)), 1.0, atol=1e-9)


def test_cumulative_action_composes_rotations_and_sums_the_rest():
    rng = np.random.default_rng(5)
    angles = torch.from_numpy((rng.random((10, 4, 3)) - 0.5) * np.pi)
    q = euler_xyz_to_quat(angles)
    steps = quat_mul(quat_conj(q[:, :-1]), q[:, 1:])
    extra = torch.from_numpy(rng.random((10, 3, 2)))
    actions = torch.cat([steps, extra], dim=2)
    total = cumulative_action(actions, 3, (0, 4))
    direct = canonical_quat(quat_mul(quat_conj(q[:, 0]), q[:, 3]))
    assert torch.allclose(total[:, :4], direct, atol=1e-9)
    assert (total[:, 3] >= 0).all()
    assert torch.allclose(total[:, 4:], extra.sum(dim=1))
    assert torch.allclose(compose_relative(steps[:, :1]), steps[:, 0])
    with pytest.raises(ValueError, match="steps"):
        cumulative_action(actions, 4, (0, 4))
