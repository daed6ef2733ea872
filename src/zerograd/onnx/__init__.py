"""ONNX export: ``export(model, example_input, path)`` writes a zerograd model as an ONNX file that
onnxruntime (or any other ONNX runtime) runs.

The exporter walks the model's modules; it does not trace the autograd graph. A table maps each
layer class to a *converter*, a short function that appends the ONNX nodes and initializers of one
layer to the graph and returns the name of its output (``graph.py``). nn's layers register theirs
here (``layers.py``); the zoo's ``RowLSTM`` and ``CharLSTM``, whose forward is their own, register
theirs from ``zerograd/models/onnx_converters.py`` through the same public ``register_converter``
that teaches the exporter a module of yours; ``exporter.py`` is the walk, the checks and the
file. docs/onnx.md lists every supported layer with the ONNX operators it becomes.

Why a package beside ``zerograd.io`` and not inside it: ``io`` moves arrays to and from files
and knows no layer, while the exporter knows nn's layers one by one; and ``zerograd.onnx`` is
the path users know (as ``torch.onnx``). It uses ``io`` for the atomic write and never imports
``zerograd.models``: the zoo depends on the exporter, not the other way round.

The ``onnx`` package is imported inside the functions that need it (zerograd's core depends on
NumPy alone): ``pip install "zerograd[onnx]"`` installs it together with onnxruntime.
"""

from . import (
    layers,  # noqa: F401 (registers the converters of nn's layers)
    transformer,  # noqa: F401 (and of the transformer's)
)
from .exporter import IR_VERSION, MIN_OPSET, OPSET, check_with_onnxruntime, export
from .graph import OnnxGraph, register_converter

__all__ = [
    "IR_VERSION",
    "OPSET",
    "MIN_OPSET",
    "export",
    "register_converter",
    "check_with_onnxruntime",
    "OnnxGraph",
]
