"""An in-memory dataset that follows the shared data contract, for plumbing tests of the protocols."""

from __future__ import annotations

import math

import pytest
import torch

from seqjepa.models.actions import euler_xyz_to_quaternion as euler_xyz_to_quat
from seqjepa.models.actions import quaternion_conjugate as quat_conj
from seqjepa.models.actions import quaternion_multiply as quat_mul

torch.set_num_threads(1)  # tiny matrices: extra threads only contend on a shared machine


class ContractToy3DIE(torch.utils.data.Dataset):
    """Label-dependent images with random 3DIEBench-style latents; actions = relative quaternions (+ colour).

    Image = class-specific colour pattern, modulated by the rotation angles so that poses are
    (weakly) visible. Deterministic in (seed, epoch, index), like the real datasets.
    """

    def __init__(self, n: int = 24, num_views: int = 3, classes: int = 3, size: int = 16, seed: int = 0,
                 action_space: str = "rotation", split: str = "train") -> None:
        self.n, self.num_views, self.num_classes, self.size = n, num_views, classes, size
        self.seed = seed + (0 if split == "train" else 1000)
        self.action_space = action_space
        self.action_dim = {"rotation": 4, "rotation_color": 6, "augment": 9, "saccade": 2}[action_space]
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch * 7919 + i)
        label = i % self.num_classes
        m = self.num_views + 1
        lat = torch.rand(m, 7, generator=g, dtype=torch.float64)
        lat[:, :3] = (lat[:, :3] - 0.5) * math.pi
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, self.size), torch.linspace(-1, 1, self.size), indexing="ij")
        imgs = []
        for v in range(m):
            a = lat[v, :3].float()
            pattern = torch.sin(3 * (label + 1) * (xx * torch.cos(a[0]) + yy * torch.sin(a[1])) + a[2])
            img = torch.stack([pattern * (c == label % 3) + 0.3 * torch.cos(a[c]) for c in range(3)])
            imgs.append(img + 0.05 * torch.randn(3, self.size, self.size, generator=g))
        if self.action_space in ("augment", "saccade"):  # additive actions: differences of per-view parameters
            lat = lat[:, : self.action_dim] if self.action_dim <= 7 else torch.cat([lat, lat[:, :2] ** 2], dim=1)
            acts = lat[1:] - lat[:-1]
        else:
            q = euler_xyz_to_quat(lat[:, :3])
            rel = quat_mul(quat_conj(q[:-1]), q[1:])
            acts = rel if self.action_space == "rotation" else torch.cat([rel, lat[1:, [3, 6]] - lat[:-1, [3, 6]]], dim=1)
        views = torch.stack(imgs)
        return {
            "views": views[:-1].float(), "target": views[-1].float(), "actions": acts.float(),
            "label": torch.tensor(label, dtype=torch.int64), "latents": lat.float(),
        }


def contract_factory(n_train: int = 24, n_val: int = 12, classes: int = 3):
    def factory(protocol, root, split, num_views, config, seed):
        space = protocol.action_space or ("saccade" if protocol.dataset == "stl10" else "augment")
        return ContractToy3DIE(n=n_train if split == "train" else n_val, num_views=num_views, classes=classes,
                               size=config.image_size, seed=seed, action_space=space, split=split)
    return factory


def cli_factory(protocol, root, split, num_views, config, seed):
    """Entry point for ``seqjepa eval --dataset tests.eval.conftest:cli_factory``."""
    return contract_factory()(protocol, root, split, num_views, config, seed)


ACTION_DIM = {"3diebench": 4, "cifar100": 9, "tinyimagenet": 9, "stl10": 2}


@pytest.fixture
def toy_factory():
    return contract_factory()


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    """A procedural toy 3DIEBench written by the real generator (with its toy.json): 9 train, 3 val objects."""
    from seqjepa.data import synthetic

    root = tmp_path_factory.mktemp("toy") / "toy3die"
    synthetic.make_toy_3diebench(root, objects=12, views=6, classes=3, size=16, seed=0, workers=1)
    return root
