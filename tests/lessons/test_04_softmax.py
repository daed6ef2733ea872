"""Lesson 4: naive softmax overflows, the max-shifted one does not; log_softmax stays finite."""

import math

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson


def test_softmax_lesson(tmp_path, capsys):
    r = run_lesson("04_softmax", tmp_path)
    assert all(math.isnan(v) for v in r["naive"])
    assert r["warnings"][0] == "overflow encountered in exp"  # exp(1010) is inf ...
    assert "invalid value" in r["warnings"][1]  # ... and inf / inf is nan
    book = [9.99954600e-01, 4.53978686e-05, 2.06106005e-09]
    np.testing.assert_allclose(r["stable"], book, rtol=1e-8)
    np.testing.assert_allclose(r["softmax"], r["stable"], rtol=1e-12)
    np.testing.assert_allclose(r["softmax_sum"], 1.0, rtol=1e-12)
    # log(softmax) underflows to -inf on the -1000 score; log_softmax is b - logsumexp(b)
    assert r["log_of_softmax"][2] == -math.inf
    b = np.array([0.0, -10.0, -1000.0])
    np.testing.assert_allclose(r["log_softmax"], b - np.log(1 + np.exp(-10.0)), rtol=1e-12)
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    (png,) = r["pngs"]
    assert_png(png)
    out = capsys.readouterr().out
    assert "NumPy warns: RuntimeWarning: overflow encountered in exp" in out
    assert "softmax  = [nan, nan, nan]" in out
    assert "softmax   = (9.99954600e-01, 4.53978686e-05, 2.06106005e-09), sum = 1.0000000000" in out
    assert "F.softmax = (9.99954600e-01, 4.53978686e-05, 2.06106005e-09)" in out
    assert "-1.00000005e+03)  <- finite" in out
