"""backend.erf without SciPy: Cody's rational approximations in NumPy against math.erf (and
against SciPy's erf where SciPy is installed)."""

import math

import numpy as np
import pytest

from zerograd import backend


def ulp_errors(got, x):
    """|got - math.erf(x)| in units of the last place of math.erf's value (at least the
    smallest subnormal, so erf(0) = 0 compares sensibly)."""
    ref = np.array([math.erf(v) for v in x.tolist()])
    return np.abs(got - ref) / np.maximum(np.spacing(np.abs(ref)), np.spacing(0.0))


def report(x, err):
    i = int(np.argmax(err))
    return f"max error {err[i]:.1f} ulp at x = {x[i]!r}"


def test_dense_grid_matches_math_erf_to_a_few_ulp():
    x = np.linspace(-8.0, 8.0, 320_001)  # every range and both boundaries 0.46875 and 4
    x = np.concatenate([x, [0.46875, -0.46875, 4.0, -4.0, np.nextafter(0.46875, 1.0), 6.0]])
    err = ulp_errors(backend._erf_numpy(x), x)
    assert err.max() <= 4, report(x, err)


def test_random_points_over_many_scales_match_math_erf():
    rng = np.random.default_rng(0)
    magnitude = np.exp(rng.uniform(math.log(1e-300), math.log(30.0), 200_000))
    x = np.concatenate([magnitude * rng.choice([-1.0, 1.0], magnitude.size),
                        rng.normal(0.0, 2.0, 100_000)])  # fmt: skip
    got = backend._erf_numpy(x)
    err = ulp_errors(got, x)
    assert err.max() <= 4, report(x, err)
    ref = np.array([math.erf(v) for v in x.tolist()])
    rel = np.abs(got - ref) / np.abs(ref)
    assert rel.max() < 1e-15, f"max relative error {rel.max():.2e} at x = {x[np.argmax(rel)]!r}"


def test_subnormal_and_tiny_inputs():
    x = np.array([5e-324, -5e-324, 1e-310, 1e-200, 1e-17, -1e-9])
    err = ulp_errors(backend._erf_numpy(x), x)
    assert err.max() <= 2, report(x, err)


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308])
    got = backend._erf_numpy(x)
    np.testing.assert_array_equal(got, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0])
    assert not np.signbit(got[0]) and np.signbit(got[1])  # erf(-0.0) is -0.0, as in math.erf


def test_every_element_in_one_range_and_empty_arrays():
    small = np.linspace(-0.4, 0.4, 9)
    assert ulp_errors(backend._erf_numpy(small), small).max() <= 4
    far = np.linspace(4.5, 5.5, 9)
    assert ulp_errors(backend._erf_numpy(far), far).max() <= 4
    assert backend._erf_numpy(np.zeros(0)).shape == (0,)
    assert backend._erf_numpy(np.zeros((2, 0, 3))).shape == (2, 0, 3)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_erf_keeps_dtype_and_shape_and_rounds_float32_correctly(dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(0.0, 2.0, (3, 4, 50))).astype(dtype)
    got = backend.erf(x)
    assert got.dtype == dtype and got.shape == x.shape
    want = np.array([math.erf(v) for v in x.astype(float).ravel().tolist()]).astype(dtype)
    # float16/32: computed in float64 and rounded once, so within one ulp of the correctly
    # rounded value (float64 itself: a few ulp, as in the tests above)
    gap = np.abs(got.ravel().astype(float) - want.astype(float))
    ulps = 4 if dtype == "float64" else 1
    assert (gap <= ulps * np.spacing(np.abs(want)).astype(float)).all()


def test_a_python_scalar_array_and_a_0d_array():
    assert backend.erf(np.float64(0.5)) == pytest.approx(math.erf(0.5), rel=1e-15)
    got = backend.erf(np.array(-1.5))
    assert got.shape == () and got == pytest.approx(math.erf(-1.5), rel=1e-15)


def test_agrees_with_scipy_where_installed():
    special = pytest.importorskip(
        "scipy.special", reason="needs SciPy to compare with scipy.special.erf: pip install scipy"
    )
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0.0, 3.0, 100_000), np.linspace(-7.0, 7.0, 10_001)])
    ref = special.erf(x)
    err = np.abs(backend._erf_numpy(x) - ref) / np.maximum(np.spacing(np.abs(ref)), 5e-324)
    assert err.max() <= 4, report(x, err)
