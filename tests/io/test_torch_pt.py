"""zerograd.io.load_pytorch: torch.save files read with NumPy alone, running no code.

Real ``torch.save`` files (skipped without torch) check every dtype, view and module; files made
by hand here (``pt_file``, byte for byte what torch writes, checked against ``torch.load``) check
hostile and damaged files with or without torch: each must give a ValueError naming the file, and
no payload may ever run.
"""

import os
import pickle
import re
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zerograd as zg
from zerograd import io, nn

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason='needs torch (it writes these fixtures): pip install "zerograd[test]"'
)


# ---------------------------------------------------------------------------------------------
# .pt files by hand: protocol-2 pickle opcodes and a stored zip, as torch.save writes them


def op_str(s: str) -> bytes:  # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def op_int(n: int) -> bytes:  # BININT, or LONG1 beyond 32 bits
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def op_global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def op_tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def op_ints(values) -> bytes:
    return op_tuple(*[op_int(v) for v in values])


def op_tensor(
    key="0", storage="FloatStorage", numel=6, offset=0, size=(2, 3), stride=None, meta=b""
) -> bytes:
    """``_rebuild_tensor_v2(persistent id, offset, size, stride, False, OrderedDict()[, meta])``"""
    if stride is None:
        stride = [int(np.prod(size[i + 1 :])) for i in range(len(size))]
    pid = op_tuple(
        op_str("storage"), op_global("torch", storage), op_str(key), op_str("cpu"), op_int(numel)
    )
    hooks = op_global("collections", "OrderedDict") + b")R"
    args = pid + b"Q" + op_int(offset) + op_ints(size) + op_ints(stride) + b"\x89" + hooks + meta
    return op_global("torch._utils", "_rebuild_tensor_v2") + b"(" + args + b"tR"


def op_dict(items, ordered=True) -> bytes:
    """A dict of ``[(key op, value op)]``: an OrderedDict, as a state_dict is pickled."""
    head = op_global("collections", "OrderedDict") + b")R" if ordered else b"}"
    return head + b"(" + b"".join(k + v for k, v in items) + b"u"


def op_state_dict(tensors: dict) -> bytes:
    """The whole data.pkl of ``{name: op_tensor(...)}``."""
    return b"\x80\x02" + op_dict([(op_str(k), v) for k, v in tensors.items()]) + b"."


def pt_file(path, pkl: bytes, storages: dict, byteorder=b"little", folder="archive", extra=None):
    """Write a .pt zip: ``pkl`` as data.pkl, ``storages`` {key: bytes} as data/<key>."""
    records = [("data.pkl", pkl), (".format_version", b"1"), (".storage_alignment", b"64")]
    if byteorder is not None:
        records.append(("byteorder", byteorder))
    records += [(f"data/{k}", v) for k, v in storages.items()]
    records += [("version", b"3\n"), *(extra or {}).items()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in records:
            z.writestr(f"{folder}/{name}", data)
    return path


def simple_file(path, **tensor_args):
    """One tensor 'w' over a 6-float storage 0..5, with ``op_tensor`` arguments overridden."""
    args = dict(key="0", storage="FloatStorage", numel=6, offset=0, size=(2, 3))
    args.update(tensor_args)
    data = np.arange(6, dtype="<f4").tobytes()
    return pt_file(path, op_state_dict({"w": op_tensor(**args)}), {"0": data})


def assert_invalid(path, match, key=None):
    pattern = re.escape(repr(str(path))) + ".*" + match
    with pytest.raises(ValueError, match=pattern):
        io.load_pytorch(path, key=key)


# a hand-made file with shared storages and views: what the damage tests start from
def mixed_file(path, byteorder="little"):
    f4 = "<f4" if byteorder == "little" else ">f4"
    i8 = "<i8" if byteorder == "little" else ">i8"
    storages = {
        "0": np.arange(12, dtype=f4).tobytes(),
        "1": np.array([3, -1], dtype=i8).tobytes(),
        "2": np.array([1, 0, 1], dtype="u1").tobytes(),
    }
    pkl = op_state_dict(
        {
            "w": op_tensor("0", numel=12, size=(3, 4)),
            "w_t": op_tensor("0", numel=12, size=(4, 3), stride=(1, 4)),
            "row": op_tensor("0", numel=12, offset=5, size=(3,), stride=(2,)),
            "n": op_tensor("1", "LongStorage", numel=2, size=(2,)),
            "step": op_tensor("1", "LongStorage", numel=2, offset=1, size=()),
            "mask": op_tensor("2", "BoolStorage", numel=3, size=(3,)),
        }
    )
    return pt_file(path, pkl, storages, byteorder=byteorder.encode())


MIXED = {
    "w": np.arange(12, dtype=np.float32).reshape(3, 4),
    "w_t": np.arange(12, dtype=np.float32).reshape(3, 4).T,
    "row": np.array([5, 7, 9], dtype=np.float32),
    "n": np.array([3, -1]),
    "step": np.array(-1),
    "mask": np.array([True, False, True]),
}


def assert_same(out, expected):
    assert list(out) == list(expected)
    for k, a in expected.items():
        assert out[k].dtype == a.dtype and out[k].shape == a.shape, k
        np.testing.assert_array_equal(out[k], a, err_msg=k)


# ---------------------------------------------------------------------------------------------
# round trips through real torch.save files

DTYPES = [
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
    "uint16",  # no typed storage: torch pickles these with _rebuild_tensor_v3
    "uint32",
    "uint64",
]
SHAPES = [(), (0,), (2, 0, 3), (5,), (2, 3, 4)]


def torch_sample(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == "bool":
        return torch.rand(shape, generator=g) < 0.5
    if dtype in ("float32", "float64", "float16", "bfloat16"):
        return (torch.randn(shape, generator=g) * 100).to(getattr(torch, dtype))
    info = np.iinfo(dtype)
    a = np.random.default_rng(seed).integers(info.min, info.max, shape, dtype, endpoint=True)
    return torch.from_numpy(a.astype(dtype))


def expected_array(t):
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.resolve_neg().numpy()


@needs_torch
def test_every_dtype_and_shape_round_trip_in_file_order(tmp_path):
    sd = OrderedDict()
    for i, dtype in enumerate(DTYPES):
        for j, shape in enumerate(SHAPES):
            sd[f"{dtype}/{j}"] = torch_sample(dtype, shape, 10 * i + j)
    sd = OrderedDict(reversed(sd.items()))  # the file's order, not sorted
    path = tmp_path / "all.pt"
    torch.save(sd, path)
    out = io.load_pytorch(path)
    assert isinstance(out, OrderedDict) and list(out) == list(sd)
    for k, t in sd.items():
        a = out[k]
        assert isinstance(a, np.ndarray), k
        want = expected_array(t)
        assert a.dtype == want.dtype and a.shape == want.shape, (k, a.dtype, a.shape)
        np.testing.assert_array_equal(a, want, err_msg=k)
        assert a.flags.writeable and a.flags.c_contiguous and a.dtype.isnative, k


@needs_torch
def test_bfloat16_widens_to_float32_exactly(tmp_path):
    bits = np.array([0x3F80, 0xC040, 0x0001, 0x7F80, 0xFF80, 0x8000, 0x7FC0], np.uint16)
    bits = torch.from_numpy(bits.view(np.int16))
    t = bits.view(torch.bfloat16)
    torch.save({"h": t}, tmp_path / "bf.pt")
    h = io.load_pytorch(tmp_path / "bf.pt")["h"]
    assert h.dtype == np.float32
    np.testing.assert_array_equal(h, t.float().numpy())
    assert h[0] == 1.0 and h[1] == -3.0 and np.isinf(h[3]) and np.isnan(h[6])


@needs_torch
def test_views_offsets_strides_and_shared_storages(tmp_path):
    base = torch.arange(60, dtype=torch.float64).reshape(3, 4, 5)
    weight = torch.randn(6, 4)
    sd = {
        "base": base,
        "transposed": base.permute(2, 0, 1),
        "strided": base[:, ::2, 1::3],
        "offset": base[1:, 2],
        "narrow": base.flatten()[17:23],
        "expanded": torch.arange(3.0).expand(4, 3),  # stride 0
        "diagonal": base[0].diagonal(),
        "chunk": list(torch.arange(10, dtype=torch.int32).chunk(3))[2],
        "weight": weight,
        "tied": weight,  # the same tensor twice (tied embeddings)
        "weight_T": weight.t(),
        "neg": torch._neg_view(torch.arange(4.0)),  # a lazily negated view (metadata {"neg": True})
    }
    path = tmp_path / "views.pt"
    torch.save(sd, path)
    out = io.load_pytorch(path)
    for k, t in sd.items():
        np.testing.assert_array_equal(out[k], expected_array(t), err_msg=k)
        assert out[k].shape == tuple(t.shape) and out[k].flags.c_contiguous, k
    # every value is its own copy, even where PyTorch shared the storage
    out["weight"][0, 0] = 1e6
    assert out["tied"][0, 0] != 1e6 and out["weight_T"][0, 0] != 1e6
    assert out["base"].flags.owndata and not np.shares_memory(out["base"], out["transposed"])


@needs_torch
def test_parameters_and_a_module_state_dict_with_buffers(tmp_path):
    lin = torch.nn.Linear(3, 2)
    path = tmp_path / "params.pt"
    torch.save(dict(lin.named_parameters()), path)  # nn.Parameter: _rebuild_parameter
    out = io.load_pytorch(path)
    np.testing.assert_array_equal(out["weight"], lin.weight.detach().numpy())
    bn = torch.nn.BatchNorm2d(3)
    bn(torch.randn(4, 3, 2, 2))
    torch.save(bn.state_dict(), path)
    out = io.load_pytorch(path)
    assert out["num_batches_tracked"].dtype == np.int64 and out["num_batches_tracked"] == 1
    np.testing.assert_array_equal(out["running_var"], bn.running_var.numpy())


@needs_torch
def test_hand_made_files_are_what_torch_load_reads(tmp_path):
    for order in ("little", "big"):
        path = mixed_file(tmp_path / f"mixed_{order}.pt", order)
        theirs = torch.load(path, weights_only=True)
        assert_same(io.load_pytorch(path), {k: v.numpy() for k, v in theirs.items()})
        assert_same(io.load_pytorch(path), MIXED)


def rezip(src, dst, change=lambda name, data: data, drop=()):
    """Copy a zip, entry by entry, through ``change(name, bytes)``, leaving out ``drop``."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as out:
        for info in z.infolist():
            if not any(info.filename.endswith(d) for d in drop):
                out.writestr(info.filename, change(info.filename, z.read(info)))
    return dst


@needs_torch
def test_big_endian_file_written_by_torch_then_byteswapped(tmp_path):
    sd = {
        "f": torch.randn(2, 3),
        "d": torch.randn(4, dtype=torch.float64),
        "h": torch.randn(3).half(),
        "b": torch.randn(3).bfloat16(),
        "i": torch.tensor([1, -2, 2**40]),
        "s": torch.tensor([-3, 7], dtype=torch.int16),
        "u": torch.tensor([1, 255], dtype=torch.uint8),
    }
    little = tmp_path / "little.pt"
    torch.save(sd, little)
    sizes = {k: t.element_size() for k, t in sd.items()}
    itemsize = {str(i): size for i, size in enumerate(sizes.values())}  # one storage per tensor

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        key = name.rsplit("/data/", 1)[-1] if "/data/" in name else None
        if key in itemsize:
            return np.frombuffer(data, f"<u{itemsize[key]}").byteswap().tobytes()
        return data

    big = rezip(little, tmp_path / "big.pt", swap)
    assert big.read_bytes() != little.read_bytes()
    out = io.load_pytorch(big)
    for k, t in sd.items():
        np.testing.assert_array_equal(out[k], expected_array(t), err_msg=k)
        assert out[k].dtype.isnative
    # files from before PyTorch 1.12 have no byteorder entry: they are little-endian
    old = rezip(little, tmp_path / "old.pt", drop=["/byteorder"])
    assert_same(io.load_pytorch(old), {k: expected_array(t) for k, t in sd.items()})


@needs_torch
def test_file_and_archive_names_need_not_match(tmp_path):
    torch.save({"a": torch.ones(2)}, tmp_path / "first_name.pt")  # archive folder "first_name"
    os.rename(tmp_path / "first_name.pt", tmp_path / "renamed.pth")
    np.testing.assert_array_equal(io.load_pytorch(tmp_path / "renamed.pth")["a"], [1.0, 1.0])
    assert list(io.load_pytorch(str(tmp_path / "renamed.pth"))) == ["a"]  # str or PathLike


@needs_torch
@pytest.mark.parametrize("protocol", [1, 2, 3, 4, 5])
def test_every_pickle_protocol_torch_can_write(tmp_path, protocol):
    # 4 and 5 frame the pickle and name globals with STACK_GLOBAL, which find_class sees too
    sd = {"a": torch.randn(2, 3), "b": torch.arange(6)[::2], "c": torch.ones(2).bfloat16()}
    torch.save(sd, tmp_path / "p.pt", pickle_protocol=protocol)
    assert_same(io.load_pytorch(tmp_path / "p.pt"), {k: expected_array(t) for k, t in sd.items()})


# ---------------------------------------------------------------------------------------------
# checkpoints holding more than a state_dict


def checkpoint(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.Adam(model.parameters(), betas=(0.8, 0.99))
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save(
        {
            "epoch": 3,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "best_loss": 0.25,
            "arch": "mlp",
            "classes": {"cat", "dog"},
            "note": b"raw bytes",
            "shape": torch.Size([3, 4]),
            "dtype": torch.float32,
            "device": torch.device("cpu"),
            "history": [1.0, 0.5, (2, None)],
        },
        path,
    )
    return path, model


@needs_torch
def test_checkpoint_key_picks_the_state_dict(tmp_path):
    path, model = checkpoint(tmp_path)
    out = io.load_pytorch(path, key="model")
    assert list(out) == list(model.state_dict())
    for k, t in model.state_dict().items():
        np.testing.assert_array_equal(out[k], t.numpy(), err_msg=k)
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert io.load_pytorch_into(ours, path, key="model") == ([], [])


@needs_torch
def test_checkpoint_without_key_lists_its_entries_and_suggests_one(tmp_path):
    path, _ = checkpoint(tmp_path)
    assert_invalid(
        path,
        "it is a checkpoint, not a state_dict: its entries are \\{'epoch': int 3, 'model': a "
        "dict of 7 entries \\(7 tensors\\), 'optimizer': a dict of 2 entries.*'classes': a "
        "set of 2.*'dtype': dtype torch.float32.*; pass key='model' to read that entry",
    )
    assert_invalid(path, "no top-level entry 'weights'; its entries are \\{'epoch'", key="weights")
    assert_invalid(path, "entry 'epoch' holds int 3; expected a dict of names to tensors", "epoch")
    assert_invalid(
        path, "entry 'optimizer' is not a dict of tensors: it holds \\{'state'", key="optimizer"
    )
    with pytest.raises(TypeError, match="key must be a str"):
        io.load_pytorch(path, key=0)


def test_top_level_shapes_that_are_not_state_dicts(tmp_path):
    t = op_tensor()
    data = {"0": np.zeros(6, "<f4").tobytes()}
    cases = [
        (b"\x80\x02" + t + b".", "the file holds a single tensor, not a state_dict"),
        (b"\x80\x02]" + t + b"a.", "the file holds a list of 1"),  # [t]
        (b"\x80\x02" + op_dict([(op_str("a"), b"J\x01\x00\x00\x00")]) + b".", "checkpoint"),
        (b"\x80\x02" + op_dict([(op_int(1), t)], ordered=False) + b".", "keys that are not str"),
        (b"\x80\x02" + op_dict([(op_str("a"), op_dict([]))]) + b".", "key= naming the entry"),
    ]
    for i, (pkl, match) in enumerate(cases):
        assert_invalid(pt_file(tmp_path / f"{i}.pt", pkl, data), match)
    empty = pt_file(tmp_path / "empty.pt", b"\x80\x02}.", {})
    assert io.load_pytorch(empty) == OrderedDict()


# ---------------------------------------------------------------------------------------------
# into zerograd modules: real PyTorch state_dicts give the same outputs


def randomize_torch(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in module.state_dict().items():
            if k.endswith("running_var"):
                v.copy_(torch.rand(v.shape, generator=g) + 0.5)
            elif v.is_floating_point():
                v.copy_(torch.randn(v.shape, generator=g))
            else:
                v.fill_(11)
    return module


@needs_torch
@pytest.mark.parametrize(
    "make, x",
    [
        (lambda m: m.Linear(5, 3), np.ones((2, 5), np.float32)),
        (lambda m: m.Conv2d(2, 4, 3, stride=2, padding=1), np.ones((2, 2, 7, 7), np.float32)),
        (lambda m: m.BatchNorm2d(3), np.ones((2, 3, 4, 4), np.float32)),
        (lambda m: m.LSTM(4, 5, num_layers=2, batch_first=True), np.ones((2, 3, 4), np.float32)),
    ],
    ids=["Linear", "Conv2d", "BatchNorm2d", "LSTM"],
)
def test_torch_modules_load_into_their_zerograd_twins(tmp_path, make, x):
    x = x * np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    theirs = randomize_torch(make(torch.nn)).eval()
    ours = make(nn).eval()
    path = tmp_path / "m.pt"
    torch.save(theirs.state_dict(), path)
    assert io.load_pytorch_into(ours, path) == ([], [])
    with torch.no_grad():
        want = theirs(torch.from_numpy(x))
    got = ours(zg.tensor(x))
    if isinstance(want, tuple):  # LSTM: (output, (h, c))
        want, got = [want[0], *want[1]], [got[0], *got[1]]
    else:
        want, got = [want], [got]
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g.data, w.numpy(), rtol=1e-5, atol=1e-5)
    if hasattr(ours, "num_batches_tracked"):
        assert int(ours.num_batches_tracked.item()) == 11


@needs_torch
def test_load_pytorch_into_reports_mismatches_and_leaves_the_module_alone(tmp_path):
    path = tmp_path / "lin.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(RuntimeError, match="size mismatch for weight.*\\(2, 3\\).*\\(2, 4\\)"):
        io.load_pytorch_into(nn.Linear(4, 2), path)
    seq = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="missing key: 0.weight"):
        io.load_pytorch_into(seq, path)
    assert io.load_pytorch_into(seq, path, strict=False).missing_keys == ["0.weight", "0.bias"]
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(path.read_bytes()[:-30])
    lin = nn.Linear(3, 2)
    before = lin.weight.data.copy()
    with pytest.raises(ValueError, match="damaged.pt"):
        io.load_pytorch_into(lin, damaged)
    np.testing.assert_array_equal(lin.weight.data, before)


# ---------------------------------------------------------------------------------------------
# hostile files: refused, and the payload never runs


def payloads(marker):
    """(name, data.pkl) pairs, each of which runs code when unpickled by pickle.load."""
    m = str(marker)
    shell = op_global("os", "system") + op_tuple(op_str(f"touch {m}")) + b"R"
    return [
        ("os.system", b"\x80\x02" + shell + b"."),
        (
            "posix.system",
            b"\x80\x02" + op_global("posix", "system") + op_tuple(op_str(f"touch {m}")) + b"R.",
        ),
        (
            "builtins.eval",
            b"\x80\x02"
            + op_global("builtins", "eval")
            + op_tuple(op_str(f"open({m!r}, 'w').close()"))
            + b"R.",
        ),
        (
            "builtins.exec",  # protocol 4: STACK_GLOBAL takes the names from the stack
            b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94\x93"
            + op_tuple(op_str(f"open({m!r}, 'w').close()"))
            + b"R.",
        ),
        (
            "builtins.open",
            b"\x80\x02" + op_global("builtins", "open") + op_tuple(op_str(m), op_str("w")) + b"R.",
        ),
        (
            "__builtin__.open",  # protocol 0's INST opcode: the class comes with its arguments
            b"(" + op_str(m) + op_str("w") + b"i__builtin__\nopen\n.",
        ),
        (
            "subprocess.Popen",
            b"\x80\x02"
            + op_global("subprocess", "Popen")
            + op_tuple(op_tuple(op_str("touch"), op_str(m)))
            + b"R.",
        ),
        # hidden inside a valid state_dict, where requires_grad should be
        (
            "builtins.eval",
            op_state_dict(
                {
                    "w": op_tensor().replace(
                        b"\x89",
                        op_global("builtins", "eval")
                        + op_tuple(op_str(f"open({m!r}, 'w')"))
                        + b"R",
                        1,
                    )
                }
            ),
        ),
        ("__main__.Net", b"\x80\x02" + op_global("__main__", "Net") + b")\x81}b."),
    ]


def test_payloads_are_live_when_unpickled_normally(tmp_path):
    """The fixtures are real attacks: plain pickle runs them (this one only creates a file)."""
    marker = tmp_path / "pwned"
    pickle.loads(dict(payloads(marker))["builtins.open"]).close()
    assert marker.exists()


@pytest.mark.parametrize(
    "index", range(len(payloads("x"))), ids=[name for name, _ in payloads("x")]
)
def test_hostile_globals_are_refused_and_never_run(tmp_path, index):
    marker = tmp_path / "pwned"
    name, pkl = payloads(marker)[index]
    path = pt_file(tmp_path / "evil.pt", pkl, {"0": bytes(24)})
    with pytest.raises(ValueError) as info:
        io.load_pytorch(path)
    message = str(info.value)
    assert repr(str(path)) in message and f"the Python global {name!r}" in message
    assert "torch.save(model.state_dict(), path)" in message
    assert "safetensors.torch.save_file" in message
    assert not marker.exists()


@needs_torch
def test_a_whole_pickled_model_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3)), path)
    assert_invalid(path, "global 'torch.nn.modules.container.Sequential'.*model.state_dict\\(\\)")


class Marker:
    """An object that creates a file when unpickled (as a model class with side effects might)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@needs_torch
def test_objects_with_side_effects_saved_by_torch_are_refused(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "obj.pt"
    torch.save({"w": torch.ones(2), "extra": Marker(marker)}, path)
    assert_invalid(path, "global 'io.open'")  # Python's open is io.open
    assert_invalid(path, "global 'io.open'", key="w")  # refused whichever part is asked for
    assert not marker.exists()
    torch.save({"w": torch.ones(2), "cfg": Marker}, path)  # a class defined in this test module
    assert_invalid(path, f"global '{__name__}.Marker'")


def test_pickle_tricks_outside_find_class_are_refused(tmp_path):
    t = op_tensor()
    data = {"0": bytes(24)}
    cases = [
        # a memo index far ahead: CPython would size its memo table to it (gigabytes)
        (
            b"\x80\x02N" + b"r\xff\xff\xff\x7f" + b".",
            "memo entry 2147483647 at byte 3, out of order",
        ),
        # copyreg's extension registry looks globals up without find_class
        (b"\x80\x02\x82\x01.", "EXT1 opcode"),
        # BUILD on a tensor record would change it after it was built
        (b"\x80\x02" + op_dict([(op_str("w"), t + b"}b")]) + b".", "applies a state to a Tensor"),
        # a persistent id that is not a storage
        (b"\x80\x02" + op_str("x") + b"Q.", "refers to 'x', not to a storage"),
        (
            op_state_dict({"w": op_tensor(storage="Storage")}),  # any *Storage name is inert
            "tensor 'w' has dtype torch.Storage, which zerograd cannot read",
        ),
        (
            b"\x80\x02"
            + op_global("torch._utils", "_rebuild_tensor_v2")
            + op_tuple(op_int(1))
            + b"R.",
            "calls torch._utils._rebuild_tensor_v2 with 1 arguments, expected 6 or 7",
        ),
        (
            b"\x80\x02"
            + op_global("_codecs", "encode")
            + op_tuple(op_str("x"), op_str("zlib"))
            + b"R.",
            "encoding 'zlib'",
        ),
        (b"not a pickle", "data.pkl is not a valid pickle"),
        (b"\x80\x02}(X\x01\x00\x00\x00a", "data.pkl is not a valid pickle"),  # truncated
        (b"\x80\x02" + op_tuple(b"]") + b"}b.", "data.pkl cannot be unpickled \\(AttributeError"),
        # an OrderedDict given its items as an argument: pickle fills it after making it empty
        (
            b"\x80\x02"
            + op_global("collections", "OrderedDict")
            + op_tuple(b"(" + op_tuple(op_str("w"), t) + b"l")
            + b"R.",
            "calls collections.OrderedDict with arguments",
        ),
        (
            b"\x80\x02" + op_global("torch", "Size") + op_tuple(b"(" + op_str("x") + b"l") + b"R.",
            "calls torch.Size with \\['x'\\], not a list of ints",
        ),
        (
            b"\x80\x02" + op_global("torch", "device") + op_tuple(b"]") + b"R.",
            "calls torch.device with \\(\\[\\],\\), expected a type and an index",
        ),
        (b"\x80\x02a.", "not a valid pickle \\(APPEND finds too few items on the stack at byte 2"),
        (b"\x80\x02h\x05.", "not a valid pickle \\(BINGET reads memo entry 5, never stored"),
    ]
    for i, (pkl, match) in enumerate(cases):
        assert_invalid(pt_file(tmp_path / f"{i}.pt", pkl, data), match)


# ---------------------------------------------------------------------------------------------
# bounded work: a small pickle can describe an enormous or endlessly deep object


def op_laughs(levels: int, kind: str = "list", first_memo: int = 0) -> bytes:
    """A list (or tuple) of two references to the one at the level below, ``levels`` times over
    an empty one, each kept in the memo: a few bytes per level, 2**levels leaves if expanded."""
    empty, build = (b"]", b"l") if kind == "list" else (b")", b"t")
    out = empty + op_put(first_memo)
    for i in range(first_memo + 1, first_memo + levels + 1):
        out += b"0(" + op_get(i - 1) + op_get(i - 1) + build + op_put(i)
    return out


def op_put(i: int) -> bytes:  # BINPUT, LONG_BINPUT
    return b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)


def op_get(i: int) -> bytes:  # BINGET, LONG_BINGET
    return b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i)


def op_nested(depth: int, kind: str) -> bytes:
    """``depth`` lists, tuples or dicts, each the only item of the one around it."""
    if kind == "dict":  # {"a": {"a": ... {}}}
        return (b"}" + op_str("a")) * depth + b"}" + b"s" * depth
    return b"(" * depth + (b"l" if kind == "list" else b"t") * depth


def with_entry(entry: bytes, key_op: bytes = None) -> bytes:
    """data.pkl of ``{"model": {"w": tensor}, <key_op or "extra">: entry}``."""
    model = op_dict([(op_str("w"), op_tensor())])
    return (
        b"\x80\x02"
        + op_dict([(op_str("model"), model), (key_op or op_str("extra"), entry)], ordered=False)
        + b"."
    )


def test_shared_parts_that_would_expand_to_2_to_the_60_objects_are_refused(tmp_path):
    """550 bytes of pickle, 2**60 leaves: every walk over it counts each shared part once, and
    the file is refused for what it would expand to (repr of it alone would never finish)."""
    laughs = op_laughs(60)
    assert len(laughs) < 1000
    too_many = "would visit more than 10000000 objects, counting the parts data.pkl shares"
    path = pt_file(tmp_path / "laughs.pt", with_entry(laughs), {"0": bytes(24)})
    assert_invalid(path, "reading it " + too_many)
    assert_invalid(path, "reading it " + too_many, key="model")  # whichever part is asked for
    # as a tensor's size, where an error message would print it
    sized = op_state_dict({"w": op_tensor().replace(op_ints((2, 3)), laughs, 1)})
    assert_invalid(pt_file(tmp_path / "size.pt", sized, {"0": bytes(24)}), too_many)
    # a tuple hashed as a dict key while unpickling: refused by the opcode scan, before
    path = pt_file(tmp_path / "key.pt", with_entry(b"N", op_laughs(60, "tuple")), {"0": bytes(24)})
    assert_invalid(path, "hashing one of its tuples " + too_many)
    # in the tensor's metadata dict, where torch's {"neg": True} goes
    meta = op_dict([(op_laughs(60, "tuple"), b"\x88")], ordered=False)
    path = pt_file(
        tmp_path / "meta.pt", op_state_dict({"w": op_tensor(meta=meta)}), {"0": bytes(24)}
    )
    assert_invalid(path, "hashing one of its tuples " + too_many)


def test_hashing_is_bounded_in_all_not_only_per_key(tmp_path):
    """A tuple of 2**21 objects is allowed, but not hashed 5 times: as dict keys, set items
    (protocol 4's ADDITEMS, set() called on a list), or in a list filled after the call's
    arguments were built."""
    too_many = "hashing its dict keys and set items would visit more than 10000000 objects"
    key = op_laughs(20, "tuple")  # memo 20: 2**21 - 1 objects
    again = op_get(20)
    keys = [(key, b"N")] + [(again, b"N")] * 4
    path = pt_file(tmp_path / "keys.pt", with_entry(op_dict(keys, ordered=False)), {})
    assert_invalid(path, too_many)
    added = b"\x8f(" + key + again * 4 + b"\x90"  # EMPTY_SET, MARK, items, ADDITEMS
    assert_invalid(pt_file(tmp_path / "set4.pt", with_entry(added), {}), too_many)
    items = b"(" + key + again * 4 + b"l"
    called = op_global("builtins", "set") + op_tuple(items) + b"R"
    assert_invalid(pt_file(tmp_path / "set2.pt", with_entry(called), {}), too_many)
    # set(L) with L = [] when the arguments (L,) are built, filled before the call
    later = (
        op_global("builtins", "set")
        + b"]" + op_put(21) + b"\x85"  # [] as memo 21, then the tuple (L,)
        + op_get(21) + b"(" + key + again * 4 + b"e0"  # L.extend(...), popped
        + b"R"
    )  # fmt: skip
    assert_invalid(pt_file(tmp_path / "later.pt", with_entry(later), {}), too_many)
    # the same tuple hashed 4 times is within bounds, and the checkpoint reads
    path = pt_file(
        tmp_path / "ok.pt", with_entry(b"(" + key + again * 3 + b"\x91"), {"0": bytes(24)}
    )
    assert list(io.load_pytorch(path, key="model")) == ["w"]


@pytest.mark.parametrize("kind", ["list", "tuple", "dict"])
def test_nesting_100000_deep_is_refused_without_recursion(tmp_path, kind):
    deep = op_nested(100_000, kind)
    path = pt_file(tmp_path / "deep.pt", with_entry(deep), {"0": bytes(24)})
    assert_invalid(path, "data.pkl nests lists, tuples, dicts or sets deeper than 100 levels")
    if kind == "list":
        assert_invalid(path, "deeper than 100 levels", key="model")  # whichever part is asked for
    # as a dict key a deep tuple would crash CPython's unpickler itself (hash recurses in C)
    if kind == "tuple":
        path = pt_file(tmp_path / "key.pt", with_entry(b"N", deep), {"0": bytes(24)})
        assert_invalid(path, "deeper than 100 levels")
    # a deep structure reached again through the memo, from deeper down, counts in full
    shared = op_nested(60, kind) + op_put(1) + b"(" * 50 + op_get(1) + b"l" * 50
    path = pt_file(tmp_path / "memo.pt", with_entry(b"(" + shared + b"l"), {"0": bytes(24)})
    assert_invalid(path, "deeper than 100 levels")
    # 100 levels are fine: an entry next to the state_dict, skipped with key=
    path = pt_file(tmp_path / "ok.pt", with_entry(op_nested(98, kind)), {"0": bytes(24)})
    assert list(io.load_pytorch(path, key="model")) == ["w"]


def test_a_list_that_contains_itself_is_refused(tmp_path):
    cycle = b"]" + op_put(0) + op_get(0) + b"a"  # L = []; L.append(L)
    path = pt_file(tmp_path / "cycle.pt", with_entry(cycle), {"0": bytes(24)})
    assert_invalid(path, "data.pkl builds a list that contains itself")


def test_shared_parts_within_bounds_still_read(tmp_path):
    """The memo is how pickle writes an object used twice (tied weights): that still reads."""
    shared = op_laughs(10)  # 2**10 leaves
    pkl = with_entry(b"(" + shared + op_get(10) + b"l")
    path = pt_file(tmp_path / "ok.pt", pkl, {"0": np.arange(6, dtype="<f4").tobytes()})
    np.testing.assert_array_equal(io.load_pytorch(path, key="model")["w"], [[0, 1, 2], [3, 4, 5]])


@needs_torch
@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_legacy_and_other_formats_get_a_clear_error(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert_invalid(legacy, "legacy format torch.save wrote before PyTorch 1.6.*re-save it")
    script = tmp_path / "script.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    assert_invalid(script, "TorchScript archive \\(torch.jit.save\\)")


# ---------------------------------------------------------------------------------------------
# damaged and foreign files: a ValueError naming the file, nothing loaded


def test_missing_file_and_wrong_argument_types(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        io.load_pytorch(tmp_path / "nope.pt")
    with pytest.raises(TypeError):
        io.load_pytorch(3.5)


def test_foreign_files(tmp_path):
    cases = {
        "empty.pt": (b"", "the file is empty"),
        "pickle.pt": (pickle.dumps({"w": [1.0]}, protocol=2), "it is a pickle, not the zip"),
        "text.pt": (b"hello world, not weights", "it starts with b'hello wo'.*b'PK"),
        "zip.pt": (b"PK\x03\x04" + bytes(40), "not a readable zip archive"),
    }
    for name, (content, match) in cases.items():
        (tmp_path / name).write_bytes(content)
        assert_invalid(tmp_path / name, match)
    io.save({"w": np.ones(2)}, tmp_path / "w.safetensors")
    assert_invalid(tmp_path / "w.safetensors", "looks like a safetensors file.*zerograd.io.load")
    np.savez(tmp_path / "arrays.npz", w=np.ones(2))
    assert_invalid(tmp_path / "arrays.npz", "no data.pkl entry \\(its entries: 'w.npy'\\)")
    with zipfile.ZipFile(tmp_path / "nothing.zip", "w"):
        pass
    assert_invalid(tmp_path / "nothing.zip", "it starts with b'PK")
    script = pt_file(tmp_path / "ts.pt", b"\x80\x02}.", {}, extra={"constants.pkl": b""})
    assert_invalid(script, "TorchScript")


@pytest.mark.parametrize(
    "args, match",
    [
        (
            dict(size=(2, 4)),
            "size \\(2, 4\\), stride \\(4, 1\\).*reaches element 7, past the end "
            "of its storage data/0, which holds 6 float32 elements",
        ),
        (dict(offset=1), "storage offset 1 reaches element 6"),
        (dict(size=(3,), stride=(3,)), "reaches element 6"),
        (dict(size=(2, -3), stride=(3, 1)), "size \\(2, -3\\); expected a tuple of sizes >= 0"),
        (dict(size=(2, 3), stride=(3, -1)), "stride \\(3, -1\\); expected strides >= 0"),
        (
            dict(size=(2, 3), stride=(3,)),
            "size \\(2, 3\\) and stride \\(3,\\); expected one stride",
        ),
        (dict(offset=-1, size=(1,)), "storage offset -1; expected an offset >= 0"),
        (dict(size=(1,) * 33, stride=(1,) * 33), "33 dimensions; expected at most 32"),
        (dict(numel=7), "data/0 holds 24 bytes but data.pkl declares 7 FloatStorage elements"),
        (dict(numel=2**62), "declares 4611686018427387904 FloatStorage elements"),
        (dict(numel=-1), "storage data/0 has -1 elements, not a size >= 0"),
        (dict(key="9"), "no entry archive/data/9, the storage of tensor 'w'"),
        (
            dict(storage="ComplexFloatStorage"),
            "dtype torch.ComplexFloatStorage, which zerograd "
            "cannot read; expected one of float64, float32.*t.float\\(\\)",
        ),
        (
            dict(storage="DoubleStorage"),
            "data/0 holds 24 bytes but data.pkl declares 6 DoubleStorage elements \\(48 bytes\\)",
        ),
        (
            dict(size=(2**40, 2**40), stride=(0, 0)),
            "tensors would take 4835703278458516698824704 bytes, more than",
        ),
        (dict(meta=op_dict([(op_str("conj"), b"\x88")])), "conjugate or negated view"),
        (dict(meta=op_dict([(op_str("python"), b"\x88")])), "metadata"),
    ],
)
def test_tensors_that_do_not_fit_their_storage(tmp_path, args, match):
    assert_invalid(simple_file(tmp_path / "bad.pt", **args), match)


def test_a_zero_size_tensor_needs_no_storage_bytes(tmp_path):
    path = pt_file(
        tmp_path / "z.pt",
        op_state_dict({"z": op_tensor(numel=0, size=(0, 3), stride=(3, 1), offset=5)}),
        {"0": b""},
    )
    z = io.load_pytorch(path)["z"]
    assert z.shape == (0, 3) and z.dtype == np.float32 and z.flags.writeable


def test_many_views_of_one_storage_cannot_exhaust_memory(tmp_path):
    # 4 MiB of floats, viewed 64 times whole: 256 MiB asked of a 4 MiB file
    n = 2**20
    views = {f"v{i}": op_tensor(numel=n, size=(n,)) for i in range(64)}
    path = pt_file(tmp_path / "bomb.pt", op_state_dict(views), {"0": bytes(4 * n)})
    assert_invalid(path, "tensors would take 268435456 bytes, more than 50331648 \\(8 times")
    views = {f"v{i}": op_tensor(numel=n, size=(n,)) for i in range(3)}  # tied weights are fine
    path = pt_file(tmp_path / "tied.pt", op_state_dict(views), {"0": bytes(4 * n)})
    assert [a.shape for a in io.load_pytorch(path).values()] == [(n,)] * 3


def test_bool_storage_holding_other_bytes(tmp_path):
    path = pt_file(
        tmp_path / "b.pt",
        op_state_dict({"m": op_tensor(storage="BoolStorage", numel=3, size=(3,))}),
        {"0": b"\x00\x01\x02"},
    )
    assert_invalid(path, "tensor 'm' is bool but holds bytes other than 0 and 1")


def test_damaged_zip_entries(tmp_path):
    good = mixed_file(tmp_path / "good.pt")
    assert_same(io.load_pytorch(good), MIXED)
    raw = good.read_bytes()
    # one byte of storage data changed: zipfile's CRC-32 check catches it
    at = raw.index(np.arange(12, dtype="<f4").tobytes()) + 5
    (tmp_path / "crc.pt").write_bytes(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :])
    assert_invalid(tmp_path / "crc.pt", "entry 'archive/data/0' cannot be read \\(Bad CRC-32")
    bad_order = rezip(
        good, tmp_path / "order.pt", lambda n, d: b"middle" if n.endswith("byteorder") else d
    )
    assert_invalid(bad_order, "byteorder entry is b'middle'; expected b'little' or b'big'")
    missing = rezip(good, tmp_path / "nopkl.pt", drop=["data.pkl"])
    assert_invalid(missing, "no archive/data.pkl entry")
    missing = rezip(good, tmp_path / "nodata.pt", drop=["data/1"])
    assert_invalid(missing, "no entry archive/data/1, the storage of tensor 'n', 'step'")


def test_compressed_entries(tmp_path):
    pkl = op_state_dict({"w": op_tensor()})
    data = np.arange(6, dtype="<f4").tobytes()
    path = tmp_path / "deflated.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/data.pkl", pkl)
        z.writestr("a/data/0", data)
    np.testing.assert_array_equal(io.load_pytorch(path)["w"], np.arange(6.0).reshape(2, 3))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("a/data.pkl", pkl)
    assert_invalid(path, "entry 'a/data.pkl' uses zip compression method 12")
    # a deflated entry claiming to inflate 100,000-fold: refused before inflating anything
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a/data.pkl", pkl)
        z.writestr("a/data/0", data)
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")  # the central directory header of a/data.pkl
    struct.pack_into("<I", raw, central + 24, 10**8)  # its uncompressed size
    path.write_bytes(bytes(raw))
    assert_invalid(path, "declares 100000000 bytes inflated from.*zip bomb")


@pytest.mark.parametrize("keep", [3, 30, 100, 300, 600, -200, -100, -23, -1])
def test_truncated_file(tmp_path, keep):
    path = mixed_file(tmp_path / "cut.pt")
    raw = path.read_bytes()
    path.write_bytes(raw[:keep])
    assert_invalid(path, "not a readable zip archive|truncated|it starts with b'PK")


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_damage_gives_valueerror_or_a_correct_load(tmp_path, data):
    path = mixed_file(tmp_path / "good.pt")
    raw = bytearray(path.read_bytes())
    action = data.draw(st.sampled_from(["flip", "cut", "append", "splice"]))
    if action == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    elif action == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif action == "append":
        raw += data.draw(st.binary(min_size=1, max_size=64))
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bytes(raw))
    try:
        out = io.load_pytorch(damaged)
    except ValueError as e:
        assert "damaged.pt" in str(e)
    else:  # zip metadata the reader does not depend on changed: the tensors must be intact
        assert_same(out, MIXED)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data())
def test_random_damage_inside_a_valid_zip_never_escapes_as_another_error(tmp_path_factory, data):
    """Damage data.pkl itself (the zip's CRC recomputed, so only the unpickler can notice): the
    result is a ValueError or arrays that lie inside their storages, never another exception."""
    pkl = bytearray(
        op_state_dict(
            {
                "w": op_tensor("0", numel=12, size=(3, 4)),
                "t": op_tensor("0", numel=12, offset=2, size=(2, 3), stride=(1, 4)),
                "n": op_tensor("1", "LongStorage", numel=2, size=(2,)),
            }
        )
    )
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            pkl[data.draw(st.integers(0, len(pkl) - 1))] = data.draw(st.integers(0, 255))
        else:
            del pkl[data.draw(st.integers(0, len(pkl) - 1))]
    storages = {"0": np.arange(12, dtype="<f4").tobytes(), "1": np.array([3, -1], "<i8").tobytes()}
    path = pt_file(tmp_path_factory.mktemp("fuzz") / "fuzz.pt", bytes(pkl), storages)
    try:
        out = io.load_pytorch(path)
    except ValueError as e:
        assert "fuzz.pt" in str(e)
    else:
        for a in out.values():
            assert isinstance(a, np.ndarray) and a.flags.writeable
            if a.size and a.dtype == np.float32:
                assert set(a.ravel().tolist()) <= set(range(12))
