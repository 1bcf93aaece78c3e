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


# ---------------------------------------------------------------- edges found by mutation testing (tools/mutation.py)
def test_canonical_quaternion_keeps_w_non_negative_in_numpy_and_torch():
    from seqjepa.models.actions import canonical_quaternion

    q = np.array([[0.1, 0.2, 0.3, -0.9], [0.6, 0.0, 0.8, 0.0], [0.0, 0.6, 0.0, 0.8], [0.5, -0.5, 0.5, 0.5]])
    want = np.array([[-0.1, -0.2, -0.3, 0.9], [0.6, 0.0, 0.8, 0.0], [0.0, 0.6, 0.0, 0.8], [0.5, -0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(canonical_quaternion(q), want)  # w = 0 and 0 < w < 1 are left alone
    got = canonical_quaternion(torch.from_numpy(q))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), want)


def test_compose_rotations_is_the_ordered_product_scipy_computes():
    from seqjepa.models.actions import compose_rotations

    steps = Rotation.random(2 * 3, random_state=5).as_quat().reshape(2, 3, 4)
    got = compose_rotations(torch.from_numpy(steps)).numpy()
    for n in range(2):
        r = Rotation.from_quat(steps[n, 0]) * Rotation.from_quat(steps[n, 1]) * Rotation.from_quat(steps[n, 2])
        np.testing.assert_allclose(np.abs(got[n] @ r.as_quat()), 1.0, atol=1e-9)  # same rotation (q ~ -q)
    one = compose_rotations(torch.from_numpy(steps[:, :1]))
    np.testing.assert_array_equal(one.numpy(), steps[:, 0])


def test_normalize_across_views_by_hand_for_small_values():
    from seqjepa.models.actions import normalize_across_views

    p = torch.tensor([[[0.03, 0.0], [0.04, 0.0]]], dtype=torch.float64)  # norms 0.05 and 0 across the 2 views
    want = torch.tensor([[[0.6, 0.0], [0.8, 0.0]]], dtype=torch.float64)
    torch.testing.assert_close(normalize_across_views(p), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(normalize_across_views(p.numpy()), want.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["rotation", "rotation_color", "augmentation", "crop", "jitter", "blur", "saccade"])
def test_two_views_make_one_action_and_torch_gives_what_numpy_gives(name):
    space = get_action_space(name)
    lat = np.random.default_rng(1).uniform(-1, 1, size=(2, 5, space.latent_dim))
    np_out = space.actions(lat)
    t_out = space.actions(torch.from_numpy(lat))
    assert isinstance(np_out, np.ndarray) and isinstance(t_out, torch.Tensor)
    np.testing.assert_allclose(t_out.numpy(), np_out, rtol=1e-12, atol=1e-12)
    assert space.actions(lat[:, :2]).shape == (2, 1, space.dim)  # two views: one action
    lists = space.actions(lat[0, :2].tolist())  # a nested list becomes a tensor
    # (float32, torch's default dtype for a list: measured max error 1.0e-7)
    np.testing.assert_allclose(np.asarray(lists), space.actions(lat[0, :2]), rtol=0, atol=1e-6)


def test_arguments_are_named_in_errors():
    space = get_action_space("rotation")
    with pytest.raises(ValueError, match=r"^latents: expected at least 2 views"):
        space.actions(np.zeros((1, 7)))
    with pytest.raises(ValueError, match=r"^latents: expected a tensor or array of numbers, got str"):
        space.actions("not numbers")
    with pytest.raises(ValueError, match=r"^latents: expected floating-point values, got dtype torch.int64"):
        space.actions([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7]])
    from seqjepa.models.actions import euler_xyz_to_quaternion

    with pytest.raises(ValueError, match=r"^angles: expected floating-point values"):
        euler_xyz_to_quaternion(np.zeros((2, 3), dtype=np.int64))


def test_the_torch_path_is_torch_all_the_way_and_differentiable():
    """Torch inputs are computed with torch ops (numpy would need .numpy(), which a tensor with grad refuses)."""
    angles = torch.tensor([[0.3, -0.2, 0.5]], dtype=torch.float64, requires_grad=True)
    q = euler_xyz_to_quaternion(angles)
    q[..., 3].sum().backward()
    # d/d(angle_x) of w = cz cy cx + sz sy sx, by hand
    ax, ay, az = (0.5 * a for a in (0.3, -0.2, 0.5))
    want = 0.5 * (-np.cos(az) * np.cos(ay) * np.sin(ax) + np.sin(az) * np.sin(ay) * np.cos(ax))
    assert angles.grad[0, 0].item() == pytest.approx(want, abs=1e-12)
    lat = torch.zeros(3, 7, dtype=torch.float64, requires_grad=True)
    assert get_action_space("rotation").actions(lat).requires_grad
