"""Fixtures for the data tests: fake MNIST folders, an isolated search path, a local web server."""

import functools
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from zerograd.data import write_idx

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No ZEROGRAD_DATA, a private empty cache, no proxies: only what a test creates is found."""
    monkeypatch.delenv("ZEROGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    return tmp_path / "xdg-cache" / "zerograd"


@pytest.fixture
def make_fake_mnist():
    """make(folder, n_train=30, n_test=20, gz=True, seed=0) writes four small fake MNIST files.

    Returns a dict stem -> array written (images uint8 (N, 28, 28), labels uint8 (N,), labels
    cycling through 0-9 so every class is present).
    """

    def make(folder, n_train=30, n_test=20, gz=True, seed=0):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        arrays = {}
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), np.uint8)
            arrays[f"{prefix}-labels-idx1-ubyte"] = (np.arange(n) % 10).astype(np.uint8)
        for stem, array in arrays.items():
            write_idx(folder / (stem + (".gz" if gz else "")), array)
        return arrays

    return make


def sha256_table(folder):
    """The SHA256 table entry (gz hash, raw hash) for the fake files in ``folder``."""
    import gzip

    table = {}
    for stem in STEMS:
        packed = (Path(folder) / (stem + ".gz")).read_bytes()
        table[stem] = (
            hashlib.sha256(packed).hexdigest(),
            hashlib.sha256(gzip.decompress(packed)).hexdigest(),
        )
    return table


@pytest.fixture
def fake_sha256():
    return sha256_table


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """A web server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL ending in /)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=os.fspath(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port():
    """A local TCP port nothing listens on (connections are refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
