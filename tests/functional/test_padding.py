"""F.pad: its refusals (the values, gradients and PyTorch comparison of every mode run through the
registry's cases and PyTorch's own samples in tests/conformance)."""

import numpy as np
import pytest

import zerograd as zg
import zerograd.functional as F


def test_reflect_gradient_collects_every_mirrored_read():
    x = zg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = F.pad(x, (2, 2), mode="reflect")  # [3, 2, 1, 2, 3, 2, 1]
    assert y.tolist() == [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0, 2.0])


def test_constant_pad_of_an_empty_dimension_is_all_fill():
    y = F.pad(zg.zeros(0, 3), (1, 1, 1, 1), value=7.0)
    assert y.shape == (2, 5) and (y.data == 7.0).all()


@pytest.mark.parametrize(
    "pad, kwargs, error, match",
    [
        ((1,), {}, TypeError, r"pad: pad must be a tuple of an even number of ints"),
        ((1.5, 1), {}, TypeError, r"even number of ints"),
        ((1, 1, 1, 1, 1, 1), {}, ValueError, r"pads 3 dimensions but the input has shape \(2, 3\)"),
        ((1, 1), {"mode": "wrap"}, ValueError, r"mode must be 'constant', 'reflect'"),
        ((3, 0), {"mode": "reflect"}, ValueError, r"reflect padding of \(3, 0\) .* size 3"),
        ((4, 0), {"mode": "circular"}, ValueError, r"circular padding of \(4, 0\)"),
        ((1, 1), {"mode": "reflect", "value": 2.0}, ValueError, r"value is only for"),
        ((-2, -2), {}, ValueError, r"below size 0"),
    ],
)
def test_bad_pads_are_refused_naming_the_shapes(pad, kwargs, error, match):
    with pytest.raises(error, match=match):
        F.pad(zg.ones(2, 3), pad, **kwargs)
