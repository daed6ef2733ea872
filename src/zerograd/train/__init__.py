"""zerograd.train: the fit loop, metrics, callbacks and History."""

from .callbacks import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    MetricsLogger,
    ModelCheckpoint,
    NaNGuard,
    ProgressBar,
)
from .history import History
from .loop import Trainer, detach_state, evaluate, evaluating, fit, predict
from .step import NonFiniteLoss, StopTraining, train_step
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
    "MetricsLogger",
    "StopTraining",
    "NonFiniteLoss",
    "train_step",
    "evaluating",
    "Metric",
    "Accuracy",
    "TopK",
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
]
