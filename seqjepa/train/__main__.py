"""``python -m seqjepa.train --recipe NAME --data-root DIR --output DIR ...`` (same as ``seqjepa train``)."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
