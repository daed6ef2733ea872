"""The ops behind layers: ``linear`` (matmul + bias), ``dropout``, ``dropout2d``, ``one_hot``."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module, generator
from .args import as_tensor

__all__ = ["linear", "dropout", "dropout2d", "one_hot"]


class Linear(Function):
    """y = x W^T + b, one fused op (PyTorch's layout: W is (out, in)).

    gx = gy W,   gW = gy^T x,   gb = sum of gy over all but the last dim
    x: (*, in), W: (out, in), b: (out,) -> y: (*, out)
    """

    def forward(self, x, W, b):
        self.save_for_backward(x, W)
        y = x @ W.T
        if b is not None:
            y += b  # y is fresh: add the bias in place, no temporary
        return y

    def backward(self, gy):
        x, W = self.saved
        need_x, need_W, need_b = self.needs_input_grad
        gx = gy @ W if need_x else None
        gy2 = gy.reshape(-1, gy.shape[-1])  # (*, out) -> (N, out)
        gW = gy2.T @ x.reshape(-1, x.shape[-1]) if need_W else None
        gb = gy2.sum(axis=0) if need_b else None
        return gx, gW, gb


class Dropout(Function):
    """Inverted dropout: y = x * m / (1 - p) with m ~ Bernoulli(1 - p),   gx = gy * m / (1 - p)

    The mask has ``mask_shape`` (default: x's shape) and broadcasts over x: ``dropout2d`` draws
    one mask value per (sample, channel), shape (N, C, 1, 1), so whole feature maps drop together.
    """

    def __init__(self, p, mask_shape=None):
        self.p, self.mask_shape = p, mask_shape

    def forward(self, x):
        shape = x.shape if self.mask_shape is None else self.mask_shape
        keep = generator().random(shape, dtype=x.dtype if x.dtype.kind == "f" else "float64")
        mask = (keep >= self.p) * x.dtype.type(1 / (1 - self.p))
        self.save_for_backward(mask)
        return x * mask

    def backward(self, gy):
        (mask,) = self.saved
        return gy * mask


def linear(input, weight, bias=None) -> Tensor:
    """y = input @ weight.T + bias (``torch.nn.functional.linear``).

    Examples
    --------
    >>> import zerograd
    >>> linear(zerograd.ones(32, 28, 28), zerograd.ones(100, 784))
    Traceback (most recent call last):
    ...
    ValueError: linear: input has shape (32, 28, 28) but weight has shape (100, 784): ...
    """
    x, W = as_tensor(input), as_tensor(weight)
    if W.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape {W.shape}."
        )
    if x.ndim == 0 or x.shape[-1] != W.shape[1]:
        raise ValueError(
            f"linear: input has shape {x.shape} but weight has shape {W.shape}: the input's last "
            f"dimension must be {W.shape[1]} (in_features). Flatten the images first, e.g. "
            "x.reshape(len(x), -1) or nn.Flatten()."
        )
    if bias is not None and bias.shape != (W.shape[0],):
        raise ValueError(
            f"linear: bias has shape {bias.shape} but weight {W.shape} needs ({W.shape[0]},)."
        )
    return Linear()(x, W, bias)


def _check_floating(op: str, x) -> None:
    # the 1/(1-p) scale cannot be held by integers (int(1/(1-0.3)) == 1), as PyTorch also says
    if x.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating point while training, got {x.dtype}; convert it "
            "first, e.g. x.float()."
        )


def dropout(input, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) while training.

    Masks come from the library's seeded generator; in evaluation (``training=False``) or with
    ``p=0`` the input is returned unchanged.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}.")
    x = as_tensor(input)
    if not training or p == 0.0:
        return x
    _check_floating("dropout", x)
    if p == 1.0:
        return x * 0.0
    return Dropout(float(p))(x)


def dropout2d(input, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels: each (sample, channel) map of an (N, C, H, W) input is dropped with
    probability ``p`` and the kept ones scaled by 1/(1-p) (``torch.nn.functional.dropout2d``).

    Neighbouring pixels of a feature map are strongly correlated, so element-wise dropout barely
    regularises a conv layer; dropping the whole map does. A (C, H, W) input is one sample.

    Examples
    --------
    >>> import zerograd
    >>> dropout2d(zerograd.ones(2, 3), training=True)
    Traceback (most recent call last):
    ...
    ValueError: dropout2d: input must be (N, C, H, W) or (C, H, W) feature maps, got shape (2, 3)...
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be a probability in [0, 1], got {p}.")
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: input must be (N, C, H, W) or (C, H, W) feature maps, got shape "
            f"{x.shape}; for other shapes use dropout."
        )
    if not training or p == 0.0:
        return x
    _check_floating("dropout2d", x)
    if p == 1.0:
        return x * 0.0
    return Dropout(float(p), x.shape[:-2] + (1, 1))(x)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices (*) -> one-hot rows (*, num_classes) of int64 (``F.one_hot``).

    Examples
    --------
    >>> import zerograd
    >>> one_hot(zerograd.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    t = as_tensor(tensor)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: needs integer class indices, got {t.dtype}.")
    xp = array_module(t.data)
    if num_classes == -1:
        num_classes = int(t.data.max()) + 1 if t.numel() else 0
    if t.numel() and (t.data.min() < 0 or t.data.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must be in [0, {num_classes - 1}], got values in "
            f"[{int(t.data.min())}, {int(t.data.max())}]."
        )
    out = xp.zeros(t.shape + (num_classes,), dtype="int64")
    xp.put_along_axis(out, t.data[..., None].astype("int64"), 1, axis=-1)
    return Tensor.wrap(out)
