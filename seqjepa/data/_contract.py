"""The data contract as one base class: what every sequence dataset of :mod:`seqjepa.data` shares.

``dataset[i] == dataset.sample(i)``, the contract dict described in :mod:`seqjepa.data`; draws are
a function of ``(seed, epoch, index)``, and :meth:`SequenceDataset.set_epoch` picks the epoch.
"""

from __future__ import annotations

import abc
from typing import Optional

import torch
from torch.utils.data import Dataset

from ..models.actions import ActionSpace

__all__ = ["SequenceDataset"]


class SequenceDataset(Dataset, abc.ABC):
    """Base of the sequence datasets: ``action_dim``, ``set_epoch``, ``__getitem__`` shared, the rest per dataset.

    Subclasses set ``action_space`` (an :class:`~seqjepa.models.actions.ActionSpace`), ``num_views``
    (M), ``num_classes``, ``seed`` and ``epoch`` (0 until :meth:`set_epoch`), and implement
    ``__len__`` and ``sample(index, num_views=None)``.
    """

    action_space: ActionSpace
    num_views: int
    seed: int
    epoch: int

    @property
    def action_dim(self) -> int:
        """A, the size of one relative action."""
        return self.action_space.dim

    def set_epoch(self, epoch: int) -> None:
        """Select the draws of ``epoch`` (draws are a function of (seed, epoch, index))."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.sample(index)

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of items (one sequence each)."""

    @abc.abstractmethod
    def sample(self, index: int, num_views: Optional[int] = None) -> dict[str, torch.Tensor]:
        """The contract dict of item ``index`` with ``num_views`` observations (default: ``self.num_views``)."""
