"""Autograd core: ``Tensor``, ``Function``, the backward pass, grad modes and anomaly mode.

Define-by-run, as in PyTorch: every ``Function`` call on tensors that require grad records a node;
``Tensor.backward()`` walks the nodes once in reverse topological order, without recursion, and
accumulates gradients into the leaves. One module per idea:

- ``tensor.py``: ``Tensor``, its in-place changes (version counters) and printing;
- ``function.py``: ``Function`` and the engine (``backward``, freeing the graph, version checks);
- ``grad_mode.py``: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``is_grad_enabled``;
- ``anomaly.py``: ``detect_anomaly`` and ``AnomalyError``, beside the engine's main path;
- ``graph.py``: the public, read-only graph walk (``graph_nodes``).

This package knows no ops: ``zerograd.functional`` defines them and binds Tensor's operators.
``zerograd.autograd`` hands on the same names the single module did.
"""

# "x as x": public names outside __all__, for the library's other layers (nn.anomaly fills
# anomaly_context and listens to the mode; nn.Parameter prints with numpy_repr; functional's
# indexing uses index_key)
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .anomaly import anomaly_context as anomaly_context
from .anomaly import anomaly_listeners as anomaly_listeners
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import graph_nodes
from .tensor import Tensor
from .tensor import index_key as index_key
from .tensor import numpy_repr as numpy_repr

__all__ = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "graph_nodes",
]

# the public path in reprs, tracebacks and pickles: zerograd.autograd.Tensor, not .tensor.Tensor
for _cls in (
    Tensor,
    Function,
    AnomalyError,
    set_grad_enabled,
    no_grad,
    enable_grad,
    set_detect_anomaly,
    detect_anomaly,
):
    _cls.__module__ = __name__
del _cls
