"""zerograd.distributed: data-parallel training over MPI (mpi4py).

Each of N processes (ranks) holds the same model and takes its shard of every global batch
(``DistributedLoader``); ``DistributedDataParallel`` keeps the replicas equal by summing the
gradients over the ranks with ``Allreduce``; ``fit`` and ``evaluate`` drive both, printing and
writing checkpoints on rank 0 only. The result equals single-process training on the same
global batches (``SyncBatchNorm`` extends that to batch norm). mpi4py is imported by ``init()``
only: ``pip install "zerograd[mpi]"``, then ``mpiexec -n 2 python script.py``. See
docs/distributed.md.
"""

from .comm import (
    World,
    abort,
    abort_on_error,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    get_rank,
    get_world_size,
    init,
    is_initialized,
    is_main_process,
)
from .loader import DistributedLoader
from .norm import SyncBatchNorm
from .parallel import DistributedDataParallel

__all__ = [
    "World",
    "init",
    "is_initialized",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "barrier",
    "all_reduce",
    "broadcast",
    "all_gather_object",
    "abort",
    "abort_on_error",
    "DistributedLoader",
    "DistributedDataParallel",
    "SyncBatchNorm",
]
