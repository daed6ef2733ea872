"""ONNX converters of the zoo models whose forward is their own: RowLSTM and CharLSTM.

Registered through ``zerograd.onnx.register_converter`` (the public way any layer is taught to
the exporter) when ``zerograd.models`` is imported, with the symbolic dims of their inputs
(batch and time). The exporter knows no zoo class: the arrow goes from the zoo to it.
"""

from __future__ import annotations

from ..onnx import register_converter
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
