"""ONNX converters of the zoo models whose forward is their own: RowLSTM, CharLSTM and GPT.

Registered through ``zerograd.onnx.register_converter`` (the public way any layer is taught to
the exporter) when ``zerograd.models`` is imported, with the symbolic dims of their inputs
(batch and time). The exporter knows no zoo class: the arrow goes from the zoo to it.
"""

from __future__ import annotations

from ..creation import arange
from ..onnx import register_converter
from ..onnx.transformer import attention_nodes
from .gpt import GPT, MLP, Block, CausalSelfAttention, GPTBody
from .recurrent import CharLSTM, RowLSTM

__all__: list = []  # nothing to import: importing this module registers the converters


def _row_lstm_axes(m, inputs: list) -> list:
    return [{0: "batch", inputs[0].ndim - 2: "time"}]  # (N, 1, L, W) or (N, L, W)


def _char_lstm_axes(m, inputs: list) -> list:
    states = len(inputs) - 1  # (h_0, c_0), each (layers, N, H) or (layers, H)
    if inputs[0].ndim == 1:  # one sequence of ids (L,)
        return [{0: "time"}] + [{}] * states
    return [{0: "batch", 1: "time"}] + [{1: "batch"}] * states


@register_converter(RowLSTM, input_axes=_row_lstm_axes)
def _row_lstm(g, m, x, example):
    """(N, 1, L, W) images (or (N, L, W)) -> LSTM over the rows -> last step -> Linear."""
    if example.ndim == 4:  # (N, 1, L, W) -> (N, L, W), as RowLSTM's reshape
        x = g.op("Squeeze", x, g.constant([1]))
        example = example.reshape(example.shape[0], example.shape[2], example.shape[3])
    (out, _), (out_example, _) = g.convert(m.lstm, x, example, name="lstm")
    last = g.op("Gather", out, g.constant(-1), axis=1)  # out[:, -1]: (N, L, H) -> (N, H)
    y, _ = g.convert(m.head, last, out_example[:, -1], name="head")
    return y


@register_converter(CharLSTM, input_axes=_char_lstm_axes)
def _char_lstm(g, m, x, example, h0=None, c0=None):
    """ids (N, L) -> Embedding -> LSTM -> Linear: (logits (N, L, V), (h_n, c_n))."""
    e, e_example = g.convert(m.embedding, x, example, name="embedding")
    states = [s for s in (h0, c0) if s is not None]
    (out, state), (out_example, _) = g.convert(m.lstm, e, e_example, *states, name="lstm")
    logits, _ = g.convert(m.head, out, out_example, name="head")
    return logits, state


# ---------------------------------------------------------------------------------------------
# GPT: ids (N, T) -> logits (N, T, V), T symbolic up to block_size


def _gpt_axes(m, inputs: list) -> list:
    return [{0: "batch", 1: "time"}]


@register_converter(GPT, input_axes=_gpt_axes)
def _gpt(g, m, idx, example):
    """The body, then lm_head (the tied weight is stored again under lm_head.weight)."""
    x, x_example = g.convert(m.transformer, idx, example, name="transformer")
    logits, _ = g.convert(m.lm_head, x, x_example, name="lm_head")
    return logits


@register_converter(GPTBody, input_axes=_gpt_axes)
def _gpt_body(g, m, idx, example):
    """wte[idx] + wpe[0..T-1] -> blocks -> ln_f; the positions are built for the run's T."""
    tok, x_example = g.convert(m.wte, idx, example, name="wte")
    T = g.op("Gather", g.op("Shape", idx), g.constant(1), axis=0)  # a scalar
    pos = g.op("Range", g.constant(0), T, g.constant(1))
    pos_example = arange(example.shape[1], dtype="int64")
    pe, _ = g.convert(m.wpe, pos, pos_example, name="wpe")
    x = g.op("Add", tok, pe)  # (N, T, C) + (T, C); dropout: none in eval
    for i, block in enumerate(m.h):
        x, x_example = g.convert(block, x, x_example, name=f"h.{i}")
    x, _ = g.convert(m.ln_f, x, x_example, name="ln_f")
    return x


@register_converter(Block)
def _gpt_block(g, m, x, example):
    h, _ = g.convert(m.ln_1, x, example, name="ln_1")
    a, _ = g.convert(m.attn, h, example, name="attn")
    x = g.op("Add", x, a)
    h, _ = g.convert(m.ln_2, x, example, name="ln_2")
    f, _ = g.convert(m.mlp, h, example, name="mlp")
    return g.op("Add", x, f)


@register_converter(CausalSelfAttention)
def _gpt_attention(g, m, x, example):
    C = m.n_embd
    qkv, _ = g.convert(m.c_attn, x, example, name="c_attn")
    q, k, v = g.op("Split", qkv, g.constant([C, C, C]), outputs=3, axis=2)
    y, _ = attention_nodes(g, q, k, v, m.n_head, C // m.n_head, example.dtype, causal=True)
    y, _ = g.convert(m.c_proj, y, example, name="c_proj")
    return y


@register_converter(MLP)
def _gpt_mlp(g, m, x, example):
    h, h_example = g.convert(m.c_fc, x, example, name="c_fc")
    h, h_example = g.convert(m.gelu, h, h_example, name="gelu")
    y, _ = g.convert(m.c_proj, h, h_example, name="c_proj")
    return y
