"""The converters of the transformer's layers: ``LayerNorm``, ``MultiheadAttention``,
``TransformerEncoderLayer`` and ``TransformerEncoder`` (without masks: the file's only inputs
are the sequences). Attention becomes MatMul, Softmax and MatMul per head, the heads as a dim.

The decoder layers read two sequences (target and memory) and have no converter yet.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import nn
from .graph import register_converter

__all__: list = []  # nothing to import: importing this module registers the converters


def _reduce_mean(g, x, axes: list):
    """ReduceMean over ``axes``, keeping them: its axes are an input from opset 18 on."""
    if g.opset_version >= 18:
        return g.op("ReduceMean", x, g.constant(axes), keepdims=1)
    return g.op("ReduceMean", x, axes=axes, keepdims=1)


def layer_norm_nodes(g, x, example, normalized_shape, weight, bias, eps: float):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing dims: one
    LayerNormalization node from opset 17, else its formula in seven nodes."""
    k, dtype = len(normalized_shape), example.dtype
    if g.opset_version >= 17:
        scale = weight if weight is not None else np.ones(normalized_shape, dtype)
        inputs = [x, g.initializer("weight", scale)]
        if bias is not None:
            inputs.append(g.initializer("bias", bias))
        return g.op("LayerNormalization", *inputs, axis=-k, epsilon=float(eps))
    axes = list(range(example.ndim - k, example.ndim))
    centred = g.op("Sub", x, _reduce_mean(g, x, axes))
    var = _reduce_mean(g, g.op("Mul", centred, centred), axes)
    std = g.op("Sqrt", g.op("Add", var, g.constant(float(eps), dtype)))
    y = g.op("Div", centred, std)
    if weight is not None:
        y = g.op("Mul", y, g.initializer("weight", weight))
    if bias is not None:
        y = g.op("Add", y, g.initializer("bias", bias))
    return y


@register_converter(nn.LayerNorm)
def _layer_norm(g, m, x, example):
    return layer_norm_nodes(g, x, example, m.normalized_shape, m.weight, m.bias, m.eps)


def attention_nodes(g, q, k, v, num_heads: int, head_dim: int, dtype, causal: bool = False):
    """softmax(Q K^T / sqrt(head_dim) [causal]) V for Q (N, L, E), K and V (N, S, E): returns
    (output (N, L, E), weights (N, H, L, S)). ``causal``: query i sees keys 0..i only."""
    H, hd = num_heads, head_dim
    heads = g.constant([0, 0, H, hd])  # Reshape's 0 copies N and L: they stay symbolic
    q = g.op("Transpose", g.op("Reshape", q, heads), perm=[0, 2, 1, 3])  # (N, H, L, hd)
    kT = g.op("Transpose", g.op("Reshape", k, heads), perm=[0, 2, 3, 1])  # (N, H, hd, S)
    v = g.op("Transpose", g.op("Reshape", v, heads), perm=[0, 2, 1, 3])  # (N, H, S, hd)
    scores = g.op("Mul", g.op("MatMul", q, kT), g.constant(1 / math.sqrt(hd), dtype))
    if causal:  # keep[i, j] = j <= i, built for the run's L and S
        L = g.op("Gather", g.op("Shape", q), g.constant(2), axis=0)  # scalars
        S = g.op("Gather", g.op("Shape", kT), g.constant(3), axis=0)
        zero, one = g.constant(0), g.constant(1)
        rows = g.op("Unsqueeze", g.op("Range", zero, L, one), g.constant([1]))  # (L, 1)
        cols = g.op("Unsqueeze", g.op("Range", zero, S, one), g.constant([0]))  # (1, S)
        keep = g.op("LessOrEqual", cols, rows)  # (L, S)
        scores = g.op("Where", keep, scores, g.constant(-math.inf, dtype))
    weights = g.op("Softmax", scores, axis=-1)
    y = g.op("MatMul", weights, v)  # (N, H, L, hd)
    y = g.op("Reshape", g.op("Transpose", y, perm=[0, 2, 1, 3]), g.constant([0, 0, H * hd]))
    return y, weights


def _linear_nodes(g, x, W, b, name: str):
    y = g.op("MatMul", x, g.initializer(f"{name}_weight_T", np.ascontiguousarray(W.T)))
    return g.op("Add", y, g.initializer(f"{name}_bias", b)) if b is not None else y


def _mha_axes(m, inputs: list) -> list:
    """query's length is "time", key's and value's "source" (they may differ)."""
    batched, first = inputs[0].ndim == 3, getattr(m, "batch_first", False)

    def axes(length: str) -> dict:
        if not batched:
            return {0: length}
        return {0: "batch", 1: length} if first else {0: length, 1: "batch"}

    return [axes("time")] + [axes("source")] * (len(inputs) - 1)


def _mha_nodes(g, m, q, example, k, v, need_weights: bool, average: bool = True):
    """MultiheadAttention without masks (eval: no dropout): (output, weights or None)."""
    if m.bias_k is not None or m.add_zero_attn:
        raise ValueError(
            f"zerograd.onnx.export: {g.where} {m!r}: add_bias_kv and add_zero_attn have no "
            "converter; export a layer built without them."
        )
    E, batched = m.embed_dim, example.ndim == 3
    if not batched:
        q, k, v = (g.op("Unsqueeze", t, g.constant([0])) for t in (q, k, v))
    elif not m.batch_first:  # (L, N, E) -> (N, L, E)
        q, k, v = (g.op("Transpose", t, perm=[1, 0, 2]) for t in (q, k, v))
    if m.in_proj_weight is not None:
        W = m.in_proj_weight.data
        Ws = W[:E], W[E : 2 * E], W[2 * E :]
    else:
        Ws = m.q_proj_weight.data, m.k_proj_weight.data, m.v_proj_weight.data
    b = None if m.in_proj_bias is None else m.in_proj_bias.data
    bs = (None,) * 3 if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
    q, k, v = (
        _linear_nodes(g, t, Wi, bi, name)
        for t, Wi, bi, name in zip((q, k, v), Ws, bs, ("q_proj", "k_proj", "v_proj"))
    )
    y, weights = attention_nodes(g, q, k, v, m.num_heads, m.head_dim, example.dtype)
    out_b = None if m.out_proj.bias is None else m.out_proj.bias.data
    y = _linear_nodes(g, y, m.out_proj.weight.data, out_b, "out_proj")
    if not batched:
        y = g.op("Squeeze", y, g.constant([0]))
    elif not m.batch_first:
        y = g.op("Transpose", y, perm=[1, 0, 2])
    if not need_weights:
        return y, None
    if average:
        weights = g.op("Squeeze", _reduce_mean(g, weights, [1]), g.constant([1]))
    if not batched:
        weights = g.op("Squeeze", weights, g.constant([0]))
    return y, weights


@register_converter(nn.MultiheadAttention, input_axes=_mha_axes)
def _multihead_attention(g, m, q, example, k=None, v=None):
    """query, key, value as the file's three inputs (or one input, self-attention: the example
    one tensor) -> (output, averaged weights), as ``m(query, key, value)`` returns them."""
    k = q if k is None else k
    v = k if v is None else v
    return _mha_nodes(g, m, q, example, k, v, need_weights=True)


def _activation_nodes(g, activation, x, example):
    if activation is F.relu:
        return g.op("Relu", x)
    if activation is F.gelu:
        y, _ = g.convert(nn.GELU(), x, example)
        return y
    if isinstance(activation, nn.Module):
        y, _ = g.convert(activation, x, example, name="activation")
        return y
    raise TypeError(
        f"zerograd.onnx.export: {g.where}: the activation {activation!r} is a function with no "
        "converter; use 'relu', 'gelu' or an nn activation module."
    )


def _encoder_layer_axes(m, inputs: list) -> list:
    return _mha_axes(m.self_attn, inputs)


@register_converter(nn.TransformerEncoderLayer, input_axes=_encoder_layer_axes)
def _encoder_layer(g, m, x, example):
    def sa(h):
        g._path.append("self_attn")
        try:
            y, _ = _mha_nodes(g, m.self_attn, h, example, h, h, need_weights=False)
        finally:
            g._path.pop()
        return y

    def ff(h):
        a, a_example = g.convert(m.linear1, h, example, name="linear1")
        a = _activation_nodes(g, m.activation, a, a_example)
        y, _ = g.convert(m.linear2, a, m.activation(a_example), name="linear2")
        return y

    def norm(name, h):
        y, _ = g.convert(getattr(m, name), h, example, name=name)
        return y

    if m.norm_first:
        x = g.op("Add", x, sa(norm("norm1", x)))
        return g.op("Add", x, ff(norm("norm2", x)))
    x = norm("norm1", g.op("Add", x, sa(x)))
    return norm("norm2", g.op("Add", x, ff(x)))


def _encoder_axes(m, inputs: list) -> list:
    return _encoder_layer_axes(m.layers[0], inputs)


@register_converter(nn.TransformerEncoder, input_axes=_encoder_axes)
def _encoder(g, m, x, example):
    g._path.append("layers")
    try:
        for i, layer in enumerate(m.layers):
            x, example = g.convert(layer, x, example, name=str(i))
    finally:
        g._path.pop()
    if m.norm is not None:
        x, _ = g.convert(m.norm, x, example, name="norm")
    return x
