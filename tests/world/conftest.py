"""A hand-built seq-JEPA whose answers are known: its encoder reads the object's state off the image,
and its predictor applies the action to that state exactly.

The state sits in the first pixels of channel 0 (row 0): a rotation's quaternion (x, y, z, w), then
for ``rotation_color`` the floor and light hues (turns), or for ``saccade`` the fixation (row, col).
The embedding is a faithful picture of the state (the rotation matrix, each hue and position as a
point on a circle) and the predictor acts on it as the group does, so cos(prediction, z(target))
is largest exactly at the true relative action: ``R_target = R_last R(a)``, hues and positions add.
"""

from __future__ import annotations

import math

import pytest
import torch

from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.models.actions import quaternion_conjugate, quaternion_multiply

torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a shared machine

SIZE = 8
STATE = {"rotation": 4, "rotation_color": 6, "saccade": 2}
EMBED = {"rotation": 9, "rotation_color": 13, "saccade": 4}


def quaternion_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4) as (x, y, z, w) -> rotation matrices (..., 3, 3) (differentiable)."""
    q = torch.nn.functional.normalize(q, dim=-1)
    x, y, z, w = q.unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ]
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def _circle(angle: torch.Tensor) -> torch.Tensor:
    return torch.stack([angle.cos(), angle.sin()], dim=-1)


def _turn(pair: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    c, s = angle.cos(), angle.sin()
    return torch.stack([c * pair[..., 0] - s * pair[..., 1], s * pair[..., 0] + c * pair[..., 1]], dim=-1)


class KnownAnswerModel(SeqJEPA):
    """Encoder = the state's picture; z_AGG = the last view's picture; predictor = the exact group action."""

    def __init__(self, action_space: str = "rotation") -> None:
        dim = {"rotation": 4, "rotation_color": 6, "saccade": 2}[action_space]
        config = SeqJEPAConfig(
            backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [4, 4, 4, 16], "stem_width": 4},
            encoder_dim=16, image_size=SIZE, action_dim=dim, action_embed_dim=4, num_layers=1, num_heads=2,
            predictor_hidden=8, dropout=0.0, action_space=action_space, cifar_stem=True,
        )
        super().__init__(config, with_target_encoder=False)
        self.space = action_space

    def encode(self, images: torch.Tensor, *, target: bool = False) -> torch.Tensor:
        state = images[:, 0, 0, : STATE[self.space]]
        if self.space == "saccade":
            z = torch.cat([_circle(math.pi * state[:, 0]), _circle(math.pi * state[:, 1])], dim=-1)
        else:
            z = quaternion_matrix(state[:, :4]).reshape(-1, 9)
            if self.space == "rotation_color":
                z = torch.cat([z, _circle(2 * math.pi * state[:, 4]), _circle(2 * math.pi * state[:, 5])], dim=-1)
        return torch.nn.functional.pad(z, (0, self.config.encoder_dim - z.shape[-1]))

    def _aggregate(self, z: torch.Tensor, actions) -> torch.Tensor:
        return torch.nn.functional.pad(z[:, -1], (0, self.config.token_dim - z.shape[-1]))

    def predict(self, z_agg: torch.Tensor, next_action=None) -> torch.Tensor:
        z, a = z_agg[:, : EMBED[self.space]], next_action
        if self.space == "saccade":
            out = torch.cat([_turn(z[:, 0:2], math.pi * a[:, 0]), _turn(z[:, 2:4], math.pi * a[:, 1])], dim=-1)
        else:
            out = (z[:, :9].reshape(-1, 3, 3) @ quaternion_matrix(a[:, :4])).reshape(-1, 9)
            if self.space == "rotation_color":
                out = torch.cat([out, _turn(z[:, 9:11], 2 * math.pi * a[:, 4]), _turn(z[:, 11:13], 2 * math.pi * a[:, 5])], dim=-1)
        return torch.nn.functional.pad(out, (0, self.config.encoder_dim - out.shape[-1]))


def random_rotations(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(n, 4, generator=generator, dtype=torch.float64), dim=-1).float()


def state_images(states: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(..., S) states -> (..., 3, SIZE, SIZE) images holding them (noise elsewhere, which the encoder ignores)."""
    images = torch.randn(*states.shape[:-1], 3, SIZE, SIZE, generator=generator)
    images[..., 0, 0, : states.shape[-1]] = states
    return images


def make_queries(space: str, batch: int, views: int = 3, seed: int = 0):
    """(views (B, M, C, H, W), actions (B, M-1, A), target (B, C, H, W), true action (B, A)) for the known-answer model."""
    g = torch.Generator().manual_seed(seed)
    m = views + 1
    if space == "saccade":
        states = torch.rand(batch, m, 2, generator=g) * 0.6 + 0.2
        acts = states[:, 1:] - states[:, :-1]
    else:
        q = random_rotations(batch * m, g).reshape(batch, m, 4)
        acts = quaternion_multiply(quaternion_conjugate(q[:, :-1]), q[:, 1:])
        states = q
        if space == "rotation_color":
            hues = torch.rand(batch, m, 2, generator=g) * 0.4 + 0.3
            states = torch.cat([q, hues], dim=-1)
            acts = torch.cat([acts, hues[:, 1:] - hues[:, :-1]], dim=-1)
    images = state_images(states, g)
    return images[:, :-1], acts[:, :-1], images[:, -1], acts[:, -1]


@pytest.fixture(params=["rotation", "rotation_color", "saccade"])
def space(request) -> str:
    return request.param
