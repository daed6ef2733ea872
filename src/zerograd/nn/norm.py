"""Normalisation layers: batch normalisation (``torch.nn.BatchNorm1d``, ``BatchNorm2d``) and layer
normalisation (``torch.nn.LayerNorm``)."""

from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..creation import empty, ones, tensor, zeros
from ..functional.args import check_input_dtype, layer_input, real_arg
from ..functional.norm import batch_norm_args, normalized_shape_arg
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class BatchNormBase(Module):
    """What every BatchNorm layer shares; subclasses say which input shapes they take.

    PyTorch's ``_BatchNorm``; a public name here because ``distributed.SyncBatchNorm`` builds on
    it from another package."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}.")
        momentum, eps = batch_norm_args(name, momentum, eps, layer=True)
        if device not in (None, "cpu"):
            raise ValueError(f"{name}: zerograd runs on the CPU for now, got device={device!r}.")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        # running statistics are buffers: saved in the state_dict, never trained
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype="int64"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running statistics reset; gamma (weight) 1 and beta (bias) 0, as in PyTorch."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        x = layer_input(self, x)
        self._check_input(x)
        for t in (self.weight, self.running_mean):
            if t is not None:
                check_input_dtype(self, x, t.dtype)
                break
        momentum = 0.0 if self.momentum is None else self.momentum
        count = self.training and self.track_running_stats
        if count and self.momentum is None:  # a cumulative average of every batch seen so far
            momentum = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        # batch statistics while training, and in eval too when no running statistics are kept
        use_batch = self.training or self.running_mean is None
        update = not self.training or self.track_running_stats
        y = F.batch_norm(
            x,
            self.running_mean if update else None,
            self.running_var if update else None,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=momentum,
            eps=self.eps,
        )
        if count:  # only once the batch was accepted: a rejected input changes no state
            self.num_batches_tracked.add_(1)
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(BatchNormBase):
    """Batch normalisation over a batch of feature vectors (``torch.nn.BatchNorm1d``).

    y = (x - mean) / sqrt(var + eps) * weight + bias, per feature C. In ``train()`` mean and var
    are the batch's (biased variance) and the running averages are updated,
    ``running = (1 - momentum) * running + momentum * batch`` with the unbiased variance
    (``momentum=None``: a cumulative average); in ``eval()`` the running averages are used.
    Input (N, C) or (N, C, L) -> output of the same shape. Parameters ``weight`` (init 1) and
    ``bias`` (init 0); buffers ``running_mean``, ``running_var``, ``num_batches_tracked`` (int64):
    the state_dict loads into PyTorch's layer as it is.

    Examples
    --------
    >>> import zerograd as zg
    >>> bn = BatchNorm1d(100)
    >>> bn
    BatchNorm1d(100, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    >>> bn(zg.randn(32, 100)).shape
    (32, 100)
    >>> int(bn.num_batches_tracked)
    1
    """

    def _check_input(self, x: Tensor) -> None:
        C = self.num_features
        if x.ndim not in (2, 3) or x.shape[1] != C:
            hint = " Flatten the images first, e.g. nn.Flatten()." if x.ndim > 3 else ""
            raise ValueError(
                f"{self!r}: expected input of shape (N, {C}) or (N, {C}, L), got shape "
                f"{x.shape}.{hint}"
            )


class BatchNorm2d(BatchNormBase):
    """Batch normalisation of images, per channel (``torch.nn.BatchNorm2d``).

    The same rule as ``BatchNorm1d`` with the statistics taken over N, H and W for each of the C
    channels. Input (N, C, H, W) -> output of the same shape; the same parameters, buffers and
    state_dict keys as PyTorch's layer.

    Examples
    --------
    >>> import zerograd as zg
    >>> BatchNorm2d(16)(zg.randn(4, 16, 8, 8)).shape
    (4, 16, 8, 8)
    """

    def _check_input(self, x: Tensor) -> None:
        C = self.num_features
        if x.ndim != 4 or x.shape[1] != C:
            raise ValueError(
                f"{self!r}: expected images of shape (N, {C}, H, W), got shape {x.shape}."
            )


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dims (``torch.nn.LayerNorm``).

    y = (x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var taken per sample
    over the last ``len(normalized_shape)`` dims, the same in ``train()`` and ``eval()``.
    Input (*, *normalized_shape) -> output of the same shape. Parameters ``weight`` (init 1) and
    ``bias`` (init 0) of shape ``normalized_shape`` when ``elementwise_affine`` (``bias=False``
    drops the bias); PyTorch's state_dict keys.

    Examples
    --------
    >>> import zerograd as zg
    >>> ln = LayerNorm(8)
    >>> ln
    LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> ln(zg.randn(2, 5, 8)).shape
    (2, 5, 8)
    >>> ln(zg.randn(2, 5, 7))
    Traceback (most recent call last):
    ...
    ValueError: LayerNorm((8,), eps=1e-05, ...): input has shape (2, 5, 7) but its last 1 ...
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if device not in (None, "cpu"):
            raise ValueError(f"LayerNorm: zerograd runs on the CPU for now, got device={device!r}.")
        self.normalized_shape = normalized_shape_arg("LayerNorm", normalized_shape)
        self.eps = real_arg("LayerNorm", "eps", eps, ">= 0 and finite", lambda v: v >= 0)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight 1 and bias 0, as in PyTorch."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = layer_input(self, x)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but its last {k} dimension(s) must be "
                f"{self.normalized_shape}."
            )
        if self.weight is not None:
            check_input_dtype(self, x, self.weight.dtype)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
