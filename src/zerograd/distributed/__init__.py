"""zerograd.distributed: data-parallel training over MPI (mpi4py).

Each of N processes (ranks) holds the same model and takes its shard of every global batch
(``DistributedLoader``); ``DistributedDataParallel`` keeps the replicas equal by summing the
gradients over the ranks with ``Allreduce``; ``fit`` and ``evaluate`` drive both, printing and
writing checkpoints on rank 0 only. The result equals single-process training on the same
global batches (``SyncBatchNorm`` extends that to batch norm). mpi4py is imported by ``init()``
only: ``pip install "zerograd[mpi]"``, then ``mpiexec -n 2 python script.py``. See
docs/distributed.md.
"""

from .comm import *  # noqa: F401,F403  (init, rank and the collectives)
from .comm import __all__ as _comm
from .loader import DistributedLoader
from .norm import SyncBatchNorm
from .parallel import DistributedDataParallel

__all__ = _comm + ["DistributedLoader", "DistributedDataParallel", "SyncBatchNorm"]
