"""read_png against matplotlib's reader on PNGs matplotlib writes (grey, RGB, RGBA)."""

import numpy as np
import pytest

from zerograd.io import read_png

plt_image = pytest.importorskip("matplotlib.image")


@pytest.mark.parametrize("kind", ["grey", "rgb", "rgba"])
def test_read_png_matches_matplotlib(tmp_path, kind):
    rng = np.random.default_rng(0)
    path = tmp_path / f"{kind}.png"
    if kind == "grey":
        img = rng.random((28, 20))
        plt_image.imsave(path, img, cmap="gray", vmin=0, vmax=1)
    else:
        img = rng.random((17, 23, 3 if kind == "rgb" else 4))
        if kind == "rgba":
            img[..., 3] = 1.0
        plt_image.imsave(path, img)
    ref = plt_image.imread(path)
    expected = ref[..., :3].mean(axis=-1)
    got = read_png(path)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_damaged_png(tmp_path):
    path = tmp_path / "x.png"
    plt_image.imsave(path, np.zeros((4, 4)), cmap="gray")
    data = path.read_bytes()
    path.write_bytes(data[:40])
    with pytest.raises(ValueError, match="damaged PNG"):
        read_png(path)
