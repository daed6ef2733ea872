"""zerograd.train: the run layer (``run(RunConfig(...))``, the whole job the command line does),
the fit loop around ``train_step``, metrics, callbacks and History."""

from .callbacks import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    MetricsLogger,
    ModelCheckpoint,
    NaNGuard,
    ProgressBar,
)
from .config import AUGMENTATIONS, OPTIMIZERS, SCHEDULES, ConfigError, RunConfig, RunError
from .history import History
from .loop import Trainer, detach_state, evaluate, evaluating, fit, predict
from .metrics import (
    Accuracy,
    Metric,
    TopK,
    accuracy,
    confusion_matrix,
    per_class_accuracy,
    top_k_accuracy,
)
from .run import Interrupted, RunResult, load_datasets, read_run_config, run
from .step import NonFiniteLoss, StopTraining, train_step

__all__ = [
    "run",
    "RunConfig",
    "RunResult",
    "ConfigError",
    "RunError",
    "Interrupted",
    "read_run_config",
    "load_datasets",
    "OPTIMIZERS",
    "SCHEDULES",
    "AUGMENTATIONS",
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
