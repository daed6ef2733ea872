"""Build the small MNIST sample shipped in zerograd (src/zerograd/data/sample/) from the full files.

The sample takes the first K images of each digit in file order (K = 600 from the training set and
100 from the test set by default: 6,000 and 1,000 images, every class equally often), keeps them in
their original order, and writes the four files under their published names as gzip'd IDX
(level 9, no file name and a zero timestamp in the gzip header). No random numbers are involved:
the same full files give the same images and labels, and with the same zlib the same bytes.

    ZEROGRAD_DATA=/path/to/data python scripts/make_mnist_sample.py

The full files are read (and their SHA-256 checked) with zerograd.data.datasets.MNIST, looking in
--data-dir first.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
from pathlib import Path

import numpy

from zerograd.data import write_idx
from zerograd.data.datasets import MNIST

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "zerograd" / "data" / "sample"


def select(targets: numpy.ndarray, per_class: int) -> numpy.ndarray:
    """Indices of the first ``per_class`` samples of each class 0-9, in file order."""
    picks = []
    for digit in range(10):
        found = numpy.flatnonzero(targets == digit)[:per_class]
        if len(found) < per_class:
            raise SystemExit(f"only {len(found)} images of digit {digit}, {per_class} wanted")
        picks.append(found)
    return numpy.sort(numpy.concatenate(picks))


def build(data_dir, out: Path, train_per_class: int, test_per_class: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for train, per_class in ((True, train_per_class), (False, test_per_class)):
        full = MNIST(root=data_dir, train=train)
        keep = select(full.targets, per_class)
        prefix = "train" if train else "t10k"
        source = full.files[f"{prefix}-images-idx3-ubyte"].parent
        print(f"{prefix}: {len(keep)} of {len(full)} images from {source}")
        for stem, array in (
            (f"{prefix}-images-idx3-ubyte", full.data[keep]),
            (f"{prefix}-labels-idx1-ubyte", full.targets[keep].astype(numpy.uint8)),
        ):
            path = out / (stem + ".gz")
            write_idx(path, array, compresslevel=9)
            packed = path.read_bytes()
            print(
                f"  {path.name}: {len(packed)} bytes, sha256 {hashlib.sha256(packed).hexdigest()}, "
                f"decompressed sha256 {hashlib.sha256(gzip.decompress(packed)).hexdigest()}"
            )
    total = sum(p.stat().st_size for p in out.glob("*.gz"))
    print(f"total: {total} bytes in {out}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Build zerograd's embedded MNIST sample (first K images of each digit) from "
        "the full MNIST files.",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("ZEROGRAD_DATA"),
        help="folder holding mnist/ with the four full files (default: $ZEROGRAD_DATA)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where to write the four .gz files (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--train-per-class", type=int, default=600, help="training images per digit (default 600)"
    )
    parser.add_argument(
        "--test-per-class", type=int, default=100, help="test images per digit (default 100)"
    )
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("no data: pass --data-dir or set ZEROGRAD_DATA to the folder holding mnist/")
    build(args.data_dir, args.out, args.train_per_class, args.test_per_class)


if __name__ == "__main__":
    main()
