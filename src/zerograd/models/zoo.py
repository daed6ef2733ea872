"""The zoo's table: ``ZOO`` maps each name ``zerograd train --model`` takes to its class, default
config and a line describing it; ``create(name, **config)`` builds one; ``IMAGE_MODELS`` are the
names that classify 28 x 28 images (what ``zerograd train`` trains).

Its own module so ``hub.py`` (the shipped weights, which name their model by this table) imports
it without a cycle through the package's ``__init__``.
"""

from __future__ import annotations

from .cnn import DeepConvNet, LeNet5, SimpleConvNet
from .gpt import GPT
from .mlp import MLP
from .recurrent import CharLSTM, RowLSTM

__all__ = ["ZOO", "IMAGE_MODELS", "create"]

ZOO = {  # name -> (class, default config, description)
    "mlp": (MLP, {"hidden": [256]}, "784-256-10 ReLU MLP (the default)"),
    "mlp-small": (MLP, {"hidden": [100]}, "784-100-10 ReLU MLP (the course's)"),
    "mlp-deep": (MLP, {"hidden": [100, 100, 100, 100]}, "784-100-100-100-100-10 ReLU MLP"),
    "simple-cnn": (SimpleConvNet, {}, "the course's SimpleConvNet: conv 30x5x5-pool-100-10"),
    "lenet5": (LeNet5, {}, "LeNet-5 with ReLU and max pooling"),
    "deep-cnn": (DeepConvNet, {}, "the course's DeepConvNet: six 3x3 convs, 50-unit head"),
    "deep-cnn-bn": (DeepConvNet, {"batch_norm": True}, "DeepConvNet with batch norm"),
    "deep-cnn-bn-wide": (
        DeepConvNet,
        {"batch_norm": True, "hidden": 256, "dropout": 0.3},
        "DeepConvNet with batch norm and a 256-unit head (Fashion-MNIST)",
    ),
    "row-lstm": (RowLSTM, {}, "LSTM(128) reading the image's 28 rows as a sequence"),
    "char-lstm": (CharLSTM, {"vocab_size": 65}, "character-level LSTM language model"),
    "gpt": (
        GPT,
        {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128},
        "GPT: decoder-only transformer language model (nanoGPT's layout)",
    ),
}
IMAGE_MODELS = [name for name in ZOO if name not in ("char-lstm", "gpt")]


def create(name: str, **config):
    """The zoo's model ``name`` with its default config, updated by ``config``.

    Examples
    --------
    >>> create("mlp-small")[1]
    Linear(in_features=784, out_features=100, bias=True)
    >>> create("resnet")
    Traceback (most recent call last):
    ...
    ValueError: models.create: unknown model 'resnet'; choose one of mlp, mlp-small, ...
    """
    if name not in ZOO:
        raise ValueError(f"models.create: unknown model {name!r}; choose one of {', '.join(ZOO)}.")
    cls, defaults, _ = ZOO[name]
    return cls(**{**defaults, **config})
