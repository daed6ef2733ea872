"""A small PNG reader (zlib only) for ``zerograd predict``: 8-bit grey, grey+alpha, RGB, RGBA
and palette images, not interlaced. Enough for digits drawn in any paint program; anything else
gets a clear error that says what to convert to."""

from __future__ import annotations

import struct
import zlib

import numpy

__all__ = ["read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> numpy.ndarray:
    """Undo PNG's per-row filters (None, Sub, Up, Average, Paeth)."""
    out = numpy.zeros((height, stride), numpy.uint8)
    prev = numpy.zeros(stride, numpy.int32)
    pos = 0
    for y in range(height):
        kind = raw[pos]
        row = numpy.frombuffer(raw, numpy.uint8, stride, pos + 1).astype(numpy.int32)
        pos += stride + 1
        if kind == 0:
            cur = row
        elif kind == 2:
            cur = (row + prev) & 0xFF
        elif kind in (1, 3, 4):
            cur = numpy.zeros(stride, numpy.int32)
            for i in range(stride):  # each byte depends on the one bpp to its left
                left = cur[i - bpp] if i >= bpp else 0
                up = prev[i]
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) >> 1
                else:
                    ul = prev[i - bpp] if i >= bpp else 0
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else ul)
                cur[i] = (row[i] + pred) & 0xFF
        else:
            raise ValueError(f"unknown PNG filter type {kind} in row {y}")
        out[y] = cur
        prev = cur
    return out


def read_png(path) -> numpy.ndarray:
    """The image as float32 grey values in [0, 1], shape (H, W) (alpha composited on white)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file (its first bytes are {data[:8]!r}).")
    pos, idat, palette, header = 8, [], None, None
    try:
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            body = data[pos + 8 : pos + 8 + length]
            pos += 12 + length
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"PLTE":
                palette = numpy.frombuffer(body, numpy.uint8).reshape(-1, 3)
            elif kind == b"IDAT":
                idat.append(body)
            elif kind == b"IEND":
                break
        width, height, depth, colour, _, _, interlace = header
        raw = zlib.decompress(b"".join(idat))
    except (struct.error, TypeError, zlib.error) as e:
        raise ValueError(f"{path}: a damaged PNG file ({e}).") from None
    if depth != 8 or interlace or colour not in _CHANNELS:
        raise ValueError(
            f"{path}: PNG with bit depth {depth}, colour type {colour}, interlace {interlace} is "
            "not supported; save it as an 8-bit grey or RGB PNG without interlacing (or as .npy)."
        )
    ch = _CHANNELS[colour]
    if len(raw) != height * (width * ch + 1):
        raise ValueError(f"{path}: a damaged PNG file (image data has the wrong length).")
    px = _unfilter(raw, height, width * ch, ch).reshape(height, width, ch).astype(numpy.float32)
    if colour == 3:
        if palette is None:
            raise ValueError(f"{path}: a palette PNG without a palette.")
        px = palette[px[..., 0].astype(numpy.int64)].astype(numpy.float32)
    alpha = px[..., -1:] / 255 if colour in (4, 6) else 1.0
    colours = px[..., :-1] if colour in (4, 6) else px
    grey = colours.mean(axis=-1, keepdims=True) / 255
    return (grey * alpha + (1 - alpha))[..., 0].astype(numpy.float32)
