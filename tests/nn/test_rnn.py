"""nn.RNN / LSTM / GRU and the cells against PyTorch: outputs, final states, input, state and
parameter gradients (weights loaded from the PyTorch module's state_dict), repr, init, dropout
between layers, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_ref import needs_torch, torch

import zerograd as zg
from zerograd import nn

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-10)}
# kind -> (class name, extra constructor arguments)
KINDS = {
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
}
CELLS = {
    "rnn_tanh": ("RNNCell", {}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "lstm": ("LSTMCell", {}),
    "gru": ("GRUCell", {}),
}
L, N, H_IN, H = 4, 3, 5, 4


def _twins(name, extra, dtype, **cfg):
    """Our layer and PyTorch's, with PyTorch's state_dict loaded into ours unchanged."""
    theirs = getattr(torch.nn, name)(H_IN, H, **extra, **cfg, dtype=getattr(torch, dtype))
    ours = getattr(nn, name)(H_IN, H, **extra, **cfg, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same keys, same order
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _flat(result):
    out, states = result
    return [out] + (list(states) if isinstance(states, tuple) else [states])


def _compare(ours, theirs, x, hx, dtype, seed=0):
    """Forward both with x and hx (None, an array or a pair of arrays); backward a random upstream
    gradient on every output; compare outputs and the gradients of x, hx and every parameter."""
    tol = TOL[dtype]
    pair = isinstance(hx, tuple)
    hxs = [] if hx is None else list(hx) if pair else [hx]
    zin = [zg.tensor(a, requires_grad=True) for a in [x] + hxs]
    tin = [torch.tensor(a, requires_grad=True) for a in [x] + hxs]

    def states(ts):
        return None if hx is None else tuple(ts[1:]) if pair else ts[1]

    zouts = _flat(ours(zin[0], states(zin)))
    touts = _flat(theirs(tin[0], states(tin)))
    rng = np.random.default_rng(seed + 7)
    zloss, tloss = 0, 0
    for z, t in zip(zouts, touts, strict=True):
        assert z.shape == tuple(t.shape) and z.dtype == np.dtype(dtype)
        np.testing.assert_allclose(z.data, t.detach().numpy(), **tol, err_msg="forward")
        g = rng.standard_normal(z.shape).astype(dtype)
        zloss = zloss + (z * zg.tensor(g)).sum()
        tloss = tloss + (t * torch.from_numpy(g)).sum()
    zloss.backward()
    tloss.backward()
    for i, (z, t) in enumerate(zip(zin, tin)):
        assert z.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(z.grad.data, t.grad.numpy(), **tol, err_msg=f"grad of input {i}")
    named = list(ours.named_parameters())
    assert [n for n, _ in named] == [n for n, _ in theirs.named_parameters()]
    for (name, p), (_, tp) in zip(named, theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), **tol, err_msg=name)


def _inputs(kind, cfg, dtype, unbatched, with_hx, seed=0):
    rng = np.random.default_rng(seed)
    D = 2 if cfg.get("bidirectional") else 1
    DL = D * cfg.get("num_layers", 1)
    if unbatched:
        x_shape, h_shape = (L, H_IN), (DL, H)
    else:
        x_shape = (N, L, H_IN) if cfg.get("batch_first") else (L, N, H_IN)
        h_shape = (DL, N, H)
    x = rng.standard_normal(x_shape).astype(dtype)
    if not with_hx:
        return x, None
    if kind == "lstm":
        return x, tuple(rng.standard_normal(h_shape).astype(dtype) for _ in range(2))
    return x, rng.standard_normal(h_shape).astype(dtype)


# each option on and off somewhere, and the interesting combinations together
CONFIGS = [
    (dict(), False, False),
    (dict(), False, True),
    (dict(num_layers=2, bidirectional=True), False, True),
    (dict(bias=False, batch_first=True), False, True),
    (dict(num_layers=2, batch_first=True, bidirectional=True), False, False),
    (dict(num_layers=2, bidirectional=True, bias=False), True, True),
    (dict(batch_first=True), True, False),
    (dict(num_layers=2, dropout=0.5), False, True),  # in eval: no dropout
]
CONFIG_IDS = [
    f"{'-'.join(f'{k}={v}' for k, v in c.items()) or 'default'}"
    f"{'-unbatched' if u else ''}{'-hx' if h else ''}"
    for c, u, h in CONFIGS
]


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_against_torch(kind, config, dtype):
    cfg, unbatched, with_hx = config
    ours, theirs = _twins(*KINDS[kind], dtype, **cfg)
    ours.eval()
    theirs.eval()
    x, hx = _inputs(kind, cfg, dtype, unbatched, with_hx)
    _compare(ours, theirs, x, hx, dtype)


@needs_torch
@settings(max_examples=20, deadline=None)
@given(
    kind=st.sampled_from(list(KINDS)),
    num_layers=st.integers(1, 3),
    bias=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    unbatched=st.booleans(),
    with_hx=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_layer_hypothesis(
    kind, num_layers, bias, batch_first, bidirectional, unbatched, with_hx, seed
):
    cfg = dict(num_layers=num_layers, bias=bias, batch_first=batch_first)
    cfg["bidirectional"] = bidirectional
    torch.manual_seed(seed)
    ours, theirs = _twins(*KINDS[kind], "float64", **cfg)
    x, hx = _inputs(kind, cfg, "float64", unbatched, with_hx, seed)
    _compare(ours, theirs, x, hx, "float64", seed)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "bias, unbatched, with_hx",
    [(True, False, True), (False, False, False), (True, True, True), (True, True, False)],
)
@pytest.mark.parametrize("kind", list(CELLS))
def test_cell_against_torch(kind, bias, unbatched, with_hx, dtype):
    name, extra = CELLS[kind]
    theirs = getattr(torch.nn, name)(H_IN, H, bias=bias, **extra, dtype=getattr(torch, dtype))
    ours = getattr(nn, name)(H_IN, H, bias=bias, **extra, dtype=dtype)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(3)
    shape = (H_IN,) if unbatched else (N, H_IN)
    h_shape = (H,) if unbatched else (N, H)
    x = rng.standard_normal(shape).astype(dtype)
    hx = None
    if with_hx:
        hs = [rng.standard_normal(h_shape).astype(dtype) for _ in range(2)]
        hx = tuple(hs) if kind == "lstm" else hs[0]
    # a cell returns h' (or the pair (h', c')): compare it as a one-output "layer"
    _compare(_Pair(ours), _Pair(theirs), x, hx, dtype)


class _Pair:
    """Calls a cell and returns (h', state) in the layers' (output, states) form."""

    def __init__(self, cell):
        self.cell = cell

    def __call__(self, x, hx):
        out = self.cell(x, hx)
        return (out[0], (out[1],)) if isinstance(out, tuple) else (out, ())

    def named_parameters(self):
        return self.cell.named_parameters()


def test_cells_equal_the_layers_single_step():
    cell, layer = nn.LSTMCell(H_IN, H), nn.LSTM(H_IN, H)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = zg.randn(1, N, H_IN)
    out, (h, c) = layer(x)
    h1, c1 = cell(x[0])
    np.testing.assert_array_equal(h1.data, h[0].data)
    np.testing.assert_array_equal(c1.data, c[0].data)
    np.testing.assert_array_equal(out[0].data, h1.data)


REPRS = [
    ("RNN", dict()),
    ("RNN", dict(num_layers=2, nonlinearity="relu", bias=False, batch_first=True)),
    ("RNN", dict(num_layers=3, dropout=0.25, bidirectional=True)),
    ("LSTM", dict(num_layers=2, batch_first=True)),
    ("LSTM", dict(dropout=1, num_layers=2)),
    ("GRU", dict(bidirectional=True, bias=False)),
    ("RNNCell", dict(nonlinearity="relu", bias=False)),
    ("RNNCell", dict()),
    ("LSTMCell", dict(bias=False)),
    ("GRUCell", dict()),
]


@needs_torch
@pytest.mark.parametrize("name, cfg", REPRS)
def test_repr_is_pytorchs(name, cfg):
    assert repr(getattr(nn, name)(10, 20, **cfg)) == repr(getattr(torch.nn, name)(10, 20, **cfg))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "LSTMCell"])
def test_default_init_is_pytorchs(name):
    zg.manual_seed(0)
    layer = getattr(nn, name)(30, 100)
    bound = 1 / math.sqrt(100)  # every weight and bias: U(-1/sqrt(H), 1/sqrt(H))
    for pname, p in layer.named_parameters():
        w = p.data
        assert w.dtype == np.float32, pname
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound, pname
    w = layer.state_dict()[next(iter(layer.state_dict()))].data
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # the std of U(-b, b)


def test_float32_stays_float32():
    lstm = nn.LSTM(H_IN, H, num_layers=2, bidirectional=True)
    x = zg.randn(L, N, H_IN, requires_grad=True)
    out, (h, c) = lstm(x)
    assert out.dtype == h.dtype == c.dtype == np.float32
    (out.sum() + h.sum() + c.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in lstm.parameters())


def test_dropout_between_layers_only_while_training():
    zg.manual_seed(0)
    gru = nn.GRU(H_IN, H, num_layers=2, dropout=0.5)
    x = zg.randn(L, N, H_IN)
    a, ha = gru(x)
    b, _ = gru(x)
    assert not np.allclose(a.data, b.data)  # a fresh mask every call
    gru.eval()
    e1, _ = gru(x)
    e2, _ = gru(x)
    np.testing.assert_array_equal(e1.data, e2.data)
    assert not np.allclose(a.data, e1.data)
    # nothing after the last layer: the output is the last layer's states, and h_n its last step
    np.testing.assert_array_equal(a[-1].data, ha[-1].data)
    # p = 1 drops the whole input of layer 2, which then runs on zeros, but its output is kept
    gru1 = nn.GRU(H_IN, H, num_layers=2, dropout=1.0)
    gru1.load_state_dict(gru.state_dict())
    out, _ = gru1(x)
    w = [gru.weight_ih_l1, gru.weight_hh_l1, gru.bias_ih_l1, gru.bias_hh_l1]
    expected, _ = zg.functional.gru_layer(zg.zeros(L, N, H), None, *w)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-6)
    assert np.abs(out.data).min() > 0


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match=r"LSTM: dropout=0.5 .* num_layers=1 it does nothing"):
        nn.LSTM(3, 4, dropout=0.5)


@needs_torch
def test_pytorch_trained_lstm_reproduces_in_zerograd():
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 6, num_layers=2, batch_first=True)
    ours = nn.LSTM(3, 6, num_layers=2, batch_first=True)
    ours.load_state_dict(theirs.state_dict())  # a PyTorch state_dict loads unchanged
    x = np.random.default_rng(0).standard_normal((2, 7, 3)).astype("float32")
    out, (h, c) = ours(zg.tensor(x))
    tout, (th, tc) = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.data, tc.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_layer_input_errors_name_the_layer():
    lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True)
    prefix = r"LSTM\(10, 20, num_layers=2, batch_first=True\): "
    with pytest.raises(
        ValueError,
        match=prefix + r"input has shape \(3, 5, 7\) but its last dimension must be "
        r"input_size=10\. Put the features last: \(N, L, input_size\)",
    ):
        lstm(zg.zeros(3, 5, 7))
    with pytest.raises(
        ValueError, match=prefix + r"input must be 3-D .* got shape \(3, 5, 1, 10\)"
    ):
        lstm(zg.zeros(3, 5, 1, 10))
    with pytest.raises(ValueError, match=r"sequence of length 0"):
        lstm(zg.zeros(3, 0, 10))
    with pytest.raises(TypeError, match=r"input is float64 but the parameters are float32"):
        lstm(zg.zeros(3, 5, 10, dtype="float64"))


def test_hx_errors_name_shapes_and_the_layout():
    lstm = nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)
    x = zg.zeros(3, 5, 10)
    good = zg.zeros(4, 3, 20)
    with pytest.raises(
        ValueError,
        match=r"h_0 has shape \(4, 5, 20\) but must be \(D\*num_layers, N, hidden_size\) = "
        r"\(4, 3, 20\) for an input of shape \(3, 5, 10\); it is never batch-first",
    ):
        lstm(x, (zg.zeros(4, 5, 20), good))
    with pytest.raises(ValueError, match=r"c_0 has shape \(2, 3, 20\) .* = \(4, 3, 20\)"):
        lstm(x, (good, zg.zeros(2, 3, 20)))
    with pytest.raises(TypeError, match=r"hx must be a pair \(h_0, c_0\) of tensors, got Tensor"):
        lstm(x, good)
    rnn = nn.RNN(10, 20)
    with pytest.raises(
        ValueError,
        match=r"^RNN\(10, 20\): hx has shape \(1, 3, 20\) but must be \(D\*num_layers, "
        r"hidden_size\) = \(1, 20\) for an input of shape \(5, 10\)\.",
    ):
        rnn(zg.zeros(5, 10), zg.zeros(1, 3, 20))


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"RNN: nonlinearity must be 'tanh' or 'relu', got 'sig"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"GRU: dropout must be a probability in \[0, 1\]"):
        nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match=r"LSTM: hidden_size must be a positive int, got 0"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match=r"GRUCell: input_size must be a positive int"):
        nn.GRUCell(-1, 4)


def test_cell_errors_name_the_cell():
    cell = nn.LSTMCell(10, 20)
    with pytest.raises(
        ValueError,
        match=r"^LSTMCell\(10, 20\): input has shape \(5, 3, 10\) but must be \(N, 10\), or "
        r"\(10,\) for one unbatched sample\. A cell takes one time step",
    ):
        cell(zg.zeros(5, 3, 10))
    with pytest.raises(
        ValueError, match=r"c_0 has shape \(3, 20\) but must be \(20,\) for an input of shape"
    ):
        cell(zg.zeros(10), (zg.zeros(20), zg.zeros(3, 20)))
    with pytest.raises(ValueError, match=r"GRUCell\(10, 20\): hx has shape \(2, 20\) but must be"):
        nn.GRUCell(10, 20)(zg.zeros(3, 10), zg.zeros(2, 20))
