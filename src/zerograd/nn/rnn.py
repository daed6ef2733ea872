"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells ``RNNCell``,
``LSTMCell``, ``GRUCell``, with PyTorch's arguments, parameter names, layouts and init.

Each layer and direction runs as one op over the whole sequence (``F.rnn_layer``,
``F.lstm_layer``, ``F.gru_layer``: the input projection of all steps in one matmul, then the
recurrence with hand-written backpropagation through time; see ``zerograd.functional.recurrent``).
A cell is the same op on a sequence of one step.

Not supported (deliberate differences from PyTorch): ``PackedSequence`` inputs, LSTM's
``proj_size`` above 0, and the ``device`` argument.
"""

from __future__ import annotations

import math
import numbers
import warnings

from .. import functional as F
from ..autograd import Tensor
from ..creation import empty
from ..functional.args import check_input_dtype, layer_input
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _positive_int(who: str, name: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {n!r}.")


def _check_nonlinearity(who: str, nonlinearity) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}.")


def _reset_uniform(module: Module) -> None:
    # PyTorch's init for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H))
    bound = 1 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, checks, the loop over layers and
    directions. A subclass sets ``_gates`` (G, the gate blocks stacked in each weight) and
    ``_state_names``, and runs one layer in ``_layer``."""

    _gates = 1
    _state_names = ("hx",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
    ):
        super().__init__()
        who = type(self).__name__
        _positive_int(who, "input_size", input_size)
        _positive_int(who, "hidden_size", hidden_size)
        _positive_int(who, "num_layers", num_layers)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Real)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                f"{who}: dropout must be a probability in [0, 1] (of zeroing an element between "
                f"layers), got {dropout!r}."
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{who}: dropout={dropout} acts between stacked layers, never after the last, "
                "so with num_layers=1 it does nothing. Use num_layers > 1 or an nn.Dropout "
                "after the layer.",
                UserWarning,
                stacklevel=2,
            )
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        G, H = self._gates, hidden_size
        # PyTorch's names and order: layer by layer, forward direction then "_reverse"
        for k in range(num_layers):
            in_features = input_size if k == 0 else H * self._directions  # layer k reads this
            for suffix in self._suffixes:
                setattr(
                    self,
                    f"weight_ih_l{k}{suffix}",
                    Parameter(empty(G * H, in_features, dtype=dtype)),
                )
                setattr(self, f"weight_hh_l{k}{suffix}", Parameter(empty(G * H, H, dtype=dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{k}{suffix}", Parameter(empty(G * H, dtype=dtype)))
                    setattr(self, f"bias_hh_l{k}{suffix}", Parameter(empty(G * H, dtype=dtype)))
        self.reset_parameters()

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _suffixes(self) -> tuple:
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def _weights(self, k: int, suffix: str) -> tuple:
        """(weight_ih, weight_hh, bias_ih, bias_hh) of layer k, one direction."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(self._parameters.get(f"{n}_l{k}{suffix}") for n in names)

    def _layer(self, x, state, weights, reverse):
        """Run one layer, one direction: (L, N, H_in) -> (output (L, N, H), final states)."""
        raise NotImplementedError

    # --- checks -------------------------------------------------------------------------------
    def _check_input(self, x) -> bool:
        """Validate the input; return whether it is batched."""
        layout = "(N, L, input_size)" if self.batch_first else "(L, N, input_size)"
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{self!r}: input must be 3-D {layout}, or 2-D (L, input_size) for one unbatched "
                f"sequence, got shape {x.shape}."
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but its last dimension must be "
                f"input_size={self.input_size}. Put the features last: {layout}."
            )
        L = x.shape[1] if self.batch_first and x.ndim == 3 else x.shape[0]
        if L == 0:
            raise ValueError(
                f"{self!r}: input has shape {x.shape}, a sequence of length 0; it needs at least "
                "one time step."
            )
        check_input_dtype(self, x, self.weight_ih_l0.dtype)
        return x.ndim == 3

    def _check_hx(self, hx, x, batched) -> tuple | None:
        """hx as a tuple of (D*num_layers, N, H) tensors (LSTM: h_0, c_0), or None."""
        if hx is None:
            return None
        names = self._state_names
        if len(names) == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"{self!r}: hx must be a pair (h_0, c_0) of tensors, got {type(hx).__name__}."
                )
            states = tuple(hx)
        else:
            states = (hx,)
        DL, H = self._directions * self.num_layers, self.hidden_size
        if batched:
            N = x.shape[0] if self.batch_first else x.shape[1]
            expected, layout = (DL, N, H), "(D*num_layers, N, hidden_size)"
            note = (
                "; it is never batch-first, even with batch_first=True" if self.batch_first else ""
            )
        else:
            expected, layout, note = (DL, H), "(D*num_layers, hidden_size)", ""
        for name, s in zip(names, states):
            if not isinstance(s, Tensor):
                raise TypeError(f"{self!r}: {name} must be a Tensor, got {type(s).__name__}.")
            if s.shape != expected:
                raise ValueError(
                    f"{self!r}: {name} has shape {s.shape} but must be {layout} = {expected} for "
                    f"an input of shape {x.shape}{note}. D is 2 if bidirectional else 1."
                )
            if s.dtype != x.dtype:
                raise TypeError(f"{self!r}: {name} is {s.dtype} but the input is {x.dtype}.")
        return states

    # --- forward ------------------------------------------------------------------------------
    def forward(self, input: Tensor, hx=None):
        x = layer_input(self, input)
        batched = self._check_input(x)
        states = self._check_hx(hx, x, batched)
        if not batched:
            x = x.unsqueeze(1)  # (L, H_in) -> (L, 1, H_in)
            states = None if states is None else tuple(s.unsqueeze(1) for s in states)
        elif self.batch_first:
            x = x.transpose(0, 1)  # (N, L, H_in) -> (L, N, H_in)
        finals = []  # the final states of every (layer, direction), in PyTorch's order
        for k in range(self.num_layers):
            if k > 0 and self.training and self.dropout > 0:
                x = F.dropout(x, self.dropout, True)  # between layers, never after the last
            outputs = []
            for d, suffix in enumerate(self._suffixes):
                j = k * self._directions + d
                state = None if states is None else tuple(s[j] for s in states)
                out, final = self._layer(x, state, self._weights(k, suffix), d == 1)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else F.cat(outputs, dim=2)  # (L, N, D*H)
        h_n = tuple(F.stack([f[i] for f in finals]) for i in range(len(self._state_names)))
        if not batched:
            x = x.squeeze(1)
            h_n = tuple(h.squeeze(1) for h in h_n)
        elif self.batch_first:
            x = x.transpose(0, 1)  # h_n stays (D*num_layers, N, H), as in PyTorch
        return x, (h_n if len(h_n) == 2 else h_n[0])

    def extra_repr(self) -> str:
        # the same fields, in the same order and with the same omissions, as PyTorch's repr
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN (``torch.nn.RNN``): h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh
    or relu, stacked ``num_layers`` deep, optionally bidirectional.

    Parameters ``weight_ih_l{k}`` (H, H_in) (H_in = input_size for k = 0, D*H above),
    ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H,), and the same with a
    ``_reverse`` suffix for the backward direction; every one from U(-1/sqrt(H), 1/sqrt(H)).

    Shapes, D = 2 if bidirectional else 1: input (L, N, input_size), or (N, L, input_size) with
    ``batch_first``, or (L, input_size) unbatched; hx (D*num_layers, N, H) or (D*num_layers, H)
    for unbatched input, zeros if None. Returns ``(output, h_n)``: output (L, N, D*H) (batch first
    with ``batch_first``), h_n (D*num_layers, N, H), never batch-first. ``dropout`` zeroes the
    outputs of every layer but the last while training.

    Examples
    --------
    >>> import zerograd
    >>> rnn = RNN(10, 20, num_layers=2, nonlinearity="relu")
    >>> output, h_n = rnn(zerograd.randn(5, 3, 10))
    >>> output.shape, h_n.shape
    ((5, 3, 20), (2, 3, 20))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
    ):
        _check_nonlinearity("RNN", nonlinearity)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype
        )
        self.nonlinearity = nonlinearity

    def _layer(self, x, state, weights, reverse):
        h0 = None if state is None else state[0]
        out, h_n = F.rnn_layer(x, h0, *weights, nonlinearity=self.nonlinearity, reverse=reverse)
        return out, (h_n,)


class LSTM(RNNBase):
    """Long short-term memory (``torch.nn.LSTM``), stacked and optionally bidirectional::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    Parameters as ``RNN``'s with 4H rows, the gates stacked i, f, g, o:
    ``weight_ih_l{k}`` (4H, H_in), ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}``
    (4H,), ``_reverse`` for the backward direction; every one from U(-1/sqrt(H), 1/sqrt(H)).

    ``forward(input, hx=None)`` takes hx = (h_0, c_0), each (D*num_layers, N, H) (or
    (D*num_layers, H) for an unbatched (L, input_size) input), zeros if None, and returns
    ``(output, (h_n, c_n))`` with output (L, N, D*H) (batch first with ``batch_first``) and h_n,
    c_n (D*num_layers, N, H), never batch-first. ``proj_size`` takes only PyTorch's default, 0
    (no projection).

    Examples
    --------
    >>> import zerograd
    >>> lstm = LSTM(10, 20, num_layers=2, batch_first=True)
    >>> lstm
    LSTM(10, 20, num_layers=2, batch_first=True)
    >>> output, (h_n, c_n) = lstm(zerograd.randn(3, 5, 10))
    >>> output.shape, h_n.shape, c_n.shape
    ((3, 5, 20), (2, 3, 20), (2, 3, 20))
    """

    _gates = 4
    _state_names = ("h_0", "c_0")

    def __init__(self, *args, proj_size: int = 0, **kwargs):
        if isinstance(proj_size, bool) or not isinstance(proj_size, numbers.Integral):
            raise TypeError(f"LSTM: proj_size must be an int, got {proj_size!r}.")
        if proj_size < 0:
            raise ValueError(f"LSTM: proj_size must be >= 0, got {proj_size}.")
        if proj_size > 0:
            raise NotImplementedError(
                f"LSTM: proj_size={proj_size} (an LSTM with projections, h_t = W_hr (o * tanh(c_t)))"
                " is not implemented; leave proj_size at 0, or add an nn.Linear after the LSTM."
            )
        super().__init__(*args, **kwargs)
        self.proj_size = 0

    def _layer(self, x, state, weights, reverse):
        out, (h_n, c_n) = F.lstm_layer(x, state, *weights, reverse=reverse)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (``torch.nn.GRU``), stacked and optionally bidirectional::

        r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
        z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Parameters as ``RNN``'s with 3H rows, the gates stacked r, z, n; shapes and ``forward`` as
    ``RNN``'s: returns ``(output, h_n)``.

    Examples
    --------
    >>> import zerograd
    >>> output, h_n = GRU(10, 20, bidirectional=True)(zerograd.randn(5, 10))
    >>> output.shape, h_n.shape
    ((5, 40), (2, 20))
    """

    _gates = 3

    def _layer(self, x, state, weights, reverse):
        h0 = None if state is None else state[0]
        out, h_n = F.gru_layer(x, h0, *weights, reverse=reverse)
        return out, (h_n,)


# ---------------------------------------------------------------------------------------------
# cells: one time step


class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (G*H, input_size), ``weight_hh`` (G*H, H),
    ``bias_ih`` and ``bias_hh`` (G*H,) (None without bias), PyTorch's init, and the checks."""

    _gates = 1
    _state_names = ("hx",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        who = type(self).__name__
        _positive_int(who, "input_size", input_size)
        _positive_int(who, "hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        GH = self._gates * hidden_size
        self.weight_ih = Parameter(empty(GH, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(GH, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(GH, dtype=dtype))
            self.bias_hh = Parameter(empty(GH, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def _prepare(self, x, hx):
        """Check the input and states; return x as one time step (1, N, H_in), the states as
        (N, H) tensors (or None) and whether the input was batched."""
        H_in, H = self.input_size, self.hidden_size
        x = layer_input(self, x)
        if x.ndim not in (1, 2) or x.shape[-1] != H_in:
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but must be (N, {H_in}), or ({H_in},) for "
                "one unbatched sample. A cell takes one time step; for whole sequences use the "
                "layer (nn.RNN, nn.LSTM, nn.GRU)."
            )
        check_input_dtype(self, x, self.weight_ih.dtype)
        batched = x.ndim == 2
        states = None
        if hx is not None:
            if len(self._state_names) == 2:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(
                        f"{self!r}: hx must be a pair (h_0, c_0) of tensors, got "
                        f"{type(hx).__name__}."
                    )
                states = tuple(hx)
            else:
                states = (hx,)
            expected = (x.shape[0], H) if batched else (H,)
            for name, s in zip(self._state_names, states):
                if not isinstance(s, Tensor):
                    raise TypeError(f"{self!r}: {name} must be a Tensor, got {type(s).__name__}.")
                if s.shape != expected:
                    raise ValueError(
                        f"{self!r}: {name} has shape {s.shape} but must be {expected} for an "
                        f"input of shape {x.shape}."
                    )
                if s.dtype != x.dtype:
                    raise TypeError(f"{self!r}: {name} is {s.dtype} but the input is {x.dtype}.")
            if not batched:
                states = tuple(s.unsqueeze(0) for s in states)  # (H,) -> (1, H)
        if not batched:
            x = x.unsqueeze(0)  # (H_in,) -> (1, H_in)
        return x.unsqueeze(0), states, batched  # one time step: (N, H_in) -> (1, N, H_in)

    def _params(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step (``torch.nn.RNNCell``): h' = f(x W_ih^T + b_ih + h W_hh^T + b_hh).

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, H) or (H,), zeros
    if None -> h' of hx's shape. Parameters ``weight_ih`` (H, input_size), ``weight_hh`` (H, H),
    ``bias_ih``, ``bias_hh`` (H,), all from U(-1/sqrt(H), 1/sqrt(H)).

    Examples
    --------
    >>> import zerograd
    >>> RNNCell(10, 20, nonlinearity="relu")(zerograd.randn(3, 10)).shape
    (3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype=None,
    ):
        _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, states, batched = self._prepare(input, hx)
        h0 = None if states is None else states[0]
        _, h = F.rnn_layer(x, h0, *self._params(), nonlinearity=self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (``torch.nn.LSTMCell``), gates i, f, g, o stacked in 4H rows::

        c' = f * c + i * g,   h' = o * tanh(c')

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx = (h, c), each (N, H)
    or (H,), zeros if None -> (h', c').

    Examples
    --------
    >>> import zerograd
    >>> h, c = LSTMCell(10, 20)(zerograd.randn(3, 10))
    >>> h.shape, c.shape
    ((3, 20), (3, 20))
    """

    _gates = 4
    _state_names = ("h_0", "c_0")

    def forward(self, input: Tensor, hx=None) -> tuple:
        x, states, batched = self._prepare(input, hx)
        _, (h, c) = F.lstm_layer(x, states, *self._params())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (``torch.nn.GRUCell``), gates r, z, n stacked in 3H rows::

        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h

    ``forward(input, hx=None)``: input (N, input_size) or (input_size,), hx (N, H) or (H,), zeros
    if None -> h'.

    Examples
    --------
    >>> import zerograd
    >>> GRUCell(10, 20)(zerograd.randn(10)).shape
    (20,)
    """

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, states, batched = self._prepare(input, hx)
        h0 = None if states is None else states[0]
        _, h = F.gru_layer(x, h0, *self._params())
        return h if batched else h.squeeze(0)
