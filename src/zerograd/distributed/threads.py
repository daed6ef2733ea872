"""Threads per process: how many BLAS threads each rank of a node may use.

NumPy's BLAS (OpenBLAS in NumPy's wheels) starts a pool of one thread per core when it loads. N
ranks on one machine then run N pools on the same cores, and MPICH's ranks busy-wait inside
``Allreduce``: 2 ranks x 2 threads on 2 cores made an epoch of the MNIST sample 10-20 times
slower than one thread per rank (docs/distributed.md, "Threads per process"). ``init()``
therefore limits the pool to this process's share of the cores: the cores it may run on divided
by the ranks on its node, at least 1. NumPy is imported by then, so ``OPENBLAS_NUM_THREADS`` can
no longer act; threadpoolctl changes the loaded libraries' pools instead. A user who set one of
``THREAD_VARS`` chose already: the pool is left alone.
"""

from __future__ import annotations

import os
import sys

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_limiter = None  # threadpoolctl's limiter, kept for the life of the process


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (a
    ``taskset``, a batch scheduler's binding), else every core of the machine."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def share(cores: int, ranks_on_node: int) -> int:
    """Each rank's share of ``cores`` when ``ranks_on_node`` ranks run on them, at least 1.

    Examples
    --------
    >>> share(16, 4), share(2, 2), share(2, 3), share(8, 1)
    (4, 1, 1, 8)
    """
    return max(1, cores // ranks_on_node)


def user_thread_vars(environ=None) -> list[str]:
    """The names in ``THREAD_VARS`` that the environment sets (to anything but empty)."""
    environ = os.environ if environ is None else environ
    return [name for name in THREAD_VARS if environ.get(name, "").strip()]


def blas_threads() -> int | None:
    """The threads of this process's BLAS pool (the largest, if several BLAS libraries are
    loaded); None when threadpoolctl is missing or finds no BLAS."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None


def require_threadpoolctl(threads: int) -> None:
    """Raise ImportError, saying what to do, when threadpoolctl is missing: ``init(threads=N)``
    calls it before joining MPI."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        raise ImportError(
            f"zerograd.distributed.init(threads={threads}) needs threadpoolctl to set the BLAS "
            f'threads: pip install "zerograd[mpi]", or set OPENBLAS_NUM_THREADS={threads} '
            "before starting Python and call init() without threads."
        ) from None


def configure(threads: int | None, ranks_on_node: int, first_on_node: bool, environ=None):
    """Set this process's BLAS and OpenMP pools; return the BLAS threads it now has.

    ``threads`` is ``init()``'s argument: a number is set as it is (``require_threadpoolctl``
    checked that it can be); None means the automatic share, ``share(available_cores(),
    ranks_on_node)``, unless the environment sets one of ``THREAD_VARS`` (then nothing changes
    and the return value is what that variable gave). Without threadpoolctl the automatic share
    cannot be set: the first rank of the node prints one line saying what to do, when the share
    is smaller than the pool (more than one rank on the node), and the pools stay as they are.
    """
    global _limiter
    if threads is None:
        if user_thread_vars(environ):
            return blas_threads()
        threads = share(available_cores(), ranks_on_node)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if first_on_node and ranks_on_node > 1:
            print(
                f"zerograd.distributed: threadpoolctl is missing, so each of the {ranks_on_node} "
                f"processes on this node keeps a BLAS pool of one thread per core instead of "
                f'{threads}, and they slow each other down: pip install "zerograd[mpi]", or '
                f"set OPENBLAS_NUM_THREADS={threads}.",
                file=sys.stderr,
                flush=True,
            )
        return None
    # user_api=None: every BLAS and OpenMP library loaded so far (libraries loaded later,
    # torch imported after init(), keep their own defaults)
    _limiter = threadpool_limits(limits=threads)
    return blas_threads()
