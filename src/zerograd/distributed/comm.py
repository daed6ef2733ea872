"""The MPI world: ``init()``, rank and size, the few collectives the rest needs, and aborting.

mpi4py is imported by ``init()`` only, so ``import zerograd`` works without it. Until ``init()``
runs (or when it is skipped) the world is one process: ``get_rank()`` is 0, ``get_world_size()``
is 1 and the collectives return their input unchanged, so the same script runs alone or under
``mpiexec``.

``init()`` also gives this process's BLAS pool its share of the node's cores (threads.py), so N
ranks on one machine do not run N pools of one thread per core.

One rank that fails while the others wait in a collective would hang the job for ever. So
``init()`` installs an exception hook, and ``abort_on_error()`` is a context manager for code that
may ``sys.exit``: either prints the error with the rank that raised it and calls ``MPI_Abort``,
which ends every rank and makes ``mpiexec`` exit with status 1.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections import namedtuple

import numpy

from ..autograd import Tensor
from . import threads as _thread_settings

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
]

# threads: this process's BLAS threads after init() (None where threadpoolctl could not tell)
World = namedtuple("World", ["rank", "world_size", "threads"], defaults=[None])

_MPI = None  # the mpi4py.MPI module, once init() ran
_comm = None  # MPI.COMM_WORLD
_threads = None  # World.threads
_node = None  # (ranks on this node, whether this is the node's first), once init() ran

INSTALL_HINT = (
    'pip install "zerograd[mpi]" (mpi4py and the MPICH library, with its mpiexec), then run '
    "mpiexec -n 2 python your_script.py"
)


def _import_mpi():
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:  # RuntimeError: mpi4py found no MPI library
        raise ImportError(
            f"zerograd.distributed needs mpi4py and an MPI library ({type(e).__name__}: {e}). "
            f"Install them with {INSTALL_HINT}."
        ) from None
    return MPI


def init(abort_on_error: bool = True, threads: int | None = None) -> World:
    """Join the MPI world started by ``mpiexec`` (a world of one without it); return
    ``World(rank, world_size, threads)``.

    Like ``torch.distributed.init_process_group("mpi")``; calling it again returns the same
    world. With ``abort_on_error`` an exception that no code catches on any rank prints the rank
    and the traceback and aborts every rank (``MPI_Abort``), instead of leaving the others
    waiting for it.

    It also sets the threads of this process's BLAS (and OpenMP) pool, so that N ranks on one
    machine do not run N pools of one thread per core on the same cores. ``threads=None`` gives
    each rank its share: the cores this process may use (its CPU affinity) divided by the
    ranks on its node, at least 1; when ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or
    ``MKL_NUM_THREADS`` is set, the pool is left as that variable made it. A number sets that
    many threads, whatever the environment says. Setting the pool needs threadpoolctl (in the
    ``mpi`` extra); without it ``threads=None`` prints one line saying what to install and
    changes nothing. ``World.threads`` is the pool's size afterwards (None when threadpoolctl is
    missing). The pool is set on the first call, and again on a later call given ``threads``.

    Raises
    ------
    ImportError
        When mpi4py or the MPI library is missing, or ``threads`` is a number and threadpoolctl
        is missing; the message says what to install.
    ValueError
        When ``threads`` is not None or a positive int.
    """
    global _MPI, _comm, _threads
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
    ):
        raise ValueError(
            f"zerograd.distributed.init: threads must be None (this process's share of the "
            f"cores) or a positive int, got {threads!r}."
        )
    if threads is not None:
        _thread_settings.require_threadpoolctl(threads)
    if _comm is None:
        MPI = _import_mpi()
        _MPI, _comm = MPI, MPI.COMM_WORLD
        if abort_on_error:
            previous = sys.excepthook

            def hook(kind, value, tb):
                if get_world_size() == 1:
                    previous(kind, value, tb)
                    return
                _report(kind, value, tb)
                abort(code=1)

            sys.excepthook = hook
        _threads = _configure_threads(threads)
    elif threads is not None:
        _threads = _configure_threads(threads)
    return World(_comm.Get_rank(), _comm.Get_size(), _threads)


def _configure_threads(threads):
    """``threads.configure`` with this node's ranks, counted once (a collective) on the first
    call: MPI's shared-memory split of the world groups the ranks that share this machine's
    memory, hence its cores."""
    global _node
    if _node is None:
        node = _comm.Split_type(_MPI.COMM_TYPE_SHARED)
        _node = node.Get_size(), node.Get_rank() == 0
        node.Free()
    ranks_on_node, first_on_node = _node
    return _thread_settings.configure(threads, ranks_on_node, first_on_node)


def is_initialized() -> bool:
    """True once ``init()`` has run in this process."""
    return _comm is not None


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1 (0 before ``init()``; PyTorch raises instead)."""
    return 0 if _comm is None else _comm.Get_rank()


def get_world_size() -> int:
    """The number of processes (1 before ``init()``; PyTorch raises instead)."""
    return 1 if _comm is None else _comm.Get_size()


def is_main_process() -> bool:
    """True on rank 0, the one that prints and writes files."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every rank gets here."""
    if _comm is not None:
        _comm.Barrier()


def _buffer(array):
    """The contiguous NumPy array behind ``array`` (a Tensor or an array) that MPI can fill."""
    a = array.data if isinstance(array, Tensor) else array
    if not isinstance(a, numpy.ndarray):
        raise TypeError(
            f"zerograd.distributed: collectives take NumPy arrays or Tensors, got "
            f"{type(array).__name__}."
        )
    if not a.flags.c_contiguous:
        raise ValueError(
            "zerograd.distributed: collectives need a C-contiguous array; pass "
            "numpy.ascontiguousarray(a) and copy the result back."
        )
    return a


def all_reduce(array, op: str = "sum"):
    """Combine ``array`` element-wise over every rank, in place, and return it.

    ``op`` is "sum", "max" or "min" (``torch.distributed.all_reduce`` with ``ReduceOp``). Every
    rank must call it with an array of the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> all_reduce(np.array([1.0, 2.0])).tolist()  # a world of one: unchanged
    [1.0, 2.0]
    """
    ops = ("sum", "max", "min")
    if op not in ops:
        raise ValueError(f"all_reduce: op must be one of {ops}, got {op!r}.")
    a = _buffer(array)
    if _comm is not None and _comm.Get_size() > 1:
        mpi_op = {"sum": _MPI.SUM, "max": _MPI.MAX, "min": _MPI.MIN}[op]
        _comm.Allreduce(_MPI.IN_PLACE, a, op=mpi_op)
    return array


def broadcast(array, src: int = 0):
    """Overwrite ``array`` on every rank with rank ``src``'s, in place, and return it."""
    a = _buffer(array)
    if _comm is not None and _comm.Get_size() > 1:
        _comm.Bcast(a, root=src)
    return array


def all_gather_object(obj) -> list:
    """Every rank's ``obj`` (any picklable value), in rank order, on every rank."""
    if _comm is None:
        return [obj]
    return _comm.allgather(obj)


def _report(kind, value, tb) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    print(
        f"zerograd.distributed: rank {get_rank()} of {get_world_size()} failed; aborting every "
        f"rank.\n{text}",
        file=sys.stderr,
        flush=True,
    )


def abort(message: str | None = None, code: int = 1) -> None:
    """End every rank now (``MPI_Abort``), after printing ``message`` with this rank's number.

    Without MPI it exits this process with ``code``.
    """
    if message:
        print(f"zerograd.distributed: rank {get_rank()}: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    if _comm is not None:
        # the launcher forwards our stderr through a pipe and stops forwarding once MPI_Abort
        # has it kill the job: give it a moment to pass the message on (seen lost in CI without)
        time.sleep(0.5)
        _comm.Abort(code)
    os._exit(code)  # MPI_Abort may return before the launcher kills us: never run on


@contextlib.contextmanager
def abort_on_error():
    """Abort every rank when the body raises (``sys.exit`` with an error included) on any rank.

    In a world of one the exception propagates as usual. Use it around code that may
    ``sys.exit`` on one rank only (a missing file on one node): the others would wait in their
    next collective for ever. ``init()``'s hook covers uncaught exceptions but not ``sys.exit``.
    """
    try:
        yield
    except SystemExit as e:
        if get_world_size() == 1 or e.code in (None, 0):
            raise
        message = e.code if isinstance(e.code, str) else f"exit status {e.code}"
        abort(f"exited: {message}", code=e.code if isinstance(e.code, int) else 1)
    except BaseException:
        if get_world_size() == 1:
            raise
        _report(*sys.exc_info())
        abort(code=1)
