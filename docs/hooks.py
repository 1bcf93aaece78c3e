"""MkDocs hooks: render the model-zoo page from ``weights/*.json`` at build time.

The committed ``docs/model-zoo.md`` is the same text (tests/docs checks it), so the page reads
right on GitHub too; the build never trusts it and regenerates it from the cards.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_GEN = Path(__file__).resolve().parent / "gen_model_zoo.py"


def _generator():
    spec = importlib.util.spec_from_file_location("seqjepa_docs_gen_model_zoo", _GEN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "model-zoo.md":
        return markdown
    gen = _generator()
    return gen.render(gen.load_cards(Path(config["config_file_path"]).resolve().parent / "weights"))
