"""pyproject.toml lists every package (the lessons' mapping needs an explicit list)."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="needs Python 3.11 or newer (tomllib)")

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src" / "zerograd").rglob("__init__.py")
    }
    listed = set(config["packages"])
    assert on_disk | {"zerograd.lessons"} == listed
    assert config["package-dir"]["zerograd.lessons"] == "examples"
    assert (ROOT / "examples" / "__init__.py").exists()
