"""Classification metrics: accuracy, top-k, confusion matrix, per-class accuracy.

Functions take logits (N, C) or predicted labels (N,) and targets as class indices (N,) or one-hot
rows (N, C); Tensors or arrays. ``Accuracy`` and ``TopK`` accumulate over batches for ``fit``.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor

__all__ = [
    "accuracy",
    "top_k_accuracy",
    "confusion_matrix",
    "per_class_accuracy",
    "Metric",
    "Accuracy",
    "TopK",
    "make_metric",
]


def _array(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _labels(targets):
    t = _array(targets)
    return t.argmax(axis=-1) if t.ndim == 2 else t  # one-hot rows -> class indices


def _predictions(output):
    y = _array(output)
    return y.argmax(axis=-1) if y.ndim == 2 else y


def accuracy(output, targets) -> float:
    """The fraction of rows whose predicted class equals the target.

    Examples
    --------
    >>> accuracy([[0.1, 0.9], [0.8, 0.2]], [1, 1])
    0.5
    """
    pred, t = _predictions(output), _labels(targets)
    if pred.shape != t.shape:
        raise ValueError(
            f"accuracy: {pred.shape[0] if pred.ndim else 0} predictions but targets of shape "
            f"{t.shape}; pass logits (N, C) or labels (N,) and targets (N,) or one-hot (N, C)."
        )
    return float((pred == t).mean()) if t.size else 0.0


def top_k_accuracy(output, targets, k: int = 5) -> float:
    """The fraction of rows whose target is among the k highest scores."""
    y, t = _array(output), _labels(targets)
    if y.ndim != 2 or not 1 <= k <= y.shape[1]:
        raise ValueError(
            f"top_k_accuracy: needs scores (N, C) with 1 <= k <= C, got {y.shape}, k={k}."
        )
    top = np.argpartition(-y, k - 1, axis=1)[:, :k]
    return float((top == t[:, None]).any(axis=1).mean()) if t.size else 0.0


def confusion_matrix(output, targets, num_classes: int | None = None) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    pred, t = _predictions(output).astype(np.int64), _labels(targets).astype(np.int64)
    if num_classes is None:
        num_classes = int(max(pred.max(initial=0), t.max(initial=0))) + 1
    return np.bincount(t * num_classes + pred, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Accuracy of each true class from a confusion matrix (nan for a class never seen)."""
    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(matrix) / totals


class Metric:
    """A metric accumulated over batches: ``reset()``, ``update(output, target)``, ``compute()``."""

    name = "metric"

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def compute(self) -> float:
        return self.correct / self.count if self.count else 0.0


class Accuracy(Metric):
    name = "accuracy"

    def __init__(self):
        self.reset()

    def update(self, output, target) -> None:
        pred, t = _predictions(output), _labels(target)
        self.correct += int((pred == t).sum())
        self.count += t.size


class TopK(Metric):
    def __init__(self, k: int = 5):
        self.k, self.name = k, f"top{k}"
        self.reset()

    def update(self, output, target) -> None:
        n = _labels(target).size
        self.correct += round(top_k_accuracy(output, target, self.k) * n)
        self.count += n


def make_metric(spec) -> Metric:
    """A Metric from a name ("accuracy", "top5") or a Metric instance."""
    if isinstance(spec, Metric):
        return spec
    if spec == "accuracy":
        return Accuracy()
    if isinstance(spec, str) and spec.startswith("top") and spec[3:].isdigit():
        return TopK(int(spec[3:]))
    raise ValueError(f"unknown metric {spec!r}: use 'accuracy', 'top5' (any k) or a Metric.")
