"""The autograd core: backward, accumulation, graph freeing, grad modes, version counters."""

import numpy as np
import pytest

import zerograd as zg
import zerograd.functional as F


def leaf(values, dtype="float64"):
    return zg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_chain_rule_through_several_ops():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x + 3 * x).sum()  # dy/dx = 2x + 3
    y.backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 7.0, 9.0])


def test_gradients_accumulate_over_two_backwards():
    x = leaf([1.0, -2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0])


def test_a_tensor_used_twice_gets_both_contributions():
    x = leaf([2.0])
    y = x * x  # diamond: x feeds both operands
    z = (y + y * x).sum()  # z = x^2 + x^3, dz/dx = 2x + 3x^2
    z.backward()
    np.testing.assert_allclose(x.grad.data, [16.0])


def test_leaves_get_their_own_gradient_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()  # Add passes one upstream array to both inputs
    assert a.grad.data is not b.grad.data
    a.grad.data += 10  # editing one gradient in place must not change the other
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])


def test_grad_dtype_follows_the_leaf():
    x = zg.ones(3, requires_grad=True)
    y = (x.double() * 2).sum()
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, 2.0)


def test_backward_with_explicit_grad():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.backward(zg.tensor([1.0, 10.0], dtype="float64"))
    np.testing.assert_allclose(x.grad.data, [3.0, 30.0])


def test_backward_of_a_non_scalar_without_grad_is_a_clear_error():
    x = leaf([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match=r"shape \(1, 2\).*loss.sum\(\)"):
        (x * 2).backward()


def test_backward_with_grad_of_wrong_shape():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"grad has shape \(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        zg.ones(2).sum().backward()


def test_graph_is_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = y.sum()
    z.backward()
    assert y.grad_fn.saved is None and y.grad_fn.inputs is None
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    z = x.exp().sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([1.0, 2.0]))


def test_non_leaf_grads_are_not_kept_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.data, [2.0, 4.0])  # d(h*k)/dk = h


def test_backward_on_a_leaf():
    x = leaf([3.0])
    x.backward()
    np.testing.assert_allclose(x.grad.data, [1.0])


def test_deep_graph_needs_no_recursion():
    x = leaf([0.5])
    y = x
    for _ in range(20_000):
        y = y * 1.0001  # a graph 20,000 ops deep, like a long RNN unroll
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0001**20_000], rtol=1e-9)


def test_unused_output_of_a_multi_output_op_gets_zero_gradient():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b = F.split(x, 2)
    (a * 5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0, 0.0, 0.0])


def test_no_grad_builds_no_graph_and_restores_the_mode():
    x = leaf([1.0])
    with zg.no_grad():
        y = x * 2
        with zg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert zg.is_grad_enabled()


def test_no_grad_as_a_decorator():
    @zg.no_grad()
    def double(t):
        return t * 2

    assert not double(leaf([1.0])).requires_grad
    assert zg.is_grad_enabled()


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with zg.no_grad():
            raise ZeroDivisionError
    assert zg.is_grad_enabled()


def test_set_grad_enabled_as_a_function_call():
    zg.set_grad_enabled(False)
    try:
        assert not (leaf([1.0]) * 2).requires_grad
    finally:
        zg.set_grad_enabled(True)
    assert zg.is_grad_enabled()


def test_detach_shares_data_and_leaves_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x.detach()
    assert np.shares_memory(y.data, x.data)


def test_requires_grad_only_for_floating_tensors():
    with pytest.raises(RuntimeError, match="floating"):
        zg.tensor([1, 2], requires_grad=True)


def test_requires_grad_false_on_non_leaf_is_refused():
    with pytest.raises(RuntimeError, match="detach"):
        (leaf([1.0]) * 2).requires_grad_(False)


def test_numpy_refuses_while_requiring_grad():
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        leaf([1.0]).numpy()
    assert isinstance(leaf([1.0]).detach().numpy(), np.ndarray)


def test_item_needs_one_element():
    assert zg.tensor([2.5]).item() == 2.5
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        zg.tensor([1.0, 2.0]).item()


def test_tensor_properties_follow_pytorch():
    x = zg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3
    assert x.numel() == 24 and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.T.shape == (4, 3, 2)
    assert len(x) == 2
    with pytest.raises(IndexError, match="out of range"):
        x.size(3)


def test_repr_looks_like_pytorch():
    assert repr(zg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(zg.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=float64" in repr(zg.ones(1, dtype="float64"))
    assert "requires_grad=True" in repr(zg.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(zg.ones(1, requires_grad=True) * 2)


# --- in-place changes and the version counter ---------------------------------------------


def test_modifying_a_saved_input_is_detected_with_the_op_name():
    w = zg.tensor([1.0, 2.0])  # a constant the graph saved
    x = leaf([3.0, 4.0])
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match="mul saved.*modified in place"):
        y.backward()


def test_modifying_a_saved_output_is_detected():
    x = leaf([0.0, 1.0])
    y = x.exp()  # exp saves its output
    z = y.sum()
    with zg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="exp saved"):
        z.backward()


def test_modifying_through_a_view_is_detected():
    w = zg.tensor([[1.0, 2.0], [3.0, 4.0]])
    x = leaf([[1.0, 1.0], [1.0, 1.0]])
    y = (x * w).sum()
    v = w.reshape(4)  # a view shares the version counter
    v[0] = 100.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_an_unsaved_input_is_fine():
    x = leaf([1.0, 2.0])
    c = zg.tensor([5.0, 5.0])
    y = (x + c).sum()  # add saves nothing of c
    c.add_(1)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_inplace_on_a_leaf_that_requires_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x += 1
    with zg.no_grad():
        x -= 0.5  # an optimizer step
    np.testing.assert_allclose(x.data, [0.5])
    assert x._version == 1


def test_inplace_on_a_graph_tensor_asks_for_the_out_of_place_form():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="out-of-place"):
        y.mul_(3)


def test_inplace_ops_keep_identity_and_bump_version():
    x = zg.zeros(3)
    same = x
    x += 1
    x *= 4
    x -= 1
    x /= 3
    assert x is same and x._version == 4
    np.testing.assert_allclose(x.data, 1.0)
    x.zero_().fill_(2.0)
    x.clamp_(max=1.5)
    x.copy_(zg.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.data, [1.0, 2.0, 3.0])
    assert x._version == 8


def test_inplace_with_a_mismatched_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"add_.*shape \(3,\).*\(4,\)"):
        zg.zeros(3).add_(zg.zeros(4))


def test_setitem():
    x = zg.zeros(2, 3)
    x[0, 1:] = 5.0
    x[zg.tensor([1])] = zg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.data, [[0, 5, 5], [1, 2, 3]])


# --- custom Functions ---------------------------------------------------------------------


class Cube(zg.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, gy):
        (x,) = self.saved
        return 3 * x**2 * gy


class WrongShape(zg.Function):
    def forward(self, x):
        return x.sum()

    def backward(self, gy):
        return gy  # forgot to broadcast back


def test_a_user_function_trains_like_a_builtin():
    x = leaf([1.0, 2.0])
    Cube()(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 12.0])
    assert zg.gradcheck(lambda x: Cube()(x), [leaf([0.3, -1.2])])


def test_a_backward_that_returns_the_wrong_shape_is_named():
    with pytest.raises(
        RuntimeError, match=r"wrongshape.backward returned a gradient of shape \(\)"
    ):
        WrongShape()(leaf([1.0, 2.0])).backward()


def test_function_with_non_tensor_inputs_records_only_tensors():
    x = leaf([1.0, 2.0])
    y = F.mul(x, np.array([3.0, 4.0]))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_tensor_from_python_floats_takes_the_default_dtype():
    # as zerograd.tensor and torch.Tensor do; NumPy alone would make float64 and upcast the rest
    assert zg.Tensor([0.5, 1.5]).dtype == np.float32
    assert zg.Tensor(0.5).dtype == np.float32
    assert zg.Tensor([1, 2]).dtype == np.int64
    assert zg.Tensor(np.array([0.5])).dtype == np.float64  # an array keeps its dtype


def test_tensor_from_ragged_lists_names_the_lengths_found():
    with pytest.raises(ValueError, match=r"^Tensor: the nested lists are ragged: data\[0\] has 2 "):
        zg.Tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(
        ValueError, match=r"data\[0\]\[0\] is the int 1 but data\[1\]\[1\] is a list"
    ):
        zg.Tensor(([1, 2], (3, [4])))
