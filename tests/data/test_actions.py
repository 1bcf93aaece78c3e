"""Action spaces against independent references (scipy for rotations, plain numpy otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from seqjepa.models.actions import (
    euler_xyz_to_quaternion,
    get_action_space,
    list_action_spaces,
    relative_rotation,
)


def _latents(rng: np.random.Generator, v: int, low=-np.pi / 2, high=np.pi / 2) -> np.ndarray:
    lat = np.empty((v, 7))
    lat[:, 0:3] = rng.uniform(low, high, size=(v, 3))
    lat[:, 3] = rng.uniform(0, 1, v)
    lat[:, 4] = rng.uniform(0, np.pi / 4, v)
    lat[:, 5] = rng.uniform(0, 2 * np.pi, v)
    lat[:, 6] = rng.uniform(0, 1, v)
    return lat


def test_registry_names_and_dims():
    assert list_action_spaces() == sorted(
        ["rotation", "rotation_color", "augmentation", "crop", "jitter", "blur", "saccade"]
    )
    dims = {n: get_action_space(n).dim for n in list_action_spaces()}
    assert dims == {"rotation": 4, "rotation_color": 6, "augmentation": 9, "crop": 4, "jitter": 4, "blur": 1, "saccade": 2}
    for n in list_action_spaces():
        space = get_action_space(n)
        assert len(space.components) == space.dim and space.units
    with pytest.raises(ValueError, match="action_space"):
        get_action_space("rot")


@pytest.mark.parametrize("low,high", [(-np.pi / 2, np.pi / 2), (-np.pi, np.pi)])
def test_quaternion_matches_scipy(low, high):
    rng = np.random.default_rng(0)
    angles = rng.uniform(low, high, size=(500, 3))
    ours = euler_xyz_to_quaternion(torch.from_numpy(angles)).numpy()
    ref = Rotation.from_euler("xyz", angles).as_quat()
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("low,high", [(-np.pi / 2, np.pi / 2), (-np.pi, np.pi)])
def test_relative_rotation_matches_scipy_without_canonical_sign(low, high):
    rng = np.random.default_rng(1)
    lat = _latents(rng, 400, low, high)
    ours = get_action_space("rotation")(torch.from_numpy(lat)).numpy()
    ref = np.stack(
        [
            (Rotation.from_euler("xyz", lat[j, :3]).inv() * Rotation.from_euler("xyz", lat[j + 1, :3])).as_quat()
            for j in range(len(lat) - 1)
        ]
    )
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    assert (ref[:, 3] < 0).any(), "the reference set should include negative-w quaternions"
    # the sign is the composition's, not canonicalized: some w < 0 survive in ours too
    assert ((ours[:, 3] < 0) == (ref[:, 3] < 0)).all()


def test_relative_rotation_batched_float32():
    rng = np.random.default_rng(2)
    lat = torch.from_numpy(np.stack([_latents(rng, 5) for _ in range(3)])).float()
    out = get_action_space("rotation")(lat)
    assert out.shape == (3, 4, 4) and out.dtype == torch.float32
    for b in range(3):
        torch.testing.assert_close(out[b], get_action_space("rotation")(lat[b]))
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(3, 4))


def test_rotation_color():
    rng = np.random.default_rng(3)
    lat = _latents(rng, 6)
    out = get_action_space("rotation_color")(torch.from_numpy(lat)).numpy()
    assert out.shape == (5, 6)
    np.testing.assert_allclose(out[:, :4], relative_rotation(torch.from_numpy(lat[:, :3])).numpy())
    np.testing.assert_allclose(out[:, 4], np.diff(lat[:, 3]))
    np.testing.assert_allclose(out[:, 5], np.diff(lat[:, 6]))


def test_augmentation_normalized_across_views():
    rng = np.random.default_rng(4)
    params = rng.uniform(0.1, 2, size=(5, 9))
    params[2, 4:8] = (1, 1, 1, 0)  # jitter off in one view
    norm = params / np.linalg.norm(params, axis=0, keepdims=True)
    expected = np.diff(norm, axis=0)
    t = torch.from_numpy(params)
    np.testing.assert_allclose(get_action_space("augmentation")(t).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(get_action_space("crop")(t).numpy(), expected[:, 0:4], atol=1e-12)
    np.testing.assert_allclose(get_action_space("jitter")(t).numpy(), expected[:, 4:8], atol=1e-12)
    np.testing.assert_allclose(get_action_space("blur")(t).numpy(), expected[:, 8:9], atol=1e-12)
    # official F.normalize(dim=1) over a (B, V, 9) batch
    batch = torch.from_numpy(np.stack([params, params * 3]))
    ref = torch.nn.functional.normalize(batch, dim=1)
    torch.testing.assert_close(get_action_space("augmentation")(batch), ref[:, 1:] - ref[:, :-1])
    # a parameter that is zero everywhere (blur off in every view) stays zero, not NaN
    params[:, 8] = 0
    assert torch.isfinite(get_action_space("blur")(torch.from_numpy(params))).all()


def test_saccade():
    pos = torch.tensor([[0.1, 0.2], [0.5, 0.5], [0.9, 0.3]])
    torch.testing.assert_close(get_action_space("saccade")(pos), torch.tensor([[0.4, 0.3], [0.4, -0.2]]))


@pytest.mark.parametrize(
    "value,match",
    [
        (torch.zeros(3, 5), "K=7"),
        (torch.zeros(1, 7), "at least 2 views"),
        (torch.zeros(7), r"\(V, K\)"),
        (torch.zeros(3, 7, dtype=torch.int64), "floating"),
        (torch.full((3, 7), float("nan")), "finite"),
    ],
)
def test_bad_latents(value, match):
    with pytest.raises(ValueError, match=match):
        get_action_space("rotation")(value)


@pytest.mark.parametrize("name", ["rotation", "rotation_color", "augmentation", "crop", "jitter", "blur", "saccade"])
def test_numpy_path_equals_torch_path(name):
    space = get_action_space(name)
    rng = np.random.default_rng(7)
    lat = rng.uniform(-1.5, 1.5, size=(2, 5, space.latent_dim))
    out_np = space(lat)
    assert isinstance(out_np, np.ndarray) and out_np.shape == (2, 4, space.dim)
    np.testing.assert_allclose(out_np, space(torch.from_numpy(lat)).numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="floating"):
        space(lat.astype(np.int64))
