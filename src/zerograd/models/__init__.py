"""zerograd.models: the zoo (the course's networks), built from zerograd.nn."""

from .mlp import MLP

__all__ = ["MLP"]
