"""zerograd.io weights: safetensors round trips, interop with the safetensors package and PyTorch,
and a ValueError naming the file for every kind of damaged or foreign file."""

import json
import os
import pickle
import re
import struct
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zerograd as zg
from zerograd import io, nn

DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
SHAPES = [(), (0,), (2, 0, 3), (5,), (2, 3, 4)]


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def every_dtype_and_shape():
    sd = OrderedDict()
    for i, (name, dtype) in enumerate(DTYPES.items()):
        for j, shape in enumerate(SHAPES):
            sd[f"{name}/{j}"] = sample(dtype, shape, seed=10 * i + j)
    return sd


def raw_file(header, data=b"", pad=True) -> bytes:
    """A safetensors file built by hand, for headers our writer would never produce."""
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


# ---------------------------------------------------------------------------------------------
# round trips


def test_round_trip_every_dtype_and_shape_keeps_order(tmp_path):
    sd = every_dtype_and_shape()
    sd = OrderedDict(reversed(sd.items()))  # not alphabetical: the order must be ours, not sorted
    path = tmp_path / "all.safetensors"
    io.save(sd, path)
    out = io.load(path)
    assert list(out) == list(sd)
    for k, a in sd.items():
        t = out[k]
        assert isinstance(t, zg.Tensor)
        assert t.dtype == a.dtype and t.shape == a.shape, k
        np.testing.assert_array_equal(t.data, a)
        assert t.data.flags.owndata and t.data.flags.writeable, k


def test_header_is_8_byte_aligned_and_tensors_laid_out_in_order(tmp_path):
    path = tmp_path / "x.safetensors"
    io.save({"z": np.ones(3, np.int8), "a": np.ones(2, np.float32)}, path)
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0 and raw[8 + n - 1 : 8 + n].strip() in (b"}", b"")
    header = json.loads(raw[8 : 8 + n])
    assert list(header) == ["z", "a"]
    assert header["z"] == {"dtype": "I8", "shape": [3], "data_offsets": [0, 3]}
    assert header["a"] == {"dtype": "F32", "shape": [2], "data_offsets": [3, 11]}
    assert len(raw) == 8 + n + 11


def test_metadata_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    meta = {"arch": "MLP(784, 100, 10)", "epoch": "3", "ü": "ünïcode"}
    io.save({"w": zg.zeros(2)}, path, metadata=meta)
    assert io.load_metadata(path) == meta
    assert io.load_metadata(tmp_path / "m.safetensors") == meta
    io.save({"w": zg.zeros(2)}, path)
    assert io.load_metadata(path) == {}


def test_noncontiguous_bigendian_tensor_and_scalar_values(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    sd = {
        "transposed": base.transpose(2, 0, 1),
        "strided": base[:, ::2, 1::2],
        "reversed": base[::-1],
        "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
        "tensor": zg.tensor([[1.5, -2.0]], requires_grad=True),
        "parameter": nn.Parameter(zg.ones(3)),
        "numpy_scalar": np.float32(2.5),
    }
    path = tmp_path / "nc.safetensors"
    io.save(sd, path)
    out = io.load(path)
    for k, v in sd.items():
        expected = np.asarray(v.data if isinstance(v, zg.Tensor) else v)
        np.testing.assert_array_equal(out[k].data, expected)
        assert out[k].shape == expected.shape
        assert out[k].data.dtype.isnative
    assert out["big_endian"].dtype == np.int32
    assert out["numpy_scalar"].shape == () and out["numpy_scalar"].dtype == np.float32
    assert not out["tensor"].requires_grad


def test_loaded_tensors_are_copies(tmp_path):
    a = np.arange(4.0)
    path = tmp_path / "c.safetensors"
    io.save({"a": a}, path)
    first, second = io.load(path)["a"], io.load(path)["a"]
    first.data[0] = 99.0
    assert second.data[0] == 0.0 and a[0] == 0.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    dtype=st.sampled_from(list(DTYPES.values())),
    shape=st.lists(st.integers(0, 4), max_size=4).map(tuple),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(tmp_path_factory, dtype, shape, seed):
    path = tmp_path_factory.mktemp("prop") / "p.safetensors"
    a = sample(dtype, shape, seed)
    io.save({"pad": np.ones(seed % 5, np.int8), "a": a}, path)
    out = io.load(path)["a"]
    assert out.dtype == a.dtype and out.shape == a.shape
    np.testing.assert_array_equal(out.data, a)


# ---------------------------------------------------------------------------------------------
# what save refuses


@pytest.mark.parametrize(
    "value, match",
    [
        (1.5, "'bad'.*float"),
        ([1, 2], "'bad'.*list"),
        ("text", "'bad'.*str"),
        (None, "'bad'.*NoneType"),
        (np.array(["a"]), "'bad'.*dtype <U1"),
        (np.array([1 + 2j]), "'bad'.*complex128"),
        (np.array([object()]), "'bad'.*object"),
    ],
)
def test_save_rejects_non_arrays_naming_the_key(tmp_path, value, match):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=match):
        io.save({"good": np.zeros(2), "bad": value}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_save_rejects_bad_keys_and_metadata(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match="keys must be str, got 3"):
        io.save({3: np.zeros(1)}, path)
    with pytest.raises(ValueError, match="__metadata__.*reserved"):
        io.save({"__metadata__": np.zeros(1)}, path)
    with pytest.raises(TypeError, match="metadata must map str to str.*'epoch': 3"):
        io.save({"w": np.zeros(1)}, path, metadata={"epoch": 3})
    with pytest.raises(TypeError, match="dict of names to Tensors.*list"):
        io.save([np.zeros(1)], path)
    with pytest.raises(ValueError, match="not valid Unicode"):
        io.save({"\ud800": np.zeros(1)}, path)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# damaged and foreign files: always ValueError naming the path, and nothing loaded


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    io.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.arange(3)}, path)
    return path


def assert_invalid(path, match):
    pattern = re.escape(repr(str(path))) + ".*" + match
    with pytest.raises(ValueError, match=pattern):
        io.load(path)


@pytest.mark.parametrize("keep", [0, 3, 7, 8, 12, 40, -49, -48, -30, -1])
def test_truncated_file(good_file, keep):
    raw = good_file.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    good_file.write_bytes(raw[: keep if keep >= 0 else len(raw) + keep])
    cut = len(good_file.read_bytes())
    if cut < 8:
        match = f"it is {cut} bytes long"
    elif cut < 8 + n:
        match = f"header length {n} runs past the end of the file"
    else:
        match = "past the end of the data.*truncated"
    assert_invalid(good_file, match)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "it is 0 bytes long; expected at least 8 bytes"),
        (struct.pack("<Q", 2**63) + b"{}", "header length 9223372036854775808 runs past"),
        (raw_file(b"{not json}"), "not valid UTF-8 JSON"),
        (raw_file(b'{"a": \xff}'), "not valid UTF-8 JSON"),
        (raw_file(b'{"a": 1'), "not valid UTF-8 JSON"),
        (raw_file(b"[1, 2]    "), "header starts with b'\\[1, 2\\]"),
        (raw_file(b"     {}"), "header starts with"),
        (raw_file(b"{" * 100_000), "not valid UTF-8 JSON"),
        (raw_file(b'{"a": 1, "a": 2}'), "the name 'a' twice; expected unique names"),
        (raw_file({"__metadata__": {"k": 1}}), "__metadata__ is {'k': 1}"),
        (raw_file({"__metadata__": ["k"]}), "__metadata__ is"),
        (raw_file({"a": [1]}), "entry for 'a' is \\[1\\]"),
        (raw_file({"a": {"dtype": "F32", "shape": [0]}}), 'exactly "dtype", "shape"'),
        (
            raw_file({"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "x": 1}}, b"1234"),
            'exactly "dtype"',
        ),
        (
            raw_file({"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, b"1234"),
            "dtype 'Q7'.*one of F64, F32.*BF16",
        ),
        (
            raw_file({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"1"),
            "dtype 'F8_E4M3', which zerograd cannot read.*tensor.float",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"1234"),
            "shape \\[-1\\]; expected a list of sizes",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"1234"),
            "shape \\[True\\]",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}}, b"1" * 16),
            "shape 4",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, b"1234"),
            "shape \\[1.0\\]",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]}}),
            "too big for memory",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"1234"),
            "spans bytes \\[4, 0\\), -4 bytes; expected 4 bytes",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, b"1234"),
            "data_offsets \\[0, 4, 8\\]",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": ["0", 4]}}, b"1234"),
            "data_offsets \\['0', 4\\]",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}}, b"1" * 8),
            "shape \\[2, 2\\] spans bytes \\[0, 8\\), 8 bytes; expected 16 bytes",
        ),
        (
            raw_file(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                },
                b"1" * 12,
            ),
            "'b' at \\[4, 12\\) overlaps tensor 'a', which ends at 8",
        ),
        (
            raw_file(
                {
                    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                },
                b"1" * 8,
            ),
            "overlaps tensor 'a'",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"1" * 8),
            "data_offsets \\[8, 16\\] past the end of the data \\(8 bytes",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"1" * 12),
            "bytes \\[0, 4\\) of the data belong to no tensor",
        ),
        (
            raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"1" * 7),
            "3 trailing bytes follow the last tensor",
        ),
        (raw_file({}, b"junk"), "4 trailing bytes"),
        (
            raw_file(
                {"a": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}, b"\x00\x01\x02"
            ),
            "BOOL but holds bytes other than 0 and 1",
        ),
        (pickle.dumps({"w": [1.0, 2.0]}), "header length"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40, "header length"),
        (b"PK\x03\x04" + b"\x00" * 60, "load_pytorch"),
    ],
)
def test_damaged_or_foreign_file(tmp_path, content, match):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    assert_invalid(path, match)


def test_header_over_the_limit_is_refused_before_reading_it(tmp_path):
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 200_000_000) + b"{")
        f.truncate(8 + 200_000_000)  # sparse: costs no disk
    assert_invalid(path, "header length 200000000 is over the limit; expected at most 100000000")


def test_bf16_loads_exactly_as_float32(tmp_path):
    bits = np.array([0x3F80, 0xC040, 0x0001, 0x7F80, 0xFF80, 0x0000, 0x8000], dtype="<u2")
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(
        raw_file({"h": {"dtype": "BF16", "shape": [7], "data_offsets": [0, 14]}}, bits.tobytes())
    )
    h = io.load(path)["h"]
    assert h.dtype == np.float32 and h.data.flags.owndata
    expected = (bits.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(h.data, expected)
    assert h.data[0] == 1.0 and h.data[1] == -3.0 and np.isinf(h.data[3])


def test_corrupt_file_loads_nothing_into_a_module(tmp_path):
    net = nn.Linear(3, 2)
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    path = tmp_path / "w.safetensors"
    io.save(nn.Linear(3, 2).state_dict(), path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="w.safetensors"):
        io.load_into(net, path)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_damage_gives_valueerror_or_a_valid_load(good_file, data):
    raw = bytearray(good_file.read_bytes())
    action = data.draw(st.sampled_from(["flip", "cut", "append"]))
    if action == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    elif action == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        raw += data.draw(st.binary(min_size=1, max_size=16))
    path = good_file.with_name("damaged.safetensors")
    path.write_bytes(bytes(raw))
    try:
        out = io.load(path)
    except ValueError as e:
        assert "damaged.safetensors" in str(e)
    else:  # only bytes inside tensors (or header whitespace) changed
        assert [t.shape for t in out.values()] in ([(2, 3), (3,)], [(3,), (2, 3)])


def test_load_into_reports_mismatches(tmp_path):
    path = tmp_path / "w.safetensors"
    io.save(nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        io.load_into(nn.Linear(4, 2), path)
    seq = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="missing key: 0.weight"):
        io.load_into(seq, path)
    result = io.load_into(seq, path, strict=False)
    assert result.missing_keys == ["0.weight", "0.bias"]


# ---------------------------------------------------------------------------------------------
# interop: the safetensors package and PyTorch

NEEDS_SAFETENSORS = 'needs safetensors: pip install "zerograd[test]"'
NEEDS_SAFETENSORS_AND_TORCH = 'needs safetensors and torch: pip install "zerograd[test]"'


def test_our_files_read_by_safetensors_numpy_and_torch(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy", reason=NEEDS_SAFETENSORS)
    st_torch = pytest.importorskip("safetensors.torch", reason=NEEDS_SAFETENSORS_AND_TORCH)
    from safetensors import safe_open

    sd = every_dtype_and_shape()
    sd["noncontiguous"] = np.arange(12.0).reshape(3, 4).T
    path = tmp_path / "ours.safetensors"
    io.save(sd, path, metadata={"k": "v"})
    from_numpy = st_numpy.load_file(str(path))
    from_torch = st_torch.load_file(str(path))
    assert set(from_numpy) == set(sd) == set(from_torch)
    for k, a in sd.items():
        assert from_numpy[k].dtype == a.dtype and from_numpy[k].shape == a.shape, k
        np.testing.assert_array_equal(from_numpy[k], a)
        assert tuple(from_torch[k].shape) == a.shape, k
        np.testing.assert_array_equal(from_torch[k].numpy(), a)
    with safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"k": "v"}


def test_files_written_by_safetensors_read_by_ours(tmp_path):
    torch = pytest.importorskip("torch", reason=NEEDS_SAFETENSORS_AND_TORCH)
    st_torch = pytest.importorskip("safetensors.torch", reason=NEEDS_SAFETENSORS_AND_TORCH)
    st_numpy = pytest.importorskip("safetensors.numpy", reason=NEEDS_SAFETENSORS_AND_TORCH)

    g = torch.Generator().manual_seed(0)
    tensors = {
        "f32": torch.randn(3, 4, generator=g),
        "f64": torch.randn(2, dtype=torch.float64, generator=g),
        "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "i64": torch.arange(-3, 3),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }
    path = tmp_path / "theirs.safetensors"
    st_torch.save_file(tensors, str(path), metadata={"by": "torch"})
    ours = io.load(path)
    assert set(ours) == set(tensors)
    for k, t in tensors.items():
        expected = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        assert ours[k].dtype == expected.dtype and ours[k].shape == expected.shape, k
        np.testing.assert_array_equal(ours[k].data, expected)
    assert io.load_metadata(path) == {"by": "torch"}

    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array([1, 2], np.int32)}
    st_numpy.save_file(arrays, str(path))
    out = io.load(path)
    for k, a in arrays.items():
        np.testing.assert_array_equal(out[k].data, a)


def mlp_pair():
    torch = pytest.importorskip("torch", reason=NEEDS_SAFETENSORS_AND_TORCH)
    zg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    return torch, ours, theirs, x


def test_zerograd_weights_load_into_torch(tmp_path):
    pytest.importorskip("safetensors", reason=NEEDS_SAFETENSORS)
    torch, ours, theirs, x = mlp_pair()
    path = tmp_path / "mlp.safetensors"
    io.save(ours.state_dict(), path)
    from safetensors.torch import load_file

    theirs.load_state_dict(load_file(str(path)))  # strict by default
    with torch.no_grad():
        y_theirs = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y_theirs, ours(zg.tensor(x)).data, rtol=1e-5, atol=1e-6)


def test_torch_weights_load_into_zerograd(tmp_path):
    pytest.importorskip("safetensors", reason=NEEDS_SAFETENSORS)
    torch, ours, theirs, x = mlp_pair()
    from safetensors.torch import save_file

    path = tmp_path / "mlp.safetensors"
    save_file(theirs.state_dict(), str(path))
    io.load_into(ours, path)
    with torch.no_grad():
        y_theirs = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(zg.tensor(x)).data, y_theirs, rtol=1e-5, atol=1e-6)
