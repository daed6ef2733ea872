"""Shape ops: views, indexing with repeats, joining and splitting, errors."""

import numpy as np
import pytest

import zerograd as zg
import zerograd.functional as F


def test_reshape_accepts_pytorch_forms_and_is_a_view():
    x = zg.arange(6)
    assert x.reshape(2, 3).shape == (2, 3) == x.reshape((2, 3)).shape == x.view(-1, 3).shape
    assert np.shares_memory(x.reshape(2, 3).data, x.data)


def test_reshape_error():
    with pytest.raises(
        ValueError,
        match=r"reshape: cannot reshape a tensor of shape \(6,\) \(6 elements\) into \(4, 2\)",
    ):
        zg.arange(6).reshape(4, 2)


def test_transpose_swaps_two_dims_like_pytorch():
    x = zg.zeros(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.permute(1, 2, 0).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0, 1)


def test_squeeze_unsqueeze_flatten():
    x = zg.zeros(2, 1, 3, 1)
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(1).shape == (2, 3, 1)
    assert x.squeeze(0).shape == (2, 1, 3, 1)  # size 2: unchanged, like PyTorch
    assert zg.zeros(2, 3).unsqueeze(0).shape == (1, 2, 3)
    assert zg.zeros(2, 3).unsqueeze(-1).shape == (2, 3, 1)
    assert zg.zeros(2, 3, 4).flatten().shape == (24,)
    assert zg.zeros(2, 3, 4).flatten(1).shape == (2, 12)
    with pytest.raises(IndexError, match=r"unsqueeze: dim 3 is out of range"):
        zg.zeros(2).unsqueeze(3)


def test_expand_errors():
    with pytest.raises(
        ValueError, match=r"expand: cannot broadcast a tensor of shape \(3,\) to \(4,\)"
    ):
        zg.zeros(3).expand(4)


def test_getitem_with_repeated_indices_accumulates():
    x = zg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[zg.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 0.0, 1.0])


def test_getitem_with_a_bool_tensor():
    x = zg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x[x > 0] * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 0.0, 2.0])


def test_getitem_error_names_the_index_and_shape():
    with pytest.raises(
        IndexError, match=r"getitem: index 5 is invalid for a tensor of shape \(3,\)"
    ):
        zg.zeros(3)[5]


def test_cat_stack_split_chunk():
    a, b = zg.ones(2, 3), zg.zeros(2, 2)
    assert F.cat([a, b], dim=1).shape == (2, 5)
    assert F.stack([a, a], dim=0).shape == (2, 2, 3)
    parts = F.split(zg.arange(10), 4)
    assert [p.shape[0] for p in parts] == [4, 4, 2]
    assert [p.shape[0] for p in F.chunk(zg.arange(10), 3)] == [4, 4, 2]
    assert [p.shape[1] for p in zg.zeros(2, 5).split([2, 3], dim=1)] == [2, 3]


def test_join_and_split_errors():
    with pytest.raises(
        ValueError, match=r"cat: tensors of shapes \(2, 3\), \(3, 3\) can't be joined along dim 1"
    ):
        F.cat([zg.ones(2, 3), zg.ones(3, 3)], dim=1)
    with pytest.raises(ValueError, match="same shape"):
        F.stack([zg.ones(2), zg.ones(3)])
    with pytest.raises(ValueError, match="add up to 5"):
        F.split(zg.ones(5), [2, 2])
    with pytest.raises(TypeError, match="list or tuple"):
        F.cat(zg.ones(2))
