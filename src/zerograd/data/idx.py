"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST, gzip'd or raw.

An IDX file is big-endian: a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then one ``uint32``
per dimension, then the values in row-major order. MNIST images have magic ``0x00000803`` (2051:
type ``0x08`` = uint8, 3 dimensions N x 28 x 28) and labels ``0x00000801`` (2049: uint8, 1 dimension
N). Type codes (LeCun's page): ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32,
``0x0D`` float32, ``0x0E`` float64.

``read_idx`` detects gzip by the file's first two bytes (``1f 8b``), not by its name, and checks
everything it can: the gzip CRC and length, the magic number, the dimensions, and that exactly as
many data bytes follow the header as it promises. A bad file raises ``IDXError`` (a
``ValueError``) that names the path, what is wrong and what was expected; an unreadable file raises
the ``OSError`` with the path in its message.
"""

from __future__ import annotations

import gzip
import math
import os
import sys
import tempfile
import zlib
from pathlib import Path

import numpy

__all__ = ["IDXError", "read_idx", "write_idx", "idx_magic"]

# type code -> big-endian NumPy dtype of the stored values
_TYPES = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_TYPE_NAMES = ", ".join(f"0x{c:02X} {dt.newbyteorder('=').name}" for c, dt in _TYPES.items())

# the most dimensions a NumPy array can have (NPY_MAXDIMS): IDX's byte allows 255
_MAX_NDIM = 64 if int(numpy.__version__.split(".")[0]) >= 2 else 32

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # inflate 1 MiB at a time: the peak memory is the result plus one chunk
_DEFLATE_MAX_RATIO = 1032  # deflate's largest possible compression ratio


class IDXError(ValueError):
    """An IDX file is truncated, corrupt or not what the caller expected."""


def idx_magic(dtype, ndim: int) -> int:
    """The IDX magic number for arrays of ``dtype`` with ``ndim`` dimensions.

    Examples
    --------
    >>> idx_magic("uint8", 3), idx_magic("uint8", 1)
    (2051, 2049)
    """
    code = _CODES.get(numpy.dtype(dtype).newbyteorder("="))
    if code is None:
        raise TypeError(
            f"IDX has no type code for dtype {numpy.dtype(dtype)}; it stores {_TYPE_NAMES}."
        )
    if not 1 <= ndim <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions, got ndim={ndim}.")
    return code << 8 | ndim


def _describe_magic(magic: int) -> str:
    dtype = _TYPES.get(magic >> 8 & 0xFF)
    name = dtype.newbyteorder("=").name if dtype is not None else "unknown type"
    return f"0x{magic:08X} ({magic}: {name}, {magic & 0xFF} dimensions)"


def _parse_header(head: bytes, path, magic, shape):
    """Check the header at the start of ``head``; return (dtype, dims, header_length).

    ``head`` holds at least the first min(file length, 1024) decompressed bytes.
    """
    if len(head) < 4:
        raise IDXError(
            f"IDX file {path}: only {len(head)} bytes, too short for the 4-byte magic number; "
            "the file is empty or truncated."
        )
    got = int.from_bytes(head[:4], "big")
    if head[0] != 0 or head[1] != 0 or head[2] not in _TYPES or head[3] == 0:
        raise IDXError(
            f"IDX file {path}: bad magic number 0x{got:08X}; an IDX file starts with two zero "
            f"bytes, a type code ({_TYPE_NAMES}) and the number of dimensions (1 or more), e.g. "
            "0x00000803 (2051) for MNIST images or 0x00000801 (2049) for labels."
        )
    if magic is not None and got != magic:
        raise IDXError(
            f"IDX file {path}: magic number {_describe_magic(got)}, expected "
            f"{_describe_magic(magic)}. Is this the right file (images vs labels)?"
        )
    ndim = head[3]
    if ndim > _MAX_NDIM:
        raise IDXError(
            f"IDX file {path}: magic number 0x{got:08X} says {ndim} dimensions, more than the "
            f"{_MAX_NDIM} a NumPy array can have; the header is corrupt (MNIST files have 1 or "
            "3)."
        )
    header_length = 4 + 4 * ndim
    if len(head) < header_length:
        raise IDXError(
            f"IDX file {path}: truncated header: {ndim} dimensions need a {header_length}-byte "
            f"header but the file holds only {len(head)} bytes."
        )
    dims = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _TYPES[head[2]]
    # NumPy refuses such a shape even with a 0 in it (it multiplies the other sizes)
    if math.prod(max(d, 1) for d in dims) * dtype.itemsize > sys.maxsize:
        raise IDXError(
            f"IDX file {path}: header gives shape {dims} of {dtype.newbyteorder('=')}, too big "
            "for any array; the header is corrupt."
        )
    if shape is not None:
        ok = len(shape) == ndim and all(s is None or s == d for s, d in zip(shape, dims))
        if not ok:
            want = ", ".join("N" if s is None else str(s) for s in shape)
            want = f"({want},)" if len(shape) == 1 else f"({want})"
            raise IDXError(f"IDX file {path}: header gives shape {dims}, expected {want}.")
    return dtype, dims, header_length


def _expected_bytes(dtype, dims) -> int:
    return math.prod(dims) * dtype.itemsize


def _size_error(path, dims, dtype, promised: int, got: int) -> IDXError:
    if got < promised:
        what = f"truncated: only {got} data bytes follow the header"
    else:
        what = f"{got - promised} bytes of trailing data after the data"
    return IDXError(
        f"IDX file {path}: {what}; the header promises shape {dims} of {dtype.newbyteorder('=')} "
        f"= {promised} data bytes."
    )


def _gunzip_chunks(compressed: bytes, path):
    """Yield the decompressed bytes of a gzip file, checking every member's CRC and length."""
    data = compressed
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: gzip wrapper, CRC/size checked
        pending = data
        try:
            while not inflater.eof:
                chunk = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                if chunk:
                    yield chunk
                elif not pending:
                    raise IDXError(
                        f"IDX file {path}: the gzip stream is truncated (it ends before its "
                        "end-of-stream marker); expected a complete .gz file. Download or copy it "
                        "again."
                    )
        except zlib.error as e:
            raise IDXError(
                f"IDX file {path}: corrupt gzip data ({e}); expected an intact gzip'd IDX file. "
                "Download or copy it again."
            ) from None
        rest = inflater.unused_data
        # gzip allows several members back to back; zero padding after the last is tolerated
        # (as the gzip module and GNU gzip do), anything else is garbage.
        if not rest.strip(b"\0"):
            return
        if not rest.startswith(_GZIP_MAGIC):
            raise IDXError(
                f"IDX file {path}: {len(rest)} bytes of trailing garbage after the gzip stream; "
                "expected the file to end with the stream."
            )
        data = rest


def _read_gzip(compressed: bytes, path, magic, shape):
    head = bytearray()
    chunks = _gunzip_chunks(compressed, path)
    for chunk in chunks:
        head += chunk
        if len(head) >= 1024:
            break
    dtype, dims, header_length = _parse_header(bytes(head[:1024]), path, magic, shape)
    promised = _expected_bytes(dtype, dims)
    # deflate packs at most ~1032:1, so a corrupt header can't make us allocate terabytes
    most = _DEFLATE_MAX_RATIO * len(compressed)
    if header_length + promised > most:
        raise IDXError(
            f"IDX file {path}: the header promises shape {dims} = {promised} data bytes, but a "
            f"gzip file of {len(compressed)} bytes holds at most {most}; the file is truncated "
            "or its header is corrupt."
        )
    out = numpy.empty(promised, numpy.uint8)
    got = min(len(head) - header_length, promised)
    out[:got] = numpy.frombuffer(head, numpy.uint8, got, header_length)
    extra = len(head) - header_length - got
    del head
    for chunk in chunks:
        take = min(len(chunk), promised - got)
        out[got : got + take] = numpy.frombuffer(chunk, numpy.uint8, take)
        got += take
        extra += len(chunk) - take
    if got != promised or extra:
        raise _size_error(path, dims, dtype, promised, got + extra)
    return out.view(dtype).reshape(dims)


def _read_raw(f, size: int, path, magic, shape):
    f.seek(0)
    head = f.read(1024)
    dtype, dims, header_length = _parse_header(head, path, magic, shape)
    promised = _expected_bytes(dtype, dims)
    if size - header_length != promised:
        raise _size_error(path, dims, dtype, promised, size - header_length)
    f.seek(header_length)
    out = numpy.empty(promised, numpy.uint8)
    got = f.readinto(out)
    if got != promised:  # the file shrank while we read it
        raise _size_error(path, dims, dtype, promised, got)
    return out.view(dtype).reshape(dims)


def read_idx(path, magic: int | None = None, shape: tuple | None = None) -> numpy.ndarray:
    """Read an IDX file (gzip'd or raw) into a NumPy array in native byte order.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip is detected from its first bytes, whatever its name.
    magic : int, optional
        The magic number the file must have, e.g. 2051 for MNIST images, 2049 for labels.
    shape : tuple, optional
        The shape the header must give; ``None`` entries match any size, e.g. ``(None, 28, 28)``.

    Returns
    -------
    numpy.ndarray
        A new, writable array of the file's dtype (uint8 for MNIST) and shape.

    Raises
    ------
    IDXError
        (a ``ValueError``) if the file is not valid IDX, is truncated, has trailing data, fails the
        gzip CRC, has more dimensions than NumPy allows (64; 32 before NumPy 2), or has another
        magic number or shape than asked for. The message names the path.
    OSError
        If the file can't be read (missing, a directory, no permission); the message names the path.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte.gz")
    >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(path, magic=0x0802, shape=(None, 3))
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            if f.read(2) == _GZIP_MAGIC:
                f.seek(0)
                compressed = f.read()
                array = None
            else:
                array = _read_raw(f, os.fstat(f.fileno()).st_size, path, magic, shape)
    except OSError as e:
        raise type(e)(f"can't read IDX file {path}: {e.strerror or e}") from None
    if array is None:
        array = _read_gzip(compressed, path, magic, shape)
    if array.dtype.byteorder == ">":  # multi-byte types: to native order (uint8 has none)
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def write_idx(path, array, compresslevel: int = 6) -> None:
    """Write ``array`` as an IDX file, gzip'd when ``path`` ends in ``.gz``.

    The gzip header stores no file name and a zero timestamp, so the same array and zlib give the
    same bytes. The file is written to a temporary name in the same folder and renamed only when
    complete, so a failure leaves no partial file.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; ``.gz`` selects gzip.
    array : array_like
        uint8, int8, int16, int32, float32 or float64 values, at least 1-D.
    compresslevel : int
        gzip level 0 to 9.
    """
    a = numpy.asarray(array)
    if a.ndim == 0:
        raise ValueError("write_idx: IDX stores arrays of 1 or more dimensions, got a scalar.")
    magic = idx_magic(a.dtype, a.ndim)
    if any(n >= 2**32 for n in a.shape):
        raise ValueError(f"write_idx: IDX sizes are uint32, shape {a.shape} does not fit.")
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in a.shape)
    body = numpy.ascontiguousarray(a, dtype=_TYPES[magic >> 8]).tobytes()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with open(fd, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile("", "wb", compresslevel, raw, mtime=0) as f:
                    f.write(header)
                    f.write(body)
            else:
                raw.write(header)
                raw.write(body)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; this is an ordinary data file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
