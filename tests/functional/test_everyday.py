"""PyTorch's everyday tensor functions: pointwise math, prod/cumsum/norm, mm/bmm/dot/outer,
flip/roll/repeat/tril/triu, gather/index_select/masked_fill, sort/topk/nonzero and the Tensor
conveniences (int/bool, contiguous, device, new_*). Their gradients are checked by the registry
cases (tests/functional/test_registry.py); here: dtypes, edges, errors, and the gradients at the
places a formula breaks (zeros in prod, a zero vector's norm, ties in sort)."""

import numpy as np
import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd import functional as F

# --- pointwise --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sin", "cos", "log1p", "expm1", "reciprocal"])
def test_integer_inputs_give_the_default_float_dtype(name):
    y = getattr(zg, name)(zg.tensor([1, 2, 3]))
    assert y.dtype == zg.get_default_dtype()


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign", "square", "nan_to_num"])
def test_integer_inputs_stay_integers(name):
    y = getattr(zg, name)(zg.tensor([-2, 0, 3]))
    assert y.dtype == np.int64


def test_rounding_family_passes_a_zero_gradient_like_pytorch():
    x = zg.tensor([-1.5, 0.2, 2.7], requires_grad=True)
    y = zg.floor(x) + zg.ceil(x) + zg.round(x) + zg.sign(x) + x
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]
    assert zg.floor(x).requires_grad  # part of the graph, as PyTorch's FloorBackward


def test_sign_of_nan_and_negative_zero_is_zero_like_pytorch():
    y = zg.sign(zg.tensor([float("nan"), -0.0, -3.0, 2.0]))
    assert y.tolist() == [0.0, 0.0, -1.0, 1.0]
    assert not np.signbit(y.data[1])


def test_round_halves_to_even_and_takes_decimals():
    assert zg.round(zg.tensor([0.5, 1.5, 2.5])).tolist() == [0.0, 2.0, 2.0]
    assert zg.round(zg.tensor([1234.0]), decimals=-2).tolist() == [1200.0]
    with pytest.raises(TypeError, match="round: decimals must be an int"):
        zg.round(zg.tensor([1.0]), decimals=1.5)


def test_float_tests_and_nan_to_num():
    x = zg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert zg.isnan(x).tolist() == [False, True, False, False]
    assert zg.isinf(x).tolist() == [False, False, True, True]
    assert zg.isfinite(x).tolist() == [True, False, False, False]
    assert zg.isfinite(zg.tensor([1, 2])).tolist() == [True, True]
    y = zg.nan_to_num(x)
    assert y.tolist() == [1.0, 0.0, np.finfo(np.float32).max, np.finfo(np.float32).min]
    x.requires_grad_(True)
    zg.nan_to_num(x, nan=1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_methods_are_bound():
    x = zg.tensor([[0.5, -1.0]])
    for name in ("sin", "cos", "square", "floor", "isnan", "nan_to_num", "prod", "norm", "t"):
        assert callable(getattr(x, name))
    assert x.square().tolist() == [[0.25, 1.0]]
    assert x.t().shape == (2, 1)


# --- reductions -------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize(
    "rows",
    [
        [[2.0, 3.0, 4.0]],  # no zero
        [[2.0, 0.0, 4.0]],  # one zero: it gets the others' product
        [[0.0, 3.0, 0.0]],  # two zeros: every gradient is 0
        [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [5.0, 0.0, 7.0]],
    ],
)
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_zeros_matches_pytorch(rows, dim):
    x = zg.tensor(rows, dtype="float64", requires_grad=True)
    compare_with_torch(
        torch,
        lambda t: zg.prod(t, dim) if dim is not None else zg.prod(t),
        lambda t: torch.prod(t, dim) if dim is not None else torch.prod(t),
        [x],
        "float64",
    )


def test_prod_and_cumsum_of_integers_are_int64():
    assert zg.prod(zg.tensor([2, 3], dtype="int32")).dtype == np.int64
    assert zg.prod(zg.tensor([True, True])).item() == 1
    assert zg.cumsum(zg.tensor([1, 2, 3], dtype="int32"), 0).tolist() == [1, 3, 6]
    assert zg.prod(zg.tensor([1.0, 2.0]), dtype="float64").dtype == np.float64
    with pytest.raises(TypeError, match="prod: dim must be a single int"):
        zg.prod(zg.ones(2, 2), dim=(0, 1))


@needs_torch
@pytest.mark.parametrize("p", [2, "fro", 1, float("inf"), -float("inf"), 3, 0.5])
def test_norm_of_a_zero_vector_passes_a_zero_gradient_like_pytorch(p):
    data = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])
    x = zg.tensor(data, requires_grad=True)
    zg.norm(x, p=p, dim=1).sum().backward()
    t = torch.tensor(data, requires_grad=True)
    torch.norm(t, p=p, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert np.isfinite(x.grad.data).all()


def test_norm_errors_name_the_op():
    with pytest.raises(NotImplementedError, match="norm: p='nuc'"):
        zg.norm(zg.ones(2, 2), p="nuc")
    with pytest.raises(TypeError, match="norm: needs a floating tensor"):
        zg.norm(zg.tensor([1, 2]))


def test_count_nonzero_var_mean_std_mean():
    x = zg.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    assert zg.count_nonzero(x, dim=(0, 1)).item() == 3
    assert zg.count_nonzero(x, dim=1).dtype == np.int64
    v, m = zg.var_mean(x, dim=1, correction=0)
    np.testing.assert_allclose(v.data, x.data.var(axis=1))
    np.testing.assert_allclose(m.data, x.data.mean(axis=1))
    s, m = zg.std_mean(x, 0, keepdim=True)
    assert s.shape == m.shape == (1, 3)


# --- products ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, a, b, match",
    [
        ("mm", (2, 3), (4, 3), r"mm: cannot multiply \(2, 3\) by \(4, 3\): inner sizes 3 and 4"),
        ("mm", (2, 3, 4), (4, 3), r"mm: both operands must be matrices \(2-D\)"),
        ("bmm", (2, 3, 4), (3, 4, 5), r"bmm: batch sizes differ"),
        ("bmm", (2, 3, 4), (2, 3, 5), r"bmm: cannot multiply"),
        ("dot", (3,), (4,), r"dot: the vectors have different lengths, 3 and 4"),
        ("dot", (3, 1), (3,), r"dot: both operands must be vectors"),
        ("outer", (3, 1), (3,), r"outer: both operands must be 1-D vectors"),
    ],
)
def test_product_shape_errors(op, a, b, match):
    with pytest.raises(ValueError, match=match):
        getattr(zg, op)(zg.ones(*a), zg.ones(*b))


def test_mm_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match="mm: both operands must have the same dtype"):
        zg.mm(zg.ones(2, 2), zg.ones(2, 2, dtype="float64"))


def test_t_and_mT():
    x = zg.ones(2, 3, 4)
    assert x.mT.shape == (2, 4, 3)
    assert zg.ones(3).t().shape == (3,)
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dimensions"):
        x.t()
    with pytest.raises(ValueError, match="mT: needs a tensor of at least 2 dimensions"):
        _ = zg.ones(3).mT


# --- shapes and indexing ----------------------------------------------------------------------


def test_flip_roll_repeat_unbind():
    x = zg.arange(6).reshape(2, 3)
    assert x.flip(0, 1).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert x.flip(dims=[1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert zg.roll(x, 1).tolist() == [[5, 0, 1], [2, 3, 4]]
    assert zg.roll(x, -1, 1).tolist() == [[1, 2, 0], [4, 5, 3]]
    assert x.repeat(1, 2, 1).shape == (1, 4, 3)
    assert [t.tolist() for t in zg.unbind(x)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="flip: dims"):
        zg.flip(x, (0, -2))
    with pytest.raises(ValueError, match="roll: shifts"):
        zg.roll(x, (1, 2), 0)
    with pytest.raises(ValueError, match="repeat: got 1 repeat counts"):
        x.repeat(2)


def test_tril_triu_need_a_matrix():
    assert zg.triu(zg.ones(2, 2), -1).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="tril: needs a tensor of at least 2 dimensions"):
        zg.tril(zg.ones(3))


def test_gather_and_index_select_add_gradients_of_repeated_positions():
    x = zg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    zg.gather(x, 1, zg.tensor([[2, 2, 0, 2]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0]]
    x.grad = None
    zg.index_select(x, 1, zg.tensor([0, 0, 1])).sum().backward()
    assert x.grad.tolist() == [[2.0, 1.0, 0.0]]


def test_gather_and_index_select_errors():
    x = zg.ones(2, 3)
    with pytest.raises(IndexError, match=r"gather: index values must lie in \[0, 2\]"):
        zg.gather(x, 1, zg.tensor([[3]]))
    with pytest.raises(ValueError, match="gather: index has shape"):
        zg.gather(x, 1, zg.tensor([0]))
    with pytest.raises(TypeError, match="gather: index must be an integer"):
        zg.gather(x, 1, zg.tensor([[0.0]]))
    with pytest.raises(IndexError, match=r"index_select: index values must lie in \[0, 1\]"):
        zg.index_select(x, 0, zg.tensor([2]))


def test_masked_fill_broadcasts_and_keeps_the_dtype():
    x = zg.tensor([[1, 2], [3, 4]])
    y = x.masked_fill(zg.tensor([True, False]), 0)
    assert y.tolist() == [[0, 2], [0, 4]] and y.dtype == np.int64
    assert x.masked_fill(zg.tensor([True, False]), -1.7).tolist() == [[-1, 2], [-1, 4]]
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor"):
        x.masked_fill(zg.tensor([1, 0]), 0)
    v = zg.tensor(5.0, requires_grad=True)
    zg.masked_fill(zg.zeros(2, 2), zg.tensor([[True, False], [True, True]]), v).sum().backward()
    assert v.grad.item() == 3.0


def test_sort_is_stable_and_puts_nan_first_when_descending():
    x = zg.tensor([2.0, 1.0, float("nan"), 2.0, 1.0])
    v, i = zg.sort(x, descending=True)
    assert i.tolist() == [2, 0, 3, 1, 4]
    assert i.dtype == np.int64
    assert zg.argsort(x).tolist() == [1, 4, 0, 3, 2]
    v, i = zg.topk(zg.tensor([[1.0, 3.0, 2.0]]), 2, largest=False)
    assert v.tolist() == [[1.0, 2.0]] and i.tolist() == [[0, 2]]
    with pytest.raises(ValueError, match="topk: k=4 is out of range"):
        zg.topk(zg.ones(3), 4)


def test_nonzero():
    x = zg.tensor([[0, 1], [2, 0]])
    assert zg.nonzero(x).tolist() == [[0, 1], [1, 0]]
    rows, cols = zg.nonzero(x, as_tuple=True)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


# --- Tensor conveniences and creation -----------------------------------------------------------


def test_int_bool_long_carry_no_gradient():
    x = zg.tensor([0.0, 1.7], requires_grad=True)
    for y, dtype in ((x.int(), np.int32), (x.bool(), np.bool_), (x.long(), np.int64)):
        assert y.dtype == dtype and not y.requires_grad
    assert x.int().tolist() == [0, 1]


def test_contiguous_returns_self_or_a_copy():
    x = zg.ones(3, 4)
    assert x.contiguous() is x and x.is_contiguous()
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and c.tolist() == t.tolist()


def test_storage_questions():
    x = zg.ones(2, 3, dtype="float64")
    assert x.is_floating_point() and not zg.tensor([1]).is_floating_point()
    assert x.element_size() == 8 and x.nelement() == 6 and x.ndimension() == 2
    assert zg.numel(x) == 6 and zg.is_tensor(x) and not zg.is_tensor(x.data)
    assert zg.tensor([1, 2]).type_as(x).dtype == np.float64


def test_device_works_where_pytorch_code_passes_it():
    x = zg.ones(2)
    assert x.device == "cpu" and x.device.type == "cpu" and str(x.device) == "cpu"
    assert not x.is_cuda
    assert x.to(x.device) is x
    assert zg.zeros(3, device=x.device).shape == (3,)
    assert zg.device("cpu") == x.device
    with pytest.raises(ValueError, match="device"):
        zg.device("cuda")


def test_new_tensors_take_self_dtype():
    x = zg.ones(2, dtype="float64")
    assert x.new_zeros(2, 3).dtype == np.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_empty(4).shape == (4,)
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert x.new_zeros(2, dtype="int64", requires_grad=False).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad


def test_creation_helpers():
    assert zg.empty_like(zg.ones(2, 3)).shape == (2, 3)
    zg.manual_seed(0)
    p = zg.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == np.int64
    with pytest.raises(ValueError, match="randperm: n must be a non-negative int"):
        zg.randperm(-1)
    assert zg.allclose(zg.tensor([1.0]), zg.tensor([1.0 + 1e-9]))
    assert not zg.allclose(zg.tensor([float("nan")]), zg.tensor([float("nan")]))
    assert zg.equal(zg.tensor([1, 2]), zg.tensor([1, 2]))
    assert not zg.equal(zg.tensor([1, 2]), zg.tensor([1, 3]))
    assert zg.ones(2).equal(zg.ones(2)) and zg.ones(2).allclose(zg.ones(2) + 1e-9)


def test_functional_namespace_has_the_functions():
    for name in ("sin", "floor", "prod", "cumsum", "mm", "flip", "gather", "topk", "tril"):
        assert callable(getattr(F, name)) and getattr(F, name) is getattr(zg, name)
