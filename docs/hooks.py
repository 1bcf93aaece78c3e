"""MkDocs hooks: render the model-zoo page from ``weights/*.json`` at build time.

The committed ``docs/model-zoo.md`` is the same text (tests/docs checks it), so the page reads
right on GitHub too; the build never trusts it and regenerates it from the cards.
"""

from __future__ import annotations

import importlib.util
import re
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


# Docstrings cross-reference in Sphinx's roles (":func:`seqjepa.list_models`"), which mkdocstrings prints as
# text: turn each into a link to the object's anchor when this page documents it, else into plain code.
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj):<code>(~?)([\w.]+)(?:\(\))?</code>")


def on_page_content(html: str, page, config, files) -> str:
    anchors = set(re.findall(r'id="([\w.]+)"', html))

    def link(match: "re.Match[str]") -> str:
        short, target = match.group(1), match.group(2)
        text = target.rsplit(".", 1)[-1] if short else target
        if target in anchors:
            return f'<a href="#{target}"><code>{text}</code></a>'
        return f"<code>{text}</code>"

    return _ROLE.sub(link, html)
