"""The candidate grids: deterministic, unit quaternions, and no rotation farther than the stated resolution."""

from __future__ import annotations

import pytest
import torch

from seqjepa.world import geodesic_degrees, quaternion_to_axis_angle, rotation_grid, rotation_grid_resolution


@pytest.mark.parametrize("n", [256, 1024, 4096])
def test_no_rotation_is_farther_than_the_stated_resolution(n):
    grid = rotation_grid(n, dtype=torch.float64)
    assert grid.shape == (n, 4)
    torch.testing.assert_close(grid.norm(dim=1), torch.ones(n, dtype=torch.float64))
    g = torch.Generator().manual_seed(n)
    probes = torch.nn.functional.normalize(torch.randn(20000, 4, generator=g, dtype=torch.float64), dim=1)
    nearest = (probes.float() @ grid.float().T).abs().max(dim=1).values.double().clamp(max=1.0)
    farthest = torch.rad2deg(2 * torch.acos(nearest)).max().item()
    resolution = rotation_grid_resolution(n)
    assert farthest <= resolution
    assert farthest > 0.7 * resolution  # the stated resolution is a bound, not a loose one


def test_the_grid_is_even_and_deterministic():
    grid = rotation_grid(1024, dtype=torch.float64)
    assert torch.equal(grid, rotation_grid(1024, dtype=torch.float64))
    # both hemispheres of S^3 (q and -q) are covered about equally: the model's action input is the raw quaternion
    assert 0.4 < (grid[:, 3] > 0).double().mean() < 0.6
    assert torch.all((grid @ grid.T - torch.eye(1024, dtype=torch.float64)).abs() < 1.0)  # no duplicates


def test_axis_angle_and_geodesic():
    half = torch.tensor([0.0, 0.0, 0.70710678, 0.70710678])  # 90 degrees about z
    axis, angle = quaternion_to_axis_angle(half)
    torch.testing.assert_close(axis, torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(angle, torch.tensor(90.0))
    _, angle = quaternion_to_axis_angle(-half)  # the same rotation
    torch.testing.assert_close(angle, torch.tensor(90.0))
    identity = torch.tensor([0.0, 0.0, 0.0, 1.0])
    torch.testing.assert_close(geodesic_degrees(half, identity), torch.tensor(90.0))
    torch.testing.assert_close(geodesic_degrees(half, -half), torch.tensor(0.0), atol=1e-3, rtol=0)


@pytest.mark.parametrize("bad", [0, 63, 1.5, True, "4096"])
def test_grid_size_refused(bad):
    with pytest.raises(ValueError, match=r"n: expected an integer >= 64, got"):
        rotation_grid(bad)
