"""zerograd.testing: gradcheck and numerical_gradient pass correct gradients and catch wrong ones;
the public paths (zerograd.gradcheck, zerograd.numerical_gradient) are the same functions."""

import numpy as np
import pytest

import zerograd as zg
from zerograd.testing import GradcheckError, GradcheckResult


class BadSquare(zg.Function):
    """A deliberately wrong backward: 3x instead of 2x."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return 3 * x * gy


class ForgetsUpstream(zg.Function):
    """Correct for sum() but ignores gy: only a random upstream gradient reveals it."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return 2 * x


def test_gradcheck_passes_a_correct_function():
    x = zg.randn(3, 4, dtype="float64", requires_grad=True)
    result = zg.gradcheck(lambda x: (x.tanh() * x).sum(dim=0), [x])
    assert result and result.passed
    assert result.max_abs_error < 1e-7


def test_gradcheck_reports_the_worst_element():
    x = zg.tensor([1.0, -3.0, 2.0], dtype="float64", requires_grad=True)
    result = zg.gradcheck(lambda x: BadSquare()(x).sum(), [x], raise_exception=False)
    assert not result
    assert result.worst["input"] == 0 and result.worst["index"] == (1,)
    assert result.worst["analytic"] == pytest.approx(-9.0)
    assert result.worst["numeric"] == pytest.approx(-6.0, abs=1e-5)
    assert "input 0 at index (1,)" in str(result)


def test_gradcheck_raises_by_default_like_pytorch():
    x = zg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError, match="FAILED"):
        zg.gradcheck(lambda x: BadSquare()(x).sum(), [x])


def test_gradcheck_catches_a_backward_that_ignores_the_upstream_gradient():
    x = zg.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    assert not zg.gradcheck(lambda x: ForgetsUpstream()(x), [x], raise_exception=False)


def test_gradcheck_checks_every_input_and_skips_constants():
    a = zg.randn(2, 3, dtype="float64", requires_grad=True)
    b = zg.randn(3, dtype="float64", requires_grad=True)
    t = zg.tensor([0, 2])
    result = zg.gradcheck(lambda a, b, t: zg.functional.cross_entropy(a * b, t), [a, b, t])
    assert result


def test_gradcheck_works_in_float64_for_float32_inputs():
    x = zg.randn(4, requires_grad=True)  # float32
    assert zg.gradcheck(lambda x: x.exp().sum(), [x])
    assert x.grad is None  # the check runs on float64 copies


def test_gradcheck_with_nothing_to_check():
    assert zg.gradcheck(lambda x: x * 2, [zg.ones(2)]).worst is None


def test_numerical_gradient_of_the_course_function():
    # the book's function_2: f(x0, x1) = x0^2 + x1^2, gradient at (3, 4) is (6, 8)
    grad = zg.numerical_gradient(lambda x: np.sum(x**2), np.array([3.0, 4.0]))
    np.testing.assert_allclose(grad, [6.0, 8.0], rtol=1e-6)


def test_numerical_gradient_restores_x_and_handles_matrices_and_tensors():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = x.copy()
    grad = zg.numerical_gradient(lambda a: float((a**3).sum()), x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-6)
    t = zg.tensor(before)
    np.testing.assert_allclose(
        zg.numerical_gradient(lambda a: (a * a).sum(), t), 2 * before, rtol=1e-6
    )


def test_numerical_gradient_agrees_with_backprop_on_a_two_layer_net():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 5)), rng.integers(0, 3, 4)
    W = zg.tensor(rng.standard_normal((3, 5)) * 0.5, requires_grad=True)

    def loss(w):
        return zg.functional.cross_entropy(
            zg.functional.linear(zg.tensor(x), w).sigmoid(), zg.tensor(t)
        )

    loss(W).backward()
    numeric = zg.numerical_gradient(lambda w: loss(zg.tensor(w)).item(), W.data.copy())
    np.testing.assert_allclose(W.grad.data, numeric, rtol=1e-5, atol=1e-8)


def test_numerical_gradient_rejects_integers():
    with pytest.raises(TypeError, match="floating"):
        zg.numerical_gradient(lambda x: 0.0, np.array([1, 2]))


def test_the_public_paths_are_the_testing_packages_functions():
    import zerograd.testing

    assert zg.gradcheck is zerograd.testing.gradcheck
    assert zg.numerical_gradient is zerograd.testing.numerical_gradient
    assert "gradcheck" in zg.__all__ and "numerical_gradient" in zg.__all__
    x = zg.randn(2, dtype="float64", requires_grad=True)
    assert isinstance(zg.gradcheck(lambda x: x * x, [x]), GradcheckResult)
