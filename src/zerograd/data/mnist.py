"""MNIST and Fashion-MNIST from their IDX files: finding, checking, downloading, loading.

**Where the files are looked for**, in this order, the first folder holding both files of the
split winning:

1. ``root``, when given;
2. each folder in the ``ZEROGRAD_DATA`` environment variable (several separated by ``os.pathsep``);
3. the user cache, ``$XDG_CACHE_HOME/zerograd`` or else ``~/.cache/zerograd`` (``cache_dir()``).

In each of these folders ``D`` three layouts are accepted: ``D/mnist/`` (``D/fashion-mnist/``),
the files directly in ``D``, and torchvision's ``D/MNIST/raw/`` (``D/FashionMNIST/raw/``). The
files keep their published names, ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``, gzip'd or not (the ``.gz``
is preferred when both are there; ``train-images.idx3-ubyte`` with a dot is accepted too).

**Checksums.** A ``.gz`` file must have the SHA-256 of the file the authors publish (the values in
``SHA256``). The authors publish no checksum of the decompressed files, so a raw file is checked
against the SHA-256 of the decompressed data, which we computed from those verified ``.gz`` files;
``read_idx`` then also checks its header and size. Each file is hashed once per process: the
result is remembered by path, modification time and size, so a second dataset is quick.
``verify=False`` skips the hash (for your own files in the same layout).

**Download.** With ``download=True`` and no files found, the four files are fetched from the
original mirrors (``MIRRORS``) into ``root/mnist`` when ``root`` is given, else into the cache,
each into a temporary file that is renamed only once its SHA-256 matches. Offline, it fails after
``DOWNLOAD_TIMEOUT`` seconds per mirror with a message listing every folder looked in, every URL
tried and how to provide the files.

**Memory.** Images stay uint8 (``.data``, N x 28 x 28, 47 MB for the training set) and labels int64
(``.targets``); the float conversion happens per sample or per batch.

**The embedded sample.** ``MNIST(sample=True)`` reads the small sample shipped in the package
(``SAMPLE_DIR``: 6,000 training and 1,000 test images, see its README.md), for machines without
the data set; ``find_mnist_files`` says whether the full files are present.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy

from .. import backend
from ..autograd import Tensor
from .dataset import Dataset, SampleBatch, _as_index_array, _check_index
from .files import cache_dir, search_folders
from .files import sha256_file as _sha256
from .idx import read_idx

__all__ = [
    "MNIST",
    "FashionMNIST",
    "mnist_splits",
    "find_mnist_files",
    "cache_dir",
    "SAMPLE_DIR",
    "SAMPLE_SIZES",
]

# SHA-256 per data set and file: (the published .gz file, its decompressed IDX data).
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        "train-labels-idx1-ubyte": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        "t10k-images-idx3-ubyte": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        "t10k-labels-idx1-ubyte": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        "train-labels-idx1-ubyte": (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        "t10k-images-idx3-ubyte": (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        "t10k-labels-idx1-ubyte": (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
}

# Each file is fetched as <mirror><file name>.gz, trying the mirrors in order.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
DOWNLOAD_TIMEOUT = 30.0  # seconds per connection attempt and per read

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_SIZES = {"train": 6000, "test": 1000}

_TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_TITLES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
_ALL_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_verified: set = set()  # (resolved path, mtime_ns, size) of files whose hash matched


def _dataset_name(name: str) -> str:
    key = str(name).lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist"}.get(key, key)
    if key not in SHA256:
        raise ValueError(f"unknown data set {name!r}; expected 'mnist' or 'fashion-mnist'.")
    return key


def _stems(train: bool) -> tuple:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _places(name: str, root) -> list:
    """Every folder searched, in order, as (folder, where it came from)."""
    return search_folders(name, root, also=(Path(_TORCHVISION_FOLDERS[name]) / "raw",))


def _file_in(folder: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte: the name inside the .gz
    for candidate in (stem + ".gz", stem, dotted + ".gz", dotted):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _find(name: str, stems, root) -> tuple:
    """(paths of ``stems`` in the first folder holding them all, or None; the folders searched)."""
    places = _places(name, root)
    for folder, _ in places:
        paths = [_file_in(folder, stem) for stem in stems]
        if all(paths):
            return dict(zip(stems, paths)), places
    return None, places


def find_mnist_files(name: str = "mnist", root=None, train: bool | None = None) -> dict | None:
    """Where the full data set's files are, or None if they are not found (nothing is checked).

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion-mnist"``.
    root : str or os.PathLike, optional
        Searched first, before ``ZEROGRAD_DATA`` and the cache.
    train : bool, optional
        Only the training (True) or test (False) files; by default all four.

    Returns
    -------
    dict or None
        File stem (``"train-images-idx3-ubyte"`` ...) -> path, or None if any file is missing.

    Examples
    --------
    >>> files = find_mnist_files("mnist")
    >>> files is None or sorted(files)[0] == "t10k-images-idx3-ubyte"
    True
    """
    name = _dataset_name(name)
    found = {}
    for split in (True, False) if train is None else (train,):
        paths, _ = _find(name, _stems(split), root)
        if paths is None:
            return None
        found.update(paths)
    return found


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _verify(path: Path, name: str, stem: str, who: str) -> None:
    """Check ``path`` against the published SHA-256 (once per process per file version)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _verified:
        return
    gz = _is_gzip(path)
    expected = SHA256[name][stem][0 if gz else 1]
    got = _sha256(path)
    if got != expected:
        what = "the published .gz file" if gz else "the published file's decompressed data"
        raise ValueError(
            f"{who}: {path} is not the published {stem} file of {_TITLES[name]}: its SHA-256 is "
            f"{got} but {what} has {expected}. The file is truncated, corrupt or another "
            "version; delete it and download it again (download=True) or copy the original, or "
            "pass verify=False if you trust it."
        )
    _verified.add(key)


def _fetch(url: str, dest: Path, expected: str | None) -> None:
    """Download ``url`` to ``dest`` through a temporary file renamed only if the hash matches."""
    import urllib.request  # here, not at import: only a download needs the HTTP stack

    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with open(fd, "wb") as f, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as r:
            while chunk := r.read(1 << 16):
                h.update(chunk)
                f.write(chunk)
        if expected is not None and h.hexdigest() != expected:
            raise ValueError(
                f"checksum mismatch: SHA-256 {h.hexdigest()}, expected {expected}; file discarded"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(name: str, folder: Path, verify: bool, who: str) -> list:
    """Fetch the four files missing from ``folder``; return the failures as (url, reason)."""
    import http.client
    import urllib.error

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return [(str(folder), f"can't create the folder: {e.strerror or e}")]
    failures, unreachable = [], set()
    for stem in _ALL_STEMS:
        dest = folder / (stem + ".gz")
        expected = SHA256[name][stem][0] if verify else None
        if dest.is_file():
            try:
                if verify:
                    _verify(dest, name, stem, who)
                continue
            except ValueError:
                pass  # a bad copy: fetch it again over it
        errors = []
        for mirror in MIRRORS[name]:
            url = mirror + stem + ".gz"
            if mirror in unreachable:  # don't wait for a dead host's timeout four times
                errors.append((url, "not tried: the mirror was unreachable for an earlier file"))
                continue
            print(f"{who}: downloading {url} to {dest}", file=sys.stderr)
            try:
                _fetch(url, dest, expected)
                break
            except (OSError, ValueError, http.client.HTTPException) as e:
                errors.append((url, str(e) or type(e).__name__))
                if isinstance(e, OSError) and not isinstance(e, urllib.error.HTTPError):
                    unreachable.add(mirror)  # no connection (DNS, refused, timeout), not a 404
        else:
            failures.extend(errors)
    return failures


def _not_found_message(who, name, split, stems, places, download_dest, failures) -> str:
    lines = [
        f"{who}: the {split} files {stems[0]}(.gz) and {stems[1]}(.gz) were not found.",
        "Looked in:",
    ]
    lines += [f"  {folder}  ({origin})" for folder, origin in places]
    if download_dest is not None:
        lines.append(f"Downloading into {download_dest} failed:")
        lines += [f"  {url}: {reason}" for url, reason in failures]
    files = ", ".join(stem + ".gz" for stem in _ALL_STEMS)
    cache = cache_dir() / name
    lines.append(
        f"To provide the files ({files}): set ZEROGRAD_DATA to a folder holding {name}/ with "
        f"them, pass root='folder', or copy them into {cache}"
        + ("." if download_dest is not None else "; or pass download=True when online.")
    )
    return "\n".join(lines)


class MNIST(Dataset):
    """The MNIST handwritten digits, 28 x 28 grey images and labels 0-9, from the IDX files.

    Like ``torchvision.datasets.MNIST``, with the options of the course's
    ``load_mnist(normalize, flatten, one_hot_label)``. A sample is ``(image, target)``: the
    image a Tensor of shape (1, 28, 28) (or (784,) with ``flatten``), the target a Python int
    (or a one-hot Tensor of shape (10,)). Batches from a ``DataLoader`` are fetched with one
    indexing call (``__getitems__``) unless a ``transform`` is given.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Folder searched first (see the module docstring for the search order and layouts).
    train : bool
        The 60,000 training images, or the 10,000 test images.
    download : bool
        Fetch the files from the original mirrors if they are not found (see ``MIRRORS``).
    transform, target_transform : callable, optional
        Applied to each image Tensor (after the conversions below) and to each target.
    normalize : bool
        Scale pixels to [0, 1] (x / 255). If False, pixels keep their values 0..255, converted
        to ``dtype`` (pass ``dtype="uint8"`` for the stored bytes).
    flatten : bool
        Images as vectors of 784 instead of (1, 28, 28).
    one_hot : bool
        Targets as one-hot rows of 10 (of ``dtype``, or float32 for an integer ``dtype``) instead
        of int64 class indices.
    dtype : str or dtype
        The images' dtype: a floating dtype (float32 by default), or uint8 without ``normalize``.
    sample : bool
        Read the small sample shipped with the package (6,000 training / 1,000 test images, see
        ``SAMPLE_DIR``/README.md) instead of the full files (MNIST only; ``root``, ``download``
        and ``verify`` are then unused).
    verify : bool
        Check the files' SHA-256 against the published ones (once per process).

    Attributes
    ----------
    data : numpy.ndarray
        The images as stored, uint8 of shape (N, 28, 28) (NumPy, where torchvision has a tensor).
    targets : numpy.ndarray
        The labels, int64 of shape (N,).
    files : dict
        The paths read, by file stem.

    Examples
    --------
    >>> ds = MNIST(train=False, sample=True, flatten=True)
    >>> len(ds), ds.data.dtype
    (1000, dtype('uint8'))
    >>> x, t = ds[0]
    >>> x.shape, x.dtype, t
    ((784,), dtype('float32'), 7)
    """

    name = "mnist"
    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root=None,
        train: bool = True,
        download: bool = False,
        transform=None,
        target_transform=None,
        normalize: bool = True,
        flatten: bool = False,
        one_hot: bool = False,
        dtype="float32",
        *,
        sample: bool = False,
        verify: bool = True,
    ):
        who = type(self).__name__
        self._check_arguments(who, locals())
        dtype = backend.resolve_dtype(dtype)
        if dtype.kind != "f" and not (dtype == numpy.uint8 and not normalize):
            raise ValueError(
                f"{who}: dtype must be a floating dtype (float32, float64), or uint8 with "
                f"normalize=False; got {dtype}."
            )
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.normalize = normalize
        self.flatten = flatten
        self.one_hot = one_hot
        self.dtype = dtype
        self.is_sample = sample
        self._eye = numpy.eye(10, dtype=dtype if dtype.kind == "f" else backend.float32)

        stems = _stems(train)
        split = "training" if train else "test"
        if sample:
            if self.name != "mnist":
                raise ValueError(f"{who}: there is no embedded sample of {self.name}, only MNIST.")
            files = {stem: _file_in(SAMPLE_DIR, stem) for stem in stems}
            if not all(files.values()):
                raise FileNotFoundError(
                    f"{who}: the embedded sample is missing from {SAMPLE_DIR}; reinstall zerograd "
                    "or rebuild it with scripts/make_mnist_sample.py."
                )
        else:
            files, places = _find(self.name, stems, root)
            if files is None:
                dest = failures = None
                if download:
                    dest = (Path(root).expanduser() if root is not None else cache_dir()) / (
                        self.name
                    )
                    failures = _download(self.name, dest, verify, who)
                    files, _ = _find(self.name, stems, root)
                if files is None:
                    raise FileNotFoundError(
                        _not_found_message(who, self.name, split, stems, places, dest, failures)
                    )
            if verify:
                for stem, path in files.items():
                    _verify(path, self.name, stem, who)
        self.files = files
        images, labels = files[stems[0]], files[stems[1]]
        self.data = read_idx(images, magic=2051, shape=(None, 28, 28))
        targets = read_idx(labels, magic=2049, shape=(len(self.data),))
        if targets.size and targets.max() > 9:
            raise ValueError(
                f"{who}: {labels} holds label {targets.max()}; expected labels 0 to 9."
            )
        self.targets = targets.astype(numpy.int64)

    @staticmethod
    def _check_arguments(who, args) -> None:
        for flag in ("train", "download", "normalize", "flatten", "one_hot", "sample", "verify"):
            if not isinstance(args[flag], (bool, numpy.bool_)):
                raise TypeError(f"{who}: {flag} must be True or False, got {args[flag]!r}.")
        for fn in ("transform", "target_transform"):
            if args[fn] is not None and not callable(args[fn]):
                raise TypeError(
                    f"{who}: {fn} must be callable or None, got {type(args[fn]).__name__}."
                )

    def _images(self, x):
        """uint8 images (B, 28, 28) -> the configured dtype, scale and shape (a new array)."""
        if self.normalize:
            x = numpy.divide(x, 255.0, dtype=self.dtype)
        else:
            x = x.astype(self.dtype)  # a copy even for uint8: never hand out a view of .data
        return x.reshape(x.shape[:-2] + ((784,) if self.flatten else (1, 28, 28)))

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        image = Tensor.wrap(self._images(self.data[i]))
        target = Tensor.wrap(self._eye[self.targets[i]]) if self.one_hot else int(self.targets[i])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitems__(self, indices):
        if self.transform is not None or self.target_transform is not None:
            return [self[int(i)] for i in indices]  # transforms work on single samples
        idx = _as_index_array(indices)
        targets = self.targets[idx]
        if self.one_hot:
            targets = self._eye[targets]
        return SampleBatch(self, idx, (self._images(self.data[idx]), targets))

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        folder = Path(self.files[_stems(self.train)[0]]).parent
        source = "the embedded sample" if self.is_sample else str(folder)
        options = f"normalize={self.normalize}, flatten={self.flatten}, one_hot={self.one_hot}"
        return (
            f"{type(self).__name__}({'train' if self.train else 'test'}, {len(self)} images, "
            f"{options}, dtype={self.dtype}, from {source})"
        )


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28 x 28 grey images of 10 kinds of clothing, same API as MNIST.

    Files in ``fashion-mnist/`` (or torchvision's ``FashionMNIST/raw/``); no embedded sample.
    """

    name = "fashion-mnist"
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]


def mnist_splits(sample: bool | None = None, announce: bool = True, **kwargs) -> tuple:
    """MNIST's train and test splits, else the packaged sample: ``(train, test, what)``.

    Parameters
    ----------
    sample : bool or None
        True: the sample shipped in the package. False: the full files (FileNotFoundError if they
        are not found). None (default): the full files if found, else the sample.
    announce : bool
        Print a note when falling back to the sample, so a learner knows which data was used.
    **kwargs
        Passed to ``MNIST`` (``flatten``, ``normalize``, ``one_hot``, ``root`` ...).

    Returns
    -------
    tuple
        ``(train, test, what)``, ``what`` being ``"MNIST"`` or ``"the MNIST sample"``.

    Examples
    --------
    >>> train, test, what = mnist_splits(sample=True, flatten=True)
    >>> len(train), len(test), what
    (6000, 1000, 'the MNIST sample')
    """
    if not sample:
        try:
            return MNIST(train=True, **kwargs), MNIST(train=False, **kwargs), "MNIST"
        except FileNotFoundError:
            if sample is False:
                raise
            if announce:
                print("The MNIST files were not found (set ZEROGRAD_DATA to their folder):")
                print("using the 6,000-image sample shipped with zerograd instead.")
    kwargs.pop("root", None)
    train = MNIST(train=True, sample=True, **kwargs)
    return train, MNIST(train=False, sample=True, **kwargs), "the MNIST sample"
