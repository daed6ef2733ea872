"""Alias module: ``zerograd.viz`` is the public path of ``zerograd.inspect.viz`` (the autograd
graph as Graphviz DOT), kept so ``zerograd.viz.graph(...)`` and ``from zerograd.viz import
graph`` work; the code lives in ``zerograd/inspect/viz.py``."""

from .inspect.viz import __all__, graph  # noqa: F401
