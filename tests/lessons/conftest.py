"""Lessons draw with matplotlib: headless in tests."""

import pytest


@pytest.fixture(autouse=True)
def _headless(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
