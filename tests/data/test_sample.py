"""The embedded MNIST sample: sizes, classes, README checksums, and the script that builds it."""

import gzip
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zerograd.data import DataLoader
from zerograd.data import mnist as mnist_module
from zerograd.data.datasets import MNIST, SAMPLE_DIR, SAMPLE_SIZES, FashionMNIST

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_mnist_sample.py"


@pytest.mark.parametrize("train, split", [(True, "train"), (False, "test")])
def test_sample_sizes_and_all_classes(isolated, train, split):
    ds = MNIST(train=train, sample=True)
    n = SAMPLE_SIZES[split]
    assert (n, len(ds)) == ({"train": 6000, "test": 1000}[split], n)
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == np.uint8
    assert np.bincount(ds.targets, minlength=10).tolist() == [n // 10] * 10
    assert ds.is_sample and "embedded sample" in repr(ds)
    x, t = next(iter(DataLoader(ds, batch_size=100)))
    assert x.shape == (100, 1, 28, 28) and 0 <= x.data.min() and x.data.max() <= 1


def test_sample_ignores_the_full_files(isolated, tmp_path, make_fake_mnist, monkeypatch):
    make_fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path))
    assert len(MNIST(train=False, sample=True)) == 1000


def test_missing_sample_is_reported(isolated, tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "SAMPLE_DIR", tmp_path)
    with pytest.raises(
        FileNotFoundError, match="embedded sample is missing from " + re.escape(str(tmp_path))
    ):
        MNIST(sample=True)


def test_sample_is_only_for_mnist():
    with pytest.raises(ValueError, match="no embedded sample of fashion-mnist"):
        FashionMNIST(sample=True)


def test_sample_files_are_small_and_match_the_readme():
    files = sorted(SAMPLE_DIR.glob("*.gz"))
    assert [f.name for f in files] == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    total = sum(f.stat().st_size for f in files)
    assert total < 1_500_000
    readme = (SAMPLE_DIR / "README.md").read_text()
    assert f"Total {total:,} bytes" in readme
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme
    for f in files:
        row = re.search(
            rf"\| `{re.escape(f.name)}` \|[^|]*\| ([\d,]+) \| `(\w+)` \| `(\w+)` \|", readme
        )
        assert row is not None, f.name
        packed = f.read_bytes()
        assert int(row[1].replace(",", "")) == len(packed)
        assert row[3] == hashlib.sha256(gzip.decompress(packed)).hexdigest()


def test_script_help():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    )
    assert "--data-dir" in out.stdout and "--train-per-class" in out.stdout


def test_script_rebuilds_the_same_sample(tmp_path):
    data = os.environ.get("ZEROGRAD_DATA")
    if not data:
        pytest.skip(
            "needs the MNIST files (the sample is rebuilt from them): set ZEROGRAD_DATA to a "
            "folder holding mnist/"
        )
    subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", data, "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for shipped in SAMPLE_DIR.glob("*.gz"):
        rebuilt = tmp_path / shipped.name
        # the content is always the same; the bytes too with the same zlib
        assert gzip.decompress(rebuilt.read_bytes()) == gzip.decompress(shipped.read_bytes())
