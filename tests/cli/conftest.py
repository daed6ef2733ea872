"""Fixtures of the command-line tests: a machine with no data files, a finished run folder."""

from __future__ import annotations

import shutil

import pytest
from cli_helpers import call


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """A machine with no MNIST files anywhere: empty ZEROGRAD_DATA and cache."""
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A run folder of one epoch on the embedded sample, trained once for the session."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("finished")
    mp.setenv("ZEROGRAD_DATA", str(base / "nodata"))
    mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
    out = base / "run"
    r = call(["train", "--sample", "--epochs", "1", "--no-progress", "--out", out])
    mp.undo()
    assert r.status == 0, r.err
    return out


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A private copy of ``finished_run`` that a test may change."""
    return shutil.copytree(finished_run, tmp_path / "run")
