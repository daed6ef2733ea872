"""DataLoader and default_collate: batching, shuffling with the seeded generator, fast path."""

from collections import namedtuple

import numpy as np
import pytest

import zerograd as zg
from zerograd.data import DataLoader, Dataset, SampleBatch, TensorDataset, default_collate


def xy(n=10):
    X = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return X, y


class PerItem(Dataset):
    """The same samples as a TensorDataset, without __getitems__; counts the calls."""

    def __init__(self, X, y):
        self.X, self.y, self.calls = X, y, 0

    def __getitem__(self, i):
        self.calls += 1
        return zg.tensor(self.X[i]), int(self.y[i])

    def __len__(self):
        return len(self.X)


class CountingTensorDataset(TensorDataset):
    calls = 0

    def __getitem__(self, index):
        self.calls += 1
        return super().__getitem__(index)


def labels(loader):
    return [t.tolist() for _, t in loader]


def test_len_and_batch_sizes_with_a_partial_last_batch():
    loader = DataLoader(TensorDataset(*xy(10)), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [x.shape for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last():
    loader = DataLoader(TensorDataset(*xy(10)), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    exact = DataLoader(TensorDataset(*xy(8)), batch_size=4, drop_last=True)
    assert len(exact) == 2 and len(list(exact)) == 2


def test_batch_larger_than_dataset_and_empty_dataset():
    assert labels(DataLoader(TensorDataset(*xy(3)), batch_size=5)) == [[0, 1, 2]]
    assert len(DataLoader(TensorDataset(*xy(3)), batch_size=5, drop_last=True)) == 0
    empty = DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=2, shuffle=True)
    assert len(empty) == 0 and list(empty) == []


def test_batches_are_tensors_with_the_datasets_dtypes():
    x, t = next(iter(DataLoader(TensorDataset(*xy()), batch_size=3)))
    assert isinstance(x, zg.Tensor) and isinstance(t, zg.Tensor)
    assert x.dtype == np.float32 and t.dtype == np.int64


def test_shuffle_repeats_after_manual_seed_and_differs_with_another_seed():
    loader = DataLoader(TensorDataset(*xy(50)), batch_size=8, shuffle=True)
    zg.manual_seed(0)
    first = labels(loader)
    zg.manual_seed(0)
    again = labels(loader)
    zg.manual_seed(1)
    other = labels(loader)
    assert first == again
    assert first != other
    assert sorted(sum(first, [])) == list(range(50))  # every sample once per pass


def test_each_pass_draws_a_new_order():
    loader = DataLoader(TensorDataset(*xy(50)), batch_size=50, shuffle=True)
    zg.manual_seed(0)
    assert labels(loader) != labels(loader)


def test_generator_argument_is_used_instead_of_the_library_generator():
    ds = TensorDataset(*xy(40))
    a = labels(DataLoader(ds, batch_size=40, shuffle=True, generator=np.random.default_rng(7)))
    zg.manual_seed(123)
    state = zg.get_rng_state()
    b = labels(DataLoader(ds, batch_size=40, shuffle=True, generator=np.random.default_rng(7)))
    assert a == b
    assert zg.get_rng_state() == state  # the library generator was not touched


def test_getitems_path_equals_per_item_path():
    X, y = xy(23)
    fast, slow = CountingTensorDataset(X, y), PerItem(X, y)
    for shuffle in (False, True):
        zg.manual_seed(5)
        a = list(DataLoader(fast, batch_size=5, shuffle=shuffle))
        zg.manual_seed(5)
        b = list(DataLoader(slow, batch_size=5, shuffle=shuffle))
        assert len(a) == len(b) == 5
        for (xa, ta), (xb, tb) in zip(a, b):
            np.testing.assert_array_equal(xa.data, xb.data)
            np.testing.assert_array_equal(ta.data, tb.data)
            assert xa.dtype == xb.dtype and ta.dtype == tb.dtype
    assert fast.calls == 0  # one __getitems__ per batch, no per-sample calls
    assert slow.calls == 2 * 23


def test_custom_collate_fn_sees_the_samples():
    seen = []

    def collate(samples):
        seen.append(isinstance(samples, SampleBatch))
        return [int(t.item()) for _, t in samples]

    loader = DataLoader(TensorDataset(*xy(6)), batch_size=4, collate_fn=collate)
    assert list(loader) == [[0, 1, 2, 3], [4, 5]]
    assert seen == [True, True]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be positive, got 0"),
        ({"batch_size": -2}, ValueError, "positive"),
        ({"batch_size": 2.5}, TypeError, "positive integer, got 2.5"),
        ({"batch_size": True}, TypeError, "positive integer"),
        ({"batch_size": None}, TypeError, "positive integer"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"drop_last": 1}, TypeError, "drop_last must be True or False"),
        ({"collate_fn": 3}, TypeError, "collate_fn must be callable"),
        ({"generator": 42}, TypeError, "numpy.random.default_rng"),
    ],
)
def test_argument_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(*xy()), **kwargs)


def test_dataset_must_be_map_style():
    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader(iter(range(3)))


def test_default_collate_numbers_and_nesting():
    Pair = namedtuple("Pair", "a b")
    batch = [
        {"x": np.ones(2, np.float32), "n": (1, 2.5), "name": "a", "p": Pair(True, 1)},
        {"x": np.zeros(2, np.float32), "n": (3, 4.5), "name": "b", "p": Pair(False, 2)},
    ]
    out = default_collate(batch)
    assert out["x"].shape == (2, 2)
    n_int, n_float = out["n"]
    assert n_int.dtype == np.int64 and n_int.tolist() == [1, 3]
    assert n_float.dtype == np.float32  # Python floats get the default dtype, as zg.tensor does
    assert out["name"] == ["a", "b"]
    assert isinstance(out["p"], Pair) and out["p"].a.dtype == np.bool_
    assert out["p"].b.tolist() == [1, 2]


def test_default_collate_stacks_tensors_and_numpy_scalars():
    out = default_collate([zg.tensor([1.0, 2.0]), zg.tensor([3.0, 4.0])])
    np.testing.assert_array_equal(out.data, [[1, 2], [3, 4]])
    assert default_collate([np.float64(1), np.float64(2)]).dtype == np.float64


def test_default_collate_errors():
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="numbers of fields"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="got object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="non-empty"):
        default_collate([])
