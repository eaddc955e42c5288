"""Where the binding finds the library: TELLTALE_LIBRARY, next to the package, the system loader."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import telltale

PACKAGE = pathlib.Path(telltale.__file__).resolve().parent
LIB = os.environ.get("TELLTALE_LIBRARY")

pytestmark = pytest.mark.skipif(not LIB, reason="needs TELLTALE_LIBRARY (set by ctest)")


def run(env, cwd):
    code = "import telltale; print(telltale.library_path()); print(telltale.library_version())"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)


def clean_env(**more):
    env = {k: v for k, v in os.environ.items() if k not in ("TELLTALE_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env.update(more)
    return env


def test_system_loader_finds_the_soname(tmp_path):
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(LIB, libdir / "libtelltale.so.0")  # an installed runtime has only the SONAME file
    r = run(clean_env(LD_LIBRARY_PATH=str(libdir), PYTHONPATH=str(PACKAGE.parent)), tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "libtelltale.so.0"


def test_library_next_to_the_package(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "telltale", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(LIB, tmp_path / "telltale" / "libtelltale.so.0")
    r = run(clean_env(PYTHONPATH=str(tmp_path)), tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == str(tmp_path / "telltale" / "libtelltale.so.0")


def test_bad_env_path_says_what_to_do(tmp_path):
    r = run(clean_env(TELLTALE_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=str(PACKAGE.parent)), tmp_path)
    assert r.returncode != 0
    assert "TELLTALE_LIBRARY" in r.stderr and "nope.so" in r.stderr
