"""Numerical gradients and the gradient check any user can run on any op or layer.

``numerical_gradient(f, x)`` is the course's slow central-difference method on a plain function
of an array. ``gradcheck(fn, inputs)`` compares autograd's gradients with central differences in
float64, for every input that requires grad, and reports the worst element when they disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from .. import backend
from ..autograd import Tensor, no_grad

__all__ = ["numerical_gradient", "gradcheck", "GradcheckResult", "GradcheckError"]


def numerical_gradient(f, x, eps: float = 1e-4):
    """Gradient of a scalar function ``f`` at ``x`` by central differences, element by element.

    ``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``. ``x`` (an array or a Tensor) is
    changed in place one element at a time and restored; ``f`` takes ``x`` and returns a number
    (or a one-element Tensor). This is the course's method: slow (two calls of ``f`` per element),
    so use it to check, not to train. Use float64 ``x``: float32 rounding swamps small ``eps``.

    Examples
    --------
    >>> import numpy as np
    >>> numerical_gradient(lambda x: float((x ** 2).sum()), np.array([3.0, 4.0])).round(6).tolist()
    [6.0, 8.0]
    """
    data = x.data if isinstance(x, Tensor) else x
    if not backend.is_array(data) or data.dtype.kind != "f":
        raise TypeError(
            "numerical_gradient: x must be a floating array or Tensor (it is changed in place "
            f"and restored), got {type(x).__name__}."
        )
    grad = numpy.zeros_like(data)
    flat, gflat = data.reshape(-1), grad.reshape(-1)
    if not numpy.shares_memory(flat, data):
        raise ValueError("numerical_gradient: x must be contiguous (use x.copy()).")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = float(f(x))
        flat[i] = old - eps
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


@dataclass
class GradcheckResult:
    """What ``gradcheck`` found; true when it passed.

    ``worst`` names the element with the largest error relative to the tolerance:
    ``{"input": i, "index": (..), "analytic": a, "numeric": n}``.
    """

    passed: bool
    max_abs_error: float
    worst: dict | None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.worst is None:
            return "gradcheck: no input requires grad; nothing was checked."
        w = self.worst
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"gradcheck {verdict}: max abs error {self.max_abs_error:.3g}; worst element: input "
            f"{w['input']} at index {w['index']}, analytic {w['analytic']:.10g} vs numeric "
            f"{w['numeric']:.10g}."
        )


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` (with ``raise_exception=True``) when gradients disagree."""

    def __init__(self, result: GradcheckResult):
        super().__init__(str(result))
        self.result = result


def _outputs(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def gradcheck(
    fn,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Check ``fn``'s autograd gradients against central differences, in float64.

    Parameters
    ----------
    fn : callable
        Takes the inputs and returns a Tensor or a tuple of Tensors (any shapes).
    inputs : Tensor or sequence
        Tensors that require grad are checked; other inputs (integer targets, constants, arrays)
        are passed through unchanged. Floating inputs are copied to float64 first.
    eps, atol, rtol : float
        Step of the central difference; an element fails when
        ``|analytic - numeric| > atol + rtol * |numeric|``.
    raise_exception : bool
        Raise ``GradcheckError`` on failure (PyTorch's default) instead of returning a false result.

    Returns
    -------
    GradcheckResult
        Truthy when every element agrees; ``worst`` names the input, index, analytic and numeric
        value of the worst element.

    Notes
    -----
    Outputs of more than one element are projected on a fixed random direction R (the check
    differentiates ``sum(out * R)``, and ``worst`` reports values of that sum's gradient), so
    backward is tested with an upstream gradient that is not all ones. The library's
    random generator is reset before every evaluation, so ops that draw (dropout) are checkable.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.randn(3, 4, dtype="float64", requires_grad=True)
    >>> bool(gradcheck(lambda x: (x * x).sum(dim=1), [x]))
    True
    """
    if isinstance(inputs, Tensor) or not isinstance(inputs, (tuple, list)):
        inputs = [inputs]
    args, checked = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            x = Tensor(x.data.astype(numpy.float64), requires_grad=True)
            checked.append(i)
        args.append(x)

    state = backend.get_rng_state()

    def run():
        backend.set_rng_state(state)
        return _outputs(fn(*args))

    # a one-element output (a loss) is checked as it is; larger ones on a random direction
    projections = [
        numpy.ones(o.shape)
        if o.data.size == 1
        else numpy.random.default_rng(1234 + k).standard_normal(o.shape)
        for k, o in enumerate(run())
    ]

    def objective() -> float:
        with no_grad():
            return float(sum((o.data * r).sum() for o, r in zip(run(), projections)))

    outs = run()
    if not checked or not outs:
        backend.set_rng_state(state)
        return GradcheckResult(True, 0.0, None)
    total = sum(((o * Tensor(r)).sum() for o, r in zip(outs, projections)), Tensor(numpy.zeros(())))
    if total.requires_grad:
        total.backward()

    worst, worst_excess, max_err = None, -numpy.inf, 0.0
    for i in checked:
        x = args[i]
        analytic = numpy.zeros_like(x.data) if x.grad is None else x.grad.data
        flat = x.data.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            fp = objective()
            flat[j] = old - eps
            fm = objective()
            flat[j] = old
            numeric = (fp - fm) / (2 * eps)
            a = float(analytic.reshape(-1)[j])
            err = abs(a - numeric)
            excess = err - (atol + rtol * abs(numeric))
            max_err = max(max_err, err)
            if excess > worst_excess:
                worst_excess = excess
                index = numpy.unravel_index(j, x.shape) if x.ndim else ()
                worst = {
                    "input": i,
                    "index": tuple(int(k) for k in index),
                    "analytic": a,
                    "numeric": numeric,
                }
    backend.set_rng_state(state)
    result = GradcheckResult(worst_excess <= 0, max_err, worst)
    if not result.passed and raise_exception:
        raise GradcheckError(result)
    return result
