"""Weights as safetensors: ``save``, ``load``, ``load_metadata``, ``load_into``.

The format (https://github.com/huggingface/safetensors), written and read here with NumPy alone::

    8 bytes   N, the header length, unsigned 64-bit little-endian
    N bytes   a UTF-8 JSON object, padded with spaces to a multiple of 8 bytes:
              {"__metadata__": {str: str},                      (optional)
               "<name>": {"dtype": "F32", "shape": [8, 4], "data_offsets": [begin, end]}, ...}
    the rest  every tensor's raw bytes, C order, little-endian; offsets count from here and must
              cover this buffer exactly: no overlaps, no gaps, nothing after the last tensor.

Loading a file never runs code (no pickle anywhere); it checks all of the above before reading a
single tensor, and raises one ``ValueError`` naming the file, what is wrong and what was expected.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import OrderedDict
from collections.abc import Mapping

import numpy

from ..autograd import Tensor
from .atomic import atomic_write

__all__ = ["save", "load", "load_metadata", "load_into"]

# safetensors dtype name <-> NumPy dtype (explicitly little-endian, the file's byte order)
_DTYPES = {
    "F64": numpy.dtype("<f8"),
    "F32": numpy.dtype("<f4"),
    "F16": numpy.dtype("<f2"),
    "I64": numpy.dtype("<i8"),
    "I32": numpy.dtype("<i4"),
    "I16": numpy.dtype("<i2"),
    "I8": numpy.dtype("i1"),
    "U64": numpy.dtype("<u8"),
    "U32": numpy.dtype("<u4"),
    "U16": numpy.dtype("<u2"),
    "U8": numpy.dtype("u1"),
    "BOOL": numpy.dtype("?"),
}
_NAMES = {(d.kind, d.itemsize): name for name, d in _DTYPES.items()}
_BF16 = "BF16"  # NumPy has no bfloat16; it loads exactly as float32 (its top 16 bits)
_READABLE = ", ".join([*_DTYPES, _BF16])
# the reference implementation refuses larger headers; so do we, before reading one
_MAX_HEADER = 100_000_000
_METADATA = "__metadata__"
_CHECKPOINT_FORMAT = "zerograd.checkpoint"  # written by checkpoint.py; load_into reads its model


def save(state_dict, path, metadata: Mapping[str, str] | None = None) -> None:
    """Write tensors to a safetensors file, atomically, keeping their order.

    Parameters
    ----------
    state_dict : Mapping[str, Tensor or numpy.ndarray]
        Names to values, e.g. ``model.state_dict()``. Non-contiguous and big-endian arrays are
        written correctly (converted one at a time while writing).
    path : str or os.PathLike
        The file to write; an existing file is replaced only once the new one is complete.
    metadata : Mapping[str, str], optional
        Free-form text stored in the header's ``__metadata__``.

    Raises
    ------
    TypeError
        If a key or a metadata entry is not a str, or a value is not a Tensor or NumPy array (the
        key is named), or its dtype cannot be stored.
    ValueError
        If a key is ``"__metadata__"`` (reserved by the format) or not valid Unicode.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import zerograd as zg
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> save({"weight": zg.ones(2, 3), "step": np.array(7)}, path, metadata={"note": "demo"})
    >>> w = load(path)
    >>> list(w), w["weight"].shape, w["step"].item(), load_metadata(path)
    (['weight', 'step'], (2, 3), 7, {'note': 'demo'})
    """
    arrays = _arrays_to_save(state_dict)
    header = {}
    if metadata is not None:
        header[_METADATA] = _check_metadata(metadata)
    begin = 0
    for key, a in arrays:
        end = begin + a.nbytes
        header[key] = {
            "dtype": _NAMES[a.dtype.kind, a.dtype.itemsize],
            "shape": list(a.shape),
            "data_offsets": [begin, end],
        }
        begin = end
    try:
        text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"save: a key or metadata value is not valid Unicode ({e}).") from None
    text += b" " * (-len(text) % 8)  # pad to 8 bytes so the data starts aligned
    if len(text) > _MAX_HEADER:
        raise ValueError(
            f"save: the header would be {len(text)} bytes, more than safetensors readers accept "
            f"({_MAX_HEADER}); store fewer tensors or shorter metadata per file."
        )
    with atomic_write(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for _, a in arrays:
            f.write(_little_endian_bytes(a))


def _arrays_to_save(state_dict) -> list:
    """``[(key, array)]`` in order, every key and value checked before anything is written."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save: expected a dict of names to Tensors (e.g. model.state_dict()), got "
            f"{type(state_dict).__name__}."
        )
    out = []
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be str, got {key!r} ({type(key).__name__}).")
        if key == _METADATA:
            raise ValueError(f"save: the key {_METADATA!r} is reserved by safetensors; rename it.")
        a = value.data if isinstance(value, Tensor) else value
        if isinstance(a, numpy.generic):
            a = numpy.asarray(a)
        if not isinstance(a, numpy.ndarray):
            raise TypeError(
                f"save: value for key {key!r} is a {type(value).__name__}, not a Tensor or NumPy "
                "array; wrap numbers with zerograd.tensor(...) or store them in metadata."
            )
        if (a.dtype.kind, a.dtype.itemsize) not in _NAMES:
            raise TypeError(
                f"save: value for key {key!r} has dtype {a.dtype}, which safetensors files made by "
                "zerograd cannot hold; use float64/32/16, (u)int64/32/16/8 or bool."
            )
        out.append((key, a))
    return out


def _check_metadata(metadata) -> dict:
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save: metadata must be a dict of str to str, got {type(metadata)}.")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"save: metadata must map str to str, got {k!r}: {v!r} "
                f"({type(k).__name__}: {type(v).__name__}); json.dumps other values first."
            )
    return dict(metadata)


def _little_endian_bytes(a) -> memoryview:
    """The array's bytes in C order and little-endian (copied only when it is not already so)."""
    d = _DTYPES[_NAMES[a.dtype.kind, a.dtype.itemsize]]
    if a.dtype != d or not a.flags.c_contiguous:
        a = a.astype(d, order="C")
    return memoryview(a.reshape(-1).view(numpy.uint8))


# ---------------------------------------------------------------------------------------------
# loading


def load(path) -> OrderedDict:
    """Read a safetensors file into Tensors, in file order, after validating all of it.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    OrderedDict[str, Tensor]
        Each Tensor owns a fresh, writable array in native byte order. ``BF16`` tensors come back
        as float32, exactly (a bfloat16 is the upper half of a float32).

    Raises
    ------
    ValueError
        If the file is not a well-formed safetensors file: too short, a header length past the
        end, a header that is not a JSON object, an unknown dtype, a shape that does not match its
        byte range, offsets that overlap, leave gaps or run past the end, bytes after the last
        tensor, duplicate names. The message names the path; nothing is returned.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x.safetensors")
    >>> save({"b": np.arange(3, dtype=np.int16), "a": np.eye(2)[:, ::-1]}, path)
    >>> {k: v.tolist() for k, v in load(path).items()}
    {'b': [0, 1, 2], 'a': [[0.0, 1.0], [1.0, 0.0]]}
    """
    tensors, _ = _read(path)
    return tensors


def load_metadata(path) -> dict:
    """The ``__metadata__`` of a safetensors file (``{}`` if none), reading only its header.

    Raises
    ------
    ValueError
        As ``load`` does, for any problem in the header or its offsets.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save({"x": np.zeros(1)}, path, metadata={"epoch": "3"})
    >>> load_metadata(path)
    {'epoch': '3'}
    """
    with open(path, "rb") as f:
        _, metadata = _read_header(f, path)
    return metadata


def load_into(module, path, strict: bool = True):
    """Load a safetensors file into ``module`` with ``module.load_state_dict(..., strict)``.

    A checkpoint written by ``save_checkpoint`` works too: its model part is loaded.

    Returns
    -------
    namedtuple (missing_keys, unexpected_keys)
        What ``load_state_dict`` returns.

    Raises
    ------
    ValueError
        If the file is not valid safetensors (see ``load``); the module is unchanged.
    RuntimeError
        From ``load_state_dict``: missing or unexpected keys (with ``strict``) or shape mismatches,
        all listed; the module is unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> from zerograd import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "lin.safetensors")
    >>> a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    >>> save(a.state_dict(), path)
    >>> load_into(b, path)
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    >>> bool((a.weight.data == b.weight.data).all())
    True
    """
    tensors, metadata = _read(path)
    if metadata.get("format") == _CHECKPOINT_FORMAT:
        tensors = OrderedDict(
            (k[len("model.") :], v) for k, v in tensors.items() if k.startswith("model.")
        )
    return load_state_dict_from(module, tensors, strict, "load_into", path)


def load_state_dict_from(module, state, strict: bool, who: str, path):
    """``module.load_state_dict(state, strict)``, its errors naming the file ``state`` came from
    (same type; the module is unchanged, as load_state_dict guarantees)."""
    try:
        return module.load_state_dict(state, strict=strict)
    except (ValueError, TypeError, RuntimeError) as e:  # name the file, keep the type
        if type(e) not in (ValueError, TypeError, RuntimeError):
            raise
        raise type(e)(f"{who}: {os.fspath(path)!r} does not fit: {e}") from None


def _read(path):
    """``(OrderedDict of Tensors in header order, metadata dict)`` after full validation."""
    with open(path, "rb") as f:
        entries, metadata = _read_header(f, path)
        arrays = {}
        for key, dtype, shape, (begin, end) in sorted(entries, key=lambda e: e[3]):
            arrays[key] = _read_array(f, path, key, dtype, shape, end - begin)
    return OrderedDict((key, Tensor.wrap(arrays[key])) for key, *_ in entries), metadata


def _read_array(f, path, key: str, dtype: str, shape: tuple, nbytes: int):
    """Read the next ``nbytes`` straight into a new array that owns its memory."""
    if dtype == _BF16:
        top = _read_array(f, path, key, "U16", shape, nbytes)
        out = numpy.empty(shape, dtype=numpy.float32)
        # bfloat16 keeps float32's sign, exponent and top 7 mantissa bits: shifting back is exact
        numpy.left_shift(top, 16, out=out.view(numpy.uint32), dtype=numpy.uint32)
        return out
    out = numpy.empty(shape, dtype=_DTYPES[dtype])
    raw = out.reshape(-1).view(numpy.uint8)  # the same memory, as bytes
    buf = memoryview(raw)
    got = 0
    while got < nbytes:
        n = f.readinto(buf[got:])
        if not n:
            raise _invalid(
                path, f"the file ended inside tensor {key!r} (it changed while being read?)"
            )
        got += n
    if dtype == "BOOL" and raw.size and raw.max() > 1:
        raise _invalid(path, f"tensor {key!r} is BOOL but holds bytes other than 0 and 1", "0 or 1")
    if not out.dtype.isnative:
        out = out.astype(out.dtype.newbyteorder("="))  # only on big-endian machines
    return out


def _invalid(path, what: str, expected: str | None = None) -> ValueError:
    tail = f"; expected {expected}" if expected else ""
    return ValueError(f"{os.fspath(path)!r} is not a valid safetensors file: {what}{tail}.")


def _no_duplicates(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise _DuplicateKey(k)
        seen.add(k)
    return dict(pairs)


class _DuplicateKey(Exception):
    pass


def _read_header(f, path):
    """Parse and check the header; returns ``([(key, dtype, shape, offsets)], metadata)``."""
    size = os.fstat(f.fileno()).st_size
    if size < 8:
        raise _invalid(
            path,
            f"it is {size} bytes long",
            "at least 8 bytes (the header length) followed by a JSON header",
        )
    first = f.read(8)
    if first.startswith(b"PK\x03\x04"):
        raise _invalid(
            path,
            "it is a zip archive, as torch.save writes (.pt / .pth), not safetensors; read it with "
            "zerograd.io.load_pytorch(path) or load_pytorch_into(module, path)",
        )
    n = int.from_bytes(first, "little")
    if n > size - 8:
        raise _invalid(
            path,
            f"the header length {n} runs past the end of the file ({size} bytes; truncated, or "
            "not a safetensors file)",
            f"at most {size - 8}",
        )
    if n > _MAX_HEADER:
        raise _invalid(
            path, f"the header length {n} is over the limit", f"at most {_MAX_HEADER} bytes"
        )
    raw = f.read(n)
    if not raw.startswith(b"{"):
        raise _invalid(
            path, f"the header starts with {raw[:16]!r}", "a JSON object starting with '{'"
        )
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as e:
        raise _invalid(
            path, f"the header has the name {e.args[0]!r} twice", "unique names"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _invalid(path, f"the header is not valid UTF-8 JSON ({e})", "a JSON object") from None
    if not isinstance(header, dict):
        raise _invalid(path, f"the header is a JSON {type(header).__name__}", "a JSON object")
    metadata = header.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _invalid(path, f"__metadata__ is {metadata!r}", "an object of strings to strings")
    entries = [_check_entry(path, key, info) for key, info in header.items()]
    _check_layout(path, entries, 8 + n, size)
    return entries, metadata


def _check_entry(path, key: str, info):
    """One header entry -> ``(key, dtype, shape, (begin, end))``, or a ValueError saying why."""
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _invalid(
            path,
            f"the entry for {key!r} is {info!r}",
            'an object with exactly "dtype", "shape" and "data_offsets"',
        )
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in _DTYPES and dtype != _BF16:
        raise _invalid(
            path,
            f"tensor {key!r} has dtype {dtype!r}, which zerograd cannot read",
            f"one of {_READABLE} (convert it in PyTorch first, e.g. tensor.float())",
        )

    def is_size(v):
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= sys.maxsize

    if not isinstance(shape, list) or not all(is_size(s) for s in shape):
        raise _invalid(
            path, f"tensor {key!r} has shape {shape!r}", f"a list of sizes in [0, {sys.maxsize}]"
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(is_size, offsets))):
        raise _invalid(
            path, f"tensor {key!r} has data_offsets {offsets!r}", "[begin, end], integers >= 0"
        )
    itemsize = 2 if dtype == _BF16 else _DTYPES[dtype].itemsize
    if math.prod(max(s, 1) for s in shape) * itemsize > sys.maxsize:
        raise _invalid(
            path, f"tensor {key!r} has shape {shape}, too big for memory", "a smaller shape"
        )
    nbytes = math.prod(shape) * itemsize
    begin, end = offsets
    if end - begin != nbytes:
        raise _invalid(
            path,
            f"tensor {key!r} of dtype {dtype} and shape {shape} spans bytes [{begin}, {end}), "
            f"{end - begin} bytes",
            f"{nbytes} bytes (shape x itemsize)",
        )
    return key, dtype, tuple(shape), (begin, end)


def _check_layout(path, entries: list, data_start: int, size: int) -> None:
    """Offsets must tile the data ``[data_start, size)`` exactly, as the format requires."""
    data_size = size - data_start
    previous, position = None, 0
    for key, _, _, (begin, end) in sorted(entries, key=lambda e: e[3]):
        if end > data_size:
            raise _invalid(
                path,
                f"tensor {key!r} has data_offsets [{begin}, {end}] past the end of the data "
                f"({data_size} bytes; the file is truncated?)",
                f"offsets within [0, {data_size}]",
            )
        if begin < position:
            raise _invalid(
                path,
                f"tensor {key!r} at [{begin}, {end}) overlaps tensor {previous!r}, which ends at "
                f"{position}",
                "tensors that do not overlap",
            )
        if begin > position:
            raise _invalid(
                path,
                f"bytes [{position}, {begin}) of the data belong to no tensor",
                "tensors packed with no gaps",
            )
        previous, position = key, end
    if position != data_size:
        raise _invalid(
            path,
            f"{data_size - position} trailing bytes follow the last tensor",
            f"the file to end at byte {data_start + position} (the format allows nothing after "
            "the last tensor)",
        )
