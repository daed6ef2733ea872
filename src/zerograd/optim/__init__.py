"""zerograd.optim: optimizers and learning-rate schedules with PyTorch's names and semantics.

Re-exports only: ``Optimizer`` (the base), ``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``, ``AdamW``,
and the ``lr_scheduler`` submodule (``StepLR``, ``CosineAnnealingLR``, ``ReduceLROnPlateau`` ...).
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["lr_scheduler", "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
