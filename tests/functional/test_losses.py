"""Losses: stability at extreme logits, shapes and errors users meet."""

import warnings

import numpy as np
import pytest

import zerograd as zg
import zerograd.functional as F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402
from torch_ref import compare_with_torch  # noqa: E402


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_with_huge_logits(dtype):
    x = zg.tensor(
        np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], dtype=dtype), requires_grad=True
    )
    t = zg.tensor([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_with_torch(torch, F.cross_entropy, TF.cross_entropy, [x, t], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_stable(dtype):
    x = zg.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype), requires_grad=True)
    t = zg.tensor(np.array([1.0, 0.0, 1.0, 1.0, 0.0], dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_with_torch(
            torch,
            F.binary_cross_entropy_with_logits,
            TF.binary_cross_entropy_with_logits,
            [x, t],
            dtype,
        )


def test_bce_at_zero_and_one_is_finite_like_pytorch():
    p = zg.tensor([0.0, 1.0, 0.5], dtype="float64", requires_grad=True)
    t = zg.tensor([1.0, 0.0, 1.0], dtype="float64")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "divide by zero")
        # gradients of about 1e10 here: compare relative to their size
        compare_with_torch(
            torch,
            F.binary_cross_entropy,
            TF.binary_cross_entropy,
            [p, t],
            "float64",
            tol=dict(rtol=1e-7, atol=1e-10),
        )


def test_cross_entropy_all_ignored_gives_nan_like_pytorch():
    x = zg.zeros(2, 3, requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.cross_entropy(x, zg.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_cross_entropy_target_errors():
    x = zg.zeros(4, 3)
    with pytest.raises(IndexError, match=r"target 3 is out of range for 3 classes"):
        F.cross_entropy(x, zg.tensor([0, 1, 2, 3]))
    with pytest.raises(
        ValueError, match=r"needs class-index targets of shape \(4,\), got \(4, 1\)"
    ):
        F.cross_entropy(x, zg.tensor([[0], [1], [2], [0]]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, zg.tensor([0, 1, 2, 0]), weight=zg.ones(4))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(x, zg.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, zg.tensor([0, 1, 2, 0]), label_smoothing=1.5)


@pytest.mark.parametrize(
    "value, error, match",
    [
        ("0.1", TypeError, r"got '0.1' \(str\). Pass the number itself: label_smoothing=0.1.$"),
        ("much", TypeError, r"got 'much' \(str\).$"),
        (None, TypeError, r"got None \(NoneType\)"),
        (True, TypeError, r"got True \(bool\)"),
        (np.array(0.1), TypeError, r"got array\(0.1\) \(ndarray\)"),
        (float("nan"), ValueError, r"must be in \[0, 1\], got nan.$"),
        (float("inf"), ValueError, r"must be in \[0, 1\], got inf.$"),
        (-float("inf"), ValueError, r"must be in \[0, 1\], got -inf.$"),
        (-0.1, ValueError, r"must be in \[0, 1\], got -0.1.$"),
    ],
)
def test_label_smoothing_must_be_a_number_in_0_1(value, error, match):
    # a string failed with Python's "'<=' not supported between instances of 'float' and 'str'"
    x, t = zg.zeros(4, 3), zg.tensor([0, 1, 2, 0])
    with pytest.raises(error, match=r"^cross_entropy: label_smoothing " + ".*" + match):
        F.cross_entropy(x, t, label_smoothing=value)
    with pytest.raises(error, match=r"^CrossEntropyLoss: label_smoothing " + ".*" + match):
        zg.nn.CrossEntropyLoss(label_smoothing=value)  # refused when built, not at the first call


def test_label_smoothing_of_a_numpy_float_keeps_float32():
    x, t = zg.zeros(4, 3), zg.tensor([0, 1, 2, 0])
    assert F.cross_entropy(x, t, label_smoothing=np.float64(0.1)).dtype == np.float32
    loss = zg.nn.CrossEntropyLoss(label_smoothing=np.float32(0.1))
    assert type(loss.label_smoothing) is float


def test_cross_entropy_on_a_single_row_of_logits():
    x = zg.tensor([2.0, 0.5, -1.0], dtype="float64", requires_grad=True)
    compare_with_torch(torch, F.cross_entropy, TF.cross_entropy, [x, zg.tensor(0)], "float64")


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match="Apply sigmoid first"):
        F.binary_cross_entropy(zg.tensor([1.5]), zg.tensor([1.0]))


def test_mse_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"mse_loss: input has shape \(3,\) but target has shape \(3, 1\)"
    ):
        F.mse_loss(zg.zeros(3), zg.zeros(3, 1))


def test_reduction_none_keeps_the_targets_shape():
    x = zg.randn(2, 5, 3, 4)
    t = zg.randint(0, 5, (2, 3, 4))
    assert F.cross_entropy(x, t, reduction="none").shape == (2, 3, 4)
    assert F.nll_loss(x, t, reduction="none").shape == (2, 3, 4)
