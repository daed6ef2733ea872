"""Your own pictures in MNIST's form: ``load_image`` for ``zerograd predict`` and the lessons.

A model trained on MNIST has only seen digits made one way (LeCun, Cortes and Burges, "The MNIST
database of handwritten digits"): light ink on black, the digit's bounding box scaled with
anti-aliasing so that its longer side is 20 pixels, then placed in a 28 x 28 field so that its
centre of mass sits at the centre. ``load_image`` reads any picture Pillow opens (or a ``.npy``
array) and makes it the same way, so a photo of a digit on paper or a drawing from a paint program
reaches the model in the form it knows.

Pillow is optional (the ``image`` extra, ``pip install "zerograd[image]"``); it is imported inside
``load_image``.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy

__all__ = ["load_image"]

SIZE = 28  # MNIST's field, SIZE x SIZE pixels
BOX = 20  # the longer side of the digit's bounding box inside it
CENTRE = 14.0  # where the centre of mass goes (row and column index; MNIST's own average is 14.0)
# Ink is what stands out from the black background by more than this (on the 0..1 scale of
# step 4): JPEG ringing next to the strokes stays below it, while an MNIST digit's bounding box
# keeps its 20 pixels (all 1,000 embedded test images, at any threshold from 0 to 0.3).
INK_THRESHOLD = 0.25
# The black point is the background's level plus this many standard deviations of its noise.
NOISE_SIGMAS = 3.0

FORMATS = "PNG, JPEG, BMP, GIF, TIFF, WebP or another format Pillow opens, or a NumPy .npy array"
_INSTALL = 'pip install "zerograd[image]"'
_NPY_MAGIC = b"\x93NUMPY"
# Enough of each format's signature to call a file that Pillow cannot open damaged, not foreign.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}
_WHO = "load_image"


def load_image(path, invert="auto") -> numpy.ndarray:
    """Read a picture of one digit (or garment) and make it look like an MNIST image.

    The steps follow the way MNIST itself was made:

    1. Read the picture with Pillow (the first frame of an animation), turn it upright as its
       EXIF orientation says (phone photos), composite transparent pixels onto white, and
       convert it to grey. A ``.npy`` file holds the grey levels itself:
       (H, W), (1, H, W) or (H, W, 1), in [0, 1] or in [0, 255] (divided by 255 when its maximum
       is above 1).
    2. Stretch the grey levels to [0, 1] (darkest 0, lightest 1).
    3. Invert dark ink on a light background to MNIST's light ink on black: with
       ``invert="auto"`` when the median of the border pixels is above 0.5 (a median, so that
       JPEG noise and a stroke touching the edge do not decide).
    4. Make the background black: take away its level (the border's median) plus three times
       its noise (a standard deviation from the border's median absolute deviation) and stretch
       again, so that paper texture, uneven light and JPEG noise become 0 and the brightest
       ink 1. An MNIST image or a clean drawing has no noise: only its level is taken away.
    5. Find the bounding box of the ink: the pixels above ``INK_THRESHOLD`` (0.25), which leaves
       out what faint noise remains, such as JPEG ringing next to the strokes.
    6. Crop it, with a margin of one output pixel for the faint anti-aliased edge, and scale it
       with anti-aliasing so that the box's longer side is 20 pixels, keeping the aspect ratio:
       Pillow's BOX filter when shrinking (each pixel the mean of the area it covers), LANCZOS
       when enlarging a small picture; the brightest pixel is made 1 again.
    7. Paste it into a black 28 x 28 image so that its centre of mass (computed with NumPy) sits
       at (14, 14), shifting by the offset rounded to whole pixels (and never so far that ink
       falls off the edge).

    An MNIST test image comes back (almost) unchanged: its bounding box is already 20 pixels and
    its centre of mass already within half a pixel of (14, 14).

    Pillow refuses images with more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels (Pillow's
    default, 89,478,485; Pillow itself only warns up to twice that): a tiny compressed file can
    expand to gigabytes (a decompression bomb). Raise that limit yourself for a trusted file.

    Parameters
    ----------
    path : str or os.PathLike
        A picture (PNG, JPEG, BMP, GIF, TIFF, WebP or any format Pillow opens, of any size and
        colour mode) or a ``.npy`` file.
    invert : {"auto", True, False}
        Whether to invert the grey levels (step 3); ``"auto"`` decides from the border.

    Returns
    -------
    numpy.ndarray
        float32 of shape (28, 28), values in [0, 1], light ink on black. Stack a few with
        ``numpy.stack(images)[:, None]`` for a model's (N, 1, 28, 28) input.

    Raises
    ------
    ImportError
        Pillow is not installed (``pip install "zerograd[image]"``); ``.npy`` files need it too,
        for the scaling.
    FileNotFoundError, IsADirectoryError
        ``path`` does not exist, or is a folder.
    ValueError
        The file is not a picture Pillow can read nor a ``.npy`` array; it is damaged or
        truncated; it has more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``; it is blank (one grey
        level everywhere); or the ``.npy`` array is empty, not numeric, holds NaN or infinity,
        lies outside [0, 255], is not one grey image, or is an ``.npz`` archive.
    TypeError
        ``invert`` is not "auto", True or False, or ``path`` is not a path.

    Examples
    --------
    A 60 x 40 drawing, dark ink on white, with a bar as its digit (a "1"):

    >>> import os, tempfile
    >>> import numpy as np
    >>> from zerograd.data import load_image
    >>> drawing = np.full((60, 40), 255, dtype=np.uint8)
    >>> drawing[10:50, 18:24] = 0
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "one.npy")
    >>> np.save(path, drawing)
    >>> x = load_image(path)
    >>> folder.cleanup()
    >>> x.shape, x.dtype, float(x.max())
    ((28, 28), dtype('float32'), 1.0)
    >>> rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    >>> len(rows), cols.tolist()  # light on black: the bar, 20 pixels tall, 3 wide, centred
    (20, [13, 14, 15])
    """
    Image = _import_pillow()
    if isinstance(invert, str):
        if invert != "auto":
            raise ValueError(f"{_WHO}: invert must be 'auto', True or False; got {invert!r}.")
    elif not isinstance(invert, (bool, numpy.bool_)):
        raise TypeError(
            f"{_WHO}: invert must be 'auto', True or False; got {type(invert).__name__} {invert!r}."
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{_WHO}: path must be a str or os.PathLike; got {type(path).__name__}.")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{_WHO}: {path} is a folder; give the path of one picture or .npy file in it."
        )
    if not path.exists():
        raise FileNotFoundError(
            f"{_WHO}: {path}: no such file. Check the path (relative paths start in {Path.cwd()})."
        )
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_NPY_MAGIC) or path.suffix.lower() in (".npy", ".npz"):
        grey = _read_npy(path, head)
    else:
        grey = _read_picture(Image, path, head)
    return _mnist_form(Image, grey, path, invert)


def _import_pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f"{_WHO}: needs Pillow to read pictures and to scale them (.npy arrays too): "
            f"{_INSTALL} (or pip install pillow)."
        ) from None
    return Image


def _read_picture(Image, path: Path, head: bytes) -> numpy.ndarray:
    """The picture's grey levels (float32, any scale), upright, transparent pixels on white."""
    from PIL import ImageOps

    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse both
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.seek(0)  # the first frame of a GIF, an animated WebP or a TIFF stack
                im.load()
                # a phone stores a photo as the sensor saw it, and how to turn it in its EXIF
                # data: turn it upright, as a viewer shows it
                upright = ImageOps.exif_transpose(im)
                return _grey(Image, upright, path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        found = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise ValueError(
            f"{_WHO}: {path}: {pixels}, more than PIL.Image.MAX_IMAGE_PIXELS = "
            f"{Image.MAX_IMAGE_PIXELS:,}; refused as a possible decompression bomb. Shrink the "
            "picture first (a digit needs a few hundred pixels a side), or raise "
            "PIL.Image.MAX_IMAGE_PIXELS if you trust the file."
        ) from None
    except Image.UnidentifiedImageError:
        if _signature(head) is None:
            raise ValueError(
                f"{_WHO}: {path}: not a picture Pillow can read (its first bytes are "
                f"{head[:8]!r}); give a {FORMATS}."
            ) from None
        raise ValueError(
            _damaged(path, head, "it starts like one, but Pillow cannot read it")
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        # Pillow reports truncated and corrupt data with these (OSError: "image file is
        # truncated", SyntaxError: "broken PNG file", ...)
        raise ValueError(_damaged(path, head, f"{type(e).__name__}: {e}")) from None


def _damaged(path: Path, head: bytes, detail: str) -> str:
    kind = _signature(head) or "picture"
    return (
        f"{_WHO}: {path}: a damaged or truncated {kind} file ({detail}). Save or export it again."
    )


def _signature(head: bytes) -> str | None:
    for magic, kind in _SIGNATURES.items():
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _grey(Image, im, path: Path) -> numpy.ndarray:
    """Grey levels of an open Pillow image, float32 (H, W)."""
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        # 16- and 32-bit grey: the levels as they are (step 2 stretches them to [0, 1])
        grey = numpy.asarray(im, dtype=numpy.float32)
        bad = int(numpy.count_nonzero(~numpy.isfinite(grey)))
        if bad:
            raise ValueError(
                f"{_WHO}: {path}: {bad} of the {grey.size} pixels of this floating-point "
                f"picture (mode {im.mode}) are NaN or infinite; grey levels must be finite."
            )
        return grey
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        # a drawing with a transparent background: what shows through is white paper
        white = Image.new("RGBA", im.size, "white")
        im = Image.alpha_composite(white, im.convert("RGBA"))
    if im.mode != "L":
        try:
            im = im.convert("L")
        except ValueError:  # modes Pillow cannot turn into grey directly (LAB)
            try:
                im = im.convert("RGB").convert("L")
            except ValueError:
                raise ValueError(
                    f"{_WHO}: {path}: Pillow cannot convert colour mode {im.mode!r} to grey; "
                    "save the picture as RGB or greyscale."
                ) from None
    return numpy.asarray(im, dtype=numpy.float32)


def _read_npy(path: Path, head: bytes) -> numpy.ndarray:
    """The grey levels in a .npy file, float32 (H, W) in [0, 1], every problem named."""
    try:
        x = numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        if not head.startswith(_NPY_MAGIC):
            raise ValueError(
                f"{_WHO}: {path}: not a .npy file (it does not start with NumPy's magic "
                f"\\x93NUMPY; its first bytes are {head[:8]!r}). Save the array with "
                f"numpy.save, or give a {FORMATS}."
            ) from None
        dtype = _npy_dtype(path)
        if dtype is not None and dtype.hasobject:
            raise ValueError(
                f"{_WHO}: {path}: the array holds Python objects (dtype {dtype}), which are "
                "loaded only by unpickling, and load_image never unpickles. Save numbers: "
                "numpy.save(path, numpy.asarray(image, dtype=numpy.float32))."
            ) from None
        raise ValueError(
            f"{_WHO}: {path}: a damaged or truncated .npy file ({type(e).__name__}: {e}). "
            "Save the array again with numpy.save."
        ) from None
    if not isinstance(x, numpy.ndarray):  # numpy.load opens a zip archive as an NpzFile
        names = ", ".join(x.files) or "no arrays"
        x.close()
        raise ValueError(
            f"{_WHO}: {path}: an .npz archive (numpy.savez; it holds {names}), not a .npy "
            "array. Save the one image with numpy.save('digit.npy', image)."
        )
    if x.dtype.kind not in "biuf":
        raise ValueError(
            f"{_WHO}: {path}: the array's dtype is {x.dtype}, not numbers; load_image needs "
            "grey levels (integers or floats, in [0, 1] or [0, 255])."
        )
    if x.size == 0:
        raise ValueError(
            f"{_WHO}: {path}: the array is empty (shape {x.shape}); there is no picture in it."
        )
    if x.ndim == 3 and (x.shape[0] == 1 or x.shape[-1] == 1):
        x = x.reshape(x.shape[1:] if x.shape[0] == 1 else x.shape[:-1])
    if x.ndim != 2:
        raise ValueError(
            f"{_WHO}: {path}: an array of shape {x.shape}; load_image needs one grey image, "
            "(H, W), (1, H, W) or (H, W, 1). Convert colour to grey and save one image per file."
        )
    x = x.astype(numpy.float32)
    bad = int(numpy.count_nonzero(~numpy.isfinite(x)))
    if bad:
        raise ValueError(
            f"{_WHO}: {path}: {bad} of the {x.size} values are NaN or infinite; grey levels "
            "must be finite numbers in [0, 1] or [0, 255]."
        )
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 255.0:
        raise ValueError(
            f"{_WHO}: {path}: values from {lo:g} to {hi:g}; grey levels must lie in [0, 1] or "
            "in [0, 255] (undo any normalization such as (x - mean) / std first)."
        )
    return x / 255.0 if hi > 1.0 else x


def _npy_dtype(path: Path):
    """The dtype a .npy header declares, or None when the header cannot be read."""
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as f:
            major, _ = npy_format.read_magic(f)
            if major == 1:
                return npy_format.read_array_header_1_0(f)[2]
            return npy_format.read_array_header_2_0(f)[2]
    except (ValueError, OSError, EOFError):
        return None


def _border(x: numpy.ndarray) -> numpy.ndarray:
    """The pixels of the outermost rows and columns."""
    return numpy.concatenate([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])


def _window(x: numpy.ndarray, top: int, bottom: int, left: int, right: int) -> numpy.ndarray:
    """``x[top:bottom, left:right]`` as a new float32 array, black where it reaches beyond x."""
    out = numpy.zeros((bottom - top, right - left), dtype=numpy.float32)
    y0, y1 = max(top, 0), min(bottom, x.shape[0])
    x0, x1 = max(left, 0), min(right, x.shape[1])
    out[y0 - top : y1 - top, x0 - left : x1 - left] = x[y0:y1, x0:x1]
    return out


def _mnist_form(Image, grey: numpy.ndarray, path: Path, invert) -> numpy.ndarray:
    """Steps 2 to 7 of ``load_image`` on grey levels (H, W) of any scale."""
    lo, hi = float(grey.min()), float(grey.max())
    if lo == hi:
        raise ValueError(
            f"{_WHO}: {path}: the picture is blank (every pixel has grey level {lo:g}); "
            "there is nothing to classify."
        )
    x = (grey - lo) / (hi - lo)  # step 2: [0, 1]
    if invert == "auto":
        invert = bool(numpy.median(_border(x)) > 0.5)  # step 3: a light background
    if invert:
        x = 1.0 - x
    border = _border(x)  # step 4
    level = float(numpy.median(border))
    # the black point: the background's level plus three times its spread (a standard deviation
    # estimated from the median absolute deviation, 1.4826 * MAD), so that paper texture, uneven
    # light and JPEG noise become black; 0 for MNIST and for clean drawings
    spread = 1.4826 * float(numpy.median(numpy.abs(border - level)))
    background = level + NOISE_SIGMAS * spread
    if background >= 1.0:
        raise ValueError(
            f"{_WHO}: {path}: with invert={invert} nothing is lighter than the background, so "
            "there is no ink to find; try invert='auto' or the opposite setting."
        )
    x = numpy.clip((x - background) / (1.0 - background), 0.0, 1.0)

    ink = x > INK_THRESHOLD  # step 5: not empty, the brightest pixel is 1
    rows, cols = numpy.flatnonzero(ink.any(axis=1)), numpy.flatnonzero(ink.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    H, W = int(rows[-1]) + 1 - top, int(cols[-1]) + 1 - left

    scale = BOX / max(H, W)  # step 6: the box becomes OH x OW, its longer side 20
    OH, OW = max(1, round(H * scale)), max(1, round(W * scale))
    # one more output pixel on each side keeps the faint anti-aliased edge that the threshold
    # left out (an MNIST digit would lose its faintest columns without it); that is sy x sx
    # source pixels, so the box's edges fall on output pixels' edges
    sy, sx = H / OH, W / OW
    pad = math.ceil(max(sy, sx))
    window = _window(x, top - pad, top + H + pad, left - pad, left + W + pad)
    if (OH, OW) == (H, W):  # already 20 pixels (an MNIST digit): nothing to resample
        crop = window[pad - 1 : pad + H + 1, pad - 1 : pad + W + 1]
    else:
        # shrinking, BOX makes each pixel the mean of the area it covers (the anti-aliasing
        # MNIST was made with, and no ringing); enlarging, LANCZOS interpolates smoothly
        resample = Image.Resampling.BOX if scale < 1.0 else Image.Resampling.LANCZOS
        region = (pad - sx, pad - sy, pad + W + sx, pad + H + sy)  # (left, top, right, bottom)
        resized = Image.fromarray(window).resize((OW + 2, OH + 2), resample, box=region)
        crop = numpy.clip(numpy.asarray(resized, dtype=numpy.float32), 0.0, 1.0)
        if crop.max() > 0.0:
            crop = crop / crop.max()
    rows, cols = numpy.flatnonzero(crop.any(axis=1)), numpy.flatnonzero(crop.any(axis=0))
    crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # less the margin's black rows
    OH, OW = crop.shape

    mass = crop.sum()  # step 7: centre of mass, in the crop's row and column indices
    cy = float((numpy.arange(OH) * crop.sum(axis=1)).sum() / mass)
    cx = float((numpy.arange(OW) * crop.sum(axis=0)).sum() / mass)
    top = min(max(round(CENTRE - cy), 0), SIZE - OH)
    left = min(max(round(CENTRE - cx), 0), SIZE - OW)
    out = numpy.zeros((SIZE, SIZE), dtype=numpy.float32)
    out[top : top + OH, left : left + OW] = crop
    return out
