"""IDX files: round trips, gzip by magic bytes, and every way a file can be broken."""

import gzip
import re

import numpy as np
import pytest

from zerograd.data import IDXError, read_idx, write_idx
from zerograd.data import idx as idx_module


def header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def images_bytes(n=3):
    data = np.arange(n * 28 * 28, dtype=np.uint32).astype(np.uint8)
    return header(2051, n, 28, 28) + data.tobytes(), data.reshape(n, 28, 28)


def write_raw(path, payload, gz=False):
    path.write_bytes(gzip.compress(payload, mtime=0) if gz else payload)
    return path


def at(path):
    """A regex matching the path in a message."""
    return re.escape(str(path))


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize(
    "dtype, shape",
    [
        (np.uint8, (5, 28, 28)),
        (np.uint8, (7,)),
        (np.int8, (2, 3)),
        (np.int16, (4, 2)),
        (np.int32, (3,)),
        (np.float32, (2, 2, 2)),
        (np.float64, (3, 1)),
    ],
)
def test_round_trip(tmp_path, gz, dtype, shape):
    a = (np.arange(np.prod(shape)) - 3).astype(dtype).reshape(shape)
    path = tmp_path / ("x-idx" + (".gz" if gz else ""))
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(b, a)
    assert b.flags.writeable


def test_mnist_header_values(tmp_path):
    path = tmp_path / "images.gz"
    write_idx(path, np.zeros((2, 28, 28), np.uint8))
    assert gzip.decompress(path.read_bytes())[:16] == header(2051, 2, 28, 28)
    write_idx(tmp_path / "labels", np.zeros(2, np.uint8))
    assert (tmp_path / "labels").read_bytes()[:8] == header(2049, 2)


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path):
    payload, expected = images_bytes()
    gz_without_suffix = write_raw(tmp_path / "train-images-idx3-ubyte", payload, gz=True)
    raw_with_suffix = write_raw(tmp_path / "raw.gz", payload)
    np.testing.assert_array_equal(read_idx(gz_without_suffix), expected)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), expected)


def test_expected_magic_and_shape_pass(tmp_path):
    payload, expected = images_bytes(4)
    path = write_raw(tmp_path / "i.gz", payload, gz=True)
    np.testing.assert_array_equal(read_idx(path, magic=2051, shape=(None, 28, 28)), expected)
    np.testing.assert_array_equal(read_idx(path, magic=2051, shape=(4, 28, 28)), expected)


def test_multi_member_gzip_and_zero_padding_are_read(tmp_path):
    payload, expected = images_bytes()
    data = gzip.compress(payload[:100]) + gzip.compress(payload[100:]) + b"\0" * 8
    path = tmp_path / "members.gz"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path), expected)


@pytest.mark.parametrize("gz", [True, False])
def test_bad_magic_names_the_file(tmp_path, gz):
    payload, _ = images_bytes()
    path = write_raw(tmp_path / "bad-magic", b"\x01\x02" + payload[2:], gz=gz)
    with pytest.raises(IDXError, match=at(path) + ".*bad magic number 0x01020803.*0x00000803"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = write_raw(tmp_path / "t", header(0x0A01, 2) + b"\0\0")
    with pytest.raises(IDXError, match="bad magic number 0x00000A01"):
        read_idx(path)


def test_zero_dimensions_rejected(tmp_path):
    path = write_raw(tmp_path / "z", (0x0800).to_bytes(4, "big"))
    with pytest.raises(IDXError, match="number of dimensions"):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("ndim", [65, 200, 255])
def test_more_dimensions_than_numpy_allows(tmp_path, ndim, gz):
    # a corrupt dimension byte: NumPy's reshape said "maximum supported dimension ... found 65"
    # without the file; NumPy 1.x allows 32, 2.x 64
    limit = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32
    path = write_raw(tmp_path / "nd", header(0x0800 | ndim, *[1] * ndim) + b"\x07", gz=gz)
    with pytest.raises(
        IDXError,
        match=at(path) + f".*0x000008{ndim:02X} says {ndim} dimensions, more than the {limit} ",
    ):
        read_idx(path)
    path = write_raw(tmp_path / "ok", header(0x0800 | limit, *[1] * limit) + b"\x07", gz=gz)
    assert read_idx(path).shape == (1,) * limit


def test_wrong_expected_magic_labels_for_images(tmp_path):
    path = write_raw(tmp_path / "labels", header(2049, 3) + b"\1\2\3", gz=True)
    with pytest.raises(
        IDXError,
        match=at(path) + r".*0x00000801 \(2049: uint8, 1 dimensions\), expected "
        r"0x00000803 \(2051: uint8, 3 dimensions\)",
    ):
        read_idx(path, magic=2051)


@pytest.mark.parametrize("gz", [True, False])
def test_wrong_dimensions(tmp_path, gz):
    path = write_raw(tmp_path / "dims", header(2051, 2, 28, 27) + bytes(2 * 28 * 27), gz=gz)
    with pytest.raises(IDXError, match=at(path) + r".*shape \(2, 28, 27\), expected \(N, 28, 28\)"):
        read_idx(path, shape=(None, 28, 28))


def test_wrong_number_of_dimensions(tmp_path):
    path = write_raw(tmp_path / "nd", header(0x0802, 2, 2) + bytes(4))
    with pytest.raises(IDXError, match=r"shape \(2, 2\), expected \(N,\)"):
        read_idx(path, shape=(None,))


@pytest.mark.parametrize("gz", [True, False])
def test_short_data(tmp_path, gz):
    payload, _ = images_bytes(3)
    path = write_raw(tmp_path / "short", payload[:-10], gz=gz)
    with pytest.raises(
        IDXError,
        match=at(path) + r".*truncated: only 2342 data bytes.*\(3, 28, 28\).*= 2352 data bytes",
    ):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_trailing_data_after_the_promised_bytes(tmp_path, gz):
    payload, _ = images_bytes(3)
    path = write_raw(tmp_path / "long", payload + b"extra", gz=gz)
    with pytest.raises(IDXError, match=at(path) + r".*5 bytes of trailing data.*2352 data bytes"):
        read_idx(path)


def test_absurd_header_in_a_small_gzip_is_refused_before_allocating(tmp_path):
    path = write_raw(
        tmp_path / "huge.gz", header(2051, 4_000_000_000, 28, 28) + bytes(100), gz=True
    )
    with pytest.raises(IDXError, match=at(path) + ".*3136000000000 data bytes.*holds at most"):
        read_idx(path)


def test_trailing_garbage_after_the_gzip_stream(tmp_path):
    payload, _ = images_bytes()
    path = tmp_path / "garbage.gz"
    path.write_bytes(gzip.compress(payload) + b"not gzip")
    with pytest.raises(IDXError, match=at(path) + ".*8 bytes of trailing garbage after the gzip"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    payload, _ = images_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(payload)[:-20])
    with pytest.raises(IDXError, match=at(path) + ".*gzip stream is truncated"):
        read_idx(path)


def test_bad_gzip_crc(tmp_path):
    payload, _ = images_bytes()
    data = bytearray(gzip.compress(payload))
    data[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=at(path) + ".*corrupt gzip data.*incorrect data check"):
        read_idx(path)


def test_bad_gzip_length(tmp_path):
    payload, _ = images_bytes()
    data = bytearray(gzip.compress(payload))
    data[-1] ^= 0x01  # ISIZE, the uncompressed length mod 2^32
    path = tmp_path / "len.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=at(path) + ".*corrupt gzip data.*length check"):
        read_idx(path)


def test_corrupt_deflate_data(tmp_path):
    payload, _ = images_bytes()
    data = bytearray(gzip.compress(payload))
    data[12:20] = b"\xff" * 8
    path = tmp_path / "deflate.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=at(path) + ".*corrupt gzip data"):
        read_idx(path)


def test_empty_file(tmp_path):
    path = write_raw(tmp_path / "empty", b"")
    with pytest.raises(IDXError, match=at(path) + ".*only 0 bytes.*empty or truncated"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = write_raw(tmp_path / "head", header(2051, 2), gz=True)
    with pytest.raises(IDXError, match=at(path) + ".*truncated header.*16-byte header.*8 bytes"):
        read_idx(path)


def test_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    path = tmp_path / "nope-idx3-ubyte.gz"
    with pytest.raises(FileNotFoundError, match=at(path)):
        read_idx(path)


def test_directory_is_an_os_error_naming_it(tmp_path):
    with pytest.raises(OSError, match=at(tmp_path)):
        read_idx(tmp_path)


def test_idx_error_is_a_value_error():
    assert issubclass(IDXError, ValueError)


def test_write_rejects_unsupported_dtype_and_leaves_nothing(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x.gz", np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="scalar"):
        write_idx(tmp_path / "y", np.uint8(3))
    assert list(tmp_path.iterdir()) == []


def test_write_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(idx_module.gzip.GzipFile, "write", fail)
    with pytest.raises(OSError, match="disk full"):
        write_idx(tmp_path / "x.gz", np.zeros(3, np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_write_is_deterministic(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "b.gz", a)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
