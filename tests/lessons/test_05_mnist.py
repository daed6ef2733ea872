"""Lesson 5: the IDX header read by hand, MNIST, batched inference."""

import os

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, lesson_definitions, run_lesson

from zerograd.data.datasets import find_mnist_files


def test_mnist_lesson_quick(tmp_path, capsys):
    result = run_lesson("05_mnist", tmp_path)
    out = capsys.readouterr().out

    # the header read with gzip + int.from_bytes: 2051, N, 28, 28; labels 2049, N
    full = find_mnist_files("mnist") is not None
    assert result["is_sample"] is not full
    n_train = 60000 if full else 6000
    header = (result["magic"], result["num_images"], result["rows"], result["cols"])
    assert header == (2051, n_train, 28, 28)
    assert (result["label_magic"], result["num_labels"]) == (2049, n_train)
    assert result["raw_matches_dataset"] is True

    # quick mode: one epoch on 6,000 images, inference over the whole test set
    assert result["train_size"] == 6000 and result["epochs"] == 1
    assert result["test_size"] == (10000 if full else 1000)
    assert result["test_accuracy"] > 0.6
    assert result["correct"] + result["num_misclassified"] == result["test_size"]
    np.testing.assert_allclose(result["test_accuracy"], result["correct"] / result["test_size"])
    np.testing.assert_allclose(result["evaluate_accuracy"], result["test_accuracy"])
    assert result["same_outputs"] is True
    # the lesson reports both timings (their values are the machine's business, not the test's)
    timings = [result[k] for k in ("single_seconds", "batched_seconds")]
    assert all(isinstance(t, float) for t in timings)

    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert [os.path.basename(p) for p in result["pngs"]] == [
        "05_digits.png",
        "05_misclassified.png",
    ]
    for path in result["pngs"]:
        assert_png(path)

    assert "magic number: 2051" in out
    assert f"images: {n_train}  rows: 28  columns: 28" in out
    assert "image 0 in .data equals the 784 bytes read by hand: True" in out
    assert f"test accuracy: {result['test_accuracy']:.4f}" in out
    assert "one at a time (batch_size=1)" in out and "batched (batch_size=100)" in out
    assert ("using the sample shipped in the package" in out) is not full


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the MNIST files: set ZEROGRAD_DATA to a folder holding mnist/",
)
def test_mnist_lesson_reads_the_full_headers():
    lesson = lesson_definitions("05_mnist")
    files = find_mnist_files("mnist")
    assert files is not None, "ZEROGRAD_DATA is set but holds no mnist/ files"
    magic, sizes, first = lesson.read_idx_header(files["train-images-idx3-ubyte"])
    assert (magic, sizes, len(first)) == (2051, [60000, 28, 28], 784)
    magic, sizes, first = lesson.read_idx_header(files["t10k-images-idx3-ubyte"])
    assert (magic, sizes) == (2051, [10000, 28, 28])
    magic, sizes, first = lesson.read_idx_header(files["t10k-labels-idx1-ubyte"])
    assert (magic, sizes, first[0]) == (2049, [10000], 7)  # the first test digit is a 7
