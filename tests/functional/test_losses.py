"""Losses: stability at extreme logits, shapes and errors users meet."""

import warnings

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
import zerograd.functional as F

TF = None if torch is None else torch.nn.functional


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_with_huge_logits(dtype):
    x = zg.tensor(
        np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], dtype=dtype), requires_grad=True
    )
    t = zg.tensor([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_with_torch(torch, F.cross_entropy, TF.cross_entropy, [x, t], dtype)


@needs_torch
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


@needs_torch
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


@needs_torch
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


# ---------------------------------------------------------------------------------------------
# extreme values: no NumPy RuntimeWarning (overflow, divide by zero, invalid value), PyTorch's
# values; the inputs: logits of 0, +-1e4 and +-1e30, probabilities of exactly 0 and 1

NEEDS_TORCH_REASON = "needs torch, the reference for the values: pip install 'zerograd[test]'"
EXTREMES = [0.0, 1.5, -2.0, 1e4, -1e4, 1e30, -1e30]


def extreme_logits(dtype):
    """(12, 3) logits: whole rows of +-1e30 and +-1e4, then every extreme mixed with the rest."""
    rows = [[1e30, -1e30, 0.0], [-1e30, -1e30, -1e30], [1e30, 1e30, 1e30], [1e4, 1e4, -1e4]]
    rng = np.random.default_rng(0)
    rows += rng.choice(EXTREMES, size=(8, 3)).tolist()
    return np.array(rows, dtype=dtype)


def extreme_probabilities(dtype):
    tiny = 1e-45 if dtype == "float32" else 1e-320  # subnormal: log(p) < -100, clamped
    return np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 1 - 1e-7, tiny, 1.0, 0.0], dtype=dtype)


LOSS_CASES = [
    "cross_entropy",
    "cross_entropy-smoothing",
    "cross_entropy-probabilities",
    "nll_loss",
    "mse_loss",
    "mse_loss-logits",
    "binary_cross_entropy",
    "binary_cross_entropy-weight",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits-pos_weight",
]


def loss_cases(dtype):
    """name -> (zerograd loss, torch loss, [input arrays], [requires grad])"""
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH_REASON)
    TF = torch.nn.functional
    x = extreme_logits(dtype)
    t = np.arange(len(x)) % 3
    soft = np.abs(np.sin(x)) + 0.1  # soft targets, each row summing to 1
    soft = (soft / soft.sum(axis=1, keepdims=True)).astype(dtype)
    flat = x.ravel()
    hard = (np.arange(flat.size) % 2).astype(dtype)
    p = extreme_probabilities(dtype)
    tp = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.3, 0.7], dtype=dtype)
    w = np.linspace(0.0, 2.0, p.size).astype(dtype)  # a zero weight where gt is inf: NaN there
    big = np.array([1e19, 1e19, 1e19, 1e19, 1e30, -1e30], dtype=dtype)  # sum of d^2 overflows
    return {
        "cross_entropy": (F.cross_entropy, TF.cross_entropy, [x, t], [True, False]),
        "cross_entropy-smoothing": (
            lambda a, b, **kw: F.cross_entropy(a, b, label_smoothing=0.1, **kw),
            lambda a, b, **kw: TF.cross_entropy(a, b, label_smoothing=0.1, **kw),
            [x, t],
            [True, False],
        ),
        "cross_entropy-probabilities": (F.cross_entropy, TF.cross_entropy, [x, soft], [True, True]),
        "nll_loss": (F.nll_loss, TF.nll_loss, [x, t], [True, False]),
        "mse_loss": (F.mse_loss, TF.mse_loss, [big, np.zeros_like(big)], [True, True]),
        "mse_loss-logits": (F.mse_loss, TF.mse_loss, [x, x[::-1].copy()], [True, True]),
        "binary_cross_entropy": (
            F.binary_cross_entropy,
            TF.binary_cross_entropy,
            [p, tp],
            [True, True],
        ),
        "binary_cross_entropy-weight": (
            lambda a, b, **kw: F.binary_cross_entropy(a, b, weight=zg.tensor(w), **kw),
            lambda a, b, **kw: TF.binary_cross_entropy(a, b, weight=torch.tensor(w), **kw),
            [p, tp],
            [True, True],
        ),
        "binary_cross_entropy_with_logits": (
            F.binary_cross_entropy_with_logits,
            TF.binary_cross_entropy_with_logits,
            [flat, hard],
            [True, True],
        ),
        "binary_cross_entropy_with_logits-pos_weight": (
            lambda a, b, **kw: F.binary_cross_entropy_with_logits(
                a, b, pos_weight=zg.tensor(np.full(flat.shape, 3.0, dtype)), **kw
            ),
            lambda a, b, **kw: TF.binary_cross_entropy_with_logits(
                a, b, pos_weight=torch.tensor(np.full(flat.shape, 3.0, dtype)), **kw
            ),
            [flat, hard],
            [True, True],
        ),
    }


def activation_cases(dtype):
    TF = pytest.importorskip("torch", reason=NEEDS_TORCH_REASON).nn.functional
    return {
        "softmax": (lambda a: F.softmax(a, dim=1), lambda a: TF.softmax(a, dim=1)),
        "log_softmax": (lambda a: F.log_softmax(a, dim=1), lambda a: TF.log_softmax(a, dim=1)),
        "sigmoid": (F.sigmoid, TF.sigmoid),
        "softplus": (F.softplus, TF.softplus),
        "softplus-beta": (lambda a: F.softplus(a, beta=2.0), lambda a: TF.softplus(a, beta=2.0)),
        "tanh": (F.tanh, TF.tanh),
        "elu": (F.elu, TF.elu),
    }


def run_without_warnings_against_torch(zg_fn, torch_fn, arrays, grads, dtype):
    """Forward and backward (a random upstream gradient) with every NumPy floating-point
    warning an error; the values and gradients must be PyTorch's, inf and NaN included."""
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH_REASON)
    zin = [zg.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    tin = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    with warnings.catch_warnings(), np.errstate(over="warn", divide="warn", invalid="warn"):
        warnings.simplefilter("error")
        out = zg_fn(*zin)
        gy = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        out.backward(zg.tensor(gy))
    expected = torch_fn(*tin)
    expected.backward(torch.tensor(gy))
    # float64: PyTorch's 1e-12 guard in BCE's gradient at p = 0 or 1 rounds differently (4e-9)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol, err_msg="forward")
    for i, (z, t) in enumerate(zip(zin, tin)):
        if t.requires_grad:
            np.testing.assert_allclose(
                z.grad.data, t.grad.numpy(), **tol, err_msg=f"gradient of input {i}"
            )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", LOSS_CASES)
def test_losses_at_extreme_values_warn_nothing_and_match_torch(case, dtype, reduction):
    # before: mse_loss warned "overflow encountered in multiply" (float32, |x - t| > 1.8e19),
    # binary_cross_entropy "divide by zero encountered in log" at p = 0 or 1 and gave a finite
    # target gradient where PyTorch's is inf
    zg_fn, torch_fn, arrays, grads = loss_cases(dtype)[case]
    run_without_warnings_against_torch(
        lambda *a: zg_fn(*a, reduction=reduction),
        lambda *a: torch_fn(*a, reduction=reduction),
        arrays,
        grads,
        dtype,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "case", ["softmax", "log_softmax", "sigmoid", "softplus", "softplus-beta", "tanh", "elu"]
)
def test_activations_at_extreme_values_warn_nothing_and_match_torch(case, dtype):
    zg_fn, torch_fn = activation_cases(dtype)[case]
    run_without_warnings_against_torch(zg_fn, torch_fn, [extreme_logits(dtype)], [True], dtype)
