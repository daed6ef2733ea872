"""Batch image transforms (zerograd.data.transforms) and the DataLoader transform hook."""

import numpy as np
import pytest

import zerograd as zg
from zerograd.autograd import Tensor
from zerograd.data import DataLoader, TensorDataset
from zerograd.data import transforms as T


def images(n=6, c=2, h=7, w=7, dtype=np.float32, seed=0):
    """Distinct positive values, so every shift or flip of an image is recognisable."""
    return np.random.default_rng(seed).uniform(1.0, 2.0, (n, c, h, w)).astype(dtype)


def shifted(img, dy, dx):
    """Reference, one image at a time: out[:, i, j] = img[:, i - dy, j - dx], 0 outside."""
    C, H, W = img.shape
    out = np.zeros_like(img)
    for i in range(H):
        for j in range(W):
            if 0 <= i - dy < H and 0 <= j - dx < W:
                out[:, i, j] = img[:, i - dy, j - dx]
    return out


def find_shifts(x, out, p):
    """For each image, the one (dy, dx) in [-p, p]^2 with out[n] == shifted(x[n], dy, dx)."""
    found = []
    for n in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-p, p + 1)
            for dx in range(-p, p + 1)
            if np.array_equal(out[n], shifted(x[n], dy, dx))
        ]
        assert len(matches) == 1, f"image {n}: matches {matches}"
        found.append(matches[0])
    return found


def rng(seed=0):
    return np.random.default_rng(seed)


ALL = [
    lambda: T.RandomCrop(7, padding=2, generator=rng()),
    lambda: T.RandomShift(2, generator=rng()),
    lambda: T.RandomRotation(30, generator=rng()),
    lambda: T.RandomHorizontalFlip(generator=rng()),
    lambda: T.Normalize([0.1, 0.2], [0.3, 0.4]),
    lambda: T.Compose([T.RandomShift(1, generator=rng()), T.Normalize(0.5, 0.5)]),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_preserved(make, dtype):
    x = images(dtype=dtype)
    out = make()(x)
    assert isinstance(out, np.ndarray)
    assert out.shape == x.shape and out.dtype == dtype
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("make", ALL)
def test_tensor_in_tensor_out(make):
    x = images()
    out = make()(zg.tensor(x))
    assert isinstance(out, Tensor)
    assert out.shape == x.shape and out.data.dtype == np.float32
    np.testing.assert_array_equal(out.data, make()(x))


def test_random_crop_is_a_shift_by_at_most_padding():
    x = images(n=40, h=6, w=6)
    p = 2
    out = T.RandomCrop(6, padding=p, generator=rng(1))(x)
    shifts = find_shifts(x, out, p)
    assert len(set(shifts)) > 5  # each image draws its own shift, not one for the batch


def test_random_crop_smaller_size_and_fill():
    x = images(n=20, c=1, h=5, w=6)
    out = T.RandomCrop((3, 4), padding=(1, 2), fill=-1.0, generator=rng(2))(x)
    assert out.shape == (20, 1, 3, 4)
    # padding (1, 2) is (left/right, top/bottom), as torchvision: the padded image is 9 x 8
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), constant_values=-1.0)
    for n in range(len(x)):
        windows = [
            (top, left)
            for top in range(9 - 3 + 1)
            for left in range(8 - 4 + 1)
            if np.array_equal(out[n], padded[n, :, top : top + 3, left : left + 4])
        ]
        assert len(windows) >= 1, f"image {n} is no window of the padded image"


def test_random_crop_without_padding_cuts_a_window():
    x = images(n=10, c=1, h=8, w=8)
    out = T.RandomCrop(8, generator=rng())(x)
    np.testing.assert_array_equal(out, x)


def test_random_shift_matches_reference_and_random_crop():
    x = images(n=40, h=6, w=6)
    out = T.RandomShift(2, generator=rng(3))(x)
    shifts = find_shifts(x, out, 2)
    assert len(set(shifts)) > 5
    assert {dy for dy, _ in shifts} == set(range(-2, 3))  # the whole range is drawn
    crop = T.RandomCrop(6, padding=2, generator=rng(3))(x)
    np.testing.assert_array_equal(out, crop)


def test_random_shift_zero_is_identity():
    x = images()
    np.testing.assert_array_equal(T.RandomShift(0)(x), x)


@pytest.mark.parametrize("degrees", [0, (0, 0), 0.0])
def test_rotation_by_zero_is_identity(degrees):
    x = images(h=6, w=9)
    np.testing.assert_allclose(T.RandomRotation(degrees)(x), x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [5, 7])
def test_rotation_by_90_is_rot90_counter_clockwise(size):
    x = images(n=3, c=2, h=size, w=size)
    out = T.RandomRotation((90, 90))(x)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(2, 3)), rtol=0, atol=1e-6)
    out = T.RandomRotation((-90, -90))(x)
    np.testing.assert_allclose(out, np.rot90(x, k=-1, axes=(2, 3)), rtol=0, atol=1e-6)


def test_rotation_by_180_flips_both_axes_of_a_non_square_image():
    x = images(n=2, c=1, h=5, w=8)
    out = T.RandomRotation((180, 180))(x)
    np.testing.assert_allclose(out, x[:, :, ::-1, ::-1], rtol=0, atol=1e-6)


def test_rotation_preserves_mass_of_a_centred_blob():
    i = np.arange(28) - 13.5
    blob = np.exp(-(i[:, None] ** 2 / 20.0 + i[None, :] ** 2 / 8.0))  # elongated, centred
    x = np.broadcast_to(blob, (16, 1, 28, 28)).astype(np.float64)
    out = T.RandomRotation(20, generator=rng(4))(x)
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), blob.sum(), rtol=0.01)
    # identical inputs, different outputs: each image gets its own angle
    assert len({round(float(np.abs(o - blob).sum()), 6) for o in out}) == len(out)


def test_rotation_fill_and_bilinear_between_pixels():
    x = np.ones((4, 1, 9, 9), np.float32)
    # rotating a constant image with the same fill leaves it constant, at any angle
    np.testing.assert_allclose(T.RandomRotation(180, fill=1.0, generator=rng())(x), 1.0, atol=1e-6)
    out = T.RandomRotation((45, 45))(x)
    assert out[0, 0, 0, 0] == 0.0 and out[0, 0, 4, 4] == pytest.approx(1.0)
    # bilinear: values stay within the input's range (convex combinations of pixels and fill)
    y = images(n=4, c=1, h=9, w=9, dtype=np.float64)
    out = T.RandomRotation(30, fill=1.5, generator=rng())(y)
    assert out.min() >= 1.0 - 1e-12 and out.max() <= 2.0 + 1e-12


def test_horizontal_flip_p1_p0_and_half():
    x = images(n=8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    x = images(n=2000, c=1, h=2, w=3)
    out = T.RandomHorizontalFlip(p=0.5, generator=rng(5))(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert (flipped ^ kept).all()  # every image is either flipped or untouched
    assert 0.45 < flipped.mean() < 0.55


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_matches_formula_per_channel(dtype):
    x = images(n=4, c=3, dtype=dtype)
    mean, std = [0.1, 0.5, 1.5], [0.2, 2.0, 0.7]
    out = T.Normalize(mean, std)(x)
    expected = np.stack([(x[:, c] - mean[c]) / std[c] for c in range(3)], axis=1)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=rtol)
    assert out.dtype == dtype
    np.testing.assert_allclose(T.Normalize(0.1307, 0.3081)(x), (x - 0.1307) / 0.3081, rtol=rtol)


def test_manual_seed_repeats_the_augmentation():
    x = images(n=16)
    t = T.Compose([T.RandomShift(2), T.RandomRotation(10), T.RandomHorizontalFlip()])
    zg.manual_seed(7)
    a = t(x)
    b = t(x)
    zg.manual_seed(7)
    np.testing.assert_array_equal(t(x), a)
    assert not np.array_equal(a, b)


def test_generator_argument_overrides_the_library_generator():
    x = images(n=16)
    zg.manual_seed(0)
    a = T.RandomShift(2, generator=rng(9))(x)
    zg.manual_seed(1)
    b = T.RandomShift(2, generator=rng(9))(x)
    np.testing.assert_array_equal(a, b)


def test_compose_applies_in_order_and_repr():
    t = T.Compose([lambda x: x + 1, lambda x: x * 2])
    np.testing.assert_array_equal(t(np.zeros((1, 1, 2, 2))), 2.0)
    t = T.Compose([T.RandomCrop(24, padding=4), T.Normalize(0.5, 0.25)])
    assert repr(t) == (
        "Compose(\n    RandomCrop(size=(24, 24), padding=4)\n    Normalize(mean=0.5, std=0.25)\n)"
    )


def mnist_like(n=10):
    X = np.random.default_rng(0).uniform(0, 1, (n, 1, 8, 8)).astype(np.float32)
    y = np.arange(n, dtype=np.int64)
    return X, y


def test_dataloader_transform_applies_to_inputs_only():
    X, y = mnist_like()
    loader = DataLoader(TensorDataset(X, y), batch_size=4, transform=T.RandomHorizontalFlip(p=1))
    batches = list(loader)
    assert [len(b) for b in batches] == [2, 2, 2]
    xs = np.concatenate([b[0].data for b in batches])
    ys = np.concatenate([b[1].data for b in batches])
    assert all(isinstance(b[0], Tensor) and b[0].data.dtype == np.float32 for b in batches)
    np.testing.assert_array_equal(xs, X[..., ::-1])
    np.testing.assert_array_equal(ys, y)
    assert "transform=RandomHorizontalFlip(p=1.0)" in repr(loader)
    assert "transform" not in repr(DataLoader(TensorDataset(X, y)))


def test_dataloader_transform_on_single_tensor_and_tuple_batches():
    X, y = mnist_like(4)
    ds = TensorDataset(X, y)
    norm = T.Normalize(0.5, 0.5)

    def only_images(samples):
        return zg.tensor(np.stack([s[0].data for s in samples]))

    (batch,) = DataLoader(ds, batch_size=4, collate_fn=only_images, transform=norm)
    assert isinstance(batch, Tensor)
    np.testing.assert_allclose(batch.data, (X - 0.5) / 0.5, rtol=1e-6)

    def as_tuple(samples):
        return np.stack([s[0].data for s in samples]), [int(s[1].item()) for s in samples]

    ((xb, yb),) = DataLoader(ds, batch_size=4, collate_fn=as_tuple, transform=norm)
    assert isinstance(xb, np.ndarray)  # the kind collate_fn gave is kept
    np.testing.assert_allclose(xb, (X - 0.5) / 0.5, rtol=1e-6)
    assert yb == [0, 1, 2, 3]


def test_dataloader_transform_repeats_with_manual_seed():
    X, y = mnist_like(12)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, transform=T.RandomShift(2))
    zg.manual_seed(3)
    first = [(xb.data, yb.data) for xb, yb in loader]
    zg.manual_seed(3)
    again = [(xb.data, yb.data) for xb, yb in loader]
    for (a, ya), (b, yb) in zip(first, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)


def test_dataloader_transform_errors():
    X, y = mnist_like(4)
    with pytest.raises(TypeError, match="transform must be callable or None, got int"):
        DataLoader(TensorDataset(X, y), transform=3)
    loader = DataLoader(
        TensorDataset(X, y),
        batch_size=2,
        collate_fn=lambda s: {"x": s},
        transform=T.Normalize(0, 1),
    )
    with pytest.raises(TypeError, match="collate_fn returned dict"):
        next(iter(loader))
    flat = DataLoader(TensorDataset(X.reshape(4, 64), y), batch_size=2, transform=T.RandomShift(1))
    with pytest.raises(ValueError, match=r"\(2, 64\).*\(N, 1, 28, 28\)"):
        next(iter(flat))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: T.RandomCrop(0),
            ValueError,
            r"RandomCrop: size must be an int or a pair of ints, each >= 1, got 0",
        ),
        (lambda: T.RandomCrop((3, 4, 5)), ValueError, r"RandomCrop: size .*got \(3, 4, 5\)"),
        (lambda: T.RandomCrop(3, padding=-1), ValueError, r"RandomCrop: padding .*got -1"),
        (lambda: T.RandomCrop(3, padding=(1, 2, 3)), ValueError, r"padding .*\(1, 2, 3\)"),
        (lambda: T.RandomCrop(3, fill="x"), TypeError, "RandomCrop: fill must be a finite"),
        (lambda: T.RandomCrop(3, generator=0), TypeError, "numpy.random.Generator.*got int"),
        (lambda: T.RandomShift(-1), ValueError, r"RandomShift: max_shift .*got -1"),
        (lambda: T.RandomShift(1.5), ValueError, r"RandomShift: max_shift .*got 1.5"),
        (lambda: T.RandomRotation(-5), ValueError, r"RandomRotation: degrees .*got -5"),
        (lambda: T.RandomRotation((10, -10)), ValueError, r"min <= max, got \(10, -10\)"),
        (lambda: T.RandomRotation("10"), ValueError, r"RandomRotation: degrees .*got '10'"),
        (lambda: T.RandomHorizontalFlip(p=1.5), ValueError, r"p must be .*\[0, 1\], got 1.5"),
        (lambda: T.Normalize(0.5, [1.0, 0.0]), ValueError, r"std must have no zeros.*0.0"),
        (lambda: T.Normalize([0.1, 0.2], [1, 2, 3]), ValueError, "got 2 and 3"),
        (lambda: T.Normalize("a", 1), TypeError, "Normalize: mean must be a number"),
        (lambda: T.Compose([T.Normalize(0, 1), 3]), TypeError, r"\(1, 'int'\)"),
        (lambda: T.Compose(T.Normalize(0, 1)), TypeError, "Compose: transforms must be a list"),
    ],
)
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "t, x, error, match",
    [
        (T.RandomShift(2), np.zeros((5, 784), np.float32), ValueError, r"\(5, 784\).*flatten"),
        (T.RandomRotation(5), np.zeros((1, 28, 28), np.float32), ValueError, r"\(1, 28, 28\)"),
        (T.RandomHorizontalFlip(), np.zeros((2, 1, 3, 3), np.uint8), TypeError, "dtype uint8"),
        (T.Normalize(0, 1), [[[[0.0]]]], TypeError, "NumPy array or Tensor.*got list"),
        (
            T.RandomCrop(31, padding=1),
            np.zeros((2, 1, 28, 28), np.float32),
            ValueError,
            r"RandomCrop\(size=\(31, 31\), padding=1\): crop size \(31, 31\) is larger than "
            r"the padded image \(30, 30\)",
        ),
        (
            T.Normalize([0.1, 0.2], [1.0, 1.0]),
            np.zeros((2, 3, 4, 4), np.float32),
            ValueError,
            r"mean has 2 values but the input has 3 channels",
        ),
    ],
)
def test_bad_input(t, x, error, match):
    with pytest.raises(error, match=match):
        t(x)
