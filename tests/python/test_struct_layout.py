"""The ctypes structs must match telltale.h byte for byte: compile a C program that prints
sizeof and offsetof of every field and compare. Needs a C compiler (TT_CC, set by ctest)."""
import ctypes
import os
import shutil
import subprocess

import pytest

from telltale import _native

STRUCTS = [_native.tt_options, _native.tt_stats, _native.tt_report_options,
           _native.tt_request_options, _native.tt_error, _native.tt_attr]


def test_struct_layout_matches_header(tmp_path):
    cc = os.environ.get("TT_CC") or shutil.which("cc")
    include = os.environ.get("TT_INCLUDE") or os.path.join(os.path.dirname(__file__), "..", "..", "include")
    if not cc:
        pytest.skip("no C compiler to read telltale.h with")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <telltale/telltale.h>", "int main(void) {"]
    for s in STRUCTS:
        name = s.__name__
        lines.append(f'printf("{name} sizeof %zu\\n", sizeof({name}));')
        for field, _ in s._fields_:
            lines.append(f'printf("{name} {field} %zu\\n", offsetof({name}, {field}));')
    lines += ['printf("TT_OPTIONS_VERSION %d\\n", TT_OPTIONS_VERSION);',
              'printf("TT_STATS_VERSION %d\\n", TT_STATS_VERSION);',
              'printf("TT_REPORT_OPTIONS_VERSION %d\\n", TT_REPORT_OPTIONS_VERSION);',
              'printf("TT_REQUEST_OPTIONS_VERSION %d\\n", TT_REQUEST_OPTIONS_VERSION);',
              'printf("TT_REPORT_ID_SIZE %d\\n", TT_REPORT_ID_SIZE);',
              "return 0; }"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", include, str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    c_says, py_says = [], []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            assert int(parts[1]) == getattr(_native, parts[0]), line
            continue
        c_says.append(line)
        struct = getattr(_native, parts[0])
        if parts[1] == "sizeof":
            py_says.append(f"{parts[0]} sizeof {ctypes.sizeof(struct)}")
        else:
            py_says.append(f"{parts[0]} {parts[1]} {getattr(struct, parts[1]).offset}")
    assert py_says == c_says
    # every tt_stats field the header has is in the dict, in order
    assert [f for f, _ in _native.tt_stats._fields_][1:] == _native.STATS_FIELDS
