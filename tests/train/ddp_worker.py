"""Run by torchrun in test_processes.py: train the tiny recipe on gloo, then dump this rank's state."""

from __future__ import annotations

import os
import sys

import torch

from seqjepa.train import Trainer

from tests.train.tinydata import tiny_recipe

if __name__ == "__main__":
    torch.set_num_threads(1)
    out = sys.argv[1]
    trainer = Trainer(tiny_recipe(epochs=2, batch_size=3), out, device="cpu", log=print)
    trainer.run()
    rank = int(os.environ["RANK"])
    torch.save({"model": trainer.model.state_dict(), "probes": trainer.probes.state_dict(),
                "world_size": trainer.env.world_size}, os.path.join(out, f"rank{rank}.state"))
