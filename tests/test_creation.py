"""Creating tensors: PyTorch's dtype rules, shapes, copies and errors."""

import numpy as np
import pytest

import zerograd as zg


@pytest.mark.parametrize(
    "data, dtype",
    [(1.5, np.float32), ([1, 2], np.int64), ([True, False], np.bool_), ([[1.0, 2]], np.float32)],
)
def test_tensor_dtype_from_python_data(data, dtype):
    assert zg.tensor(data).dtype == dtype


def test_tensor_keeps_a_numpy_arrays_dtype_and_copies_it():
    a = np.arange(3, dtype=np.float64)
    t = zg.tensor(a)
    assert t.dtype == np.float64
    a[0] = 99
    assert t.data[0] == 0


def test_as_tensor_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    assert np.shares_memory(zg.as_tensor(a).data, a)


@pytest.mark.parametrize("spec", ["float64", np.float64, zg.float64])
def test_tensor_dtype_argument(spec):
    assert zg.tensor([1, 2], dtype=spec).dtype == np.float64


def test_tensor_from_a_tensor_copies():
    a = zg.tensor([1.0, 2.0])
    b = zg.tensor(a)
    b.data[0] = 5
    assert a.data[0] == 1.0


def test_tensor_rejects_strings():
    with pytest.raises(TypeError, match="can't make a tensor"):
        zg.tensor(["a", "b"])


RAGGED = [
    ([[1, 2], [3]], r"data\[0\] has 2 items but data\[1\] has 1"),
    ([[1, 2], [3, 4], [5, 6, 7]], r"data\[0\] has 2 items but data\[2\] has 3"),
    ([[[1, 2], [3, 4]], [[1, 2], [3]]], r"data\[0\]\[0\] has 2 items but data\[1\]\[1\] has 1"),
    ([[1, 2], 3], r"data\[0\] is a list of 2 but data\[1\] is the int 3"),
    ([1.5, [2, 3]], r"data\[0\] is the float 1.5 but data\[1\] is a list of 2"),
    ([[], [1]], r"data\[0\] has 0 items but data\[1\] has 1"),
    ([np.zeros(2), np.zeros(3)], r"data\[0\] has 2 items but data\[1\] has 3"),
]


@pytest.mark.parametrize("data, where", RAGGED)
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_ragged_lists_name_the_lengths_found(data, where, dtype):
    # NumPy said "setting an array element with a sequence. The requested array has an
    # inhomogeneous shape after 1 dimensions"
    with pytest.raises(ValueError, match=r"^tensor: the nested lists are ragged: " + where) as e:
        zg.tensor(data, dtype=dtype)
    assert "pad the short ones" in str(e.value) and e.value.__cause__ is None


def test_size_arguments_like_pytorch():
    assert zg.zeros(2, 3).shape == (2, 3)
    assert zg.ones((2, 3)).shape == (2, 3)
    assert zg.randn([4]).shape == (4,)
    assert zg.empty(0).shape == (0,)
    with pytest.raises(ValueError, match="non-negative"):
        zg.zeros(-1)


def test_factories():
    np.testing.assert_array_equal(zg.eye(2).data, np.eye(2))
    assert zg.full((2, 2), 7).dtype == np.int64
    assert zg.full((2,), 0.5).dtype == np.float32
    assert zg.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert zg.arange(5).dtype == np.int64
    assert zg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    x = zg.randn(2, 3, dtype="float64")
    assert zg.zeros_like(x).dtype == np.float64 and zg.ones_like(x).shape == (2, 3)
    assert zg.full_like(x, 3.0).data.max() == 3.0
    assert zg.randn_like(x).shape == (2, 3) and zg.rand_like(x).dtype == np.float64
    r = zg.randint(3, 7, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 3 and r.data.max() < 7


def test_requires_grad_on_factories():
    assert zg.zeros(2, requires_grad=True).requires_grad
    assert zg.randn(2, requires_grad=True).is_leaf


def test_random_floats_have_sane_statistics():
    zg.manual_seed(0)
    x = zg.randn(100_000).data
    assert abs(x.mean()) < 0.02 and abs(x.std() - 1) < 0.02
    u = zg.rand(100_000).data
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
