"""MNIST / Fashion-MNIST: search order and layouts, checksums, conversions, download, real data."""

import os
import re
import shutil

import numpy as np
import pytest

import zerograd as zg
from zerograd.data import DataLoader, IDXError, datasets, write_idx
from zerograd.data import mnist as mnist_module
from zerograd.data.datasets import MNIST, FashionMNIST, find_mnist_files

STEMS = mnist_module._ALL_STEMS


def at(path):
    return re.escape(str(path))


# ---------------------------------------------------------------------------------------------
# fake files in a temporary folder


def test_datasets_namespace():
    assert datasets.MNIST is mnist_module.MNIST
    assert datasets.FashionMNIST is mnist_module.FashionMNIST
    assert callable(datasets.find_mnist_files) and callable(datasets.spirals)


def test_reads_fake_files_kept_as_uint8(isolated, tmp_path, make_fake_mnist):
    arrays = make_fake_mnist(tmp_path / "data" / "mnist")
    ds = MNIST(root=tmp_path / "data", verify=False)
    test = MNIST(root=tmp_path / "data", train=False, verify=False)
    assert len(ds) == 30 and len(test) == 20
    assert ds.data.dtype == np.uint8 and ds.data.shape == (30, 28, 28)
    assert ds.targets.dtype == np.int64 and ds.targets.shape == (30,)
    np.testing.assert_array_equal(ds.data, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(test.targets, arrays["t10k-labels-idx1-ubyte"])
    # nothing but the uint8 images and int64 labels is held
    held = [v for v in vars(ds).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in held) == 30 * 784 + 30 * 8 + ds._eye.nbytes


def test_item_conversions(isolated, tmp_path, make_fake_mnist):
    arrays = make_fake_mnist(tmp_path / "mnist")
    raw = arrays["train-images-idx3-ubyte"]
    x, t = MNIST(tmp_path, verify=False)[4]
    assert isinstance(x, zg.Tensor) and x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x.data[0], raw[4] / 255.0, rtol=1e-7)
    assert t == 4 and isinstance(t, int)
    assert 0.0 <= x.data.min() and x.data.max() <= 1.0

    x, t = MNIST(tmp_path, verify=False, normalize=False, flatten=True, one_hot=True)[3]
    assert x.shape == (784,) and x.dtype == np.float32
    np.testing.assert_array_equal(x.data, raw[3].reshape(-1))
    assert t.dtype == np.float32 and t.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]

    x, _ = MNIST(tmp_path, verify=False, normalize=False, dtype="uint8")[0]
    assert x.dtype == np.uint8
    x.data[...] = 0  # a copy, never a view of .data
    x, t = MNIST(tmp_path, verify=False, dtype=zg.float64, one_hot=True)[-1]
    assert x.dtype == np.float64 and t.dtype == np.float64


@pytest.mark.parametrize(
    "options", [{}, {"flatten": True, "one_hot": True}, {"normalize": False, "dtype": "float64"}]
)
def test_getitems_path_equals_per_item_path(isolated, tmp_path, make_fake_mnist, options):
    make_fake_mnist(tmp_path / "mnist", n_train=37)
    ds = MNIST(tmp_path, verify=False, **options)

    class PerItem:  # the same dataset seen without __getitems__
        def __getitem__(self, i):
            return ds[i]

        def __len__(self):
            return len(ds)

    zg.manual_seed(11)
    fast = list(DataLoader(ds, batch_size=8, shuffle=True))
    zg.manual_seed(11)
    slow = list(DataLoader(PerItem(), batch_size=8, shuffle=True))
    assert len(fast) == len(slow) == 5
    for (xa, ta), (xb, tb) in zip(fast, slow):
        assert xa.dtype == xb.dtype and ta.dtype == tb.dtype and xa.shape == xb.shape
        np.testing.assert_array_equal(xa.data, xb.data)
        np.testing.assert_array_equal(ta.data, tb.data)


def test_transforms_apply_per_sample_in_both_paths(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path / "mnist")
    ds = MNIST(tmp_path, verify=False, transform=lambda x: x * 2, target_transform=lambda t: t + 1)
    x, t = ds[2]
    plain = MNIST(tmp_path, verify=False)[2][0]
    np.testing.assert_allclose(x.data, plain.data * 2)
    assert t == 3
    xb, tb = next(iter(DataLoader(ds, batch_size=4)))
    assert tb.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(xb.data[2], x.data)


def test_search_order_root_then_env_then_cache(isolated, tmp_path, make_fake_mnist, monkeypatch):
    make_fake_mnist(tmp_path / "root" / "mnist", n_train=11)
    make_fake_mnist(tmp_path / "env" / "mnist", n_train=12)
    make_fake_mnist(isolated / "mnist", n_train=13)
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "env"))
    assert len(MNIST(tmp_path / "root", verify=False)) == 11
    assert len(MNIST(verify=False)) == 12
    monkeypatch.delenv("ZEROGRAD_DATA")
    ds = MNIST(verify=False)
    assert len(ds) == 13
    assert ds.files["train-images-idx3-ubyte"].parent == isolated / "mnist"
    # a root without the files falls through to the next places
    assert len(MNIST(tmp_path / "empty", verify=False)) == 13


def test_several_folders_in_zerograd_data(isolated, tmp_path, make_fake_mnist, monkeypatch):
    make_fake_mnist(tmp_path / "second" / "mnist", n_train=14)
    monkeypatch.setenv(
        "ZEROGRAD_DATA", os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")])
    )
    assert len(MNIST(verify=False)) == 14


@pytest.mark.parametrize("layout", ["", "mnist", "MNIST/raw"])
@pytest.mark.parametrize("gz", [True, False])
def test_layouts_and_raw_files(isolated, tmp_path, make_fake_mnist, layout, gz):
    make_fake_mnist(tmp_path / layout, gz=gz)
    ds = MNIST(tmp_path, verify=False)
    assert len(ds) == 30
    assert ds.files["train-images-idx3-ubyte"].name == "train-images-idx3-ubyte" + (
        ".gz" if gz else ""
    )


def test_fashion_mnist_layouts(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path / "FashionMNIST" / "raw", n_test=9)
    ds = FashionMNIST(tmp_path, train=False, verify=False)
    assert len(ds) == 9 and ds.classes[9] == "Ankle boot"
    with pytest.raises(FileNotFoundError):
        MNIST(tmp_path, train=False, verify=False)  # fashion files are not MNIST's


def test_dotted_file_names_are_accepted(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path)
    for stem in STEMS:
        (tmp_path / (stem + ".gz")).rename(tmp_path / (stem.replace("-idx", ".idx") + ".gz"))
    assert len(MNIST(tmp_path, verify=False)) == 30


def test_find_mnist_files(isolated, tmp_path, make_fake_mnist):
    assert find_mnist_files("mnist", tmp_path) is None
    make_fake_mnist(tmp_path / "mnist")
    files = find_mnist_files("mnist", tmp_path)
    assert sorted(files) == sorted(STEMS)
    assert files["t10k-labels-idx1-ubyte"] == tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert find_mnist_files("mnist", tmp_path) is None
    assert sorted(find_mnist_files("mnist", tmp_path, train=True)) == sorted(STEMS[:2])
    assert find_mnist_files("fashion-mnist", tmp_path) is None
    with pytest.raises(ValueError, match="'kmnist'.*'mnist' or 'fashion-mnist'"):
        find_mnist_files("kmnist")


def test_labels_out_of_range_and_count_mismatch(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.full(30, 12, np.uint8))
    with pytest.raises(ValueError, match=at(labels) + ".*label 12; expected labels 0 to 9"):
        MNIST(tmp_path, verify=False)
    write_idx(labels, np.zeros(29, np.uint8))
    with pytest.raises(IDXError, match=at(labels) + r".*shape \(29,\), expected \(30,\)"):
        MNIST(tmp_path, verify=False)


def test_images_file_with_label_magic(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(images, np.zeros(30, np.uint8))
    with pytest.raises(IDXError, match=at(images) + ".*expected 0x00000803"):
        MNIST(tmp_path, verify=False)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"dtype": "int32"}, ValueError, "dtype must be a floating dtype.*got int32"),
        ({"dtype": "uint8"}, ValueError, "dtype must be .*uint8 with normalize=False; got uint8"),
        ({"train": "yes"}, TypeError, "train must be True or False"),
        ({"flatten": 1}, TypeError, "flatten must be True or False"),
        ({"transform": 3}, TypeError, "transform must be callable"),
    ],
)
def test_argument_validation(isolated, tmp_path, kwargs, error, match):
    with pytest.raises(error, match="MNIST: " + match):
        MNIST(tmp_path, **kwargs)


def test_index_errors(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path)
    ds = MNIST(tmp_path, verify=False)
    with pytest.raises(IndexError, match="MNIST: index 30 is out of range for 30"):
        ds[30]
    with pytest.raises(TypeError, match="integer"):
        ds["0"]


# ---------------------------------------------------------------------------------------------
# checksums


def test_real_names_with_wrong_content_are_rejected(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(
        ValueError, match=at(path) + ".*not the published train-images-idx3-ubyte.*440fcabf"
    ):
        MNIST(tmp_path)


def test_raw_file_is_checked_against_the_decompressed_hash(isolated, tmp_path, make_fake_mnist):
    make_fake_mnist(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    with pytest.raises(ValueError, match=at(path) + ".*decompressed data has ba891046"):
        MNIST(tmp_path)


def test_files_are_hashed_once_per_process(
    isolated, tmp_path, make_fake_mnist, fake_sha256, monkeypatch
):
    make_fake_mnist(tmp_path / "mnist")
    monkeypatch.setitem(mnist_module.SHA256, "mnist", fake_sha256(tmp_path / "mnist"))
    calls = []
    real = mnist_module._sha256
    monkeypatch.setattr(mnist_module, "_sha256", lambda p: calls.append(p) or real(p))
    MNIST(tmp_path)
    MNIST(tmp_path)
    assert len(calls) == 2  # two files, each hashed once
    # a changed file (new size and time) is hashed again, and rejected
    labels = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.arange(30, dtype=np.uint8) % 3)
    with pytest.raises(ValueError, match=at(labels)):
        MNIST(tmp_path)
    assert len(calls) == 3


# ---------------------------------------------------------------------------------------------
# download (never the network: a closed local port and a local web server)


def test_not_found_without_download_lists_every_place(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path / "root")
    message = str(info.value)
    for place in (
        tmp_path / "root" / "mnist",
        tmp_path / "root",
        tmp_path / "root" / "MNIST" / "raw",
        tmp_path / "env" / "mnist",
        tmp_path / "env",
        tmp_path / "env" / "MNIST" / "raw",
        isolated / "mnist",
        isolated,
        isolated / "MNIST" / "raw",
    ):
        assert f"  {place}  (" in message
    assert "train-images-idx3-ubyte(.gz)" in message
    assert "ZEROGRAD_DATA" in message and "root=" in message and "download=True" in message
    assert str(isolated / "mnist") in message.splitlines()[-1]


def test_download_failure_offline_lists_places_and_urls(
    isolated, tmp_path, closed_port, monkeypatch
):
    mirrors = [f"http://127.0.0.1:{closed_port}/a/", f"http://127.0.0.1:{closed_port}/b/"]
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", mirrors)
    monkeypatch.setattr(mnist_module, "DOWNLOAD_TIMEOUT", 2.0)
    with pytest.raises(FileNotFoundError) as info:
        MNIST(download=True, train=False)
    message = str(info.value)
    for place in (isolated / "mnist", isolated, isolated / "MNIST" / "raw"):
        assert f"  {place}  (cache)" in message
    assert f"Downloading into {isolated / 'mnist'} failed" in message
    for mirror in mirrors:
        for stem in STEMS:
            assert f"  {mirror}{stem}.gz: " in message
    assert "refused" in message.lower()
    # a dead mirror is tried once, not once per file
    assert f"{mirrors[0]}{STEMS[1]}.gz: not tried: the mirror was unreachable" in message
    assert "ZEROGRAD_DATA" in message and "root=" in message
    assert list((isolated / "mnist").iterdir()) == []  # no partial files


def test_download_from_local_server_with_checksums(
    isolated, tmp_path, make_fake_mnist, fake_sha256, http_server, closed_port, monkeypatch, capsys
):
    www, url = http_server
    arrays = make_fake_mnist(www / "mnist")
    monkeypatch.setitem(mnist_module.SHA256, "mnist", fake_sha256(www / "mnist"))
    # the first mirror is down: the second one is used
    monkeypatch.setitem(
        mnist_module.MIRRORS, "mnist", [f"http://127.0.0.1:{closed_port}/", url + "mnist/"]
    )
    monkeypatch.setattr(mnist_module, "DOWNLOAD_TIMEOUT", 5.0)
    ds = MNIST(download=True)
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == sorted(
        stem + ".gz" for stem in STEMS
    )
    np.testing.assert_array_equal(ds.data, arrays["train-images-idx3-ubyte"])
    assert len(MNIST(train=False)) == 20  # all four files came
    log = capsys.readouterr().err
    assert log.count(f"127.0.0.1:{closed_port}") == 1 and log.count(url) == 4
    # with root given, the files go to root/mnist
    shutil.rmtree(isolated / "mnist")
    ds = MNIST(tmp_path / "mine", train=False, download=True)
    assert ds.files["t10k-images-idx3-ubyte"] == tmp_path / "mine" / "mnist" / (
        "t10k-images-idx3-ubyte.gz"
    )


def test_download_checksum_mismatch_leaves_no_file(
    isolated, tmp_path, make_fake_mnist, http_server, monkeypatch
):
    www, url = http_server
    make_fake_mnist(www)
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [url])
    monkeypatch.setattr(mnist_module, "DOWNLOAD_TIMEOUT", 5.0)
    with pytest.raises(FileNotFoundError, match="checksum mismatch.*440fcabf") as info:
        MNIST(download=True)
    assert f"{url}train-images-idx3-ubyte.gz: checksum mismatch" in str(info.value)
    assert list((isolated / "mnist").iterdir()) == []


def test_download_replaces_a_corrupt_cached_file(
    isolated, tmp_path, make_fake_mnist, fake_sha256, http_server, monkeypatch
):
    www, url = http_server
    make_fake_mnist(www)
    monkeypatch.setitem(mnist_module.SHA256, "mnist", fake_sha256(www))
    monkeypatch.setitem(mnist_module.MIRRORS, "mnist", [url])
    (isolated / "mnist").mkdir(parents=True)
    shutil.copy(www / "t10k-images-idx3-ubyte.gz", isolated / "mnist")
    (isolated / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    assert len(MNIST(download=True)) == 30
    assert len(MNIST(train=False)) == 20


# ---------------------------------------------------------------------------------------------
# the real files (ZEROGRAD_DATA)

MNIST_COUNTS = {
    True: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    False: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


def real_data(name):
    if not os.environ.get("ZEROGRAD_DATA"):
        pytest.skip(f"needs the {name} files: set ZEROGRAD_DATA to a folder holding {name}/")
    if find_mnist_files(name) is None:
        pytest.skip(
            f"needs the {name} files: ZEROGRAD_DATA={os.environ['ZEROGRAD_DATA']} holds no "
            f"{name}/ folder with the four IDX files"
        )


@pytest.fixture(scope="module")
def real_mnist_train():
    real_data("mnist")
    return MNIST(train=True)


def test_real_mnist_train(real_mnist_train):
    ds = real_mnist_train
    assert len(ds) == 60000 and ds.data.shape == (60000, 28, 28)
    assert ds.data.dtype == np.uint8 and ds.data.nbytes == 47_040_000
    assert np.bincount(ds.targets).tolist() == MNIST_COUNTS[True]
    assert int(ds.data.max()) == 255 and int(ds.data.min()) == 0
    for path in ds.files.values():  # the published SHA-256 matched
        st = path.stat()
        assert (str(path.resolve()), st.st_mtime_ns, st.st_size) in mnist_module._verified


def test_real_mnist_test_and_a_shuffled_epoch(real_mnist_train):
    test = MNIST(train=False, flatten=True)
    assert len(test) == 10000
    assert np.bincount(test.targets).tolist() == MNIST_COUNTS[False]
    x, t = test[0]
    assert x.shape == (784,) and t == 7  # the first test digit is a 7
    zg.manual_seed(0)
    seen = np.zeros(10, np.int64)
    for x, t in DataLoader(real_mnist_train, batch_size=1000, shuffle=True):
        assert x.shape == (1000, 1, 28, 28) and x.dtype == np.float32
        seen += np.bincount(t.data, minlength=10)
    assert seen.tolist() == MNIST_COUNTS[True]


def test_real_fashion_mnist():
    real_data("fashion-mnist")
    for train, n in ((True, 60000), (False, 10000)):
        ds = FashionMNIST(train=train)
        assert len(ds) == n and ds.data.dtype == np.uint8
        assert np.bincount(ds.targets).tolist() == [n // 10] * 10


def test_mnist_splits_falls_back_to_the_sample_and_says_so(tmp_path, monkeypatch, capsys):
    from zerograd.data.datasets import mnist_splits

    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    train, test, what = mnist_splits(flatten=True)
    assert (len(train), len(test), what) == (6000, 1000, "the MNIST sample")
    assert "using the 6,000-image sample" in capsys.readouterr().out
    assert train[0][0].shape == (784,)
    with pytest.raises(FileNotFoundError, match="Looked in"):
        mnist_splits(sample=False)
    mnist_splits(announce=False)
    assert capsys.readouterr().out == ""
