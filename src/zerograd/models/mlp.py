"""Multilayer perceptrons: the course's fully connected networks."""

from __future__ import annotations

from .. import nn

__all__ = ["MLP"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


class MLP(nn.Sequential):
    """Flatten, then ``Linear -> activation (-> Dropout)`` per hidden size, then a ``Linear`` head.

    ``MLP(784, [100], 10)`` is the course's two-layer net; the keys of its state_dict are those
    of the same ``torch.nn.Sequential`` (``1.weight``, ``1.bias``, ``3.weight`` ...).

    Examples
    --------
    >>> MLP(784, [100], 10)
    MLP(
      (0): Flatten(start_dim=1, end_dim=-1)
      (1): Linear(in_features=784, out_features=100, bias=True)
      (2): ReLU()
      (3): Linear(in_features=100, out_features=10, bias=True)
    )
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden=(100,),
        out_features: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"MLP: unknown activation {activation!r}; use one of {', '.join(_ACTIVATIONS)}."
            )
        layers, n = [nn.Flatten()], in_features
        for h in hidden:
            layers += [nn.Linear(n, h), _ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            n = h
        layers.append(nn.Linear(n, out_features))
        super().__init__(*layers)
        self.config = {
            "in_features": in_features,
            "hidden": list(hidden),
            "out_features": out_features,
            "activation": activation,
            "dropout": dropout,
        }
