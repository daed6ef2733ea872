"""backend: array module, sum_to, dtype policy, the one seeded generator, erf."""

import math

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import backend


def test_array_module_is_numpy_on_cpu():
    assert backend.array_module(np.zeros(2)) is np


def test_array_module_looks_at_what_it_is_given():
    for x in (np.zeros((2, 3), "float32"), np.float32(1.0), np.int64(3), 1.5, 2, True, [1, 2]):
        assert backend.array_module(x) is np
    for x in (zg.ones(2), "text", None, object()):
        with pytest.raises(TypeError, match=f"no array module owns a {type(x).__name__}"):
            backend.array_module(x)


@pytest.mark.parametrize(
    "shape_in, shape_out",
    [((2, 3, 4), (3, 4)), ((2, 3, 4), (1, 4)), ((2, 3, 4), (3, 1)), ((2, 3), ()), ((5,), (5,))],
)
def test_sum_to_undoes_broadcasting(shape_in, shape_out):
    x = np.random.default_rng(0).standard_normal(shape_in)
    expected = x
    while expected.ndim > len(shape_out):
        expected = expected.sum(axis=0)
    for i, n in enumerate(shape_out):
        if n == 1 and expected.shape[i] != 1:
            expected = expected.sum(axis=i, keepdims=True)
    got = backend.sum_to(x, shape_out)
    assert got.shape == shape_out
    np.testing.assert_allclose(got, expected)


def test_sum_to_returns_the_same_array_when_shapes_match():
    x = np.ones((2, 3))
    assert backend.sum_to(x, (2, 3)) is x


def test_default_dtype_is_float32_and_can_change():
    assert zg.get_default_dtype() == np.float32
    assert zg.tensor([1.5]).dtype == np.float32
    zg.set_default_dtype("float64")
    try:
        assert zg.tensor([1.5]).dtype == np.float64
        assert zg.randn(2).dtype == np.float64
    finally:
        zg.set_default_dtype(zg.float32)


def test_set_default_dtype_rejects_integers():
    with pytest.raises(TypeError, match="floating"):
        zg.set_default_dtype("int64")


@pytest.mark.parametrize("spec", [np.float64, "float64", zg.float64, np.dtype("float64")])
def test_dtype_specs_resolve(spec):
    assert backend.resolve_dtype(spec) == np.float64


def test_unknown_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="unknown dtype 'float33'"):
        zg.zeros(2, dtype="float33")


def test_torch_dtype_is_refused_with_the_fix():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    with pytest.raises(TypeError, match="torch dtype"):
        zg.zeros(2, dtype=torch.float32)


def test_manual_seed_repeats_every_random_draw():
    def draws():
        zg.manual_seed(123)
        a = zg.randn(3, 4).data.copy()
        b = zg.rand(5).data.copy()
        c = zg.functional.dropout(zg.ones(10), 0.5).data.copy()
        d = zg.randint(0, 10, (6,)).data.copy()
        return a, b, c, d

    for x, y in zip(draws(), draws()):
        np.testing.assert_array_equal(x, y)
    zg.manual_seed(124)
    assert not np.array_equal(zg.randn(3, 4).data, draws()[0])


def test_manual_seed_validates():
    with pytest.raises(ValueError, match="non-negative integer"):
        zg.manual_seed(-1)
    with pytest.raises(ValueError, match="non-negative integer"):
        zg.manual_seed(1.5)


def test_rng_state_round_trip():
    zg.manual_seed(0)
    state = zg.get_rng_state()
    a = zg.randn(4).data.copy()
    zg.set_rng_state(state)
    np.testing.assert_array_equal(zg.randn(4).data, a)


def test_random_float32_is_drawn_as_float32():
    assert zg.randn(3).dtype == np.float32
    assert zg.rand(3, dtype="float64").dtype == np.float64


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_matches_math_erf(dtype):
    x = np.linspace(-4, 4, 101).astype(dtype)
    got = backend.erf(x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, [math.erf(v) for v in x.astype(float)], rtol=1e-6, atol=1e-7)


def test_allocator_is_tuned_by_training_not_by_import_unless_the_user_opts_out():
    import platform
    import subprocess
    import sys

    code = (
        "import zerograd.backend as b; print(b._allocator_tuned); "
        "from zerograd import nn, optim; from zerograd.train import fit; import numpy as np; "
        "m = nn.Linear(2, 2); x = np.zeros((4, 2), 'float32'); t = np.zeros(4, 'int64'); "
        "fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=0.1), [(x, t)], "
        "progress=False); print(b._allocator_tuned)"
    )
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    env = {**__import__("os").environ, "ZEROGRAD_MALLOC": "system"}
    opted_out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert default.stdout.split() == ["False", str(glibc)], default.stderr
    assert opted_out.stdout.split() == ["False", "False"], opted_out.stderr
