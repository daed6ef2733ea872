"""zerograd.train: the fit loop, metrics, callbacks and History."""

from .callbacks import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    NaNGuard,
    ProgressBar,
)
from .history import History
from .loop import Trainer, detach_state, evaluate, fit, predict
from .metrics import (
    Accuracy,
    Metric,
    TopK,
    accuracy,
    confusion_matrix,
    per_class_accuracy,
    top_k_accuracy,
)

__all__ = [
    "fit",
    "evaluate",
    "predict",
    "Trainer",
    "detach_state",
    "History",
    "Callback",
    "ProgressBar",
    "ModelCheckpoint",
    "EarlyStopping",
    "LRSchedulerCallback",
    "NaNGuard",
    "Metric",
    "Accuracy",
    "TopK",
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
]
