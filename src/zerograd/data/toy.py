"""The course's toy data sets, each a function returning NumPy arrays ``(X, y)``.

Inputs are float32 (the library's default). Random sets draw from the library's seeded generator
(``zerograd.manual_seed``) unless ``seed`` is given (an int or a ``numpy.random.Generator``), and
return their rows grouped by class, as the originals do: shuffle them, or use
``DataLoader(TensorDataset(X, y), shuffle=True)``.

- ``logic_gate(name)``: the truth table of AND, OR, NAND, NOR, XOR or XNOR (perceptrons, and why
  XOR needs a hidden layer).
- ``height_weight(n)``: heights and weights of two classes (female / male) from two correlated 2-D
  Gaussians.
- ``planar_flower(n)``: two classes on the petals of the rose r = a sin(4t) (Andrew Ng's planar
  data set).
- ``spirals(n_per_class, classes)``: interleaved spiral arms (the CS231n spiral data set).
- ``binary_addition(n, bits)``: pairs of integers and their sum as little-endian bit sequences
  (the binary-addition RNN).
"""

from __future__ import annotations

import math

import numpy

from .. import backend

__all__ = ["logic_gate", "height_weight", "planar_flower", "spirals", "binary_addition"]

_GATES = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "XNOR": (1, 0, 0, 1),
}


def _rng(seed, who: str) -> numpy.random.Generator:
    if seed is None:
        return backend.generator()
    if isinstance(seed, numpy.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(
            f"{who}: seed must be a non-negative integer, a numpy.random.Generator or None, got "
            f"{seed!r}."
        )
    return numpy.random.default_rng(int(seed))


def _count(n, who: str, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {n!r}.")
    return int(n)


def logic_gate(name: str):
    """The truth table of a two-input logic gate.

    Parameters
    ----------
    name : str
        ``"AND"``, ``"OR"``, ``"NAND"``, ``"NOR"``, ``"XOR"`` or ``"XNOR"`` (any case).

    Returns
    -------
    X : numpy.ndarray
        float32 (4, 2): the inputs 00, 01, 10, 11.
    y : numpy.ndarray
        int64 (4,): the gate's output for each row.

    Examples
    --------
    >>> X, y = logic_gate("xor")
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    key = str(name).upper()
    if key not in _GATES:
        raise ValueError(f"logic_gate: unknown gate {name!r}; choose one of {', '.join(_GATES)}.")
    X = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=numpy.float32)
    return X, numpy.array(_GATES[key], dtype=numpy.int64)


# (mean height cm, sd, mean weight kg, sd, correlation of height and weight), adult values close to
# those national health surveys report; synthetic, for teaching only.
_BODY = {
    0: (162.0, 6.5, 64.0, 10.0, 0.45),  # female
    1: (176.0, 7.0, 80.0, 11.0, 0.45),  # male
}


def height_weight(n: int = 200, seed=None):
    """A synthetic two-class height/weight ("gender") set: two correlated 2-D Gaussians.

    Class 0 (female): height ~ N(162 cm, 6.5), weight ~ N(64 kg, 10); class 1 (male):
    height ~ N(176 cm, 7), weight ~ N(80 kg, 11); within a class height and weight have
    correlation 0.45: with z1, z2 ~ N(0, 1),
    ``height = mu_h + sd_h z1``, ``weight = mu_w + sd_w (rho z1 + sqrt(1 - rho^2) z2)``.
    The classes overlap, as real people do: no line separates them perfectly.

    Parameters
    ----------
    n : int
        Number of people, n // 2 female then n - n // 2 male.
    seed : int or numpy.random.Generator, optional
        Defaults to the library's generator.

    Returns
    -------
    X : numpy.ndarray
        float32 (n, 2): height in cm, weight in kg.
    y : numpy.ndarray
        int64 (n,): 0 female, 1 male.

    Examples
    --------
    >>> X, y = height_weight(10, seed=0)
    >>> X.shape, y.tolist()
    ((10, 2), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    """
    n = _count(n, "height_weight", minimum=2)
    rng = _rng(seed, "height_weight")
    X, y = [], []
    for label, count in ((0, n // 2), (1, n - n // 2)):
        mu_h, sd_h, mu_w, sd_w, rho = _BODY[label]
        z1, z2 = rng.standard_normal((2, count))
        height = mu_h + sd_h * z1
        weight = mu_w + sd_w * (rho * z1 + math.sqrt(1 - rho * rho) * z2)
        X.append(numpy.stack([height, weight], axis=1))
        y.append(numpy.full(count, label, dtype=numpy.int64))
    return numpy.concatenate(X).astype(numpy.float32), numpy.concatenate(y)


def planar_flower(n: int = 400, petals_radius: float = 4.0, noise: float = 0.2, seed=None):
    """Andrew Ng's planar "flower": two classes on the petals of a rose curve.

    Class j (j = 0, 1) takes n/2 angles ``t`` evenly spread over [3.12 j, 3.12 (j + 1)] plus
    N(0, noise^2) jitter, radii ``r = a sin(4 t) + N(0, noise^2)`` with ``a = petals_radius``, and
    points ``(r sin t, r cos t)``: each class owns alternate petals, so no line separates them.

    Returns
    -------
    X : numpy.ndarray
        float32 (n, 2).
    y : numpy.ndarray
        int64 (n,): n // 2 zeros then ones.

    Examples
    --------
    >>> X, y = planar_flower(seed=1)
    >>> X.shape, y.shape, int(y.sum())
    ((400, 2), (400,), 200)
    """
    n = _count(n, "planar_flower", minimum=2)
    rng = _rng(seed, "planar_flower")
    X, y = [], []
    for j, count in ((0, n // 2), (1, n - n // 2)):
        t = numpy.linspace(3.12 * j, 3.12 * (j + 1), count) + noise * rng.standard_normal(count)
        r = petals_radius * numpy.sin(4 * t) + noise * rng.standard_normal(count)
        X.append(numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1))
        y.append(numpy.full(count, j, dtype=numpy.int64))
    return numpy.concatenate(X).astype(numpy.float32), numpy.concatenate(y)


def spirals(n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed=None):
    """The CS231n spiral set: ``classes`` interleaved spiral arms in the plane.

    Arm j has ``n_per_class`` points with radius ``r`` evenly spread over [0, 1] and angle
    ``t = 4 j + 4 r + N(0, noise^2)`` (evenly over [4 j, 4 (j + 1)] plus jitter), at
    ``(r sin t, r cos t)``. No line separates two arms.

    Returns
    -------
    X : numpy.ndarray
        float32 (n_per_class * classes, 2).
    y : numpy.ndarray
        int64 (n_per_class * classes,): the arm, in blocks of n_per_class.

    Examples
    --------
    >>> X, y = spirals(50, 3, seed=0)
    >>> X.shape, numpy.bincount(y).tolist()
    ((150, 2), [50, 50, 50])
    """
    n_per_class = _count(n_per_class, "spirals", "n_per_class")
    classes = _count(classes, "spirals", "classes")
    rng = _rng(seed, "spirals")
    X, y = [], []
    for j in range(classes):
        r = numpy.linspace(0.0, 1.0, n_per_class)
        t = numpy.linspace(4.0 * j, 4.0 * (j + 1), n_per_class)
        t = t + noise * rng.standard_normal(n_per_class)
        X.append(numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1))
        y.append(numpy.full(n_per_class, j, dtype=numpy.int64))
    return numpy.concatenate(X).astype(numpy.float32), numpy.concatenate(y)


def binary_addition(n: int, bits: int = 8, seed=None):
    """Pairs of integers and their sums as little-endian bit sequences, for an RNN that adds.

    ``a`` and ``b`` are drawn uniformly from [0, 2^(bits-1)), so ``c = a + b`` fits in ``bits``
    bits. Step k of a sequence holds bit k (least significant first, the order the carry flows)
    of ``a`` and ``b`` as input and bit k of ``c`` as target; recover the integers with
    ``(X[:, :, 0] * 2 ** numpy.arange(bits)).sum(1)``.

    Returns
    -------
    X : numpy.ndarray
        float32 (n, bits, 2): bits of a and b.
    y : numpy.ndarray
        float32 (n, bits): bits of a + b (binary targets for a sigmoid output).

    Examples
    --------
    >>> X, y = binary_addition(3, bits=4, seed=0)
    >>> X.shape, y.shape
    ((3, 4, 2), (3, 4))
    >>> w = 2 ** numpy.arange(4)
    >>> bool(((X[:, :, 0] @ w) + (X[:, :, 1] @ w) == y @ w).all())
    True
    """
    n = _count(n, "binary_addition")
    bits = _count(bits, "binary_addition", "bits", minimum=2)
    if bits > 62:
        raise ValueError(f"binary_addition: bits must be at most 62 (int64 sums), got {bits}.")
    rng = _rng(seed, "binary_addition")
    a, b = rng.integers(0, 2 ** (bits - 1), size=(2, n), dtype=numpy.int64)
    shifts = numpy.arange(bits)

    def to_bits(v):  # (n,) -> (n, bits), least significant bit first
        return ((v[:, None] >> shifts) & 1).astype(numpy.float32)

    return numpy.stack([to_bits(a), to_bits(b)], axis=2), to_bits(a + b)
