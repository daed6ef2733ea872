"""Helpers for the lesson tests (tests/lessons): run a lesson's main() and check its pictures."""

import importlib
import importlib.util
import struct
import zlib
from pathlib import Path

import pytest

# the lessons draw with matplotlib (the plot extra); without it they print their numbers and say
# the figures were skipped, so the picture checks skip (tests/lessons/test_without_extras.py
# checks that path)
NEEDS_MATPLOTLIB = 'needs matplotlib (the lesson\'s pictures): pip install "zerograd[plot]"'
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason=NEEDS_MATPLOTLIB
)


def run_lesson(name: str, out: Path, *args: str) -> dict:
    """Import ``zerograd.lessons.<name>`` and run ``main(["--quick", "--out", out, *args])``."""
    module = importlib.import_module(f"zerograd.lessons.{name}")
    return module.main(["--quick", "--out", str(out), *args])


def assert_png(path: Path) -> None:
    """``path`` is a whole, valid PNG: signature, IHDR, every chunk's CRC, IEND, some pixels."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, kinds = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path}: bad CRC in {kind!r}"
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 100 and height >= 100, f"{path} is only {width}x{height}"
