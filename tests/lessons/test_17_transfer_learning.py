"""Lesson 17: freeze() stops gradients and updates; a frozen pretrained base beats scratch."""

import os

import pytest
from lesson_helpers import assert_png, needs_matplotlib, run_lesson


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("17_transfer_learning", tmp_path_factory.mktemp("17"))


def test_frozen_parameters_get_no_gradient_and_no_update(quick):
    assert quick["frozen_grads_none"] and quick["head_grads_set"]
    assert quick["frozen_change"] == 0.0  # even AdamW's decoupled weight decay leaves them alone
    assert quick["head_change"] > 0.0


def test_parameter_groups_keep_their_learning_rates(quick):
    assert quick["group_lrs"] == [1e-4, 1e-3]


def test_digits_table_is_complete_and_transfer_helps_with_100_labels(quick):
    # quick: SimpleConvNet pretrained 1 epoch on the sample's digits 0-4, 30 steps per run
    assert quick["source_accuracy"] > 0.9
    table = quick["digits"]
    assert set(table) == {10, 100}
    for row in table.values():
        assert set(row) == {"frozen", "fine-tune", "scratch"}
        assert all(0.2 < acc <= 1.0 for acc in row.values())
    assert table[100]["frozen"] > table[100]["scratch"]


@pytest.mark.skipif(
    not os.environ.get("ZEROGRAD_DATA"),
    reason="needs the Fashion-MNIST files (part 3): set ZEROGRAD_DATA to a folder holding "
    "fashion-mnist/",
)
def test_fashion_from_the_zoo_mnist_base(quick):
    table = quick["fashion"]
    assert set(table) == {10, 100}
    assert table[100]["frozen"] > table[100]["scratch"]


@needs_matplotlib
def test_picture(quick):
    assert_png(quick["png"])
