"""load_image: pictures of any format, size and colour mode in MNIST's form, and every error."""

import re
import sys

import numpy as np
import pytest

Image = pytest.importorskip(
    "PIL.Image", reason='load_image needs Pillow: pip install "zerograd[image]"'
)

from zerograd.data import load_image  # noqa: E402
from zerograd.data.datasets import MNIST  # noqa: E402
from zerograd.models import pretrained  # noqa: E402
from zerograd.train import predict  # noqa: E402


def at(path):
    return re.escape(str(path))


@pytest.fixture(scope="module")
def mnist():
    return MNIST(train=False, sample=True)


@pytest.fixture(scope="module")
def classify():
    """Classes the shipped deep CNN gives to images (N, 28, 28) in [0, 1]."""
    model = pretrained("deep-cnn-mnist")
    return lambda x: predict(model, np.asarray(x, dtype=np.float32)[:, None]).data.argmax(axis=1)


@pytest.fixture(scope="module")
def seven(mnist):
    """The first test image (a 7) as people draw it: dark ink on white, 56 x 56 pixels."""
    assert mnist.targets[0] == 7
    return Image.fromarray(255 - mnist.data[0]).resize((56, 56), Image.Resampling.LANCZOS)


@pytest.fixture(scope="module")
def seven_reference(seven, tmp_path_factory):
    """load_image of the plain 8-bit grey PNG of ``seven``, what every other form must match."""
    path = tmp_path_factory.mktemp("ref") / "seven.png"
    seven.save(path)
    return load_image(path)


def _centre_of_mass(x):
    rows, cols = np.indices(x.shape)
    return (rows * x).sum() / x.sum(), (cols * x).sum() / x.sum()


def _extent(x):
    """Height and width of the bounding box of the nonzero pixels."""
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]


# ---------------------------------------------------------------------------------------------
# MNIST's form


def test_photos_of_test_digits_keep_their_class(mnist, classify, tmp_path):
    """The acceptance test: 100 test digits, enlarged 4-5x, dark on white, pasted off-centre into
    a 200 x 150 picture and saved as JPEG, get the class their 28 x 28 originals get (measured:
    100 of 100; 998 of the 1,000 embedded test images)."""
    rng = np.random.default_rng(0)
    digits = mnist.data[:100]
    paths = []
    for i, digit in enumerate(digits):
        side = 28 * int(rng.integers(4, 6))
        big = Image.fromarray(255 - digit).resize((side, side), Image.Resampling.LANCZOS)
        canvas = Image.new("L", (200, 150), 255)
        canvas.paste(big, (int(rng.integers(0, 201 - side)), int(rng.integers(0, 151 - side))))
        paths.append(tmp_path / f"{i}.jpg")
        canvas.convert("RGB").save(paths[-1], quality=90)
    x = np.stack([load_image(p) for p in paths])
    assert x.shape == (100, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    agree = int((classify(x) == classify(digits / 255.0)).sum())
    assert agree >= 95, f"only {agree} of 100 JPEG digits keep their class"


def test_photos_on_noisy_uneven_paper_keep_their_class(mnist, classify, tmp_path):
    """Grey ink on grey paper with a lighting gradient, noise and JPEG quality 30: the black
    point above the paper's noise (step 4) keeps the class (measured: 30 of 30)."""
    rng = np.random.default_rng(1)
    digits = mnist.data[100:130]
    rows, cols = np.mgrid[:150, :200]
    x = []
    for i, digit in enumerate(digits):
        paper = 210 + 30 * cols / 200 - 20 * rows / 150 + rng.normal(0, 12, (150, 200))
        side = 28 * int(rng.integers(3, 6))
        ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.LANCZOS))
        ink = ink / 255.0
        top, left = int(rng.integers(0, 151 - side)), int(rng.integers(0, 201 - side))
        window = paper[top : top + side, left : left + side]
        paper[top : top + side, left : left + side] = window * (1 - ink) + 90 * ink
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(path, quality=30)
        x.append(load_image(path))
    agree = int((classify(np.stack(x)) == classify(digits / 255.0)).sum())
    assert agree >= 28, f"only {agree} of 30 digits on noisy paper keep their class"


@pytest.mark.parametrize("suffix", [".png", ".npy"])
def test_mnist_images_come_back_unchanged(mnist, classify, tmp_path, suffix):
    digits = mnist.data[:100]
    x = []
    for i, digit in enumerate(digits):
        path = tmp_path / f"{i}{suffix}"
        if suffix == ".npy":
            np.save(path, digit)
        else:
            Image.fromarray(digit).save(path)
        x.append(load_image(path))
    x = np.stack(x)
    # the only change: a digit whose brightest pixel is 254 (106 of the 1,000) is stretched to 255
    np.testing.assert_allclose(x, digits / 255.0, atol=1.5 / 255)
    np.testing.assert_array_equal(classify(x), classify(digits / 255.0))


def test_the_digit_is_scaled_to_20_pixels_and_centred_by_its_mass(tmp_path):
    canvas = np.full((300, 400), 255, dtype=np.uint8)
    canvas[20:180, 250:330] = 0  # a 160 x 80 block, far from the centre
    canvas[20:60, 330:370] = 0  # and a flag on its top right: the mass is off the box's centre
    np.save(tmp_path / "flag.npy", canvas)
    x = load_image(tmp_path / "flag.npy")
    h, w = _extent(x > 0.5)
    assert (h, w) == (20, 15)  # 160 x 120 scaled by 1/8
    cy, cx = _centre_of_mass(x)
    assert abs(cy - 14) <= 0.5 + 1e-6 and abs(cx - 14) <= 0.5 + 1e-6
    assert x[0].max() == 0.0 and x[:, 0].max() == 0.0  # nothing pushed against the edge


def test_background_noise_does_not_set_the_bounding_box(tmp_path):
    rng = np.random.default_rng(0)
    canvas = 255 - rng.integers(0, 40, (200, 200))  # light noise everywhere, up to 16%
    canvas[50:150, 95:105] = 0  # a "1"
    Image.fromarray(canvas.astype(np.uint8)).save(tmp_path / "one.jpg", quality=75)
    x = load_image(tmp_path / "one.jpg")
    assert _extent(x > 0.5) == (20, 2)
    assert x[:, :10].max() == 0.0 and x[:, 18:].max() == 0.0  # the noise became black


def test_invert_auto_true_false(seven, seven_reference, tmp_path):
    seven.save(tmp_path / "dark_on_light.png")
    Image.fromarray(255 - np.asarray(seven)).save(tmp_path / "light_on_dark.png")
    same = dict(desired=seven_reference, atol=1e-6)
    np.testing.assert_allclose(load_image(tmp_path / "light_on_dark.png"), **same)
    np.testing.assert_allclose(load_image(tmp_path / "dark_on_light.png", invert=True), **same)
    np.testing.assert_allclose(load_image(tmp_path / "light_on_dark.png", invert=False), **same)
    # forced the wrong way, the background is the lightest thing there is: no ink
    with pytest.raises(ValueError, match="invert=False nothing is lighter than the background"):
        load_image(tmp_path / "dark_on_light.png", invert=False)
    with pytest.raises(ValueError, match="invert must be 'auto', True or False; got 'yes'"):
        load_image(tmp_path / "dark_on_light.png", invert="yes")
    with pytest.raises(TypeError, match="invert must be 'auto', True or False; got float 0.5"):
        load_image(tmp_path / "dark_on_light.png", invert=0.5)


# ---------------------------------------------------------------------------------------------
# formats and colour modes


def _in_mode(grey, mode):
    """The 8-bit grey picture ``grey`` in colour mode ``mode``, the same grey levels."""
    a = np.asarray(grey)
    if mode == "I;16":
        return Image.fromarray((a.astype(np.uint16) * 257).astype(np.uint16))
    if mode == "I":
        return Image.fromarray(a.astype(np.int32) * 1000)
    if mode == "F":
        return Image.fromarray(a.astype(np.float32) / 255)
    if mode == "1":
        return grey.point(lambda v: 255 if v >= 128 else 0).convert("1")
    return grey.convert(mode)


@pytest.mark.parametrize(
    "mode, suffix",
    [
        ("L", ".bmp"),
        ("RGB", ".bmp"),
        ("RGB", ".png"),
        ("RGB", ".tiff"),
        ("P", ".gif"),
        ("I;16", ".png"),  # 16-bit grey
        ("I;16", ".tiff"),
        ("I", ".tiff"),
        ("F", ".tiff"),
        ("CMYK", ".tiff"),
        ("CMYK", ".jpg"),
        ("LA", ".png"),
        ("RGBA", ".png"),
        ("RGB", ".webp"),
        ("1", ".png"),
    ],
)
def test_colour_modes_and_formats(seven, seven_reference, classify, tmp_path, mode, suffix):
    if suffix == ".webp":
        features = pytest.importorskip(
            "PIL.features", reason='needs Pillow: pip install "zerograd[image]"'
        )
        if not features.check("webp"):
            pytest.skip("needs a Pillow built with WebP (the wheels on PyPI are)")
    path = tmp_path / f"seven{suffix}"
    options = {"lossless": True} if suffix == ".webp" else {}
    _in_mode(seven, mode).save(path, **options)
    with Image.open(path) as im:
        assert im.mode == mode or (suffix == ".png" and mode == "I;16" and im.mode == "I")
    x = load_image(path)
    assert x.shape == (28, 28) and x.dtype == np.float32
    if mode == "1":  # black and white only: the same digit, not the same grey levels
        assert np.abs(x - seven_reference).mean() < 0.1
    elif suffix == ".jpg":
        np.testing.assert_allclose(x, seven_reference, atol=0.1)
    else:  # the same grey levels in another form: the same image
        np.testing.assert_allclose(x, seven_reference, atol=1e-5)
    assert classify(x[None])[0] == 7


def test_transparent_background_is_white_paper(seven, seven_reference, tmp_path):
    # black ink whose alpha is the ink: on a transparent black background it would all be black
    ink = 255 - np.asarray(seven)
    rgba = np.zeros((56, 56, 4), np.uint8)
    rgba[..., 3] = ink
    Image.fromarray(rgba).save(tmp_path / "drawing.png")
    np.testing.assert_allclose(load_image(tmp_path / "drawing.png"), seven_reference, atol=1e-5)
    # a palette picture whose transparent colour is black (a GIF with a transparent background)
    pal = seven.point(lambda v: 0 if v > 250 else v).convert("P")
    pal.save(tmp_path / "drawing.gif", transparency=0)
    x = load_image(tmp_path / "drawing.gif")
    assert np.abs(x - seven_reference).mean() < 0.05
    # a grey picture with a transparent grey level (PNG's tRNS): that level shows white
    grey = seven.point(lambda v: 3 if v > 250 else v)
    grey.save(tmp_path / "grey.png", transparency=3)
    with Image.open(tmp_path / "grey.png") as im:
        assert im.mode == "L" and im.info["transparency"] == 3
    assert np.abs(load_image(tmp_path / "grey.png") - seven_reference).mean() < 0.05


def test_phone_photo_is_turned_upright(seven, seven_reference, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # EXIF orientation 6: the stored pixels are to be turned 90 degrees clockwise
    seven.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    x = load_image(tmp_path / "photo.jpg")
    np.testing.assert_allclose(x, seven_reference, atol=0.1)


def test_gif_first_frame(mnist, tmp_path):
    frames = [Image.fromarray(255 - mnist.data[i]).convert("P") for i in (0, 1)]
    assert mnist.targets[1] != mnist.targets[0]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "anim.gif") as im:
        assert im.n_frames == 2
    x = load_image(tmp_path / "anim.gif")
    np.testing.assert_allclose(x, mnist.data[0] / 255.0, atol=2.5 / 255)


def test_tiny_picture(tmp_path):
    plus = np.full((5, 5), 255, dtype=np.uint8)
    plus[2, 1:4] = 0
    plus[1:4, 2] = 0
    Image.fromarray(plus).save(tmp_path / "plus.png")
    x = load_image(tmp_path / "plus.png")
    assert x.shape == (28, 28) and x.max() == 1.0
    assert _extent(x > 0.5) == (20, 20)
    cy, cx = _centre_of_mass(x)  # a symmetric 20 x 20 cross: its centre is half a pixel off
    assert abs(cy - 14) == pytest.approx(0.5) and abs(cx - 14) == pytest.approx(0.5)


def test_very_wide_picture(tmp_path):
    line = np.full((30, 3000), 255, dtype=np.uint8)
    line[10:20, 100:2900] = 0  # a 2800 x 10 stroke
    Image.fromarray(line).save(tmp_path / "line.png")
    x = load_image(tmp_path / "line.png")
    assert x.shape == (28, 28)
    assert _extent(x > 0) == (1, 20)  # the box's edges fall on pixel edges: no partial pixels
    assert abs(_centre_of_mass(x)[1] - 14) <= 0.5 + 1e-6


# ---------------------------------------------------------------------------------------------
# errors


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=at(tmp_path / "nope.png") + ": no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(IsADirectoryError, match=at(tmp_path) + " is a folder"):
        load_image(tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike; got int"):
        load_image(3)


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_picture(tmp_path, value):
    Image.new("RGB", (40, 30), (value,) * 3).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match=r"blank.png: the picture is blank .*nothing to classify"):
        load_image(tmp_path / "blank.png")


def test_floating_point_picture_with_nan(tmp_path):
    grey = np.full((20, 20), 0.5, dtype=np.float32)
    grey[3, 4] = np.nan
    Image.fromarray(grey).save(tmp_path / "nan.tiff")
    with pytest.raises(ValueError, match=r"nan.tiff: 1 of the 400 pixels .*\(mode F\) are NaN"):
        load_image(tmp_path / "nan.tiff")


def test_text_file_named_png(tmp_path):
    (tmp_path / "digit.png").write_text("hello, I am not a picture\n")
    with pytest.raises(ValueError, match="not a picture Pillow can read .*PNG, JPEG, BMP, GIF"):
        load_image(tmp_path / "digit.png")


def test_damaged_pictures(seven, tmp_path):
    seven.save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])  # the pixel data stops halfway
    with pytest.raises(
        ValueError,
        match=r"cut.png: a damaged or truncated PNG file \(OSError: image file is truncated",
    ):
        load_image(tmp_path / "cut.png")
    (tmp_path / "head.png").write_bytes(data[:20])  # not even the whole header
    with pytest.raises(ValueError, match="head.png: a damaged or truncated PNG file"):
        load_image(tmp_path / "head.png")
    seven.save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.jpg: a damaged or truncated JPEG file"):
        load_image(tmp_path / "cut.jpg")


@pytest.mark.parametrize("side", [40, 100])  # Pillow warns above the limit, fails above twice it
def test_decompression_bomb(tmp_path, monkeypatch, side):
    Image.new("L", (side, side), 255).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(
        ValueError,
        match=f"bomb.png: {side * side:,} pixels, more than PIL.Image.MAX_IMAGE_PIXELS = 1,000; "
        "refused as a possible decompression bomb",
    ):
        load_image(tmp_path / "bomb.png")


def test_without_pillow(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.eye(5))
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=re.escape('pip install "zerograd[image]"')):
        load_image(tmp_path / "x.npy")


# ---------------------------------------------------------------------------------------------
# .npy arrays


@pytest.mark.parametrize("shape", [(56, 56), (1, 56, 56), (56, 56, 1)])
@pytest.mark.parametrize("scale", ["uint8", "0..255", "0..1"])
def test_npy_shapes_and_scales(seven, seven_reference, tmp_path, shape, scale):
    grey = np.asarray(seven)
    if scale != "uint8":
        grey = grey.astype(np.float64) / (255.0 if scale == "0..1" else 1.0)
    np.save(tmp_path / "seven.npy", grey.reshape(shape))
    np.testing.assert_allclose(load_image(tmp_path / "seven.npy"), seven_reference, atol=1e-5)


def test_npy_of_bools(tmp_path):
    bar = np.zeros((40, 10), dtype=bool)
    bar[5:35, 4:7] = True  # 30 x 3, scaled by 2/3
    np.save(tmp_path / "bar.npy", bar)
    x = load_image(tmp_path / "bar.npy")
    assert _extent(x > 0) == (20, 2) and x.max() == 1.0


def _save_object_array(path):
    np.save(path, np.array([[1, None]], dtype=object), allow_pickle=True)


def _save_npz(path):
    with open(path, "wb") as f:  # numpy.savez would add .npz to a name without it
        np.savez(f, image=np.eye(5), label=np.array(3))


def _save_cut_npy(path):
    np.save(path, np.eye(28))
    path.write_bytes(path.read_bytes()[:200])


def _with(value):
    x = np.full((28, 28), 0.5)
    x[0, :3] = value
    return x


@pytest.mark.parametrize(
    "make, error, message",
    [
        (np.zeros((0, 28)), ValueError, r"the array is empty \(shape \(0, 28\)\)"),
        (np.zeros((28, 28)), ValueError, r"the picture is blank \(every pixel has grey level 0\)"),
        (_with(np.nan), ValueError, "3 of the 784 values are NaN or infinite"),
        (_with(np.inf), ValueError, "3 of the 784 values are NaN or infinite"),
        (_with(-1.0), ValueError, r"values from -1 to 0.5; grey levels must lie in \[0, 1\]"),
        (_with(300.0), ValueError, "values from 0.5 to 300; grey levels must lie in"),
        (np.array([["a", "b"]]), ValueError, "the array's dtype is <U1, not numbers"),
        (np.eye(28) * 1j, ValueError, "the array's dtype is complex128, not numbers"),
        (np.zeros(5, dtype="i4,f4"), ValueError, r"the array's dtype is \[\('f0', '<i4'\)"),
        (_save_object_array, ValueError, r"the array holds Python objects \(dtype object\)"),
        (np.arange(784.0), ValueError, r"an array of shape \(784,\); load_image needs one grey"),
        (np.ones((2, 28, 28)), ValueError, r"an array of shape \(2, 28, 28\)"),
        (np.ones((28, 28, 3)), ValueError, r"an array of shape \(28, 28, 3\)"),
        (np.ones((1, 1, 28, 28)), ValueError, r"an array of shape \(1, 1, 28, 28\)"),
        (_save_npz, ValueError, r"an .npz archive \(numpy.savez; it holds image, label\)"),
        (_save_cut_npy, ValueError, "a damaged or truncated .npy file"),
    ],
)
def test_npy_errors(tmp_path, make, error, message):
    path = tmp_path / "x.npy"
    if callable(make):
        make(path)
    else:
        np.save(path, make)
    with pytest.raises(error, match=at(path) + ": " + message):
        load_image(path)


def test_not_npy_files_named_npy(tmp_path):
    (tmp_path / "notes.npy").write_text("4, 2, 1\n")
    with pytest.raises(ValueError, match=r"notes.npy: not a .npy file \(it does not start with"):
        load_image(tmp_path / "notes.npy")
    Image.new("L", (5, 5)).save(tmp_path / "picture.npy", format="PNG")
    with pytest.raises(ValueError, match="picture.npy: not a .npy file"):
        load_image(tmp_path / "picture.npy")
