"""zerograd.data: datasets, the DataLoader, IDX files, MNIST / Fashion-MNIST and toy sets.

Mirrors ``torch.utils.data`` (``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``,
``DataLoader``, ``default_collate``) and ``torchvision.datasets`` (``datasets.MNIST``,
``datasets.FashionMNIST``); ``transforms`` holds batch augmentations
(``RandomCrop``, ``RandomShift``, ``RandomRotation``, ``RandomHorizontalFlip``, ``Normalize``)
that the ``DataLoader`` applies per batch; ``text`` has the character vocabulary, tiny-shakespeare
and the ``BPTTLoader`` of truncated backpropagation through time; ``load_image`` turns your own
picture (through Pillow) or ``.npy`` array into MNIST's form, 28 x 28, light ink on black.
"""

from . import datasets, text, transforms
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, SampleBatch, Subset, TensorDataset, random_split
from .idx import IDXError, read_idx, write_idx
from .images import load_image

__all__ = [
    "datasets",
    "transforms",
    "text",
    "Dataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "SampleBatch",
    "DataLoader",
    "default_collate",
    "IDXError",
    "read_idx",
    "write_idx",
    "load_image",
]
