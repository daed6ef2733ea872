"""The course's toy sets: shapes, dtypes, labels, the formulas, and seeding."""

import numpy as np
import pytest

import zerograd as zg
from zerograd.data.toy import binary_addition, height_weight, logic_gate, planar_flower, spirals


@pytest.mark.parametrize(
    "name, expected",
    [
        ("AND", [0, 0, 0, 1]),
        ("or", [0, 1, 1, 1]),
        ("NAND", [1, 1, 1, 0]),
        ("NOR", [1, 0, 0, 0]),
        ("Xor", [0, 1, 1, 0]),
        ("XNOR", [1, 0, 0, 1]),
    ],
)
def test_logic_gates(name, expected):
    X, y = logic_gate(name)
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert y.tolist() == expected


def test_logic_gate_unknown():
    with pytest.raises(ValueError, match="'IMPLY'.*AND, OR, NAND, NOR, XOR, XNOR"):
        logic_gate("IMPLY")


def test_height_weight_shapes_and_class_statistics():
    X, y = height_weight(4001, seed=0)
    assert X.shape == (4001, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [2000, 2001]
    women, men = X[y == 0], X[y == 1]
    np.testing.assert_allclose(women.mean(0), [162, 64], atol=0.7)
    np.testing.assert_allclose(men.mean(0), [176, 80], atol=0.7)
    np.testing.assert_allclose(women.std(0), [6.5, 10], rtol=0.06)
    np.testing.assert_allclose(np.corrcoef(men.T)[0, 1], 0.45, atol=0.05)


def test_planar_flower_follows_the_rose_curve():
    X, y = planar_flower(400, noise=0.0, seed=0)
    assert X.shape == (400, 2) and y.shape == (400,) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [200, 200]
    # without noise, (x, y) = (r sin t, r cos t) with r = 4 sin(4t): |r| <= 4
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() <= 4 + 1e-5 and r.max() > 3.9
    t = np.linspace(0, 3.12, 200)
    np.testing.assert_allclose(X[:200, 0], 4 * np.sin(4 * t) * np.sin(t), atol=1e-5)


def test_planar_flower_odd_n():
    _, y = planar_flower(7, seed=0)
    assert np.bincount(y).tolist() == [3, 4]


def test_spirals_shapes_and_arms():
    X, y = spirals(100, 3, seed=0)
    assert X.shape == (300, 2) and y.shape == (300,) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [100, 100, 100]
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[:100], np.linspace(0, 1, 100), atol=1e-6)
    X0, _ = spirals(5, 2, noise=0.0, seed=0)
    t = np.linspace(4, 8, 5)
    r = np.linspace(0, 1, 5)
    np.testing.assert_allclose(X0[5:], np.stack([r * np.sin(t), r * np.cos(t)], 1), atol=1e-6)


def test_binary_addition_bits_add_up():
    X, y = binary_addition(500, bits=8, seed=0)
    assert X.shape == (500, 8, 2) and y.shape == (500, 8)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert set(np.unique(X)) <= {0.0, 1.0} and set(np.unique(y)) <= {0.0, 1.0}
    w = 2.0 ** np.arange(8)  # little-endian: bit k has weight 2^k
    a, b, c = X[:, :, 0] @ w, X[:, :, 1] @ w, y @ w
    np.testing.assert_array_equal(a + b, c)
    assert a.max() < 128 and b.max() < 128 and c.max() < 256


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: height_weight(50, seed=seed),
        lambda seed: planar_flower(50, seed=seed),
        lambda seed: spirals(20, 3, seed=seed),
        lambda seed: binary_addition(20, seed=seed),
    ],
)
def test_seeding(make):
    a, b, c = make(1), make(1), make(2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    zg.manual_seed(5)
    d = make(None)
    zg.manual_seed(5)
    e = make(None)
    np.testing.assert_array_equal(d[0], e[0])
    np.testing.assert_array_equal(make(np.random.default_rng(3))[0], make(3)[0])


def test_argument_errors():
    with pytest.raises(ValueError, match="height_weight: n must be an integer >= 2"):
        height_weight(1)
    with pytest.raises(ValueError, match="spirals: classes must be"):
        spirals(10, 0)
    with pytest.raises(ValueError, match="seed"):
        planar_flower(10, seed=-1)
    with pytest.raises(ValueError, match="at most 62"):
        binary_addition(3, bits=63)
