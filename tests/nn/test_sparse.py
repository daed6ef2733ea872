"""F.embedding and nn.Embedding against PyTorch: lookups, scatter-added gradients with repeated
indices, padding_idx, init, from_pretrained, repr and errors."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd import functional as F
from zerograd import nn

INDICES = np.array([[1, 4, 4, 0], [4, 2, 1, 4]])  # repeats: row 4 four times, row 1 twice


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_idx", [None, 4, 0, -1])
def test_embedding_against_torch(padding_idx, dtype):
    w = zg.tensor(np.random.default_rng(0).standard_normal((6, 3)).astype(dtype))
    w.requires_grad_(True)
    compare_with_torch(
        torch,
        lambda i, w: F.embedding(i, w, padding_idx=padding_idx),
        lambda i, w: torch.nn.functional.embedding(i, w, padding_idx=padding_idx),
        [zg.tensor(INDICES), w],
        dtype,
    )


def test_embedding_gradient_adds_repeats_and_skips_padding():
    w = zg.zeros(6, 2, dtype="float64", requires_grad=True)
    F.embedding(zg.tensor(INDICES), w, padding_idx=2).sum().backward()
    counts = np.bincount(INDICES.ravel(), minlength=6).astype("float64")
    counts[2] = 0  # the padding row is looked up but never trained
    np.testing.assert_array_equal(w.grad.data, np.repeat(counts[:, None], 2, axis=1))


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_layer_against_torch(padding_idx, dtype):
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx, dtype=getattr(torch, dtype))
    ours = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict(theirs.state_dict())
    y, ty = ours(zg.tensor(INDICES)), theirs(torch.from_numpy(INDICES))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    (y * zg.tensor(g)).sum().backward()
    (ty * torch.from_numpy(g)).sum().backward()
    tol = dict(rtol=1e-6) if dtype == "float32" else dict(rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), **tol)


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -2])
def test_repr_is_pytorchs(padding_idx):
    ours = nn.Embedding(10, 3, padding_idx=padding_idx)
    assert repr(ours) == repr(torch.nn.Embedding(10, 3, padding_idx=padding_idx))
    assert ours.padding_idx == torch.nn.Embedding(10, 3, padding_idx=padding_idx).padding_idx


def test_default_init_is_pytorchs():
    zg.manual_seed(0)
    emb = nn.Embedding(1000, 50, padding_idx=-1)
    w = emb.weight.data
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w[999], 0)  # the padding row starts at zero
    assert abs(w[:999].mean()) < 0.01 and abs(w[:999].std() - 1) < 0.01  # N(0, 1)


@needs_torch
@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained(freeze):
    table = zg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=1)
    temb = torch.nn.Embedding.from_pretrained(torch.from_numpy(table.data), freeze, padding_idx=1)
    assert repr(emb) == repr(temb)
    assert emb.weight.requires_grad == temb.weight.requires_grad == (not freeze)
    assert np.shares_memory(emb.weight.data, table.data)  # shared, as in PyTorch
    np.testing.assert_array_equal(emb.weight.data[1], [3.0, 4.0])  # padding row not zeroed
    y = emb(zg.tensor([[2, 1, 2]]))
    np.testing.assert_array_equal(y.data, temb(torch.tensor([[2, 1, 2]])).detach().numpy())
    if not freeze:
        y.sum().backward()
        np.testing.assert_array_equal(emb.weight.grad.data, [[0, 0], [0, 0], [2, 2]])


def test_errors_name_the_range_and_the_value():
    emb = nn.Embedding(10, 3)
    with pytest.raises(
        IndexError,
        match=r"^Embedding\(10, 3\): index 10 is out of range for a table of 10 rows; indices "
        r"must be in \[0, 9\]\.$",
    ):
        emb(zg.tensor([[1, 10]]))
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        F.embedding(zg.tensor([-1, 2]), emb.weight)
    with pytest.raises(TypeError, match=r"^Embedding\(10, 3\): indices must be integers, got fl"):
        emb(zg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be an int in \[-10, 9\]"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"Embedding: embedding_dim must be a positive int"):
        nn.Embedding(10, 0)
    with pytest.raises(ValueError, match=r"from_pretrained: embeddings must be 2-D .* \(4,\)"):
        nn.Embedding.from_pretrained(zg.zeros(4))
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D"):
        F.embedding(zg.tensor([0]), zg.zeros(3))


def test_embedding_gradient_of_empty_and_scalar_indices():
    w = zg.randn(4, 2, dtype="float64", requires_grad=True)
    F.embedding(zg.tensor(np.zeros((0, 3), dtype="int64")), w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, 0)
    w.grad = None
    y = F.embedding(zg.tensor(2), w)
    assert y.shape == (2,)
    (y * zg.tensor([1.0, -2.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[0, 0], [0, 0], [1, -2], [0, 0]])
