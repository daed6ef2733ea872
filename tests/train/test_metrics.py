"""Metrics: accuracy, top-k, confusion matrix, per-class accuracy, streaming metrics."""

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd.train import (
    Accuracy,
    TopK,
    accuracy,
    confusion_matrix,
    per_class_accuracy,
    top_k_accuracy,
)

LOGITS = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
TARGETS = np.array([1, 1, 2, 2])


def test_accuracy_from_logits_labels_and_one_hot():
    assert accuracy(LOGITS, TARGETS) == 0.5
    assert accuracy(zg.tensor(LOGITS), zg.tensor(TARGETS)) == 0.5
    assert accuracy(np.array([1, 0, 2, 0]), np.eye(3)[TARGETS]) == 0.5
    with pytest.raises(ValueError, match="predictions"):
        accuracy(LOGITS, TARGETS[:3])


def test_top_k_against_torch():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    rng = np.random.default_rng(0)
    y, t = rng.standard_normal((50, 10)), rng.integers(0, 10, 50)
    top3 = torch.topk(torch.from_numpy(y), 3, dim=1).indices.numpy()
    expected = (top3 == t[:, None]).any(axis=1).mean()
    assert top_k_accuracy(y, t, 3) == pytest.approx(expected)
    assert top_k_accuracy(LOGITS, TARGETS, 1) == accuracy(LOGITS, TARGETS)
    with pytest.raises(ValueError, match="k=4"):
        top_k_accuracy(LOGITS, TARGETS, 4)


def test_confusion_matrix_and_per_class_accuracy():
    cm = confusion_matrix(LOGITS, TARGETS, num_classes=3)
    np.testing.assert_array_equal(cm, [[0, 0, 0], [1, 1, 0], [1, 0, 1]])
    pca = per_class_accuracy(cm)
    assert np.isnan(pca[0]) and pca[1] == 0.5 and pca[2] == 0.5


def test_streaming_metrics_equal_the_whole_batch():
    acc, top2 = Accuracy(), TopK(2)
    for i in range(0, 4, 2):
        acc.update(LOGITS[i : i + 2], TARGETS[i : i + 2])
        top2.update(LOGITS[i : i + 2], TARGETS[i : i + 2])
    assert acc.compute() == accuracy(LOGITS, TARGETS)
    assert top2.compute() == top_k_accuracy(LOGITS, TARGETS, 2)
    assert top2.name == "top2"
