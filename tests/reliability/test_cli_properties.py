"""Property-based: malformed arguments to the model-zoo, data and demo commands end in the documented
one-line error (exit 2, or 1 for weights that cannot be had offline) or in success; never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqjepa.cli import main

_junk = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "-1", "0", "nan", "inf", "1e999", "hf-hub:", "hf-hub:../x", "../../etc", "/dev/zero",
                     "resnet18-3diebench", "tiny-toy3diebench", "--", "-v"]),
)


COMMANDS = {
    "info": lambda v: ["info", v[0]],
    "download": lambda v: ["download", v[0], "--revision", v[1]],
    "export": lambda v: ["export", v[0], "--to", v[1]],
    "make-toy-3diebench": lambda v: ["make-toy-3diebench", v[1], "--objects", v[0], "--views", v[2], "--size", v[0],
                                     "--classes", v[2], "--max-angle", v[1]],
    "demo": lambda v: ["demo", "--model", v[0] if v[0] != "tiny-toy3diebench" else "x", "--classes", v[1],
                       "--no-figure"],
    "list": lambda v: ["list", v[0]],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_junk, min_size=3, max_size=3))
def test_malformed_arguments_give_one_line_never_a_traceback(command, values, capsys, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    status = main(COMMANDS[command](values))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    if status != 0:
        assert status in (1, 2), status
        assert err.startswith("seqjepa") and err.count("\n") == 1, err
