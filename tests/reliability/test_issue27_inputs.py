"""Hostile inputs of issue 27 outside feature extraction: deep or huge JSON in recipes, non-finite normalization."""

from __future__ import annotations

import pytest

from seqjepa.cli import main


def _run(argv, capsys):
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply to be a recipe"),
    ('{"train": {"epochs": ' + "1" * 5000 + "}}", "not valid JSON: Exceeds the limit"),
])
def test_a_deep_or_huge_recipe_file_is_one_line(text, match, tmp_path, capsys):
    recipe = tmp_path / "r.json"
    recipe.write_text(text)
    status, err = _run(["train", "--recipe", str(recipe), "--output", str(tmp_path / "run")], capsys)
    assert status == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()
