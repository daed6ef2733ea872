"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split`` (PyTorch's names).

A map-style dataset answers ``dataset[i]`` with one sample and ``len(dataset)``. PyTorch's batched
protocol is supported too: a dataset may define ``__getitems__(indices)`` to fetch a whole batch
at once, and the ``DataLoader`` then makes one call per batch instead of one per sample. Such a
dataset returns a ``SampleBatch``: a sequence of the samples (what ``__getitems__`` returns in
PyTorch, so a custom ``collate_fn`` still sees samples) that also carries the batch already
stacked, which ``default_collate`` takes without touching a single sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy

from .. import backend
from ..autograd import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "SampleBatch"]


class Dataset:
    """Base class of map-style datasets, like ``torch.utils.data.Dataset``.

    Subclasses define ``__getitem__(index)`` returning one sample and ``__len__()``; optionally
    ``__getitems__(indices)`` returning a ``SampleBatch`` (or a list of samples) for a batch.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")


class SampleBatch(Sequence):
    """The samples ``dataset[i] for i in indices``, with the batch already stacked.

    ``__getitems__`` returns one of these: ``collated`` holds the batch as arrays in the structure
    of one sample (a tuple of arrays for ``(image, label)`` samples, or a dict, or one array), each
    with the batch as its first dimension. ``default_collate`` turns it into Tensors directly;
    indexing or iterating gives the individual samples (fetched from the dataset on demand), so a
    ``collate_fn`` written for lists of samples works unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
    >>> batch = ds.__getitems__([2, 0])
    >>> len(batch), batch.collated[1].tolist()
    (2, [0, 0])
    """

    def __init__(self, dataset, indices, collated):
        self.dataset = dataset
        self.indices = indices
        self.collated = collated

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self.dataset[int(i)] for i in self.indices[k]]
        return self.dataset[int(self.indices[k])]

    def to_tensors(self):
        """The collated batch with every array wrapped as a Tensor (tuples become lists).

        This is what ``default_collate`` gives for the same samples one by one.
        """
        return _wrap_arrays(self.collated)


def _wrap_arrays(x):
    if backend.is_array(x):
        return Tensor.wrap(x)
    if isinstance(x, dict):
        return {k: _wrap_arrays(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return [_wrap_arrays(v) for v in x]  # default_collate gives lists for tuples, as PyTorch
    return x


def _check_index(index, n: int, who: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)):
        raise TypeError(
            f"{who}: index must be an integer, got {type(index).__name__}. "
            "Use a DataLoader or Subset for many samples."
        )
    if not -n <= index < n:
        raise IndexError(f"{who}: index {index} is out of range for {n} samples.")
    return int(index) % n


def _as_index_array(indices) -> numpy.ndarray:
    idx = numpy.asarray(indices)
    if idx.size == 0:
        return idx.astype(numpy.intp)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise TypeError(
            f"__getitems__: indices must be a 1-D sequence of integers, got {idx.dtype} with "
            f"shape {idx.shape}."
        )
    return idx


class TensorDataset(Dataset):
    """Samples are the i-th rows of equally long tensors, like ``torch.utils.data.TensorDataset``.

    ``TensorDataset(X, y)[i]`` is ``(X[i], y[i])`` as Tensors. NumPy arrays are accepted and
    shared, not copied. Batches are fetched with one fancy-indexing call per tensor
    (``__getitems__``).

    Parameters
    ----------
    *tensors : Tensor or numpy.ndarray
        At least one, all with the same size in their first dimension.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 2), np.float32), np.arange(4))
    >>> len(ds), ds[1][1].item()
    (4, 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor, got none.")
        converted = []
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                if not backend.is_array(t):
                    raise TypeError(
                        f"TensorDataset: argument {k} is a {type(t).__name__}; pass Tensors or "
                        "NumPy arrays (e.g. zerograd.tensor(data))."
                    )
                t = Tensor.wrap(t)
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: argument {k} is a 0-d tensor; every tensor needs a first "
                    "dimension indexing the samples."
                )
            converted.append(t)
        sizes = [t.shape[0] for t in converted]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(t.shape) for t in converted)
            raise ValueError(
                f"TensorDataset: all tensors must have the same size in the first dimension, got "
                f"sizes {sizes} (shapes {shapes})."
            )
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        i = _check_index(index, len(self), "TensorDataset")
        return tuple(Tensor.wrap(backend.as_array(t.data[i])) for t in self.tensors)

    def __getitems__(self, indices) -> SampleBatch:
        idx = _as_index_array(indices)
        return SampleBatch(self, idx, tuple(t.data[idx] for t in self.tensors))

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, like ``torch.utils.data.Subset``.

    Examples
    --------
    >>> import numpy as np
    >>> sub = Subset(TensorDataset(np.arange(10)), [9, 3])
    >>> len(sub), sub[0][0].item()
    (2, 9)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        idx = numpy.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(numpy.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(
                f"Subset: indices must be a 1-D sequence of integers, got {idx.dtype} with shape "
                f"{idx.shape}."
            )
        self.indices = idx

    def __getitem__(self, index):
        i = _check_index(index, len(self), "Subset")
        return self.dataset[int(self.indices[i])]

    def __getitems__(self, indices):
        base = self.indices[_as_index_array(indices)]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(base)
        return [self.dataset[int(i)] for i in base]

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(n: int, lengths) -> list:
    """PyTorch's rule: fractions summing to 1 take floor(n * f) each, the remainder goes one by
    one to the first splits; otherwise the lengths are counts that must sum to n."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give counts or fractions.")
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must lie in [0, 1], got {lengths}.")
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    for v in lengths:
        if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)) or v < 0:
            raise ValueError(
                f"random_split: lengths must be non-negative integers or fractions summing to 1, "
                f"got {lengths}."
            )
    if total != n:
        raise ValueError(
            f"random_split: the lengths {lengths} sum to {total} but the dataset has {n} samples."
        )
    return [int(v) for v in lengths]


def random_split(dataset, lengths, generator: numpy.random.Generator | None = None) -> list:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    Like ``torch.utils.data.random_split``: ``lengths`` are counts summing to ``len(dataset)`` or
    fractions summing to 1. The permutation comes from ``generator`` (a
    ``numpy.random.Generator``) or else the library's seeded generator, so ``zerograd.manual_seed``
    repeats the split.

    Examples
    --------
    >>> import numpy as np
    >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2])
    >>> len(train), len(val)
    (8, 2)
    """
    if generator is not None and not isinstance(generator, numpy.random.Generator):
        raise TypeError(
            f"random_split: generator must be a numpy.random.Generator (e.g. "
            f"numpy.random.default_rng(0)) or None, got {type(generator).__name__}."
        )
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    order = (generator or backend.generator()).permutation(n)
    offsets = numpy.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
