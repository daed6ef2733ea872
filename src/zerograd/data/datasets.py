"""``zerograd.data.datasets``: MNIST, Fashion-MNIST and the course's toy sets in one place.

Like ``torchvision.datasets`` for the image sets; the toy sets are functions returning NumPy
arrays. See ``zerograd.data.mnist`` for where the files are looked for, checked and downloaded.

Falling back to the embedded sample when the full files are absent (what ``zerograd train`` does):

>>> use_sample = find_mnist_files("mnist") is None
>>> test = MNIST(train=False, sample=use_sample)
>>> len(test) == (SAMPLE_SIZES["test"] if use_sample else 10000)
True
"""

from .mnist import (
    MNIST,
    SAMPLE_DIR,
    SAMPLE_SIZES,
    FashionMNIST,
    cache_dir,
    find_mnist_files,
    mnist_splits,
)
from .toy import binary_addition, height_weight, logic_gate, planar_flower, spirals

__all__ = [
    "MNIST",
    "FashionMNIST",
    "mnist_splits",
    "find_mnist_files",
    "cache_dir",
    "SAMPLE_DIR",
    "SAMPLE_SIZES",
    "logic_gate",
    "height_weight",
    "planar_flower",
    "spirals",
    "binary_addition",
]
