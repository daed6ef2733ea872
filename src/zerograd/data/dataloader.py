"""``DataLoader`` and ``default_collate``: batches of Tensors from a dataset, like PyTorch's.

The loader draws a permutation of the indices when iteration starts (from the library's seeded
generator, so ``zerograd.manual_seed`` repeats the order), cuts it into batches and fetches each
batch with one ``dataset.__getitems__(indices)`` call when the dataset has one (``TensorDataset``,
``MNIST``: one fancy-indexing call per batch), else with ``dataset[i]`` per sample. The samples go
through ``collate_fn``.

Differences from PyTorch, on purpose: no worker processes, samplers or pinned memory (a NumPy batch
is one indexing call away); ``generator`` is a ``numpy.random.Generator``; ``default_collate``
makes Python floats the default dtype (float32), as ``zerograd.tensor`` does, where PyTorch makes
float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy

from .. import backend
from ..autograd import Tensor
from .dataset import SampleBatch

__all__ = ["DataLoader", "default_collate"]


def _stack(arrays, batch_len: int):
    try:
        return numpy.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(
            f"default_collate: can't stack {batch_len} samples of different shapes {shapes[:4]}; "
            "every sample must have the same shape (resize or pad them, or pass a collate_fn)."
        ) from None


def default_collate(batch):
    """Stack a list of samples into a batch of Tensors, recursing into tuples, lists and dicts.

    Like ``torch.utils.data.default_collate``: Tensors and NumPy arrays are stacked along a new
    first dimension, Python ints become int64, floats the default dtype (float32), bools bool;
    strings stay a list; a dict of samples becomes a dict of batches; a tuple or list of fields
    becomes a list of batches (a namedtuple stays one). A ``SampleBatch`` from ``__getitems__``
    is already stacked and is only wrapped.

    Examples
    --------
    >>> import numpy as np
    >>> x, y = default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 0)])
    >>> x.shape, y.tolist(), y.dtype
    ((2, 3), [1, 0], dtype('int64'))
    """
    if isinstance(batch, SampleBatch):
        return batch.to_tensors()
    if not isinstance(batch, Sequence) or len(batch) == 0:
        raise TypeError(
            f"default_collate: expected a non-empty list of samples, got {type(batch).__name__}"
            + (" of length 0." if isinstance(batch, Sequence) else ".")
        )
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor.wrap(_stack([b.data for b in batch], len(batch)))
    if backend.is_array(elem) or isinstance(elem, numpy.generic):
        if elem.dtype.kind not in "biufc":
            raise TypeError(
                f"default_collate: can't make a tensor of arrays of dtype {elem.dtype}."
            )
        return Tensor.wrap(_stack([numpy.asarray(b) for b in batch], len(batch)))
    if isinstance(elem, bool):
        return Tensor.wrap(numpy.array(batch, dtype=numpy.bool_))
    if isinstance(elem, int):
        return Tensor.wrap(numpy.array(batch, dtype=numpy.int64))
    if isinstance(elem, float):
        return Tensor.wrap(numpy.array(batch, dtype=backend.get_default_dtype()))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) > 1:
            raise ValueError(
                f"default_collate: the samples have different numbers of fields {sorted(sizes)}; "
                "each sample must be a tuple/list of the same length."
            )
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(
        f"default_collate: samples must be Tensors, NumPy arrays, numbers, strings, dicts, "
        f"tuples or lists; got {type(elem).__name__}. Pass a collate_fn for other types."
    )


class DataLoader:
    """Iterate over a dataset in batches, like ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    dataset : Dataset
        Anything with ``__getitem__`` and ``__len__``; ``__getitems__(indices)`` is used when
        present (one call per batch).
    batch_size : int
        Samples per batch (positive).
    shuffle : bool
        Draw a new random order at the start of every pass over the data.
    drop_last : bool
        Drop the last batch if it is smaller than ``batch_size``.
    collate_fn : callable, optional
        Turns a list of samples into a batch; ``default_collate`` by default.
    generator : numpy.random.Generator, optional
        Where the shuffling order comes from. By default the library's generator
        (``zerograd.backend.generator()``), looked up when each pass starts, so
        ``zerograd.manual_seed(n)`` before iterating repeats the order.
    transform : callable, optional
        Applied to the first element (the inputs) of every collated batch — per batch, so
        augmentation costs one vectorised call per batch; PyTorch applies transforms per sample
        in the dataset instead. It receives the batch's array (``Tensor.data``, e.g. (N, C, H, W)
        images) and returns an array of the same dtype, such as a ``zerograd.data.transforms``
        object; the targets and any other elements pass through untouched. A batch that is a
        single Tensor is transformed as a whole.

    Examples
    --------
    >>> import numpy as np, zerograd
    >>> from zerograd.data import TensorDataset
    >>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2, shuffle=True)
    >>> len(loader)
    3
    >>> _ = zerograd.manual_seed(0)
    >>> [y.tolist() for x, y in loader]
    [[2, 4], [3, 0], [1]]
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn=None,
        generator: numpy.random.Generator | None = None,
        transform=None,
    ):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"DataLoader: the dataset must define __getitem__ and __len__ (a map-style "
                f"dataset), got {type(dataset).__name__}."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)):
            raise TypeError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}."
            )
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be positive, got {batch_size}.")
        for name, value in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(value, (bool, numpy.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {value!r}.")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(
                f"DataLoader: collate_fn must be callable or None, got {type(collate_fn).__name__}."
            )
        if transform is not None and not callable(transform):
            raise TypeError(
                f"DataLoader: transform must be callable or None, got {type(transform).__name__}."
            )
        if generator is not None and not isinstance(generator, numpy.random.Generator):
            raise TypeError(
                f"DataLoader: generator must be a numpy.random.Generator (e.g. "
                f"numpy.random.default_rng(0)) or None, got {type(generator).__name__}."
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.generator = generator
        self.transform = transform

    def __len__(self) -> int:
        """The number of batches in one pass."""
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        # the order is drawn here, when the pass starts, as PyTorch's RandomSampler does
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or backend.generator()).permutation(n)
        else:
            order = numpy.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        return self._batches(order, stop)

    def _batches(self, order, stop: int):
        getitems = getattr(self.dataset, "__getitems__", None)
        dataset, collate, transform = self.dataset, self.collate_fn, self.transform
        for start in range(0, stop, self.batch_size):
            indices = order[start : start + self.batch_size]
            if getitems is not None:
                samples = getitems(indices)
            else:
                samples = [dataset[int(i)] for i in indices]
            batch = collate(samples)
            yield batch if transform is None else self._transform_inputs(batch)

    def _transform_inputs(self, batch):
        """The batch with ``transform`` applied to its first element (or to it, if a Tensor)."""
        if isinstance(batch, Tensor):
            return Tensor(self.transform(batch.data))
        if not isinstance(batch, (tuple, list)) or len(batch) == 0:
            raise TypeError(
                f"DataLoader: transform needs a batch that is a Tensor or a non-empty tuple/list "
                f"whose first element is the inputs; collate_fn returned "
                f"{type(batch).__name__}. Apply the transform in a collate_fn instead."
            )
        x = batch[0]
        x = Tensor(self.transform(x.data)) if isinstance(x, Tensor) else self.transform(x)
        items = [x, *batch[1:]]
        if isinstance(batch, list):
            return items
        if hasattr(batch, "_fields"):  # namedtuple
            return type(batch)(*items)
        return tuple(items)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}"
            + (f", transform={self.transform!r})" if self.transform is not None else ")")
        )
