"""``DistributedLoader``: each rank's shard of every global batch of a ``DataLoader``.

It plays the part of PyTorch's ``DistributedSampler`` (our ``DataLoader`` has no sampler
argument, so it wraps the loader instead): the wrapped loader's ``batch_size`` is the global batch
B; every pass draws one order of the whole dataset from ``(seed, epoch)``, the same on every
rank, cuts it into global batches of B exactly as a single process would, and gives rank r its
slice of each. The slices differ in size by at most one sample (B = 100 over 3 ranks: 34, 33,
33), and the last, shorter batch is split the same way, so the N shards of a step are always one
global batch of the single-process run.
"""

from __future__ import annotations

import numpy

from .. import backend
from ..autograd import Tensor
from . import comm

__all__ = ["DistributedLoader"]


def _shard_bounds(size: int, num_replicas: int, rank: int) -> tuple[int, int]:
    """[lo, hi) of rank's slice of a batch of ``size``: the first ``size % num_replicas`` ranks
    take one sample more (``numpy.array_split``'s rule), so rank 0's slice is never empty."""
    q, extra = divmod(size, num_replicas)
    lo = rank * q + min(rank, extra)
    return lo, lo + q + (rank < extra)


def _empty(batch):
    """``batch`` (Tensors, possibly in tuples, lists or dicts) with 0 rows."""
    if isinstance(batch, Tensor):
        return Tensor(batch.data[:0])
    if isinstance(batch, dict):
        return {k: _empty(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        items = [_empty(b) for b in batch]
        return items if isinstance(batch, list) else tuple(items)
    return batch[:0]


class DistributedLoader:
    """This rank's part of every global batch of ``loader``, the same order on every rank.

    Parameters
    ----------
    loader : DataLoader
        The single-process loader: its ``dataset``, ``batch_size`` (the global batch),
        ``shuffle``, ``drop_last``, ``collate_fn`` and ``transform`` are used; its ``generator``
        is not (the order comes from ``seed`` and the epoch, so that every rank draws the same).
    num_replicas, rank : int, optional
        The world's size and this process's rank; by default those of ``init()``.
    seed : int, optional
        Seed of the shuffling order; by default one drawn from zerograd's generator on rank 0
        and broadcast (so ``zerograd.manual_seed`` still decides it). Pass the same seed to
        resume a run with the same orders.

    Each pass uses the epoch set by ``set_epoch(epoch)`` (``fit`` calls it) and then counts it
    up by one, so a plain loop gets a new order every pass too. ``len()`` is the number of global
    batches, i.e. of optimizer steps.

    Examples
    --------
    >>> import numpy as np
    >>> from zerograd.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(np.zeros((10, 2), np.float32), np.arange(10))
    >>> loader = DataLoader(ds, batch_size=4)
    >>> [y.tolist() for x, y in DistributedLoader(loader, num_replicas=3, rank=0, seed=0)]
    [[0, 1], [4, 5], [8]]
    >>> [y.tolist() for x, y in DistributedLoader(loader, num_replicas=3, rank=2, seed=0)]
    [[3], [7], []]
    """

    def __init__(
        self,
        loader,
        num_replicas: int | None = None,
        rank: int | None = None,
        seed: int | None = None,
    ):
        needed = ("dataset", "batch_size", "shuffle", "drop_last", "collate_fn", "transform")
        missing = [name for name in needed if not hasattr(loader, name)]
        if missing:
            raise TypeError(
                f"DistributedLoader: expected a zerograd DataLoader (it reads its "
                f"{', '.join(needed)}), got {type(loader).__name__} without {', '.join(missing)}."
            )
        if num_replicas is None:
            num_replicas = comm.get_world_size()
        if rank is None:
            rank = comm.get_rank()
        if not (isinstance(num_replicas, int) and num_replicas >= 1):
            raise ValueError(
                f"DistributedLoader: num_replicas must be a positive int, got {num_replicas!r}."
            )
        if not (isinstance(rank, int) and 0 <= rank < num_replicas):
            raise ValueError(
                f"DistributedLoader: rank must be in [0, {num_replicas - 1}], got {rank!r}."
            )
        if loader.batch_size < num_replicas:
            raise ValueError(
                f"DistributedLoader: the global batch_size {loader.batch_size} is smaller than "
                f"the {num_replicas} ranks, so some ranks would get no sample; use a batch_size "
                f"of at least {num_replicas}."
            )
        if seed is None:
            drawn = numpy.array([backend.generator().integers(2**62)], dtype=numpy.int64)
            seed = int(comm.broadcast(drawn)[0])
        elif isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
            raise ValueError(f"DistributedLoader: seed must be a non-negative int, got {seed!r}.")
        self.loader, self.dataset = loader, loader.dataset
        self.num_replicas, self.rank, self.seed = num_replicas, rank, int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order for the next pass (``DistributedSampler.set_epoch``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def batch_size(self) -> int:
        """The global batch size (the wrapped loader's)."""
        return self.loader.batch_size

    def _global_sizes(self) -> list[int]:
        n, b = len(self.dataset), self.loader.batch_size
        sizes = [b] * (n // b)
        if n % b and not self.loader.drop_last:
            sizes.append(n % b)
        return sizes

    @property
    def has_empty_shards(self) -> bool:
        """True when a global batch (the last one) has fewer samples than there are ranks."""
        return any(size < self.num_replicas for size in self._global_sizes())

    def __iter__(self):
        n = len(self.dataset)
        if self.loader.shuffle:
            order = numpy.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = numpy.arange(n)
        self.epoch += 1
        return self._shards(order)

    def _shards(self, order):
        start = 0
        for size in self._global_sizes():
            indices = order[start : start + size]  # one global batch
            start += size
            lo, hi = _shard_bounds(size, self.num_replicas, self.rank)
            if hi > lo:
                yield self._fetch(indices[lo:hi], transform=True)
            else:  # a last batch smaller than the world: this rank sits the step out
                yield _empty(self._fetch(indices[:1], transform=False))

    def _fetch(self, indices, transform: bool):
        loader = self.loader
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            samples = getitems(indices)
        else:
            samples = [self.dataset[int(i)] for i in indices]
        batch = loader.collate_fn(samples)
        if transform and loader.transform is not None:
            batch = loader._transform_inputs(batch)  # the DataLoader's own per-batch transform
        return batch

    def __repr__(self) -> str:
        return (
            f"DistributedLoader({self.loader!r}, rank {self.rank} of {self.num_replicas}, "
            f"seed={self.seed})"
        )
