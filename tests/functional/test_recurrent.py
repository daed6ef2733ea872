"""F.rnn_layer, F.lstm_layer, F.gru_layer beyond their registry cases (gradcheck and the PyTorch
comparison run in test_registry.py, which also checks the cases reach every Function): the
reverse direction, saturated gates, dtypes and the argument errors."""

import warnings

import numpy as np
import pytest

import zerograd as zg
from zerograd import functional as F


def _weights(G, H_in=4, H=3, seed=0, scale=1.0, dtype="float64"):
    rng = np.random.default_rng(seed)
    shapes = [(G * H, H_in), (G * H, H), (G * H,), (G * H,)]
    return [zg.tensor((scale * rng.standard_normal(s)).astype(dtype)) for s in shapes]


LAYERS = [
    (lambda x, w, **k: F.rnn_layer(x, None, *w, **k), 1),
    (lambda x, w, **k: F.rnn_layer(x, None, *w, nonlinearity="relu", **k), 1),
    (lambda x, w, **k: F.lstm_layer(x, None, *w, **k), 4),
    (lambda x, w, **k: F.gru_layer(x, None, *w, **k), 3),
]
LAYER_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _h_n(result):
    states = result[1]
    return states[0] if isinstance(states, tuple) else states


@pytest.mark.parametrize("layer, G", LAYERS, ids=LAYER_IDS)
def test_reverse_is_the_layer_on_the_flipped_sequence(layer, G):
    x = zg.randn(5, 2, 4, dtype="float64")
    w = _weights(G)
    fwd = layer(x[::-1], w)
    rev = layer(x, w, reverse=True)
    np.testing.assert_allclose(rev[0].data, fwd[0].data[::-1], rtol=1e-12)
    np.testing.assert_allclose(_h_n(rev).data, _h_n(fwd).data, rtol=1e-12)
    # the state after the last step processed is the output at the first time step
    np.testing.assert_array_equal(_h_n(rev).data, rev[0].data[0])


@pytest.mark.parametrize("layer, G", LAYERS, ids=LAYER_IDS)
def test_saturated_gates_stay_finite_and_silent(layer, G):
    # pre-activations in the hundreds: a naive 1 / (1 + exp(-a)) overflows in float32
    x = zg.tensor(np.random.default_rng(1).standard_normal((6, 2, 4)).astype("float32") * 100)
    x.requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = layer(x, _weights(G, scale=5.0, dtype="float32"))[0]
            (out * out).sum().backward()
    assert out.dtype == np.float32 and np.isfinite(out.data).all()
    assert np.isfinite(x.grad.data).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_and_gradients_keep_the_dtype(dtype):
    x = zg.randn(3, 2, 4, dtype=dtype, requires_grad=True)
    w = _weights(4, dtype=dtype)
    for p in w:
        p.requires_grad_(True)
    h0, c0 = zg.zeros(2, 3, dtype=dtype, requires_grad=True), zg.zeros(2, 3, dtype=dtype)
    out, (h, c) = F.lstm_layer(x, (h0, c0), *w)
    assert out.dtype == h.dtype == c.dtype == np.dtype(dtype)
    (out.sum() + c.sum()).backward()
    assert x.grad.dtype == h0.grad.dtype == np.dtype(dtype)
    assert all(p.grad.dtype == np.dtype(dtype) for p in w)
    assert c0.grad is None  # not requiring grad: nothing computed for it


def test_no_graph_under_no_grad():
    w = _weights(3)
    for p in w:
        p.requires_grad_(True)
    with zg.no_grad():
        out, h = F.gru_layer(zg.randn(3, 2, 4, dtype="float64"), None, *w)
    assert not out.requires_grad and not h.requires_grad


def test_argument_errors():
    x = zg.zeros(5, 2, 4)
    w_ih, w_hh = zg.zeros(9, 4), zg.zeros(9, 3)  # a GRU of hidden size 3 on 4 features
    with pytest.raises(ValueError, match=r"gru_layer: input must be 3-D \(L, N, H_in\), got shape"):
        F.gru_layer(zg.zeros(5, 4), None, w_ih, w_hh)
    with pytest.raises(
        ValueError,
        match=r"gru_layer: input has shape \(5, 2, 7\) but weight_ih has shape \(9, 4\): the "
        r"input's last dimension must be 4",
    ):
        F.gru_layer(zg.zeros(5, 2, 7), None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"lstm_layer: weight_hh must be \(4\*H, H\) .* \(9, 3\)"):
        F.lstm_layer(x, None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"gru_layer: weight_ih must be \(3\*H, H_in\) = \(12, "):
        F.gru_layer(x, None, w_ih, zg.zeros(12, 4))
    with pytest.raises(ValueError, match=r"gru_layer: bias_hh must have shape \(9,\), got \(3,\)"):
        F.gru_layer(x, None, w_ih, w_hh, zg.zeros(9), zg.zeros(3))
    with pytest.raises(
        ValueError, match=r"gru_layer: hx has shape \(3, 3\) but must be \(N, H\) = \(2, 3\)"
    ):
        F.gru_layer(x, zg.zeros(3, 3), w_ih, w_hh)
    with pytest.raises(ValueError, match=r"L must be >= 1"):
        F.gru_layer(zg.zeros(0, 2, 4), None, w_ih, w_hh)
    with pytest.raises(TypeError, match=r"gru_layer: input \(float64\), .* must share one dtype"):
        F.gru_layer(zg.zeros(5, 2, 4, dtype="float64"), None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"rnn_layer: nonlinearity must be 'tanh' or 'relu'"):
        F.rnn_layer(x, None, zg.zeros(3, 4), zg.zeros(3, 3), nonlinearity="gelu")
    with pytest.raises(TypeError, match=r"lstm_layer: hx must be a pair \(h_0, c_0\)"):
        F.lstm_layer(x, zg.zeros(2, 3), zg.zeros(12, 4), zg.zeros(12, 3))
