"""The course's convolutional networks: ``SimpleConvNet``, ``LeNet5`` and ``DeepConvNet``.

Each is an ``nn.Sequential`` (so ``print(model)`` shows every layer and the state_dict keys are
those of the same ``torch.nn.Sequential``) taking (N, 1, 28, 28) images and giving (N, 10) logits,
with a ``config`` dict that rebuilds it: ``type(model)(**model.config)``.

Weights start from He's init (``kaiming_normal_`` for ReLU, zero biases), the book's choice for
deep ReLU nets; the course's SimpleConvNet used N(0, 0.01^2), which trains more slowly.
"""

from __future__ import annotations

from .. import nn

__all__ = ["SimpleConvNet", "LeNet5", "DeepConvNet"]


def _out_size(size: int, kernel: int, stride: int = 1, padding: int = 0, who: str = "") -> int:
    """The output-size rule (W - F + 2P) / S + 1, which must give a positive whole number."""
    out, rest = divmod(size - kernel + 2 * padding, stride)
    if size - kernel + 2 * padding < 0 or rest:
        raise ValueError(
            f"{who}: an input of size {size} with kernel {kernel}, stride {stride} and padding "
            f"{padding} gives (W - F + 2P) / S + 1 = ({size} - {kernel} + {2 * padding}) / "
            f"{stride} + 1, not a positive whole number; change input_size, the kernel, the "
            "padding or the stride."
        )
    return out + 1


def _he_init(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class SimpleConvNet(nn.Sequential):
    """The course's first CNN: conv - relu - pool - affine - relu - affine.

    ``Conv2d(C, filters, kernel)`` (stride 1, no padding), ``ReLU``, ``MaxPool2d(2)``, then
    ``Linear(filters * P * P, hidden)``, ``ReLU``, ``Linear(hidden, num_classes)``, with
    P = (input_size - kernel + 1) / 2. The defaults are the book's: 30 filters of 5 x 5 and 100
    hidden units on 28 x 28 digits (P = 12, so the affine layer has 4,320 inputs).

    Examples
    --------
    >>> SimpleConvNet()
    SimpleConvNet(
      (0): Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))
      (1): ReLU()
      (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
      (3): Flatten(start_dim=1, end_dim=-1)
      (4): Linear(in_features=4320, out_features=100, bias=True)
      (5): ReLU()
      (6): Linear(in_features=100, out_features=10, bias=True)
    )
    >>> SimpleConvNet(input_size=27)
    Traceback (most recent call last):
    ...
    ValueError: SimpleConvNet: an input of size 23 with kernel 2, stride 2 and padding 0 gives ...
    """

    def __init__(
        self,
        in_channels: int = 1,
        input_size: int = 28,
        filters: int = 30,
        kernel_size: int = 5,
        hidden: int = 100,
        num_classes: int = 10,
    ):
        who = type(self).__name__
        conv = _out_size(input_size, kernel_size, who=who)
        pooled = _out_size(conv, 2, 2, who=who)
        super().__init__(
            nn.Conv2d(in_channels, filters, kernel_size),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(filters * pooled * pooled, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        _he_init(self)
        self.config = {
            "in_channels": in_channels,
            "input_size": input_size,
            "filters": filters,
            "kernel_size": kernel_size,
            "hidden": hidden,
            "num_classes": num_classes,
        }


class LeNet5(nn.Sequential):
    """LeCun et al.'s LeNet-5 (1998) for 28 x 28 digits, with ReLU and max pooling as now usual.

    conv 5x5, 6 maps, padding 2 (28 -> 28) - relu - pool (14) - conv 5x5, 16 maps (10) - relu -
    pool (5) - affine 400 -> 120 - relu - affine 120 -> 84 - relu - affine 84 -> 10.
    ``activation='tanh'`` with ``pooling='avg'`` is closer to the 1998 network.

    Examples
    --------
    >>> sum(p.numel() for p in LeNet5().parameters())
    61706
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        activation: str = "relu",
        pooling: str = "max",
    ):
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
        pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
        if activation not in acts or pooling not in pools:
            raise ValueError(
                f"LeNet5: activation must be one of {', '.join(acts)} and pooling one of "
                f"{', '.join(pools)}, got activation={activation!r}, pooling={pooling!r}."
            )
        act, pool = acts[activation], pools[pooling]
        super().__init__(
            nn.Conv2d(in_channels, 6, 5, padding=2),
            act(),
            pool(2),
            nn.Conv2d(6, 16, 5),
            act(),
            pool(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )
        if activation == "relu":
            _he_init(self)
        self.config = {
            "in_channels": in_channels,
            "num_classes": num_classes,
            "activation": activation,
            "pooling": pooling,
        }


class DeepConvNet(nn.Sequential):
    """The course's VGG-like deep CNN: six 3 x 3 convolutions (16-16-32-32-64-64) in three blocks,
    each block conv - relu - conv - relu - pool, then affine - relu - dropout - affine.

    The sizes are the book's: 28 -> pool 14 -> (the 4th conv pads 2) 16 -> pool 8 -> pool 4, so
    the first affine layer has 64 * 4 * 4 = 1,024 inputs and 50 outputs. ``batch_norm=True``
    puts a ``BatchNorm2d`` after every convolution (and ``BatchNorm1d`` after the hidden affine
    layer), which lets it train faster and at higher learning rates.

    Examples
    --------
    >>> model = DeepConvNet()
    >>> [m.out_channels for m in model if isinstance(m, nn.Conv2d)]
    [16, 16, 32, 32, 64, 64]
    >>> sum(p.numel() for p in model.parameters())
    123552
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        hidden: int = 50,
        dropout: float = 0.5,
        batch_norm: bool = False,
    ):
        layers, c = [], in_channels
        # (out_channels, padding) of the six convs; the 4th pads 2 (14 -> 16) as in the book
        for i, (out, pad) in enumerate([(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]):
            layers.append(nn.Conv2d(c, out, 3, padding=pad, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            if i % 2:
                layers.append(nn.MaxPool2d(2))
            c = out
        layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, hidden, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, num_classes)]
        super().__init__(*layers)
        _he_init(self)
        self.config = {
            "in_channels": in_channels,
            "num_classes": num_classes,
            "hidden": hidden,
            "dropout": dropout,
            "batch_norm": batch_norm,
        }
