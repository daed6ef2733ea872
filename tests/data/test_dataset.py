"""Dataset, TensorDataset, Subset, random_split, SampleBatch."""

import numpy as np
import pytest

import zerograd as zg
from zerograd.data import Dataset, SampleBatch, Subset, TensorDataset, random_split


def xy(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return X, y


def test_dataset_base_needs_getitem():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


def test_tensor_dataset_items_are_tensors_of_rows():
    X, y = xy()
    ds = TensorDataset(zg.tensor(X), y)
    assert len(ds) == 10
    x, t = ds[3]
    assert isinstance(x, zg.Tensor) and isinstance(t, zg.Tensor)
    np.testing.assert_array_equal(x.data, X[3])
    assert t.shape == () and t.item() == 3 % 4
    np.testing.assert_array_equal(ds[-1][0].data, X[-1])


def test_tensor_dataset_shares_numpy_memory():
    X, y = xy()
    ds = TensorDataset(X, y)
    assert np.shares_memory(ds.tensors[0].data, X)


def test_tensor_dataset_checks_first_dims():
    with pytest.raises(ValueError, match=r"same size in the first dimension.*\[10, 9\].*\(9,\)"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))


def test_tensor_dataset_needs_a_tensor():
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.array(1.0))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(np.zeros(2), [1, 2])


def test_tensor_dataset_index_errors():
    ds = TensorDataset(*xy(5))
    with pytest.raises(IndexError, match="index 5 is out of range for 5"):
        ds[5]
    with pytest.raises(TypeError, match="integer"):
        ds[1.0]


def test_getitems_is_a_batch_equal_to_the_items():
    X, y = xy()
    ds = TensorDataset(X, y)
    idx = np.array([7, 2, 2, 0])
    batch = ds.__getitems__(idx)
    assert isinstance(batch, SampleBatch) and len(batch) == 4
    np.testing.assert_array_equal(batch.collated[0], X[idx])
    np.testing.assert_array_equal(batch.collated[1], y[idx])
    # as a sequence it gives the same samples as indexing one by one
    for k, i in enumerate(idx):
        for a, b in zip(batch[k], ds[int(i)]):
            np.testing.assert_array_equal(a.data, b.data)
    assert [int(s[1].item()) for s in batch] == [int(v) for v in y[idx]]
    assert len(batch[1:3]) == 2


def test_getitems_rejects_non_integer_indices():
    ds = TensorDataset(*xy())
    with pytest.raises(TypeError, match="integers"):
        ds.__getitems__(np.array([0.5, 1.0]))


def test_subset_maps_indices():
    X, y = xy()
    sub = Subset(TensorDataset(X, y), [9, 4, 1])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[1][0].data, X[4])
    batch = sub.__getitems__([2, 0])
    np.testing.assert_array_equal(batch.collated[0], X[[1, 9]])
    with pytest.raises(IndexError, match="out of range"):
        sub[3]


def test_subset_of_a_dataset_without_getitems():
    class Squares(Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 10

    sub = Subset(Squares(), [3, 5])
    assert sub.__getitems__([1, 0]) == [25, 9]


def test_subset_rejects_bad_indices():
    with pytest.raises(TypeError, match="1-D sequence of integers"):
        Subset(TensorDataset(*xy()), [[1, 2]])


def test_random_split_counts_are_disjoint_and_cover():
    ds = TensorDataset(*xy(20))
    zg.manual_seed(0)
    parts = random_split(ds, [12, 5, 3])
    assert [len(p) for p in parts] == [12, 5, 3]
    all_idx = np.concatenate([p.indices for p in parts])
    assert sorted(all_idx.tolist()) == list(range(20))


def test_random_split_fractions_follow_pytorch():
    ds = TensorDataset(*xy(5))
    assert [len(p) for p in random_split(ds, [0.5, 0.5])] == [3, 2]
    ds = TensorDataset(*xy(10))
    assert [len(p) for p in random_split(ds, [0.34, 0.33, 0.33])] == [4, 3, 3]


def test_random_split_is_seeded():
    ds = TensorDataset(*xy(30))
    zg.manual_seed(3)
    a = random_split(ds, [20, 10])[0].indices
    zg.manual_seed(3)
    b = random_split(ds, [20, 10])[0].indices
    zg.manual_seed(4)
    c = random_split(ds, [20, 10])[0].indices
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g1 = random_split(ds, [20, 10], generator=np.random.default_rng(1))[0].indices
    g2 = random_split(ds, [20, 10], generator=np.random.default_rng(1))[0].indices
    np.testing.assert_array_equal(g1, g2)


def test_random_split_errors():
    ds = TensorDataset(*xy(10))
    with pytest.raises(ValueError, match=r"sum to 9 but the dataset has 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [11, -1])
    with pytest.raises(ValueError, match="empty"):
        random_split(ds, [])
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        random_split(ds, [5, 5], generator=0)
