"""``DistributedDataParallel``: one model replica per rank, kept identical.

At construction rank 0's parameters and buffers are copied to every rank. After each backward
pass ``sync_gradients()`` sums the gradients over the ranks with ``Allreduce`` on a few flat
buffers ("buckets", at most ``bucket_cap_mb`` each; one call per bucket, not one per parameter).
Every rank then applies the same update to the same weights, so the replicas never drift apart.

Why a sum and not PyTorch's mean: ``fit`` backpropagates each rank's mean loss over its shard
scaled by the shard's share of the global batch, n_r / B (``loss.backward(n_r / B)``). The sum of
those gradients is exactly the gradient of the mean loss over the global batch, also when the
shards differ in size (B not divisible by N, the last batch). PyTorch's mean over ranks equals it
only for equal shards.

Batch norm's running statistics are not gradients: each rank's follow its own shard.
``sync_buffers()`` (called by ``evaluate`` and at the end of every ``fit`` epoch) averages the
floating buffers over the ranks and copies the others (``num_batches_tracked``) from rank 0.
``SyncBatchNorm`` instead normalises with the global batch's statistics during training.
"""

from __future__ import annotations

import numpy

from ..autograd import Tensor
from ..nn.module import Module
from . import comm

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the MPI world (``torch.nn.parallel.
    DistributedDataParallel``).

    ``forward`` is the module's; ``state_dict`` keys start with ``module.`` as in PyTorch (save
    ``ddp.module.state_dict()``; ``fit`` hands the inner module to its callbacks, so checkpoints
    load into a plain model at any world size).

    Differences from PyTorch, on purpose: the gradients are summed by an explicit
    ``sync_gradients()`` after ``backward`` (there are no autograd hooks to overlap it with),
    and each rank scales its loss by its share of the global batch first (see the module's
    docstring); ``fit`` does both. Buffers are synced on request (``sync_buffers()``), not
    broadcast before every forward.

    Parameters
    ----------
    module : nn.Module
        The same architecture on every rank (checked: names, shapes and dtypes).
    bucket_cap_mb : float
        Most megabytes of gradients per ``Allreduce`` call (PyTorch's default, 25).

    Raises
    ------
    RuntimeError
        If ``init()`` has not run, or the ranks' modules differ.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: module must be an nn.Module, got "
                f"{type(module).__name__}."
            )
        if not comm.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel: call zerograd.distributed.init() first (and start the "
                "script with mpiexec -n N)."
            )
        if not bucket_cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}."
            )
        self.module = module
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._check_same_module()
        for _, t in self._states():
            comm.broadcast(t.data, src=0)
            t.bump_version()  # changed in place, like load_state_dict
        self._buckets = None

    def _states(self):
        return list(self.module.named_parameters()) + list(self.module.named_buffers())

    def _check_same_module(self) -> None:
        mine = [(name, t.shape, str(t.dtype)) for name, t in self._states()]
        everyone = comm.all_gather_object(mine)
        differ = [r for r, theirs in enumerate(everyone) if theirs != everyone[0]]
        if differ:
            first = differ[0]
            diff = sorted(set(everyone[first]) ^ set(everyone[0]))[:4]
            raise RuntimeError(
                f"DistributedDataParallel: the model on rank(s) {differ} differs from rank 0's "
                f"(parameters and buffers by name, shape, dtype; first differences: {diff}). "
                "Build the same model with the same config on every rank."
            )

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _make_buckets(self) -> list:
        """Consecutive trainable parameters of one dtype, at most ``bucket_cap_mb`` per bucket
        (one bigger parameter gets a bucket of its own), each with a flat buffer that holds the
        gradients and then one "has a gradient" flag per parameter."""
        cap = self.bucket_cap_mb * 2**20
        buckets, current, size = [], [], 0
        for p in self.module.parameters():
            if not p.requires_grad:
                continue
            nbytes = p.data.nbytes
            if current and (p.dtype != current[0].dtype or size + nbytes > cap):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
        if current:
            buckets.append(current)
        return [
            (params, numpy.empty(sum(p.numel() for p in params) + len(params), params[0].dtype))
            for params in buckets
        ]

    def sync_gradients(self) -> None:
        """Sum every parameter's gradient over the ranks, in place (``Allreduce`` per bucket).

        A parameter without a gradient counts as zeros; it gets the sum if any rank had a
        gradient for it and stays None (as in a single process) if none had.
        """
        if comm.get_world_size() == 1:
            return
        if self._buckets is None:
            self._buckets = self._make_buckets()
        for params, buf in self._buckets:
            grads, flags = buf[: -len(params)], buf[-len(params) :]
            start = 0
            for i, p in enumerate(params):
                n = p.numel()
                if p.grad is None:
                    grads[start : start + n] = 0
                    flags[i] = 0
                else:
                    grads[start : start + n] = p.grad.data.reshape(-1)
                    flags[i] = 1
                start += n
            comm.all_reduce(buf)
            start = 0
            for i, p in enumerate(params):
                n = p.numel()
                g = grads[start : start + n].reshape(p.shape)
                if p.grad is not None:
                    p.grad.data[...] = g
                elif flags[i] > 0:
                    p.grad = Tensor.wrap(g.copy())  # .grad owns its array
                start += n

    def sync_buffers(self) -> None:
        """Average the floating buffers (batch norm's running statistics) over the ranks; copy
        the others (``num_batches_tracked``) from rank 0."""
        size = comm.get_world_size()
        if size == 1:
            return
        for _, b in self.module.named_buffers():
            if b.dtype.kind == "f":
                comm.all_reduce(b.data)
                b.data /= size
            else:
                comm.broadcast(b.data, src=0)

    def extra_repr(self) -> str:
        return f"world_size={comm.get_world_size()}, bucket_cap_mb={self.bucket_cap_mb}"
