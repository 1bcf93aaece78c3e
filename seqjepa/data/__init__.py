"""Datasets that yield sequences of views with their relative actions (the shared data contract).

Every sequence dataset's ``dataset[i]`` is a dict:

* ``views``   float32 (M, C, H, W): normalized observed views
* ``target``  float32 (C, H, W): the unseen target view
* ``actions`` float32 (M, A): ``actions[j]`` leads from view j to view j+1; ``actions[M-1]`` from the
  last observation to the target (the layout :meth:`seqjepa.SeqJEPA.forward` takes)
* ``label``   int64 scalar tensor
* ``latents`` float32 (M+1, K): raw per-view latents, observations first, target last

and the dataset exposes ``num_views`` (M), ``action_dim``, ``num_classes`` and ``set_epoch(epoch)``;
draws are a deterministic function of (seed, epoch, index). Every dataset here is a
:class:`SequenceDataset`, the base that holds the shared part of the contract.
"""

from ._contract import SequenceDataset
from .augmented import AugmentedSequences, ParametricAugment, blur_kernel_size
from .named import cifar100_sequences, imagenet_saccades, split_folder, stl10_saccades, tinyimagenet_sequences
from .saccades import SaccadeSequences, center_bias_saliency
from .synthetic import SHAPE_CLASSES, make_toy_3diebench
from .three_die_bench import THREEDIEBENCH_MEAN, THREEDIEBENCH_STD, ThreeDIEBench

__all__ = [
    "SequenceDataset",
    "ThreeDIEBench",
    "THREEDIEBENCH_MEAN",
    "THREEDIEBENCH_STD",
    "make_toy_3diebench",
    "SHAPE_CLASSES",
    "AugmentedSequences",
    "ParametricAugment",
    "blur_kernel_size",
    "SaccadeSequences",
    "center_bias_saliency",
    "split_folder",
    "cifar100_sequences",
    "tinyimagenet_sequences",
    "stl10_saccades",
    "imagenet_saccades",
]
