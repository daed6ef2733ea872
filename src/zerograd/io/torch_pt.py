"""PyTorch ``.pt`` / ``.pth`` files: ``load_pytorch`` and ``load_pytorch_into``, NumPy only.

``torch.save(obj, path)`` has written a zip archive since PyTorch 1.6. Its entries are stored
uncompressed under one folder, ``<archive>/`` (the file's name when it was saved)::

    <archive>/data.pkl        obj, pickled; every tensor in it refers to a storage by key
    <archive>/data/<key>      one storage's raw bytes ("0", "1", ...), C order
    <archive>/byteorder       "little" or "big" (absent in files from before 1.12: little)
    <archive>/version, .format_version, .storage_alignment, .data/serialization_id

Inside ``data.pkl`` a tensor is the call ::

    torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
                                    backward_hooks[, metadata])

whose ``storage`` is a pickle *persistent id*, ``("storage", torch.FloatStorage, "0", "cpu",
numel)``: element ``storage_offset + sum(i_d * stride_d)`` of ``data/0`` is element ``i`` of the
tensor. Several tensors may share one storage (tied weights, views, slices).

Unpickling normally imports and calls whatever the file names (``os.system`` as readily as
``OrderedDict``), so ``pickle.load`` on a downloaded file runs its author's code. Here the pickle's
opcodes are first scanned without running them, then an ``Unpickler`` whose ``find_class`` hands
out only the inert stand-ins below, for an allow-list of names (the idea behind
``torch.load(weights_only=True)``), and refuses every other name. The stand-ins record their
arguments and call nothing. Every tensor is checked against its storage, and every storage
against its zip entry, before any array is made.

A small pickle can describe an enormous object: the memo lets one list or tuple appear in many
places, so 60 levels of "a pair of the level below" take 550 bytes and have 2**60 leaves (the
"billion laughs"), and 100,000 nested lists take 200 KB. Every walk over what the pickle builds
is therefore bounded: the opcode scan works out, before anything is built, how deep every tuple
nests and how many objects hashing it visits (CPython's unpickler hashes dict keys and set items
as it goes, recursively and without a depth check: a deep enough tuple key crashes the
interpreter), and the unpickled object is then walked once, without recursion, visiting each
container once: more than ``_MAX_DEPTH`` levels of nesting, more than ``_MAX_OBJECTS`` objects
with shared parts counted each time they are used, or a container that holds itself are refused.
Every message shows at most a few dozen characters of a value the file made.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import pickletools
import struct
import zipfile
import zlib
from collections import OrderedDict
from io import BytesIO

import numpy

from .weights import load_state_dict_from

__all__ = ["load_pytorch", "load_pytorch_into"]

# torch dtype name -> the NumPy type holding the same bits, little-endian
_DTYPES = {
    "float64": "<f8",
    "float32": "<f4",
    "float16": "<f2",
    "bfloat16": "<u2",  # NumPy has no bfloat16: read the bits, widen to float32 (exact)
    "int64": "<i8",
    "int32": "<i4",
    "int16": "<i2",
    "int8": "i1",
    "uint64": "<u8",
    "uint32": "<u4",
    "uint16": "<u2",
    "uint8": "u1",
    "bool": "?",
}
# torch dtypes a file may name that we cannot represent: recognised, so the error can say so
_OTHER_DTYPES = {
    "complex32",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "quint2x4",
}
# typed storage class (GLOBAL 'torch <name>') -> the dtype of its elements
_STORAGES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
_READABLE = ", ".join(_DTYPES)
_MAX_NDIM = 32  # NumPy 1.x's limit; no state_dict comes near it
# data.pkl's structure: a state_dict nests 3 levels (dict, tensor, size), a checkpoint holding an
# optimizer's state 6 or 7; counting shared parts each time they are used, it holds a few objects
# per tensor. Ten million objects take well under a second to hash or walk.
_MAX_DEPTH = 100
_MAX_OBJECTS = 10_000_000
# Zip entries: torch stores them; a deflated entry cannot expand more than ~1032x (zlib's limit),
# so a larger declared size is a lie, refused before any byte is inflated.
_MAX_DEFLATE_RATIO = 1032
# A file's tensors may not take more than this many times the bytes of its storages (plus a
# little): tied weights and expand()ed views legitimately reuse data, a hostile file could ask for
# a million copies of one storage.
_MAX_EXPANSION = 8
_EXPANSION_SLACK = 16 * 2**20

_HOW_TO_FIX = (
    "zerograd reads only state_dicts of plain tensors; in PyTorch save the weights, not the "
    "object: torch.save(model.state_dict(), path), or convert them to safetensors with "
    "safetensors.torch.save_file(model.state_dict(), 'model.safetensors') and use "
    "zerograd.io.load"
)


def load_pytorch(path, key: str | None = None) -> OrderedDict:
    """Read the tensors of a ``torch.save(state_dict, path)`` file without PyTorch, running no code.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pt`` / ``.pth`` file in the zip format ``torch.save`` has written since PyTorch 1.6.
    key : str, optional
        For a checkpoint that holds more than weights, e.g.
        ``torch.save({"model": model.state_dict(), "optimizer": ..., "epoch": 3}, path)``: the
        top-level entry holding the state_dict (``key="model"``). Without it the file itself
        must be a dict of names to tensors.

    Returns
    -------
    OrderedDict[str, numpy.ndarray]
        In the file's order. Each array is a fresh, writable, C-ordered copy in native byte
        order that the caller owns, even where tensors shared a storage in PyTorch (tied
        weights, views); strides and storage offsets are applied. bfloat16 comes back as float32
        (exactly), other dtypes as themselves: float64/32/16, (u)int64/32/16/8, bool. Unlike
        ``zerograd.io.load`` (which gives Tensors) these are plain arrays; ``load_state_dict``
        takes either, and ``load_pytorch_into`` does both steps.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file, what is wrong and how to fix it, with nothing returned, if: the file
        names any Python global outside the allow-list (a pickled model, ``os.system``, your own
        classes: only tensors, dicts, lists, tuples, numbers, strings, sets and torch dtypes and
        sizes are read); it is not a zip archive (a legacy pre-1.6 ``.pt``, a plain pickle, a
        safetensors file) or the archive is truncated or damaged; ``data.pkl`` or a storage entry
        is missing or corrupt; a tensor has a dtype we cannot hold, negative sizes or strides, or
        reaches past the end of its storage; sizes that the file's bytes cannot back; ``key``
        is wrong, or the object is not a dict of tensors (the message lists its keys); the
        pickle nests lists, tuples, dicts or sets more than 100 levels deep, holds a container
        that contains itself, or shares parts so often that reading it would visit more than
        10 million objects (a "billion laughs": 550 bytes can describe 2**60): the work done for
        a file is bounded by its size, whatever it holds.

    Examples
    --------
    In PyTorch, ``torch.save(net.state_dict(), "net.pt")``; then, with NumPy alone::

        weights = zerograd.io.load_pytorch("net.pt")      # OrderedDict of numpy arrays
        zerograd.io.load_pytorch_into(our_net, "net.pt")  # straight into a zerograd module

    Anything but ``torch.save``'s zip format is refused with a reason:

    >>> import os, pickle, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.pt")
    >>> with open(path, "wb") as f:
    ...     pickle.dump({"w": [1.0, 2.0]}, f)
    >>> load_pytorch(path)
    Traceback (most recent call last):
    ...
    ValueError: '...weights.pt' is not a PyTorch file zerograd can read: it is a pickle, not ...
    """
    if key is not None and not isinstance(key, str):
        raise TypeError(f"load_pytorch: key must be a str (e.g. 'model') or None, got {key!r}.")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        _check_is_zip(path, f, size)
        archive = _open_archive(path, f, size)
        obj = _unpickle(path, _read_entry(path, archive, "data.pkl"))
        named = _pick_state_dict(path, obj, key)
        specs = [(name, _check_tensor(path, name, t)) for name, t in named]
        return _read_tensors(path, archive, specs)


def load_pytorch_into(module, path, strict: bool = True, key: str | None = None):
    """Load a ``torch.save`` file into ``module``: ``module.load_state_dict(load_pytorch(path,
    key), strict)``.

    The state_dict keys and layouts of zerograd's layers are PyTorch's, so a file saved from the
    same architecture in PyTorch loads unchanged.

    Returns
    -------
    namedtuple (missing_keys, unexpected_keys)
        What ``load_state_dict`` returns.

    Raises
    ------
    ValueError
        As ``load_pytorch`` does; the module is unchanged.
    RuntimeError
        From ``load_state_dict``: missing or unexpected keys (with ``strict``) and shape
        mismatches, all listed; the module is unchanged.
    """
    state = load_pytorch(path, key=key)
    return load_state_dict_from(module, state, strict, "load_pytorch_into", path)


# ---------------------------------------------------------------------------------------------
# errors


class _Problem(Exception):
    """Raised inside the unpickler and checks; ``load_pytorch`` adds the path and re-raises."""


def _invalid(path, what: str, expected: str | None = None) -> ValueError:
    tail = f"; expected {expected}" if expected else ""
    return ValueError(f"{os.fspath(path)!r} is not a PyTorch file zerograd can read: {what}{tail}.")


# ---------------------------------------------------------------------------------------------
# the zip archive

# what zipfile, zlib and the file raise for a damaged archive (nothing here runs the file's code)
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    NotImplementedError,
    OverflowError,
    RuntimeError,
    KeyError,
    IndexError,
    UnicodeError,
)
_RESAVE = (
    "re-save it with PyTorch 1.6 or newer (torch.save(torch.load(path), path)), or convert it "
    "to safetensors (safetensors.torch.save_file) and use zerograd.io.load"
)


def _check_is_zip(path, f, size: int) -> None:
    """Refuse what is not a zip archive, saying what it looks like instead."""
    head = f.read(16)
    f.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return
    if size == 0:
        raise _invalid(path, "the file is empty", "a zip archive written by torch.save")
    if head.startswith(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8"):
        # pickle of torch's legacy magic number 0x1950a86a20f9469cfc6c
        raise _invalid(
            path,
            "it is in the legacy format torch.save wrote before PyTorch 1.6 (or with "
            f"_use_new_zipfile_serialization=False), which zerograd does not read; {_RESAVE}",
        )
    if head[:1] == b"\x80":
        raise _invalid(
            path,
            "it is a pickle, not the zip archive torch.save writes (a legacy .pt, or pickle.dump "
            f"output; zerograd never unpickles loose files); {_RESAVE}",
        )
    if len(head) > 8 and head[8:9] == b"{":
        raise _invalid(
            path, "it looks like a safetensors file; read it with zerograd.io.load(path)"
        )
    raise _invalid(
        path,
        f"it starts with {head[:8]!r}",
        "a zip archive written by torch.save (b'PK\\x03\\x04')",
    )


class _Archive:
    """An open zip and its entries by name below the archive folder (``data.pkl``, ``data/0``)."""

    def __init__(self, zip_file, folder: str, entries: dict, size: int):
        self.zip, self.folder, self.entries, self.size = zip_file, folder, entries, size
        self.big_endian = False  # set from the byteorder entry


def _open_archive(path, f, size: int) -> _Archive:
    try:
        zf = zipfile.ZipFile(f)
        infos = zf.infolist()
    except _ZIP_ERRORS as e:
        raise _invalid(
            path, f"it is not a readable zip archive ({e}; truncated or damaged?)"
        ) from None
    if not infos:
        raise _invalid(path, "the zip archive is empty", "a folder with data.pkl in it")
    # like torch's reader: the archive folder is the first entry's top-level folder
    folder = infos[0].filename.split("/", 1)[0]
    entries = {}
    for info in infos:
        if info.filename.startswith(folder + "/"):
            entries[info.filename[len(folder) + 1 :]] = info
    if "constants.pkl" in entries or any(name.startswith("code/") for name in entries):
        raise _invalid(
            path,
            "it is a TorchScript archive (torch.jit.save), which holds code; in PyTorch load it "
            "with torch.jit.load and save its weights: torch.save(model.state_dict(), path)",
        )
    if "data.pkl" not in entries:
        where = f"{folder}/data.pkl" if "/" in infos[0].filename else "data.pkl"
        raise _invalid(
            path,
            f"the zip archive has no {where} entry (its entries: "
            f"{_short_list([i.filename for i in infos])}), so torch.save did not write it",
            "a file written by torch.save",
        )
    archive = _Archive(zf, folder, entries, size)
    order = _read_entry(path, archive, "byteorder", limit=16) if "byteorder" in entries else None
    if order not in (None, b"little", b"big"):
        raise _invalid(path, f"its byteorder entry is {order[:16]!r}", "b'little' or b'big'")
    archive.big_endian = order == b"big"
    return archive


def _read_entry(path, archive: _Archive, name: str, limit: int | None = None) -> bytes:
    """The bytes of entry ``<archive>/name``, after checking its declared size is possible (and
    at most ``limit`` when given); zipfile checks the CRC-32 as it reads."""
    info = archive.entries.get(name)
    full = f"{archive.folder}/{name}"
    if info is None:
        raise _invalid(path, f"the zip archive has no entry {full!r} (truncated or damaged?)")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _invalid(
            path,
            f"entry {full!r} uses zip compression method {info.compress_type}",
            "stored or deflated entries, as torch.save writes",
        )
    if info.compress_size > archive.size or (
        info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size
    ):
        raise _invalid(
            path,
            f"entry {full!r} declares {info.file_size} bytes ({info.compress_size} stored) in a "
            f"file of {archive.size} bytes (truncated or damaged?)",
        )
    if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
        raise _invalid(
            path,
            f"entry {full!r} declares {info.file_size} bytes inflated from {info.compress_size}, "
            "more than deflate can produce (damaged, or a zip bomb)",
        )
    if limit is not None and info.file_size > limit:
        raise _invalid(path, f"entry {full!r} holds {info.file_size} bytes", f"at most {limit}")
    try:
        with archive.zip.open(info) as r:
            data = r.read()
    except _ZIP_ERRORS as e:
        raise _invalid(
            path, f"entry {full!r} cannot be read ({e}; truncated or damaged?)"
        ) from None
    if len(data) != info.file_size:
        raise _invalid(path, f"entry {full!r} gave {len(data)} bytes", f"{info.file_size}")
    return data


def _short_list(items, n: int = 12) -> str:
    shown = ", ".join(_clip(i) for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


# ---------------------------------------------------------------------------------------------
# the pickle: inert stand-ins for the allowed globals


class _Record:
    """Base of the unpickler's records: pickle's BUILD opcode may not change them afterwards."""

    __slots__ = ()

    def __setstate__(self, state):
        raise _Problem(f"data.pkl applies a state to a {type(self).__name__[1:]} record")


class _StorageType(_Record):
    """Stands for ``torch.FloatStorage`` and the like: a name and the dtype of its elements."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: str | None):
        self.name, self.dtype = name, dtype  # dtype None: a storage zerograd cannot read

    def __repr__(self):
        return f"torch.{self.name}"


class _Dtype(_Record):
    """Stands for ``torch.float32`` and the like."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage(_Record):
    """One persistent id: ``data/<key>`` holding ``numel`` elements of ``dtype``."""

    __slots__ = ("key", "type", "numel")

    def __init__(self, key: str, type: _StorageType, numel: int):
        self.key, self.type, self.numel = key, type, numel

    def __repr__(self):
        return f"storage data/{self.key}"


class _Tensor(_Record):
    """A call of one of torch's ``_rebuild_tensor`` functions, arguments unchecked (yet)."""

    __slots__ = ("storage", "offset", "size", "stride", "dtype", "metadata")

    def __init__(self, storage, offset, size, stride, dtype=None, metadata=None):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype, self.metadata = dtype, metadata

    def __repr__(self):
        return "tensor"


def _args(name: str, args: tuple, counts) -> tuple:
    if len(args) not in counts:
        expected = " or ".join(str(c) for c in counts)
        raise _Problem(f"data.pkl calls {name} with {len(args)} arguments, expected {expected}")
    return args


def _rebuild_tensor(*args):
    storage, offset, size, stride = _args("torch._utils._rebuild_tensor", args, (4,))
    return _Tensor(storage, offset, size, stride)


def _rebuild_tensor_v2(*args):
    """(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])."""
    storage, offset, size, stride, *rest = _args("torch._utils._rebuild_tensor_v2", args, (6, 7))
    return _Tensor(storage, offset, size, stride, metadata=rest[2] if len(rest) == 3 else None)


def _rebuild_tensor_v3(*args):
    """(storage, offset, size, stride, requires_grad, backward_hooks, dtype[, metadata]): dtypes
    with no typed storage class (uint16/32/64 ...) keep their bytes in an UntypedStorage."""
    storage, offset, size, stride, _, _, dtype, *meta = _args(
        "torch._utils._rebuild_tensor_v3", args, (7, 8)
    )
    return _Tensor(storage, offset, size, stride, dtype, meta[0] if meta else None)


def _rebuild_parameter(*args):
    """(data, requires_grad, backward_hooks[, state]): an nn.Parameter is its tensor here."""
    data, *_ = _args("torch._utils._rebuild_parameter", args, (3, 4))
    if not isinstance(data, _Tensor):
        raise _Problem(f"data.pkl makes a Parameter of a {type(data).__name__}, not of a tensor")
    return data


class _StateDict(OrderedDict):
    """``collections.OrderedDict``; torch attaches ``_metadata`` (layer versions) to state_dicts
    with BUILD, which we accept and drop. Pickle fills an OrderedDict after making it empty:
    items given to the call itself are refused, as the opcode scan does not count their hashing."""

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise _Problem(
                "data.pkl calls collections.OrderedDict with arguments, which pickle never does"
            )
        super().__init__()

    def __setstate__(self, state):
        pass


def _size(*args):
    """torch.Size(sizes) is a tuple of ints. Only ints: the opcode scan counts the result of a
    call as one object when it bounds the hashing of dict keys, so it must be flat."""
    (sizes,) = _args("torch.Size", args, (1,))
    if not isinstance(sizes, (list, tuple)) or not all(_is_int(s) for s in sizes):
        raise _Problem(f"data.pkl calls torch.Size with {_clip(sizes)}, not a list of ints")
    return tuple(sizes)


def _device(*args):
    """torch.device("cuda", 0) -> "cuda:0", as a string."""
    args = _args("torch.device", args, (1, 2))
    if not isinstance(args[0], str) or not all(_is_int(a) for a in args[1:]):
        raise _Problem(
            f"data.pkl calls torch.device with {_clip(args)}, expected a type and an index "
            "('cuda', 0)"
        )
    return ":".join(str(a) for a in args)


def _encode(*args):
    """``_codecs.encode(text, "latin1")``: how protocol 2 pickles ``bytes`` (only that use)."""
    text, encoding = _args("_codecs.encode", args, (2,))
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Problem(f"data.pkl calls _codecs.encode with encoding {_clip(encoding)}")
    return text.encode("latin-1")


def _set(*args):
    return set(*_args("builtins.set", args, (0, 1)))


_ALLOWED = {
    ("collections", "OrderedDict"): _StateDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _size,
    ("torch", "device"): _device,
    ("torch", "UntypedStorage"): _StorageType("UntypedStorage", "uint8"),
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage", "uint8"),
    ("_codecs", "encode"): _encode,
    ("builtins", "set"): _set,
    ("__builtin__", "set"): _set,  # protocol 2's name for it
}
for _name in [*_DTYPES, *_OTHER_DTYPES]:
    _ALLOWED["torch", _name] = _Dtype(_name)


class _Unpickler(pickle.Unpickler):
    """Builds only lists, dicts, tuples, sets, numbers, strings and the records above."""

    def __init__(self, data: bytes):
        super().__init__(BytesIO(data))
        self.storages = {}  # key -> _Storage, one per key however often it is referenced

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if module == "torch" and isinstance(name, str) and name.endswith("Storage"):
            # a typed storage class is only a name here; one we cannot read fails when used
            return _StorageType(name, _STORAGES.get(name))
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid):
        """``("storage", storage_type, key, location, numel)`` -> the one ``_Storage`` of key."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and _text(pid[0]) == "storage"):
            raise _Problem(
                f"data.pkl refers to {_clip(pid)}, not to a storage "
                "('storage', type, key, location, numel)"
            )
        _, type_, key, location, numel = pid
        key, location = _text(key), _text(location)
        if not isinstance(type_, _StorageType) or key is None or location is None:
            raise _Problem(f"data.pkl has a malformed storage reference {_clip(pid)}")
        if not _is_size(numel):
            raise _Problem(f"storage data/{key} has {_clip(numel)} elements, not a size >= 0")
        storage = self.storages.setdefault(key, _Storage(key, type_, numel))
        if storage.type.name != type_.name or storage.numel != numel:
            raise _Problem(
                f"storage data/{key} is declared both as {storage.numel} x {storage.type.name} "
                f"and as {numel} x {type_.name}"
            )
        return storage


class _Refused(Exception):
    """A global outside the allow-list: its dotted name."""


def _text(value):
    """str, or ASCII bytes as str (protocol 0 and Python 2 pickles), else None."""
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _clip(value, n: int = 80) -> str:
    """``repr(value)``, cut to ``n`` characters. Only the part that is shown is rendered, so a
    structure that would print as 2**60 items, or nest 100,000 levels deep, costs ``n`` steps
    (``repr`` itself would never finish, or fail with RecursionError)."""
    pieces, length = [], 0
    for piece in _repr_pieces(value):
        pieces.append(piece)
        length += len(piece)
        if length > n:
            break
    text = "".join(pieces)
    return text if len(text) <= n else text[: n - 3] + "..."


_BRACKETS = {list: "[]", tuple: "()", set: "{}", frozenset: "{}"}


def _repr_pieces(value):
    """``repr(value)`` in pieces, produced as they are asked for; every container yields its
    opening bracket before looking inside, so ``k`` pieces never nest more than ``k`` deep."""
    if isinstance(value, dict):  # _StateDict (an OrderedDict) too: shown as the dict it holds
        yield "{"
        for i, (k, v) in enumerate(value.items()):
            yield ", " if i else ""
            yield from _repr_pieces(k)
            yield ": "
            yield from _repr_pieces(v)
        yield "}"
    elif isinstance(value, (list, tuple, set, frozenset)):
        kind = next(t for t in _BRACKETS if isinstance(value, t))
        if kind in (set, frozenset) and not value:
            yield f"{kind.__name__}()"
            return
        yield "frozenset({" if kind is frozenset else _BRACKETS[kind][0]
        for i, v in enumerate(value):
            yield ", " if i else ""
            yield from _repr_pieces(v)
        yield "," if kind is tuple and len(value) == 1 else ""
        yield "})" if kind is frozenset else _BRACKETS[kind][1]
    elif isinstance(value, (str, bytes)):
        yield repr(value[:100])  # cut before repr: the caller shows at most this much
    elif _is_int(value) and value.bit_length() > 256:
        yield f"<an int of {value.bit_length()} bits>"  # repr would be slow, or refuse
    else:
        try:
            yield repr(value)
        except Exception:
            yield f"a {type(value).__name__}"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_size(v) -> bool:
    return _is_int(v) and v >= 0


def _unpickle(path, data: bytes):
    """``data.pkl`` -> the saved object, with records for tensors, or a ValueError."""
    _scan_opcodes(path, data)
    try:
        obj = _Unpickler(data).load()
    except _Refused as e:
        raise ValueError(
            f"{os.fspath(path)!r}: refusing to load it: its pickle (data.pkl) names the Python "
            f"global {e.args[0]!r}, which zerograd never imports or calls, as loading a file must "
            f"not run code (a whole pickled model or another object was saved). {_HOW_TO_FIX}."
        ) from None
    except _Problem as e:
        raise _invalid(path, str(e)) from None
    except MemoryError:
        raise
    except Exception as e:  # anything else the pickle machine raises: the bytes are damaged
        raise _invalid(
            path, f"data.pkl cannot be unpickled ({type(e).__name__}: {e}; damaged?)"
        ) from None
    _check_structure(path, obj)
    return obj


def _scan_opcodes(path, data: bytes) -> None:
    """Walk the pickle's opcodes without running any, before unpickling, refusing what a pickler
    never writes: memo indices that jump ahead (CPython's unpickler sizes its memo table to the
    largest index seen: one opcode could claim gigabytes), the copyreg extension opcodes (which
    look names up outside ``find_class``'s view), and hashing that would not end.

    CPython's unpickler hashes every dict key and set item as it builds them, and ``hash`` of a
    tuple walks all of it, recursively, with no depth check: a key of 60 nested pairs that share
    their halves (a few hundred bytes) would take 2**60 steps, and one nested a million deep
    crashes the interpreter. So the scan plays the pickle machine with a ``_Shape`` standing for
    each object, and refuses a tuple nested more than ``_MAX_DEPTH`` deep or a file whose keys and
    set items would take hashing to more than ``_MAX_OBJECTS`` objects in all."""
    count, work = 0, 0
    stack, marks, memo = [], [], {}
    floor = 0  # as in CPython's unpickler, nothing below the last MARK can be taken

    def invalid(what: str) -> _Problem:
        return _Problem(f"data.pkl is not a valid pickle ({what} at byte {pos}; damaged?)")

    def pop(n: int) -> list:
        if len(stack) - n < floor:
            raise invalid(f"{name} finds too few items on the stack")
        items = stack[len(stack) - n :]
        del stack[len(stack) - n :]
        return items

    def pop_mark() -> list:
        nonlocal floor
        if not marks:
            raise invalid(f"{name} has no MARK before it")
        items = stack[marks[-1] :]
        del stack[marks.pop() :]
        floor = marks[-1] if marks else 0
        return items

    def top() -> _Shape:
        if len(stack) <= floor:
            raise invalid(f"{name} finds too few items on the stack")
        return stack[-1]

    def hashes(objects: int) -> None:
        nonlocal work
        work += objects
        if work > _MAX_OBJECTS:
            raise _Problem(_too_many("hashing its dict keys and set items"))

    try:
        for opcode, arg, pos in pickletools.genops(data):
            count += 1
            name = opcode.name
            kind = _OPCODE_KINDS.get(name)
            if kind == "put":
                if name != "MEMOIZE" and not 0 <= arg < count:
                    raise _Problem(f"data.pkl stores memo entry {arg} at byte {pos}, out of order")
                if len(stack) <= floor:
                    raise invalid(f"{name} finds nothing on the stack")
                memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            elif kind == "get":
                if arg not in memo:
                    raise invalid(f"{name} reads memo entry {arg}, never stored")
                stack.append(memo[arg])
            elif kind == "int":  # hash(int) visits every digit and caches nothing
                stack.append(_LEAF if arg.bit_length() <= 512 else _Shape.of_int(arg))
            elif kind == "mark":
                marks.append(len(stack))
                floor = len(stack)
            elif kind == "call":
                # of the allowed callables only set() hashes what it is given (OrderedDict refuses
                # arguments): set(x) hashes the items of x, as they are at the call
                if name == "REDUCE":
                    if len(stack) - 2 < floor:
                        raise invalid("REDUCE finds too few items on the stack")
                    args = stack.pop().items or ()
                    func = stack.pop()
                elif name == "INST":
                    func, args = _Shape(name=arg.replace(" ", ".")), pop_mark()
                else:  # OBJ: the class, then its arguments
                    func, *args = pop_mark() or [_LEAF]
                if func.name is not None and func.name in ("builtins.set", "__builtin__.set"):
                    hashes(sum(a.inner for a in args))
                stack.append(_Shape())  # what the allowed calls make is flat or unhashable
            elif kind == "tuple":
                if name == "EMPTY_TUPLE":
                    stack.append(_EMPTY_TUPLE)
                    continue
                size = _TUPLE_SIZES.get(name)
                items = pop_mark() if size is None else pop(size)
                if name == "FROZENSET":
                    hashes(sum(item.hashes for item in items))
                stack.append(_Shape.of_tuple(items))
            elif kind == "string":  # its text for STACK_GLOBAL; set("...") visits each character
                stack.append(_Shape(inner=len(arg), text=arg))
            elif kind == "scalar":
                stack.append(_LEAF)
            elif kind == "container":
                items = pop_mark() if name in ("LIST", "DICT") else ()
                if name == "DICT":
                    hashes(sum(key.hashes for key in items[0::2]))
                stack.append(_Shape(inner=sum(item.hashes for item in items)))
            elif kind == "add":
                items = pop_mark() if name.endswith("S") else pop(1 if name == "APPEND" else 2)
                if name.startswith("SETITEM"):
                    hashes(sum(key.hashes for key in items[0::2]))
                elif name == "ADDITEMS":
                    hashes(sum(item.hashes for item in items))
                target = top()
                if target is not _LEAF:  # adding to a number fails when unpickled anyway
                    target.inner += sum(item.hashes for item in items)
            elif name == "POP":  # as CPython's: a MARK right on top is what POP takes
                if marks and marks[-1] == len(stack):
                    marks.pop()
                    floor = marks[-1] if marks else 0
                else:
                    pop(1)
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(top())
            elif name == "BUILD":  # a state applied to the object below, which stays
                pop(1)
                top()
            elif name in ("GLOBAL", "STACK_GLOBAL"):
                if name == "GLOBAL":
                    found = arg.replace(" ", ".")
                else:
                    module, qualname = pop(2)
                    found = f"{module.text}.{qualname.text}"
                stack.append(_Shape(name=found))
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise _Problem(f"data.pkl uses the {name} opcode (byte {pos})")
            else:  # persistent ids, NEWOBJ, PROTO, FRAME, STOP, buffers: counts from pickletools
                pop(len(opcode.stack_before))
                stack.extend(_Shape() for _ in opcode.stack_after)
    except _Problem as e:
        raise _invalid(path, str(e)) from None
    except (ValueError, EOFError, struct.error, OverflowError) as e:
        raise _invalid(path, f"data.pkl is not a valid pickle ({e}; damaged?)") from None


_OPCODE_KINDS = {
    **dict.fromkeys(["NONE", "NEWTRUE", "NEWFALSE", "FLOAT", "BINFLOAT"], "scalar"),
    **dict.fromkeys(["INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"], "int"),
    **dict.fromkeys(
        ["STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE"], "string"
    ),
    **dict.fromkeys(
        ["BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"],
        "string",
    ),
    **dict.fromkeys(["GET", "BINGET", "LONG_BINGET"], "get"),
    **dict.fromkeys(["PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"], "put"),
    "MARK": "mark",
    **dict.fromkeys(["EMPTY_TUPLE", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "FROZENSET"], "tuple"),
    **dict.fromkeys(["EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "LIST", "DICT"], "container"),
    **dict.fromkeys(["APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"], "add"),
    **dict.fromkeys(["REDUCE", "INST", "OBJ"], "call"),
}
_TUPLE_SIZES = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}


class _Shape:
    """What the opcode scan knows of an object the pickle builds: how many objects ``hash``
    visits in it (1 for what hashes in one step or is unhashable: lists, dicts, sets, records,
    strings; more for long ints), how deep ``hash`` recurses into it, how many objects hashing
    its items would visit (``inner``: what ``set(x)`` costs), and for a tuple its items, for a
    global its dotted name, for a string its text."""

    __slots__ = ("hashes", "depth", "inner", "items", "name", "text")

    def __init__(self, inner: int = 0, name: str | None = None, text=None):
        self.hashes, self.depth, self.inner = 1, 0, inner
        self.items, self.name, self.text = None, name, text

    @classmethod
    def of_int(cls, value: int) -> _Shape:
        shape = cls()
        shape.hashes += value.bit_length() // 512
        return shape

    @classmethod
    def of_tuple(cls, items: list) -> _Shape:
        """A tuple (or frozenset) of ``items``: immutable, so its counts are final."""
        inner = depth = 0
        for item in items:
            inner += item.hashes
            depth = max(depth, item.depth)
        shape = cls(inner=inner)
        shape.hashes, shape.depth, shape.items = 1 + inner, 1 + depth, items
        if shape.depth > _MAX_DEPTH:
            raise _Problem(_too_deep())
        if shape.hashes > _MAX_OBJECTS:
            raise _Problem(_too_many("hashing one of its tuples"))
        return shape


_LEAF = _Shape()  # numbers, None, bools: shared, never changed
_EMPTY_TUPLE = _Shape.of_tuple([])


def _too_deep() -> str:
    return (
        f"data.pkl nests lists, tuples, dicts or sets deeper than {_MAX_DEPTH} levels (a "
        "state_dict needs 3), damaged or built to crash the reader"
    )


def _too_many(what: str) -> str:
    return (
        f"{what} would visit more than {_MAX_OBJECTS} objects, counting the parts data.pkl "
        "shares each time they are used (a 'billion laughs' file, built to exhaust time or "
        "memory; a state_dict has a few objects per tensor)"
    )


def _check_structure(path, obj) -> None:
    """Walk what data.pkl built once, without recursion, each container once (shared parts are
    looked up by ``id``): refuse nesting deeper than ``_MAX_DEPTH``, more than ``_MAX_OBJECTS``
    objects when shared parts count each time they are used, and containers that hold themselves.
    After this every walk over ``obj`` (the checks below, the error messages) is bounded."""
    if not _is_container(obj):
        return
    done = {}  # id -> (depth, objects) of each container walked, counting itself
    on_path = {id(obj)}
    # one frame per container on the path from obj: [container, its children, depth, objects]
    frames = [[obj, iter(_children(obj)), 1, 1]]
    while frames:
        frame = frames[-1]
        for child in frame[1]:
            if not _is_container(child):
                frame[3] += 1
                continue
            if id(child) in done:
                depth, objects = done[id(child)]
                if len(frames) + depth > _MAX_DEPTH:
                    raise _invalid(path, _too_deep())
                frame[2] = max(frame[2], depth + 1)
                frame[3] += objects
                if frame[3] > _MAX_OBJECTS:
                    raise _invalid(path, _too_many("reading it"))
                continue
            if id(child) in on_path:
                raise _invalid(
                    path,
                    f"data.pkl builds a {_kind(child)} that contains itself, which no state_dict "
                    "does (damaged, or built to make readers loop)",
                )
            if len(frames) >= _MAX_DEPTH:
                raise _invalid(path, _too_deep())
            on_path.add(id(child))
            frames.append([child, iter(_children(child)), 1, 1])
            break
        else:  # every child seen: frame is done
            container, _, depth, objects = frames.pop()
            on_path.discard(id(container))
            done[id(container)] = depth, objects
            if frames:
                parent = frames[-1]
                parent[2] = max(parent[2], depth + 1)
                parent[3] += objects
                if parent[3] > _MAX_OBJECTS:
                    raise _invalid(path, _too_many("reading it"))


def _is_container(v) -> bool:
    return isinstance(v, (dict, list, tuple, set, frozenset, _Tensor))


def _children(v):
    if isinstance(v, dict):
        return itertools.chain.from_iterable(v.items())
    if isinstance(v, _Tensor):
        return (v.storage, v.offset, v.size, v.stride, v.dtype, v.metadata)
    return v


def _kind(v) -> str:
    if isinstance(v, dict):
        return "dict"  # _StateDict too
    return "tensor" if isinstance(v, _Tensor) else type(v).__name__


# ---------------------------------------------------------------------------------------------
# from the unpickled object to checked tensor descriptions


def _pick_state_dict(path, obj, key) -> list:
    """``[(name, _Tensor)]`` of the state_dict in ``obj`` (or ``obj[key]``), in order."""
    if key is not None:
        if not isinstance(obj, dict):
            raise _invalid(path, f"key={key!r} was given but the file holds {_describe(obj)}")
        if key not in obj:
            raise _invalid(
                path,
                f"it has no top-level entry {key!r}; its entries are {_entries(obj)}",
                "key= naming one of them",
            )
        obj, where = obj[key], f"entry {key!r}"
    else:
        where = "the file"
    if isinstance(obj, _Tensor):
        raise _invalid(
            path,
            f"{where} holds a single tensor, not a state_dict; save a dict of names to tensors "
            "in PyTorch (torch.save({'weight': t}, path))",
        )
    if not isinstance(obj, dict):
        raise _invalid(path, f"{where} holds {_describe(obj)}", "a dict of names to tensors")
    others = [k for k, v in obj.items() if not isinstance(v, _Tensor)]
    if others:
        if key is None:
            candidates = [k for k, v in obj.items() if _is_tensor_dict(v)]
            hint = (
                f"pass key={candidates[0]!r} to read that entry"
                if candidates
                else "pass key= naming the entry that holds the state_dict"
            )
            raise _invalid(
                path,
                f"it is a checkpoint, not a state_dict: its entries are {_entries(obj)}; {hint}",
            )
        raise _invalid(
            path,
            f"{where} is not a dict of tensors: it holds {_entries({k: obj[k] for k in others})}",
        )
    bad = [k for k in obj if not isinstance(k, str)]
    if bad:
        raise _invalid(path, f"{where} has keys that are not str: {_short_list(bad)}")
    return list(obj.items())


def _is_tensor_dict(v) -> bool:
    return isinstance(v, dict) and bool(v) and all(isinstance(t, _Tensor) for t in v.values())


def _describe(v) -> str:
    if isinstance(v, _Tensor):
        return "a tensor"
    if isinstance(v, dict):
        tensors = sum(isinstance(t, _Tensor) for t in v.values())
        return f"a dict of {len(v)} entries ({tensors} tensors)"
    if isinstance(v, (list, tuple, set)):
        return f"a {type(v).__name__} of {len(v)}"
    if isinstance(v, _Dtype):
        return f"dtype {v!r}"
    if v is None or isinstance(v, (bool, int, float, str)):
        return f"{type(v).__name__} {_clip(v, 40)}"
    return f"a {type(v).__name__.lstrip('_')}"


def _entries(d: dict) -> str:
    items = [f"{_clip(k, 40)}: {_describe(v)}" for k, v in list(d.items())[:20]]
    more = f" and {len(d) - 20} more" if len(d) > 20 else ""
    return "{" + ", ".join(items) + "}" + more


class _Spec:
    """A checked tensor: which storage, dtype, offset, shape and strides (in elements)."""

    def __init__(self, storage, dtype, offset, shape, stride, neg):
        self.storage, self.dtype, self.offset = storage, dtype, offset
        self.shape, self.stride, self.neg = shape, stride, neg
        self.numel = math.prod(shape)


def _check_tensor(path, name: str, t: _Tensor) -> _Spec:
    """Check one tensor's arguments against its storage's declared size: all pure arithmetic."""
    who = f"tensor {name!r}"
    storage = t.storage
    if not isinstance(storage, _Storage):
        raise _invalid(path, f"{who} is built from {_describe(storage)}", "a storage reference")
    dtype = storage.type.dtype
    if t.dtype is not None:  # _rebuild_tensor_v3: the dtype is given, the storage is bytes
        if not isinstance(t.dtype, _Dtype):
            raise _invalid(path, f"{who} has dtype {_clip(t.dtype)}", "a torch dtype")
        dtype = t.dtype.name if t.dtype.name in _DTYPES else None
    if dtype is None:
        kind = t.dtype if t.dtype is not None else f"torch.{storage.type.name}"
        raise _invalid(
            path,
            f"{who} has dtype {kind}, which zerograd cannot read",
            f"one of {_READABLE} (convert it in PyTorch first, e.g. t.float())",
        )
    size = tuple(t.size) if isinstance(t.size, (tuple, list)) else t.size
    stride = tuple(t.stride) if isinstance(t.stride, (tuple, list)) else t.stride
    if not isinstance(size, tuple) or not all(_is_size(s) for s in size):
        raise _invalid(path, f"{who} has size {_clip(size)}", "a tuple of sizes >= 0")
    if not isinstance(stride, tuple) or len(stride) != len(size):
        raise _invalid(
            path, f"{who} has size {size} and stride {_clip(stride)}", "one stride per size"
        )
    if not all(_is_size(s) for s in stride):
        raise _invalid(path, f"{who} has stride {stride}", "strides >= 0")
    if len(size) > _MAX_NDIM:
        raise _invalid(path, f"{who} has {len(size)} dimensions", f"at most {_MAX_NDIM}")
    if not _is_size(t.offset):
        raise _invalid(path, f"{who} has storage offset {_clip(t.offset)}", "an offset >= 0")
    neg = _check_metadata(path, who, t.metadata, dtype)
    # elements of this dtype in the storage (an UntypedStorage counts bytes)
    nbytes = storage.numel * _itemsize(storage.type.dtype)
    capacity = nbytes // _itemsize(dtype)
    if math.prod(size) > 0:
        last = t.offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= capacity:
            raise _invalid(
                path,
                f"{who} of size {size}, stride {stride} and storage offset {t.offset} reaches "
                f"element {last}, past the end of its storage data/{storage.key}, which holds "
                f"{capacity} {dtype} elements",
            )
    return _Spec(storage, dtype, t.offset, size, stride, neg)


def _check_metadata(path, who: str, metadata, dtype: str) -> bool:
    """torch's tensor metadata: ``{"neg": True}`` marks a lazily negated view; True if so."""
    if metadata is None or metadata == {}:
        return False
    if not isinstance(metadata, dict) or not set(metadata) <= {"neg", "conj"}:
        raise _invalid(path, f"{who} has metadata {_clip(metadata)}", "none, or {'neg': True}")
    if metadata.get("conj") or (metadata.get("neg") and dtype == "bool"):
        raise _invalid(
            path,
            f"{who} is a conjugate or negated view of dtype {dtype} ({_clip(metadata)})",
            "a plain tensor (save t.resolve_conj().resolve_neg() in PyTorch)",
        )
    return bool(metadata.get("neg"))


def _itemsize(dtype: str) -> int:
    return numpy.dtype(_DTYPES[dtype]).itemsize


# ---------------------------------------------------------------------------------------------
# reading the storages and making the arrays


def _read_tensors(path, archive: _Archive, specs: list) -> OrderedDict:
    """Check every storage entry against data.pkl, then read one storage at a time and copy its
    tensors out of it."""
    users = {}  # storage key -> [(name, spec)], in file order
    for name, spec in specs:
        users.setdefault(spec.storage.key, []).append((name, spec))
    total = 0
    for key, group in users.items():
        storage = group[0][1].storage
        info = archive.entries.get(f"data/{key}")
        if info is None:
            names = _short_list([name for name, _ in group], 3)
            raise _invalid(
                path,
                f"the zip archive has no entry {archive.folder}/data/{key}, the storage of "
                f"tensor {names} (truncated or damaged?)",
            )
        nbytes = storage.numel * _itemsize(storage.type.dtype)
        if info.file_size != nbytes:
            raise _invalid(
                path,
                f"entry {archive.folder}/data/{key} holds {info.file_size} bytes but data.pkl "
                f"declares {storage.numel} {storage.type.name} elements ({nbytes} bytes)",
            )
        total += nbytes
    wanted = sum(spec.numel * _out_itemsize(spec.dtype) for _, spec in specs)
    limit = _MAX_EXPANSION * total + _EXPANSION_SLACK
    if wanted > limit:
        raise _invalid(
            path,
            f"its tensors would take {wanted} bytes, more than {limit} ({_MAX_EXPANSION} times "
            f"the {total} bytes of its storages, plus 16 MiB): data.pkl views the same bytes "
            "over and over (damaged, or built to exhaust memory)",
        )
    arrays = {}
    for key, group in users.items():  # one storage in memory at a time
        raw = _read_entry(path, archive, f"data/{key}")  # its size was checked above
        for name, spec in group:
            arrays[name] = _make_array(path, name, spec, raw, archive.big_endian)
    return OrderedDict((name, arrays[name]) for name, _ in specs)


def _out_itemsize(dtype: str) -> int:
    return 4 if dtype == "bfloat16" else _itemsize(dtype)


def _make_array(path, name: str, spec: _Spec, raw: bytes, big_endian: bool):
    """A new C-ordered, native-endian array of ``spec`` read from its storage's bytes."""
    stored = numpy.dtype(_DTYPES[spec.dtype])
    if big_endian:
        stored = stored.newbyteorder(">")
    if spec.numel == 0:
        out = numpy.empty(spec.shape, dtype=stored.newbyteorder("="))
    else:
        flat = numpy.frombuffer(raw, dtype=stored, count=len(raw) // stored.itemsize)
        # bounds were checked in _check_tensor: the view stays inside flat
        view = numpy.lib.stride_tricks.as_strided(
            flat[spec.offset :],
            shape=spec.shape,
            strides=[s * stored.itemsize for s in spec.stride],
            writeable=False,
        )
        out = numpy.array(view, dtype=stored.newbyteorder("="), order="C")
    if spec.dtype == "bool" and out.size and out.view(numpy.uint8).max() > 1:
        raise _invalid(path, f"tensor {name!r} is bool but holds bytes other than 0 and 1")
    if spec.dtype == "bfloat16":
        wide = numpy.empty(spec.shape, dtype=numpy.float32)
        # bfloat16 is float32's top 16 bits: shifting them back is exact
        numpy.left_shift(out, 16, out=wide.view(numpy.uint32), dtype=numpy.uint32)
        out = wide
    if spec.neg:
        numpy.negative(out, out=out)
    return out
