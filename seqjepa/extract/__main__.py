"""``python -m seqjepa.extract MODEL SOURCE --out DIR`` (the same as ``seqjepa extract``); what torchrun runs:
``torchrun --nproc-per-node N -m seqjepa.extract MODEL SOURCE --out DIR``."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["extract", *sys.argv[1:]]))
