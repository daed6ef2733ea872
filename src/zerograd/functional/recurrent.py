"""Recurrent layers as ops: ``rnn_layer``, ``lstm_layer``, ``gru_layer``.

Each call runs one layer in one direction over a whole sequence, in two parts:

- the input projection of every time step at once, xw = x W_ih^T + b_ih, one matmul of the
  (L*N, H_in) input by W_ih^T through ``linear`` (an ordinary autograd op, so its gradients come
  from autograd);
- the recurrence, one ``Function`` (``RNNLayer``, ``LSTMLayer``, ``GRULayer``) whose forward loops
  over time on raw arrays, one (N, H) @ (H, G*H) matmul per step for all G gates together, and
  whose backward is hand-written backpropagation through time: it walks the steps backwards,
  stacks the per-step gate gradients (L, N, G*H), and after the loop gets gW_hh with one matmul.

Time runs t = 1..L with h_0 the initial state; ``hs[t - 1]`` holds h_t. The backward direction of
a bidirectional layer (``reverse=True``) is the same op on the time-reversed input, its outputs
flipped back. PyTorch has no functional form of a whole layer; ``nn.RNN``, ``nn.LSTM``, ``nn.GRU``
and the cells (``L = 1``) call these, with PyTorch's weight layouts: W_ih (G*H, H_in),
W_hh (G*H, H), gates stacked as LSTM (i, f, g, o), GRU (r, z, n).
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module
from .args import as_tensor
from .layers import linear

__all__ = ["rnn_layer", "lstm_layer", "gru_layer"]


def _sigmoid(a, out):
    """out = 1 / (1 + exp(-a)), written as 0.5 * tanh(a / 2) + 0.5: the same function, but tanh
    never overflows (exp(-a) does for a < -88 in float32). ``out`` may be ``a``."""
    xp = array_module(a)
    xp.multiply(a, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _previous(hs, h0, t):
    """h_{t-1} for the step that wrote hs[t] (h0 before the first step)."""
    return hs[t - 1] if t else h0


def _grad_W_hh(ga, hs, h0):
    """gW_hh = sum_t ga_t^T h_{t-1}: (G*H, L*N) @ (L*N, H) for t >= 2, plus the first step's h0."""
    L, N, GH = ga.shape
    H = hs.shape[2]
    gW = ga[0].T @ h0
    if L > 1:
        gW += ga[1:].reshape(-1, GH).T @ hs[:-1].reshape(-1, H)  # (L-1, N, .) -> ((L-1)*N, .)
    return gW


class RNNLayer(Function):
    """The Elman recurrence over a sequence (one layer, one direction), tanh or relu.

    With xw_t = x_t W_ih^T + b_ih computed for all steps beforehand::

        a_t = xw_t + h_{t-1} W_hh^T + b_hh,   h_t = f(a_t),   f = tanh or relu

    Backpropagation through time; gh_t is all the gradient reaching h_t, from the output and from
    the step after it (nothing after the last)::

        gh_t = gy_t + ga_{t+1} W_hh,   ga_t = gh_t * f'(a_t),   f' = 1 - h_t^2 or [h_t > 0]
        gxw_t = ga_t,   gh_0 = ga_1 W_hh,   gW_hh = sum_t ga_t^T h_{t-1},   gb_hh = sum_{t,n} ga_t

    xw: (L, N, H), h0: (N, H), W_hh: (H, H), b_hh: (H,) or None -> hs: (L, N, H)
    """

    def __init__(self, nonlinearity: str):
        self.nonlinearity = nonlinearity

    def forward(self, xw, h0, W_hh, b_hh):
        xp = array_module(xw)
        # a fresh (L, N, H) array: pre-activations, turned into h_t in place step by step
        hs = xw + b_hh if b_hh is not None else xw.copy()
        W_hhT = W_hh.T
        h = h0
        for t in range(len(hs)):
            a = hs[t]
            a += h @ W_hhT
            if self.nonlinearity == "tanh":
                xp.tanh(a, out=a)
            else:
                xp.maximum(a, 0, out=a)
            h = a
        self.save_for_backward(h0, W_hh, hs)
        return hs

    def backward(self, gy):
        h0, W_hh, hs = self.saved
        xp = array_module(gy)
        ga = xp.empty_like(hs)  # the gradients of every step's pre-activation, (L, N, H)
        gh = None
        for t in reversed(range(len(hs))):
            g = gy[t] if gh is None else gy[t] + gh
            h = hs[t]
            if self.nonlinearity == "tanh":
                xp.multiply(g, 1 - h * h, out=ga[t])
            else:
                xp.multiply(g, h > 0, out=ga[t])
            gh = ga[t] @ W_hh
        _, need_h0, need_W, need_b = self.needs_input_grad
        gW = _grad_W_hh(ga, hs, h0) if need_W else None
        gb = ga.sum(axis=(0, 1)) if need_b else None
        return ga, gh if need_h0 else None, gW, gb


class LSTMLayer(Function):
    """The LSTM recurrence over a sequence (one layer, one direction), PyTorch's gate order.

    With xw_t = x_t W_ih^T + b_ih computed for all steps beforehand, all four gates of a step come
    from one (N, H) @ (H, 4H) matmul::

        [a_i, a_f, a_g, a_o] = xw_t + h_{t-1} W_hh^T + b_hh
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o),   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    Backpropagation through time, walking t = L..1 with gh and gc carried from step t+1 (at t = L:
    gh = 0 and gc = the gradient of c_L)::

        gh_t = gy_t + ga_{t+1} W_hh,   gc_t = gc_t + gh_t * o * (1 - tanh(c_t)^2)
        ga_i = gc_t * g * i (1 - i),   ga_f = gc_t * c_{t-1} * f (1 - f)
        ga_g = gc_t * i * (1 - g^2),   ga_o = gh_t * tanh(c_t) * o (1 - o)
        gc_{t-1} = gc_t * f,   ga_t = [ga_i, ga_f, ga_g, ga_o]   (N, 4H)
        gxw_t = ga_t,   gh_0 = ga_1 W_hh,   gW_hh = sum_t ga_t^T h_{t-1},   gb_hh = sum_{t,n} ga_t

    xw: (L, N, 4H), h0, c0: (N, H), W_hh: (4H, H), b_hh: (4H,) or None
    -> hs: (L, N, H), c_L: (N, H).
    Forward keeps the activated gates (L, N, 4H), the cell states and their tanh (L, N, H each).
    """

    def forward(self, xw, h0, c0, W_hh, b_hh):
        xp = array_module(xw)
        L, N, H4 = xw.shape
        H = H4 // 4
        # a fresh (L, N, 4H) array: pre-activations, activated in place step by step
        gates = xw + b_hh if b_hh is not None else xw.copy()
        hs = xp.empty((L, N, H), dtype=xw.dtype)
        cs = xp.empty_like(hs)
        tanh_cs = xp.empty_like(hs)
        W_hhT = W_hh.T
        h, c = h0, c0
        for t in range(L):
            a = gates[t]
            a += h @ W_hhT  # (N, H) @ (H, 4H): the four gates at once
            _sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i and f, side by side
            xp.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            _sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            xp.multiply(f, c, out=cs[t])
            cs[t] += i * g
            c = cs[t]
            xp.tanh(c, out=tanh_cs[t])
            xp.multiply(o, tanh_cs[t], out=hs[t])
            h = hs[t]
        self.save_for_backward(h0, c0, W_hh, hs, gates, cs, tanh_cs)
        return hs, cs[-1].copy()  # c_L its own array: the saved cs stays safe from edits to it

    def backward(self, ghs, gcL):
        h0, c0, W_hh, hs, gates, cs, tanh_cs = self.saved
        xp = array_module(ghs)
        H = hs.shape[2]
        ga = xp.empty_like(gates)  # the gradients of every step's four pre-activations
        gh, gc = None, gcL
        for t in reversed(range(len(hs))):
            a = gates[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            tc = tanh_cs[t]
            gh = ghs[t] if gh is None else ghs[t] + gh
            gc = gc + gh * o * (1 - tc * tc)
            gat = ga[t]
            gat[:, :H] = gc * g * i * (1 - i)
            gat[:, H : 2 * H] = gc * _previous(cs, c0, t) * f * (1 - f)
            gat[:, 2 * H : 3 * H] = gc * i * (1 - g * g)
            gat[:, 3 * H :] = gh * tc * o * (1 - o)
            gc = gc * f
            gh = gat @ W_hh  # (N, 4H) @ (4H, H)
        _, need_h0, need_c0, need_W, need_b = self.needs_input_grad
        gW = _grad_W_hh(ga, hs, h0) if need_W else None
        gb = ga.sum(axis=(0, 1)) if need_b else None
        return ga, gh if need_h0 else None, gc if need_c0 else None, gW, gb


class GRULayer(Function):
    """The GRU recurrence over a sequence (one layer, one direction), PyTorch's formula.

    With xw_t = x_t W_ih^T + b_ih = [xw_r, xw_z, xw_n] computed for all steps beforehand, and the
    three hidden projections of a step from one (N, H) @ (H, 3H) matmul::

        [hw_r, hw_z, hw_n] = h_{t-1} W_hh^T + b_hh
        r = sigmoid(xw_r + hw_r),   z = sigmoid(xw_z + hw_z),   n = tanh(xw_n + r * hw_n)
        h_t = (1 - z) * n + z * h_{t-1}

    (the reset gate scales W_hn h + b_hn, after the matmul, as PyTorch and cuDNN do).
    Backpropagation through time, gh_t carried from step t+1 as for ``RNNLayer``::

        ga_n = gh_t * (1 - z) * (1 - n^2),   ga_z = gh_t * (h_{t-1} - n) * z (1 - z)
        ga_r = ga_n * hw_n * r (1 - r)
        gxw_t = [ga_r, ga_z, ga_n],   ghw_t = [ga_r, ga_z, ga_n * r]   (N, 3H)
        gh_{t-1} = ghw_t W_hh + gh_t * z,   gW_hh = sum_t ghw_t^T h_{t-1},   gb_hh = sum_{t,n} ghw_t

    xw: (L, N, 3H), h0: (N, H), W_hh: (3H, H), b_hh: (3H,) or None -> hs: (L, N, H).
    Forward keeps r, z, n (L, N, 3H) and hw_n (L, N, H).
    """

    def forward(self, xw, h0, W_hh, b_hh):
        xp = array_module(xw)
        L, N, H3 = xw.shape
        H = H3 // 3
        gates = xp.empty_like(xw, order="C")  # r, z, n of every step
        hw_ns = xp.empty((L, N, H), dtype=xw.dtype)
        hs = xp.empty_like(hw_ns)
        W_hhT = W_hh.T
        h = h0
        for t in range(L):
            hw = h @ W_hhT  # (N, H) @ (H, 3H): the three hidden projections at once
            if b_hh is not None:
                hw += b_hh
            a = gates[t]
            rz = a[:, : 2 * H]
            xp.add(xw[t, :, : 2 * H], hw[:, : 2 * H], out=rz)
            _sigmoid(rz, out=rz)
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            hw_ns[t] = hw[:, 2 * H :]
            xp.multiply(r, hw_ns[t], out=n)
            n += xw[t, :, 2 * H :]
            xp.tanh(n, out=n)
            # h_t = (1 - z) * n + z * h_{t-1}, as n + z * (h_{t-1} - n)
            xp.subtract(h, n, out=hs[t])
            hs[t] *= z
            hs[t] += n
            h = hs[t]
        self.save_for_backward(h0, W_hh, hs, gates, hw_ns)
        return hs

    def backward(self, ghs):
        h0, W_hh, hs, gates, hw_ns = self.saved
        xp = array_module(ghs)
        H = hs.shape[2]
        gxw = xp.empty_like(gates)  # gradients of xw (L, N, 3H)
        ghw = xp.empty_like(gates)  # gradients of the hidden projections hw (L, N, 3H)
        gh = None
        for t in reversed(range(len(hs))):
            a = gates[t]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            gh = ghs[t] if gh is None else ghs[t] + gh
            gan = gh * (1 - z) * (1 - n * n)
            gxw[t, :, 2 * H :] = gan
            gxw[t, :, H : 2 * H] = gh * (_previous(hs, h0, t) - n) * z * (1 - z)
            gxw[t, :, :H] = gan * hw_ns[t] * r * (1 - r)
            ghw[t, :, : 2 * H] = gxw[t, :, : 2 * H]
            xp.multiply(gan, r, out=ghw[t, :, 2 * H :])
            gh = ghw[t] @ W_hh + gh * z  # through the matmul and through z * h_{t-1}
        _, need_h0, need_W, need_b = self.needs_input_grad
        gW = _grad_W_hh(ghw, hs, h0) if need_W else None
        gb = ghw.sum(axis=(0, 1)) if need_b else None
        return gxw, gh if need_h0 else None, gW, gb


# ---------------------------------------------------------------------------------------------
# wrappers


def _check(op: str, gates: int, x, states, weight_ih, weight_hh, bias_ih, bias_hh) -> int:
    """Validate one layer's arguments; return the hidden size H."""
    if x.ndim != 3:
        raise ValueError(
            f"{op}: input must be 3-D (L, N, H_in), got shape {x.shape}. Add a batch dimension "
            "with x.unsqueeze(1), or use nn.RNN/LSTM/GRU, which also take (N, L, H_in) and "
            "unbatched inputs."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{op}: the sequence is empty (input shape {x.shape}); L must be >= 1.")
    if weight_hh.ndim != 2 or weight_hh.shape[0] != gates * weight_hh.shape[1]:
        raise ValueError(
            f"{op}: weight_hh must be ({gates}*H, H) for hidden size H, got shape "
            f"{weight_hh.shape}."
        )
    H = weight_hh.shape[1]
    if weight_ih.ndim != 2 or weight_ih.shape[0] != gates * H:
        raise ValueError(
            f"{op}: weight_ih must be ({gates}*H, H_in) = ({gates * H}, H_in) to match weight_hh "
            f"{weight_hh.shape}, got shape {weight_ih.shape}."
        )
    if x.shape[2] != weight_ih.shape[1]:
        raise ValueError(
            f"{op}: input has shape {x.shape} but weight_ih has shape {weight_ih.shape}: the "
            f"input's last dimension must be {weight_ih.shape[1]} (input_size)."
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and tuple(b.shape) != (gates * H,):
            raise ValueError(f"{op}: {name} must have shape ({gates * H},), got {tuple(b.shape)}.")
    for name, s in states:
        if s.shape != (x.shape[1], H):
            raise ValueError(
                f"{op}: {name} has shape {s.shape} but must be (N, H) = ({x.shape[1]}, {H}) for "
                f"an input of shape {x.shape}."
            )
    tensors = [x, weight_ih, weight_hh] + [s for _, s in states]
    tensors += [as_tensor(b) for b in (bias_ih, bias_hh) if b is not None]
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(
            f"{op}: input ({x.dtype}), states, weights ({weight_ih.dtype}) and biases must share "
            "one dtype; convert them with .to(dtype)."
        )
    return H


def _state(s, x, H) -> Tensor:
    """The given initial state as a Tensor, or zeros (N, H) like PyTorch's default."""
    if s is None:
        return Tensor.wrap(array_module(x.data).zeros((x.shape[1], H), dtype=x.dtype))
    return as_tensor(s)


def _project(x, weight_ih, bias_ih, reverse: bool) -> Tensor:
    """xw = x W_ih^T + b_ih for every step in one matmul: (L, N, H_in) -> (L, N, G*H)."""
    L, N, H_in = x.shape
    if reverse:
        x = x[::-1]  # the backward direction reads the sequence from its end
    # sizes spelled out, not -1: an empty batch (N = 0) makes -1 ambiguous
    xw = linear(x.reshape(L * N, H_in), weight_ih, bias_ih)  # (L*N, H_in) @ (H_in, G*H)
    return xw.reshape(L, N, xw.shape[-1])


def rnn_layer(
    input,
    hx,
    weight_ih,
    weight_hh,
    bias_ih=None,
    bias_hh=None,
    nonlinearity: str = "tanh",
    reverse: bool = False,
) -> tuple:
    """One Elman RNN layer over a sequence: h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    What ``nn.RNN`` runs per layer and direction (PyTorch has no functional form of it); the
    formulas and gradients are in ``RNNLayer``.

    Parameters
    ----------
    input : Tensor
        (L, N, H_in), time first.
    hx : Tensor or None
        h_0, (N, H); None means zeros.
    weight_ih, weight_hh : Tensor
        (H, H_in) and (H, H).
    bias_ih, bias_hh : Tensor or None
        (H,) each.
    nonlinearity : 'tanh' or 'relu'
    reverse : bool
        Run from the last step to the first (the backward direction of a bidirectional layer);
        the output stays in the input's time order.

    Returns
    -------
    (output, h_n)
        output (L, N, H) holds every step's h_t; h_n (N, H) is the state after the last step
        processed (``output[0]`` when ``reverse``).

    Raises
    ------
    ValueError
        For shapes that do not fit together (each named with both shapes) or an unknown
        nonlinearity. TypeError for mixed dtypes.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.randn(5, 2, 3)
    >>> out, h_n = rnn_layer(x, None, zerograd.randn(4, 3), zerograd.randn(4, 4))
    >>> out.shape, h_n.shape
    ((5, 2, 4), (2, 4))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}.")
    x, W_ih, W_hh = as_tensor(input), as_tensor(weight_ih), as_tensor(weight_hh)
    states = [] if hx is None else [("hx", as_tensor(hx))]
    H = _check("rnn_layer", 1, x, states, W_ih, W_hh, bias_ih, bias_hh)
    xw = _project(x, W_ih, bias_ih, reverse)
    hs = RNNLayer(nonlinearity)(xw, _state(hx, x, H), W_hh, bias_hh)
    return (hs[::-1] if reverse else hs), hs[-1]


def lstm_layer(
    input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse: bool = False
) -> tuple:
    """One LSTM layer over a sequence (gates i, f, g, o stacked in the weights, as PyTorch).

    What ``nn.LSTM`` runs per layer and direction (PyTorch has no functional form of it); the
    formulas and gradients are in ``LSTMLayer``.

    Parameters
    ----------
    input : Tensor
        (L, N, H_in), time first.
    hx : (Tensor, Tensor) or None
        (h_0, c_0), each (N, H); None means zeros.
    weight_ih, weight_hh : Tensor
        (4H, H_in) and (4H, H).
    bias_ih, bias_hh : Tensor or None
        (4H,) each.
    reverse : bool
        Run from the last step to the first; the output stays in the input's time order.

    Returns
    -------
    (output, (h_n, c_n))
        output (L, N, H) holds every step's h_t; h_n and c_n (N, H) are the states after the
        last step processed.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.randn(5, 2, 3)
    >>> out, (h_n, c_n) = lstm_layer(x, None, zerograd.randn(16, 3), zerograd.randn(16, 4))
    >>> out.shape, h_n.shape, c_n.shape
    ((5, 2, 4), (2, 4), (2, 4))
    """
    x, W_ih, W_hh = as_tensor(input), as_tensor(weight_ih), as_tensor(weight_hh)
    if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
        raise TypeError(
            f"lstm_layer: hx must be a pair (h_0, c_0) of (N, H) tensors, got {type(hx).__name__}."
        )
    states = [] if hx is None else [("h_0", as_tensor(hx[0])), ("c_0", as_tensor(hx[1]))]
    H = _check("lstm_layer", 4, x, states, W_ih, W_hh, bias_ih, bias_hh)
    h0, c0 = (None, None) if hx is None else hx
    xw = _project(x, W_ih, bias_ih, reverse)
    hs, c_n = LSTMLayer()(xw, _state(h0, x, H), _state(c0, x, H), W_hh, bias_hh)
    return (hs[::-1] if reverse else hs), (hs[-1], c_n)


def gru_layer(
    input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse: bool = False
) -> tuple:
    """One GRU layer over a sequence (gates r, z, n stacked in the weights, as PyTorch).

    What ``nn.GRU`` runs per layer and direction (PyTorch has no functional form of it); the
    formulas and gradients are in ``GRULayer``.

    Parameters
    ----------
    input : Tensor
        (L, N, H_in), time first.
    hx : Tensor or None
        h_0, (N, H); None means zeros.
    weight_ih, weight_hh : Tensor
        (3H, H_in) and (3H, H).
    bias_ih, bias_hh : Tensor or None
        (3H,) each.
    reverse : bool
        Run from the last step to the first; the output stays in the input's time order.

    Returns
    -------
    (output, h_n)
        output (L, N, H) holds every step's h_t; h_n (N, H) is the state after the last step
        processed.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.randn(5, 2, 3)
    >>> out, h_n = gru_layer(x, None, zerograd.randn(12, 3), zerograd.randn(12, 4))
    >>> out.shape, h_n.shape
    ((5, 2, 4), (2, 4))
    """
    x, W_ih, W_hh = as_tensor(input), as_tensor(weight_ih), as_tensor(weight_hh)
    states = [] if hx is None else [("hx", as_tensor(hx))]
    H = _check("gru_layer", 3, x, states, W_ih, W_hh, bias_ih, bias_hh)
    xw = _project(x, W_ih, bias_ih, reverse)
    hs = GRULayer()(xw, _state(hx, x, H), W_hh, bias_hh)
    return (hs[::-1] if reverse else hs), hs[-1]
