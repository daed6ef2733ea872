"""zerograd.inspect: read-only views of a model and of the autograd graph.

- ``summary(model, input_shape)`` (``model_summary.py``): a table of the layers, their output
  shapes, parameters and memory, like Keras's ``model.summary()`` and torchinfo; it reads nn's
  forward hooks.
- ``viz.graph(tensor)`` (``viz.py``): the autograd graph that made a tensor, as Graphviz DOT; it
  reads the graph through the core's public walk (``Tensor.grad_fn``, ``next_functions``).

The public paths are ``zerograd.summary``, ``zerograd.ModelSummary``, ``zerograd.LayerSummary``
and ``zerograd.viz.graph``; ``zerograd.viz`` is a one-line alias module of ``viz.py`` here.
"""

from . import viz
from .model_summary import LayerSummary, ModelSummary, summary
from .viz import graph

__all__ = ["summary", "ModelSummary", "LayerSummary", "graph", "viz"]
