"""zerograd.testing: checking gradients, for the library's tests and for anyone's op or layer.

``gradcheck(fn, inputs)`` compares autograd's gradients with central differences in float64 and
names the worst element; ``numerical_gradient(f, x)`` is the course's slow central-difference
gradient of a plain function. Both are also ``zerograd.gradcheck`` and
``zerograd.numerical_gradient``; ``zerograd gradcheck`` runs every registered op case.

This package sits just above the autograd core: it imports the core and the backend, nothing
higher (the contract in pyproject.toml's ``[tool.importlinter]``).
"""

from .gradients import GradcheckError, GradcheckResult, gradcheck, numerical_gradient

__all__ = ["gradcheck", "numerical_gradient", "GradcheckResult", "GradcheckError"]
