"""Batch image transforms for augmentation: random crops, shifts, rotations, flips, Normalize.

Each transform takes a whole batch of images, a float NumPy array (or a zerograd Tensor) of shape
(N, C, H, W), and returns a new batch of the same kind, shape and dtype, drawing its random
parameters per image (a shift, an angle, a coin) in one vectorised call: no Python loop over
images or pixels. Pass one to ``DataLoader(..., transform=...)`` to augment every batch.

Names, arguments and conventions follow ``torchvision.transforms`` (``Compose``, ``RandomCrop``,
``RandomRotation``, ``RandomHorizontalFlip``, ``Normalize``); ``RandomShift`` is ours. Differences
from torchvision, on purpose: a transform acts on a batch (N, C, H, W), not on one image; the
randomness comes from the library's seeded generator (``zerograd.backend.generator()``, looked up
at every call, so ``zerograd.manual_seed(n)`` repeats the augmentation) or from the
``numpy.random.Generator`` passed as ``generator=``; only constant padding and bilinear
interpolation are offered. The result is a fresh array (or a new Tensor outside the autograd
graph), never a view of the input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from .. import backend
from ..autograd import Tensor
from ..functional.args import int_pair

__all__ = [
    "Compose",
    "RandomCrop",
    "RandomShift",
    "RandomRotation",
    "RandomHorizontalFlip",
    "Normalize",
]


def _is_int(value) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, (bool, numpy.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, numpy.integer, numpy.floating)) and not isinstance(
        value, (bool, numpy.bool_)
    )


def _check_generator(who: str, generator) -> None:
    if generator is not None and not isinstance(generator, numpy.random.Generator):
        raise TypeError(
            f"{who}: generator must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)) "
            f"or None, got {type(generator).__name__}."
        )


def _check_fill(who: str, fill) -> float:
    if not _is_real(fill) or not math.isfinite(fill):
        raise TypeError(f"{who}: fill must be a finite number, got {fill!r}.")
    return float(fill)


class _BatchTransform:
    """Shared plumbing: unwrap and check the (N, C, H, W) batch, rewrap, pick the generator."""

    generator: numpy.random.Generator | None = None

    def __call__(self, x):
        array = self._check_input(x)
        out = self._apply(array)
        return Tensor(out) if isinstance(x, Tensor) else out

    def _apply(self, x: numpy.ndarray) -> numpy.ndarray:
        raise NotImplementedError

    def _rng(self) -> numpy.random.Generator:
        # looked up at call time, so zerograd.manual_seed after construction still takes effect
        return self.generator if self.generator is not None else backend.generator()

    def _check_input(self, x) -> numpy.ndarray:
        if isinstance(x, Tensor):
            array = x.data
        elif backend.is_array(x):
            array = x
        else:
            raise TypeError(
                f"{self!r}: expected a NumPy array or Tensor of shape (N, C, H, W), "
                f"got {type(x).__name__}."
            )
        if array.ndim == 2:
            raise ValueError(
                f"{self!r}: input has shape {array.shape}, a batch of flat vectors; image "
                f"transforms need images of shape (N, C, H, W), e.g. (N, 1, 28, 28) from "
                f"MNIST(flatten=False)."
            )
        if array.ndim != 4:
            raise ValueError(
                f"{self!r}: input must be a batch of images of shape (N, C, H, W), "
                f"got shape {array.shape}."
            )
        if array.dtype.kind != "f":
            raise TypeError(
                f"{self!r}: input must be a float array, got dtype {array.dtype}. "
                f"Convert it first, e.g. x.astype(numpy.float32) / 255."
            )
        return array


class Compose:
    """Apply transforms one after another, like ``torchvision.transforms.Compose``.

    ``Compose([t1, t2])(x) == t2(t1(x))``; any callables taking and returning a batch will do.

    Parameters
    ----------
    transforms : sequence of callables
        Applied in order.

    Examples
    --------
    >>> import numpy as np
    >>> t = Compose([Normalize(0.5, 0.5), RandomHorizontalFlip(p=0.0)])
    >>> t
    Compose(
        Normalize(mean=0.5, std=0.5)
        RandomHorizontalFlip(p=0.0)
    )
    >>> t(np.ones((2, 1, 3, 3), np.float32))[0, 0, 0]
    array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, transforms: Sequence):
        if not isinstance(transforms, Sequence) or isinstance(transforms, str):
            raise TypeError(
                f"Compose: transforms must be a list of callables, got {type(transforms).__name__}."
            )
        bad = [(i, type(t).__name__) for i, t in enumerate(transforms) if not callable(t)]
        if bad:
            raise TypeError(
                f"Compose: every transform must be callable; not callable (index, type): {bad}."
            )
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


def _crop_at_random(x, size, pad, fill, rng, who):
    """One random (h, w) window per image of ``x`` padded by ``pad`` = (left, top, right, bottom).

    x: (N, C, H, W) -> (N, C, h, w);  out[n] = padded[n, :, top[n]:top[n]+h, left[n]:left[n]+w]
    with top[n] uniform in [0, H + pt + pb - h] and left[n] uniform in [0, W + pl + pr - w].
    """
    (h, w), (pl, pt, pr, pb) = size, pad
    N, _, H, W = x.shape
    HP, WP = H + pt + pb, W + pl + pr
    if h > HP or w > WP:
        raise ValueError(
            f"{who}: crop size {(h, w)} is larger than the padded image {(HP, WP)} (input "
            f"{(H, W)} plus padding (left, top, right, bottom) = {pad}). Use a smaller size or "
            f"more padding."
        )
    if any(pad):
        xp = numpy.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    else:
        xp = x
    top = rng.integers(0, HP - h + 1, size=N)
    left = rng.integers(0, WP - w + 1, size=N)
    windows = sliding_window_view(xp, (h, w), axis=(2, 3))  # (N, C, HP-h+1, WP-w+1, h, w), a view
    # the advanced indices are split by a slice, so their dimension (N) goes first: (N, C, h, w)
    return windows[numpy.arange(N), :, top, left]


class RandomCrop(_BatchTransform):
    """Pad every image, then cut out a random ``size`` window per image (torchvision's RandomCrop).

    out[n] = pad(x[n])[:, top[n] : top[n] + h, left[n] : left[n] + w], with top[n] and left[n]
    drawn uniformly (integers) over every position where the window fits, independently per image.
    With ``size`` equal to the input's (H, W) and ``padding=p`` this is the classic augmentation
    "shift each image by up to p pixels, filling with ``fill``" (see ``RandomShift``).

    x: (N, C, H, W) float -> (N, C, h, w), same dtype.

    Parameters
    ----------
    size : int or (h, w)
        Size of the crop; an int means a square crop.
    padding : int or sequence of 2 or 4 ints
        Pixels added around each image before cropping, as torchvision: an int pads every side;
        two ints are (left/right, top/bottom); four are (left, top, right, bottom).
    fill : float
        Value of the padded pixels.
    generator : numpy.random.Generator, optional
        Source of the crop positions; by default ``zerograd.backend.generator()`` at call time.

    Raises
    ------
    ValueError
        If the crop is larger than the padded image, or the input is not (N, C, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> crop = RandomCrop(24, padding=2, generator=np.random.default_rng(0))
    >>> crop
    RandomCrop(size=(24, 24), padding=2)
    >>> crop(np.zeros((5, 1, 28, 28), np.float32)).shape
    (5, 1, 24, 24)
    """

    def __init__(self, size, padding=0, fill: float = 0.0, generator=None):
        self.size = int_pair("RandomCrop", "size", size, minimum=1)
        if _is_int(padding):
            pad = (padding,) * 4
        elif isinstance(padding, Sequence) and len(padding) == 2:
            pad = (padding[0], padding[1], padding[0], padding[1])
        elif isinstance(padding, Sequence) and len(padding) == 4:
            pad = tuple(padding)
        else:
            pad = None
        if pad is None or not all(_is_int(p) and p >= 0 for p in pad):
            raise ValueError(
                f"RandomCrop: padding must be a non-negative int or a sequence of 2 "
                f"(left/right, top/bottom) or 4 (left, top, right, bottom) of them, "
                f"got {padding!r}."
            )
        self.padding = padding
        self._pad = tuple(int(p) for p in pad)  # (left, top, right, bottom)
        self.fill = _check_fill("RandomCrop", fill)
        _check_generator("RandomCrop", generator)
        self.generator = generator

    def _apply(self, x):
        return _crop_at_random(x, self.size, self._pad, self.fill, self._rng(), repr(self))

    def __repr__(self) -> str:
        fill = f", fill={self.fill}" if self.fill != 0.0 else ""
        return f"RandomCrop(size={self.size}, padding={self.padding}{fill})"


class RandomShift(_BatchTransform):
    """Shift each image by its own random whole-pixel offset, filling the uncovered border with 0.

    out[n, :, i, j] = x[n, :, i - dy[n], j - dx[n]]  (0 where that falls outside the image),
    dy[n], dx[n] drawn uniformly from the integers in [-max_shift, max_shift], independently per
    image (positive dy moves the content down, positive dx right). This is exactly
    ``RandomCrop((H, W), padding=max_shift)`` for an (H, W) input, and is computed that way.
    torchvision has no such class (``RandomAffine(0, translate=...)`` comes close).

    x: (N, C, H, W) float -> (N, C, H, W), same dtype.

    Parameters
    ----------
    max_shift : int
        Largest shift in pixels, in each direction (non-negative).
    generator : numpy.random.Generator, optional
        Source of the shifts; by default ``zerograd.backend.generator()`` at call time.

    Examples
    --------
    >>> import numpy as np
    >>> shift = RandomShift(2, generator=np.random.default_rng(0))
    >>> shift
    RandomShift(max_shift=2)
    >>> shift(np.ones((3, 1, 28, 28), np.float32)).shape
    (3, 1, 28, 28)
    """

    def __init__(self, max_shift: int, generator=None):
        if not _is_int(max_shift) or max_shift < 0:
            raise ValueError(
                f"RandomShift: max_shift must be a non-negative int (pixels), got {max_shift!r}."
            )
        self.max_shift = int(max_shift)
        _check_generator("RandomShift", generator)
        self.generator = generator

    def _apply(self, x):
        # a crop of the input's own size at top = p - dy, left = p - dx in the p-padded image
        size, pad = x.shape[2:], (self.max_shift,) * 4
        return _crop_at_random(x, size, pad, 0.0, self._rng(), repr(self))

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class RandomRotation(_BatchTransform):
    """Rotate each image about its centre by its own random angle, bilinear (torchvision's name).

    A positive angle turns the image counter-clockwise as displayed (row 0 at the top), as in
    torchvision; ``degrees=(90, 90)`` on a square image equals ``numpy.rot90`` over (H, W). Each
    output pixel (i, j) samples the input at the inversely rotated point, with centre
    (cy, cx) = ((H - 1) / 2, (W - 1) / 2) and y = i - cy, x = j - cx:

        xs = cx + x cos(a) - y sin(a),   ys = cy + x sin(a) + y cos(a)
        out[n, :, i, j] = sum over the 4 pixels around (ys, xs) of bilinear weight * value

    where a pixel outside the image has the value ``fill``. Angles a[n] are drawn uniformly in
    [min, max] degrees, independently per image.

    x: (N, C, H, W) float -> (N, C, H, W), same dtype.

    Parameters
    ----------
    degrees : float or (min, max)
        Range of angles in degrees; a number d means (-d, d) and must be non-negative.
    fill : float
        Value of the pixels rotated in from outside the image.
    generator : numpy.random.Generator, optional
        Source of the angles; by default ``zerograd.backend.generator()`` at call time.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> RandomRotation(degrees=(90, 90))(x)[0, 0].round(4)
    array([[2., 5., 8.],
           [1., 4., 7.],
           [0., 3., 6.]], dtype=float32)
    """

    def __init__(self, degrees, fill: float = 0.0, generator=None):
        if _is_real(degrees):
            if not (math.isfinite(degrees) and degrees >= 0):
                raise ValueError(
                    f"RandomRotation: degrees must be a non-negative number d (meaning (-d, d)) "
                    f"or a pair (min, max), got {degrees!r}."
                )
            lo, hi = -float(degrees), float(degrees)
        elif (
            isinstance(degrees, Sequence)
            and len(degrees) == 2
            and all(_is_real(d) and math.isfinite(d) for d in degrees)
            and degrees[0] <= degrees[1]
        ):
            lo, hi = float(degrees[0]), float(degrees[1])
        else:
            raise ValueError(
                f"RandomRotation: degrees must be a non-negative number d (meaning (-d, d)) or a "
                f"pair (min, max) of finite numbers with min <= max, got {degrees!r}."
            )
        self.degrees = (lo, hi)
        self.fill = _check_fill("RandomRotation", fill)
        _check_generator("RandomRotation", generator)
        self.generator = generator

    def _apply(self, x):
        N, C, H, W = x.shape
        angle = numpy.deg2rad(self._rng().uniform(*self.degrees, size=N))[:, None, None]  # (N,1,1)
        cos, sin = numpy.cos(angle), numpy.sin(angle)
        y = (numpy.arange(H) - (H - 1) / 2)[None, :, None]  # (1, H, 1)
        xc = (numpy.arange(W) - (W - 1) / 2)[None, None, :]  # (1, 1, W)
        # inverse rotation of every output pixel: where it comes from in the input, (N, H, W)
        xs = (W - 1) / 2 + xc * cos - y * sin
        ys = (H - 1) / 2 + xc * sin + y * cos
        # a one-pixel border of fill around the image stands for everything outside it: clip the
        # points into the bordered image, so every neighbour is a real pixel and no mask is needed
        ys = numpy.clip(ys + 1, 0, H + 1)
        xs = numpy.clip(xs + 1, 0, W + 1)
        y0 = numpy.minimum(numpy.floor(ys), H)  # so y0 + 1 <= H + 1 stays in the border
        x0 = numpy.minimum(numpy.floor(xs), W)
        wy, wx = (ys - y0).astype(x.dtype), (xs - x0).astype(x.dtype)
        corner = (y0 * (W + 2) + x0).astype(numpy.intp).reshape(N, 1, H * W)  # flat index
        xpad = numpy.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=self.fill)
        xpad = xpad.reshape(N, C, (H + 2) * (W + 2))
        out = numpy.zeros((N, C, H * W), x.dtype)
        for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):  # the four neighbours
            weight = (wy if dy else 1 - wy) * (wx if dx else 1 - wx)  # (N, H, W)
            value = numpy.take_along_axis(xpad, corner + (dy * (W + 2) + dx), axis=2)
            out += weight.reshape(N, 1, H * W) * value  # (N, 1, H*W) * (N, C, H*W)
        return out.reshape(N, C, H, W)

    def __repr__(self) -> str:
        fill = f", fill={self.fill}" if self.fill != 0.0 else ""
        return f"RandomRotation(degrees={self.degrees}{fill})"


class RandomHorizontalFlip(_BatchTransform):
    """Mirror a random subset of the images left-right, like torchvision's RandomHorizontalFlip.

    out[n] = x[n, :, :, ::-1] if u[n] < p else x[n],  u[n] ~ Uniform[0, 1) per image.
    Right for clothes (Fashion-MNIST), wrong for digits and text, whose mirror images differ.

    x: (N, C, H, W) float -> (N, C, H, W), same dtype.

    Parameters
    ----------
    p : float
        Probability that an image is flipped, in [0, 1].
    generator : numpy.random.Generator, optional
        Source of the coin flips; by default ``zerograd.backend.generator()`` at call time.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(3, dtype=np.float32).reshape(1, 1, 1, 3)
    >>> RandomHorizontalFlip(p=1.0)(x)
    array([[[[2., 1., 0.]]]], dtype=float32)
    """

    def __init__(self, p: float = 0.5, generator=None):
        if not _is_real(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1], got {p!r}.")
        self.p = float(p)
        _check_generator("RandomHorizontalFlip", generator)
        self.generator = generator

    def _apply(self, x):
        flip = self._rng().random(x.shape[0]) < self.p  # (N,) bool
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _per_channel(name: str, value) -> numpy.ndarray:
    """A number or a sequence of numbers as a float64 vector (length 1 for a number)."""
    if _is_real(value):
        values = [value]
    elif isinstance(value, Sequence) and len(value) > 0 and all(_is_real(v) for v in value):
        values = list(value)
    elif backend.is_array(value) and value.ndim == 1 and value.size and value.dtype.kind in "iuf":
        values = value.tolist()
    else:
        raise TypeError(
            f"Normalize: {name} must be a number or a non-empty sequence of numbers (one per "
            f"channel), got {value!r}."
        )
    array = numpy.asarray(values, dtype=numpy.float64)
    if not numpy.isfinite(array).all():
        raise ValueError(f"Normalize: {name} must be finite, got {value!r}.")
    return array


class Normalize(_BatchTransform):
    """Standardise each channel: (x - mean) / std, like ``torchvision.transforms.Normalize``.

    out[n, c] = (x[n, c] - mean[c]) / std[c]; a single number applies to every channel.
    For MNIST scaled to [0, 1] the usual values are mean=0.1307, std=0.3081.

    x: (N, C, H, W) float -> (N, C, H, W), same dtype.

    Parameters
    ----------
    mean : float or sequence of C floats
        Subtracted per channel.
    std : float or sequence of C floats
        Divided by per channel; no zeros.

    Raises
    ------
    ValueError
        If std has a zero, or mean / std have neither 1 nor C entries for a C-channel input.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.stack([np.zeros((2, 2)), np.ones((2, 2))])[None].astype(np.float32)  # (1, 2, 2, 2)
    >>> Normalize(mean=[0.0, 0.5], std=[1.0, 0.25])(x)[0, :, 0, 0]
    array([0., 2.], dtype=float32)
    """

    def __init__(self, mean, std):
        self._mean = _per_channel("mean", mean)
        self._std = _per_channel("std", std)
        if (self._std == 0).any():
            raise ValueError(
                f"Normalize: std must have no zeros (it divides), got {std!r}. Use 1.0 for a "
                f"channel that should only be shifted."
            )
        if len(self._mean) != len(self._std) and 1 not in (len(self._mean), len(self._std)):
            raise ValueError(
                f"Normalize: mean and std must have the same number of channels (or one of them "
                f"a single number), got {len(self._mean)} and {len(self._std)}."
            )
        self.mean, self.std = mean, std

    def _apply(self, x):
        C = x.shape[1]
        for name, v in (("mean", self._mean), ("std", self._std)):
            if len(v) not in (1, C):
                raise ValueError(
                    f"{self!r}: {name} has {len(v)} values but the input has {C} channels "
                    f"(shape {x.shape}); give one value per channel or a single number."
                )
        # cast to x's dtype so float32 stays float32 (float64 statistics would upcast)
        mean = self._mean.astype(x.dtype).reshape(-1, 1, 1)  # (C or 1, 1, 1)
        std = self._std.astype(x.dtype).reshape(-1, 1, 1)
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"
