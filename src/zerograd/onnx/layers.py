"""The converters of zerograd.nn's layers: each appends the ONNX nodes of one layer.

docs/onnx.md lists every layer with the ONNX operators it becomes. The zoo's models whose forward
is their own register theirs in ``zerograd/models/onnx_converters.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..functional.args import int_pair, normalize_dim
from ..functional.conv import resolve_padding
from ..nn.pooling import AvgPool1d, MaxPool1d
from .graph import _elem_type, register_converter

__all__: list = []  # nothing to import: importing this module registers the converters

# ---------------------------------------------------------------------------------------------
# converters: containers, linear, convolution, pooling, normalisation, shapes


@register_converter(nn.Sequential)
def _sequential(g, m, x, example):
    # _modules, not children(): a module listed twice runs twice, as in Sequential.forward
    for name, child in m._modules.items():
        x, example = g.convert(child, x, example, name=name)
    return x


@register_converter(nn.Identity)
@register_converter(nn.Dropout)
@register_converter(nn.Dropout2d)
def _identity(g, m, x, example):
    return x  # dropout does nothing in eval mode, which export uses


@register_converter(nn.Linear)
def _linear(g, m, x, example):
    W = g.initializer("weight", m.weight)
    b = g.initializer("bias", m.bias) if m.bias is not None else ""
    if example.ndim == 2:  # y = x W^T + b in one node
        return g.op("Gemm", x, W, b, transB=1)
    # (*, in) @ (in, out): MatMul broadcasts over the leading dims; W^T is folded at load time
    y = g.op("MatMul", x, g.op("Transpose", W, perm=[1, 0]))
    return g.op("Add", y, b) if b else y


@register_converter(nn.Conv2d)
def _conv2d(g, m, x, example):
    if m.padding_mode != "zeros":
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} pads in {m.padding_mode!r} mode, which the "
            "exporter does not write; train with padding_mode='zeros' to export."
        )
    # zerograd's own rule for padding, so 'same' pads the odd extra row and column last too
    top, bottom, left, right = resolve_padding(
        "Conv2d", m.padding, m.stride, m.dilation, m.kernel_size
    )
    inputs = [x, g.initializer("weight", m.weight)]
    if m.bias is not None:
        inputs.append(g.initializer("bias", m.bias))
    return g.op(
        "Conv",
        *inputs,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        dilations=list(m.dilation),
        pads=[top, left, bottom, right],  # ONNX: the starts of H and W, then their ends
        group=m.groups,
    )


def _pool_sizes(who: str, name: str, value, minimum: int, dims: int) -> list:
    """An int, or ``dims`` ints (one int in a tuple stands for all, as PyTorch takes ``(2,)``)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if dims == 2:
        return list(int_pair(who, name, value, minimum))
    return [int(int_pair(who, name, (value, value), minimum)[0])]


def _pool_attributes(g, who: str, m, example, dims: int = 2) -> dict:
    if example.ndim != dims + 2:
        layout = "(N, C, H, W)" if dims == 2 else "(N, C, L)"
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} got an unbatched input of shape "
            f"{example.shape}; ONNX pools {layout}: export with a batch, x.unsqueeze(0)."
        )
    kernel = _pool_sizes(who, "kernel_size", m.kernel_size, 1, dims)
    stride = kernel if m.stride is None else _pool_sizes(who, "stride", m.stride, 1, dims)
    pads = _pool_sizes(who, "padding", m.padding, 0, dims)
    # ceil_mode as PyTorch (a last window must start inside the input or its left padding):
    # onnxruntime's MaxPool and AveragePool follow the same rule (checked in the tests)
    return {
        "kernel_shape": kernel,
        "strides": stride,
        "pads": pads + pads,  # ONNX: the starts of every spatial dim, then their ends
        "ceil_mode": int(bool(m.ceil_mode)),
    }


@register_converter(MaxPool1d)
@register_converter(nn.MaxPool2d)
def _max_pool(g, m, x, example):
    # ONNX's MaxPool never picks a padded position, as zerograd's -inf padding never does
    dims = 1 if isinstance(m, MaxPool1d) else 2
    who = type(m).__name__
    attributes = _pool_attributes(g, who, m, example, dims)
    attributes["dilations"] = _pool_sizes(who, "dilation", m.dilation, 1, dims)
    if not m.return_indices:
        return g.op("MaxPool", x, **attributes)
    y, indices = g.op("MaxPool", x, outputs=2, **attributes)
    # ONNX's indices count over the whole (N, C, *) tensor, PyTorch's within one plane (H x W,
    # or L): the remainder modulo its size (the example's, which the file keeps)
    return y, g.op("Mod", indices, g.constant(math.prod(example.shape[2:])))


@register_converter(AvgPool1d)
def _avg_pool1d(g, m, x, example):
    attributes = _pool_attributes(g, "AvgPool1d", m, example, dims=1)
    return g.op("AveragePool", x, count_include_pad=int(bool(m.count_include_pad)), **attributes)


@register_converter(nn.AvgPool2d)
def _avg_pool2d(g, m, x, example):
    # count_include_pad=0 divides by the real pixels of each window, as zerograd does
    attributes = _pool_attributes(g, "AvgPool2d", m, example, dims=2)
    if m.divisor_override is None:
        return g.op(
            "AveragePool", x, count_include_pad=int(bool(m.count_include_pad)), **attributes
        )
    # ONNX has no divisor_override: the mean with the padding counted, times the window's size
    # (clipped to the padded input in ceil mode, as PyTorch's and onnxruntime's divisor), is the
    # window's sum, which is then divided by divisor_override
    y = g.op("AveragePool", x, count_include_pad=1, **attributes)
    (H, W), (OH, OW) = example.shape[2:], m(example).shape[2:]
    kernel, stride, pads = attributes["kernel_shape"], attributes["strides"], attributes["pads"]
    sizes = []
    for n, o, k, s, p in zip((H, W), (OH, OW), kernel, stride, pads[:2]):
        start = np.arange(o) * s - p  # each window's first row (column), unpadded coordinates
        sizes.append(np.minimum(start + k, n + p) - start)
    scale = np.outer(*sizes) / m.divisor_override  # (OH, OW), broadcast over (N, C)
    return g.op("Mul", y, g.constant(scale, example.dtype))


@register_converter(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(g, m, x, example):
    H, W = example.shape[2:]
    sizes = m.output_size
    if isinstance(sizes, (tuple, list)):
        sizes = tuple(n if s is None else s for s, n in zip(sizes, (H, W)))  # None keeps a size
    OH, OW = int_pair("AdaptiveAvgPool2d", "output_size", sizes, 1)
    if (OH, OW) == (1, 1):  # global average pooling, for any H and W
        return g.op("GlobalAveragePool", x)
    if H % OH or W % OW:
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} on an input of (H, W) = ({H}, {W}) needs "
            "uneven windows, which have no ONNX operator; use output sizes that divide H and W."
        )
    # even windows: a plain average pooling, its kernel fixed by the example's H and W
    kernel = [H // OH, W // OW]
    return g.op("AveragePool", x, kernel_shape=kernel, strides=kernel)


@register_converter(nn.BatchNorm1d)
@register_converter(nn.BatchNorm2d)
def _batch_norm(g, m, x, example):
    if m.running_mean is None:
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r} keeps no running statistics, so in eval mode "
            "it normalises with each batch's own mean and variance, which ONNX's "
            "BatchNormalization does not do. Train it with track_running_stats=True."
        )
    C, dtype = m.num_features, m.running_mean.dtype
    weight = m.weight if m.weight is not None else np.ones(C, dtype)  # affine=False: 1 and 0
    bias = m.bias if m.bias is not None else np.zeros(C, dtype)
    return g.op(
        "BatchNormalization",  # (N, C), (N, C, L) and (N, C, H, W) alike, per channel C
        x,
        g.initializer("weight", weight),
        g.initializer("bias", bias),
        g.initializer("running_mean", m.running_mean),
        g.initializer("running_var", m.running_var),
        epsilon=float(m.eps),
    )


@register_converter(nn.Flatten)
def _flatten(g, m, x, example):
    if example.ndim == 0:
        return g.op("Reshape", x, g.constant([1]))
    start = normalize_dim("Flatten", m.start_dim, example.ndim)
    end = normalize_dim("Flatten", m.end_dim, example.ndim)
    if start == end:
        return x
    # Reshape's 0 copies a leading dim (the batch stays symbolic), -1 is the merged size; the
    # dims after end_dim keep the example's sizes
    shape = [0] * start + [-1] + list(example.shape[end + 1 :])
    return g.op("Reshape", x, g.constant(shape))


@register_converter(nn.Embedding)
def _embedding(g, m, x, example):
    return g.op("Gather", g.initializer("weight", m.weight), x, axis=0)  # weight[ids]


# ---------------------------------------------------------------------------------------------
# converters: activations


@register_converter(nn.Step)
def _step(g, m, x, example):
    positive = g.op("Greater", x, g.constant(0, example.dtype))  # 1 where x > 0, else 0
    return g.op("Cast", positive, to=_elem_type(example.dtype))


@register_converter(nn.Sigmoid)
def _sigmoid(g, m, x, example):
    return g.op("Sigmoid", x)


@register_converter(nn.Tanh)
def _tanh(g, m, x, example):
    return g.op("Tanh", x)


@register_converter(nn.ReLU)
def _relu(g, m, x, example):
    return g.op("Relu", x)


@register_converter(nn.LeakyReLU)
def _leaky_relu(g, m, x, example):
    return g.op("LeakyRelu", x, alpha=float(m.negative_slope))


@register_converter(nn.ELU)
def _elu(g, m, x, example):
    return g.op("Elu", x, alpha=float(m.alpha))


@register_converter(nn.GELU)
def _gelu(g, m, x, example):
    if g.opset_version >= 20:  # Gelu is an ONNX operator from opset 20 on
        return g.op("Gelu", x, approximate=m.approximate)
    dtype = example.dtype
    if m.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.op("Mul", g.op("Mul", x, x), x)
        inner = g.op("Add", x, g.op("Mul", x3, g.constant(0.044715, dtype)))
        inner = g.op("Mul", inner, g.constant(math.sqrt(2 / math.pi), dtype))
        phi = g.op("Tanh", inner)
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        phi = g.op("Erf", g.op("Div", x, g.constant(math.sqrt(2.0), dtype)))
    y = g.op("Mul", x, g.op("Add", phi, g.constant(1.0, dtype)))
    return g.op("Mul", y, g.constant(0.5, dtype))


@register_converter(nn.Softplus)
def _softplus(g, m, x, example):
    # ONNX's Softplus is log(1 + exp(z)) without beta: y = Softplus(beta x) / beta, and x itself
    # where beta x > threshold (PyTorch's rule, which zerograd follows)
    dtype, beta = example.dtype, float(m.beta)
    z = x if beta == 1 else g.op("Mul", x, g.constant(beta, dtype))
    y = g.op("Softplus", z)
    if beta != 1:
        y = g.op("Div", y, g.constant(beta, dtype))
    above = g.op("Greater", z, g.constant(float(m.threshold), dtype))
    return g.op("Where", above, x, y)


@register_converter(nn.Softmax)
def _softmax(g, m, x, example):
    return g.op("Softmax", x, axis=normalize_dim("Softmax", m.dim, example.ndim))


@register_converter(nn.LogSoftmax)
def _log_softmax(g, m, x, example):
    return g.op("LogSoftmax", x, axis=normalize_dim("LogSoftmax", m.dim, example.ndim))


# ---------------------------------------------------------------------------------------------
# converters: recurrent layers


def _reorder_gates(a, order: list):
    """The row blocks of a stacked gate weight (or bias) put in ONNX's order."""
    blocks = np.split(np.asarray(a), len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _recurrent_weights(m, k: int, order: list) -> tuple:
    """ONNX's W (D, G*H, H_in), R (D, G*H, H) and B (D, 2*G*H) (None without bias) of layer k,
    from zerograd's (PyTorch's) weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}."""
    suffixes = ("", "_reverse") if m.bidirectional else ("",)
    W, R, B = [], [], []
    for suffix in suffixes:
        W.append(_reorder_gates(getattr(m, f"weight_ih_l{k}{suffix}").data, order))
        R.append(_reorder_gates(getattr(m, f"weight_hh_l{k}{suffix}").data, order))
        if m.bias:  # ONNX's B is the input biases then the recurrent ones, [Wb, Rb]
            b_ih = _reorder_gates(getattr(m, f"bias_ih_l{k}{suffix}").data, order)
            b_hh = _reorder_gates(getattr(m, f"bias_hh_l{k}{suffix}").data, order)
            B.append(np.concatenate([b_ih, b_hh]))
    return np.stack(W), np.stack(R), (np.stack(B) if B else None)


def _recurrent_op(m) -> tuple:
    """(ONNX operator, gate order, extra attributes) of an RNN, LSTM or GRU."""
    D = 2 if m.bidirectional else 1
    if isinstance(m, nn.LSTM):
        return "LSTM", [0, 3, 1, 2], {}  # PyTorch's gates i, f, g, o -> ONNX's i, o, f, c
    if isinstance(m, nn.GRU):
        # PyTorch's r, z, n -> ONNX's z, r, h; linear_before_reset=1 is PyTorch's form of the
        # new gate, r * (h W_hn^T + b_hn) (the default 0 would multiply h by r first)
        return "GRU", [1, 0, 2], {"linear_before_reset": 1}
    activation = "Relu" if m.nonlinearity == "relu" else "Tanh"
    return "RNN", [0], {"activations": [activation] * D}  # one per direction


def _recurrent_input_axes(m, inputs: list) -> list:
    """An RNN, LSTM or GRU reading the model's input: its batch and time dims are symbolic."""
    x, states = inputs[0], len(inputs) - 1
    if x.ndim == 2:  # one sequence (L, H_in), its state (D*num_layers, H)
        return [{0: "time"}] + [{}] * states
    x_axes = {0: "batch", 1: "time"} if m.batch_first else {0: "time", 1: "batch"}
    return [x_axes] + [{1: "batch"}] * states  # the state is (D*num_layers, N, H)


@register_converter(nn.RNN, input_axes=_recurrent_input_axes)
@register_converter(nn.LSTM, input_axes=_recurrent_input_axes)
@register_converter(nn.GRU, input_axes=_recurrent_input_axes)
def _recurrent(g, m, x, example, h0=None, c0=None):
    """One ONNX RNN/LSTM/GRU node per layer, both directions in it; between layers the output
    (L, D, N, H) becomes the next layer's input (L, N, D*H). Returns the names of
    (output, h_n), or (output, (h_n, c_n)) for an LSTM, laid out as zerograd returns them."""
    op, order, attributes = _recurrent_op(m)
    D, H, batched = (2 if m.bidirectional else 1), m.hidden_size, example.ndim == 3
    states = [s for s in (h0, c0) if s is not None]
    if not batched:  # one sequence (L, H_in) is a batch of one: (L, 1, H_in)
        x = g.op("Unsqueeze", x, g.constant([1]))
        states = [g.op("Unsqueeze", s, g.constant([1])) for s in states]  # (D*layers, 1, H)
    elif m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])  # (N, L, H_in) -> (L, N, H_in), ONNX's layout
    finals = []  # per layer: [Y_h] or [Y_h, Y_c], each (D, N, H)
    for k in range(m.num_layers):
        W, R, B = _recurrent_weights(m, k, order)
        inputs = [x, g.initializer(f"W_l{k}", W), g.initializer(f"R_l{k}", R)]
        inputs.append(g.initializer(f"B_l{k}", B) if B is not None else "")
        if states:  # no sequence_lens (""), then this layer's rows of each initial state
            inputs.append("")
            for s in states:
                if m.num_layers > 1:
                    rows = (g.constant([k * D]), g.constant([(k + 1) * D]), g.constant([0]))
                    s = g.op("Slice", s, *rows)
                inputs.append(s)
        Y, *final = g.op(
            op,
            *inputs,
            outputs=3 if op == "LSTM" else 2,
            hidden_size=H,
            direction="bidirectional" if D == 2 else "forward",
            **attributes,
        )
        finals.append(final)
        if D == 1:
            x = g.op("Squeeze", Y, g.constant([1]))  # (L, 1, N, H) -> (L, N, H)
        else:  # (L, 2, N, H) -> (L, N, 2, H) -> (L, N, 2H): forward then backward, as zerograd
            x = g.op("Transpose", Y, perm=[0, 2, 1, 3])
            x = g.op("Reshape", x, g.constant([0, 0, -1]))
    # h_n (and c_n): the layers' finals stacked, (D*num_layers, N, H)
    outs = [
        g.op("Concat", *[f[i] for f in finals], axis=0) if m.num_layers > 1 else finals[0][i]
        for i in range(len(finals[0]))
    ]
    if not batched:
        x = g.op("Squeeze", x, g.constant([1]))
        outs = [g.op("Squeeze", s, g.constant([1])) for s in outs]
    elif m.batch_first:
        x = g.op("Transpose", x, perm=[1, 0, 2])  # h_n stays (D*num_layers, N, H)
    return (x, (outs[0], outs[1])) if op == "LSTM" else (x, outs[0])
