"""``SyncBatchNorm``: batch normalisation with the statistics of the global batch.

With plain ``BatchNorm`` under ``DistributedDataParallel`` each rank normalises with the mean and
variance of its own shard (as PyTorch's DDP does): the training differs from a single process on
the global batch, and the running statistics differ between ranks until ``sync_buffers()``
averages them. ``SyncBatchNorm`` sums the per-channel counts and sums over the ranks instead, so
training with it is single-process training on the global batch, running statistics included.
Its price: two small ``Allreduce`` calls (C + 1 and C values) in every forward pass and one
(2C values) in every backward pass, per layer.
"""

from __future__ import annotations

from ..autograd import Function, no_grad
from ..backend import array_module
from ..nn.module import Module
from ..nn.norm import BatchNormBase
from . import comm

__all__ = ["SyncBatchNorm"]


class _SyncBatchNorm(Function):
    """Batch normalisation in training over the values of every rank.

    Rank r holds x_r (N_r, C, *) with m_r values per channel; M = sum_r m_r.
    mu = (1/M) sum_r sum(x_r),   var = (1/M) sum_r sum((x_r - mu)^2)   (biased; two passes)
    xhat = (x - mu) * inv_std,   inv_std = 1 / sqrt(var + eps),   y = gamma * xhat + beta

    gbeta = sum(gy),   ggamma = sum(gy * xhat)   over this rank's values: the parameters'
    gradients, which ``DistributedDataParallel.sync_gradients`` sums over the ranks.
    gx = (gamma * inv_std / M) * (M * gy - SUM_r gbeta - xhat * SUM_r ggamma)
    (nn.BatchNorm's formula with the sums taken over every rank, since mu and var depend on
    every rank's x.) x: (N_r, C, *), weight and bias (C,) or None -> y: (N_r, C, *).
    """

    op_name = "sync_batch_norm"

    def __init__(self, eps: float):
        self.eps = eps

    def forward(self, x, weight, bias):
        xp = array_module(x)
        C = x.shape[1]
        self.axes = (0,) + tuple(range(2, x.ndim))  # every dim but the channels
        self.pshape = (1, C) + (1,) * (x.ndim - 2)
        # the count and sums in float64: a float32 count is exact only up to 2**24 values
        stats = xp.empty(C + 1, dtype=xp.float64)
        stats[0] = x.size // C
        stats[1:] = x.sum(axis=self.axes)
        comm.all_reduce(stats)
        M = int(stats[0])
        if M <= 1:
            raise ValueError(
                f"SyncBatchNorm: expected more than 1 value per channel over all ranks when "
                f"training, got {M}. Use a bigger batch, or call .eval() on the model."
            )
        mu = (stats[1:] / M).astype(x.dtype)
        xc = x - mu.reshape(self.pshape)
        # two passes, the mean removed before squaring: E[x^2] - E[x]^2 would cancel badly
        var = xp.square(xc).sum(axis=self.axes)
        comm.all_reduce(var)
        var /= M
        self.count = M
        self.mean, self.var = mu, var  # side outputs for the layer's running statistics
        inv_std = 1 / xp.sqrt(var.reshape(self.pshape) + self.eps)
        xhat = xc
        xhat *= inv_std
        self.save_for_backward(xhat, weight, inv_std)
        y = xhat * weight.reshape(self.pshape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(self.pshape)
        return y

    def backward(self, gy):
        xhat, weight, inv_std = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        xp = array_module(gy)
        gbeta = gy.sum(axis=self.axes)
        ggamma = (gy * xhat).sum(axis=self.axes)
        gx = None
        if need_x:  # the same on every rank, so every rank joins this Allreduce
            C, M = gbeta.size, self.count
            sums = comm.all_reduce(xp.concatenate([gbeta, ggamma]))
            scale = inv_std if weight is None else weight.reshape(self.pshape) * inv_std
            gx = xhat * (sums[C:].reshape(self.pshape) / -M)
            gx += gy
            gx -= sums[:C].reshape(self.pshape) / M
            gx *= scale
        return gx, ggamma if need_w else None, gbeta if need_b else None


class SyncBatchNorm(BatchNormBase):
    """Batch normalisation whose training statistics span every rank's shard
    (``torch.nn.SyncBatchNorm``).

    The rule, parameters, buffers and state_dict keys of ``BatchNorm1d``/``BatchNorm2d``, for
    any input (N, C, *); the mean and variance in training are those of the global batch (every
    rank's N together), so the running statistics are the same on every rank. In ``eval()``, and
    in a world of one, it is the plain layer. Every rank must call it in every training step.
    Convert a model with ``SyncBatchNorm.convert_sync_batchnorm(model)``.

    Examples
    --------
    >>> from zerograd import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    >>> SyncBatchNorm.convert_sync_batchnorm(net)[1]
    SyncBatchNorm(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def _check_input(self, x) -> None:
        C = self.num_features
        if x.ndim < 2 or x.shape[1] != C:
            raise ValueError(f"{self!r}: expected input of shape (N, {C}, *), got shape {x.shape}.")

    def forward(self, x):
        if not self.training or comm.get_world_size() == 1:
            return super().forward(x)
        self._check_input(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average of every batch seen so far
                momentum = 1.0 / int(self.num_batches_tracked.item())
        fn = _SyncBatchNorm(float(self.eps))
        y = fn(x, self.weight, self.bias)
        mean, var, fn.mean, fn.var = fn.mean, fn.var, None, None  # the node keeps no array
        if self.track_running_stats:
            M = fn.count
            unbiased = var * (M / (M - 1))  # the running variance is unbiased, as in PyTorch
            with no_grad():
                self.running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                self.running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """``module`` with every ``BatchNorm1d``/``BatchNorm2d`` replaced by a ``SyncBatchNorm``
        holding the same Parameters and buffers (so an optimizer made before still works and
        the state_dict is unchanged); returns the module (a new one if it is a batch norm)."""
        if isinstance(module, BatchNormBase) and not isinstance(module, cls):
            new = cls(
                module.num_features,
                eps=module.eps,
                momentum=module.momentum,
                affine=module.affine,
                track_running_stats=module.track_running_stats,
            )
            for name in ("weight", "bias"):
                new.register_parameter(name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                new.register_buffer(name, getattr(module, name))
            return new.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child))
        return module
