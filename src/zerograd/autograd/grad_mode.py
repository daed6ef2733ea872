"""Grad modes: whether ``Function`` calls record the graph (``no_grad``, ``enable_grad``,
``set_grad_enabled``, ``is_grad_enabled``, PyTorch's names). One process-wide switch, read by the
engine at every op."""

from __future__ import annotations

import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()`` (or ``set_grad_enabled(False)``)."""
    return _grad_enabled


class set_grad_enabled:
    """Turn graph recording on or off; usable as a function, context manager or decorator.

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.ones(2, requires_grad=True)
    >>> with set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode: bool = True):
        global _grad_enabled
        self._prev = _grad_enabled
        self._mode = bool(mode)
        _grad_enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Context manager and decorator in which no graph is recorded (evaluation, optimizer steps).

    Examples
    --------
    >>> import zerograd
    >>> x = zerograd.ones(2, requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        self._mode = False

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = False
        return self


class enable_grad(set_grad_enabled):
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    def __init__(self):
        self._mode = True

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        _grad_enabled = True
        return self
