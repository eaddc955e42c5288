"""Run every ```python block of docs/bindings.md, in order, in a fresh directory, with
https://support.example.com pointing at a loopback server."""
import contextlib
import io
import os
import pathlib
import re
import warnings

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "bindings.md"


def python_blocks():
    text = DOC.read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_doc_has_samples():
    assert len(python_blocks()) >= 6


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_doc_sample_runs(index, tmp_path, server, monkeypatch):
    code = python_blocks()[index].replace("https://support.example.com", server.url)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(code, f"{DOC.name}[python block {index + 1}]", "exec"), {"__name__": "__doc_sample__"})
    printed = out.getvalue()
    if "TT_ESTORE" in code:
        assert printed.splitlines()[0] == "TT_ESTORE" and "docs/errors.md#estore" in printed
    if "report_id" in code:
        assert re.search(r"support: [0-9a-f-]{36}\n", printed)
        assert (tmp_path / "report.tar").exists()
    if "logged {s" in code:
        assert "logged 6, stored 6, dropped 0" in printed
    if "urlopen" in code:
        assert printed.strip() == "200"
