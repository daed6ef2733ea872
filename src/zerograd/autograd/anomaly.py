"""Anomaly mode: ``detect_anomaly()`` (PyTorch's name) checks every op's forward output and every
gradient its backward returns for NaN and inf, and raises ``AnomalyError`` at the first op that
turned finite values into non-finite ones, naming the op, the layer it ran in and the caller's line.

It sits beside the engine, not inside its main path: the engine calls ``_anomaly_forward`` and
``_anomaly_backward`` only while ``_anomaly_enabled`` is true, so off it costs one boolean test
per op.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING

from .. import backend
from ..backend import as_array, is_array
from .tensor import Tensor

if TYPE_CHECKING:  # for the annotations only: function.py imports this module
    from .function import Function

__all__ = [
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "anomaly_context",
    "anomaly_listeners",
]

_anomaly_enabled = False

#: "Where am I" labels, innermost last, that higher layers push and pop while anomaly mode is on
#: (``zerograd.nn`` pushes the running module, e.g. ``features.3 (Conv2d(16, 32, ...))``). The core
#: only reads them with ``str()``, so it knows nothing of modules. Mutate it, never rebind it.
anomaly_context: list = []

#: Called as ``listener(enabled)`` each time anomaly mode turns on or off: ``zerograd.nn`` installs
#: its forward hooks this way, so they cost nothing while the mode is off.
anomaly_listeners: list = []

# zerograd/, the package whose frames _caller skips (this file is zerograd/autograd/anomaly.py)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class AnomalyError(RuntimeError):
    """A NaN or inf first appeared in an op's forward output or backward gradient (anomaly mode).

    Attributes: ``op`` (the Function's class name), ``phase`` ("forward", "backward", or in
    ``fit`` also "data" and "optimizer step"), ``where`` (the innermost running layer, e.g.
    ``features.3 (Conv2d(16, 32, kernel_size=(3, 3), ...))``, or None outside any module),
    ``shape``, ``nan`` and ``inf`` (counts); ``fit`` adds ``epoch``, ``batch_index`` and
    ``history``.
    """

    def __init__(self, message, op=None, phase=None, where=None, shape=None, nan=0, inf=0):
        super().__init__(message)
        self.op, self.phase, self.where = op, phase, where
        self.shape, self.nan, self.inf = shape, nan, inf
        self.epoch = self.batch_index = None


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (or after ``set_detect_anomaly(True)``)."""
    return _anomaly_enabled


def _set_anomaly(mode: bool) -> None:
    global _anomaly_enabled
    if mode == _anomaly_enabled:
        return
    _anomaly_enabled = mode
    anomaly_context.clear()  # labels left by a forward pass that raised
    for listener in list(anomaly_listeners):
        listener(mode)


class set_detect_anomaly:
    """Turn anomaly mode on or off; usable as a function, context manager or decorator.

    As a context manager it restores the previous setting on exit, also when the body raises.
    """

    def __init__(self, mode: bool):
        self._prev = _anomaly_enabled
        self._mode = bool(mode)
        _set_anomaly(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set_anomaly(self._prev)
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_detect_anomaly(mode):
                return func(*args, **kwargs)

        return wrapper


class detect_anomaly(set_detect_anomaly):
    """Context manager and decorator that checks every op for NaN and inf (PyTorch's name).

    Inside it, each ``Function``'s forward output and each gradient its backward returns is
    checked; the first op that turns finite values into NaN or inf raises ``AnomalyError`` naming
    the op, forward or backward, the shapes, how many values were NaN or inf, and the layer it ran
    in (the innermost running ``nn.Module`` with its name in the model, recorded at forward time
    for backward). An op whose inputs already held NaN or inf is not blamed: the one that made
    them was (or they came from the data or a parameter). A training step takes 1.1-1.6x as long
    (every array is scanned, each op remembers its layer and caller), so use it to find a
    problem, not to train. Off, the cost is one boolean test per op.

    Examples
    --------
    >>> import numpy as np
    >>> import zerograd as zg
    >>> x = zg.tensor([1.0, -1.0])
    >>> with detect_anomaly(), np.errstate(invalid="ignore"):  # NumPy would warn first
    ...     x.log()
    Traceback (most recent call last):
      ...
    zerograd.autograd.AnomalyError: anomaly in the forward of Log outside any nn.Module ...
    """

    def __init__(self):
        self._mode = True

    def __enter__(self):
        self._prev = _anomaly_enabled
        _set_anomaly(True)
        return self


def _nonfinite(a):
    """(NaN count, inf count) when floating ``a`` holds a NaN or inf, else None."""
    if not is_array(a):
        if not isinstance(a, (float, complex)) and not hasattr(a, "dtype"):
            return None  # ints, bools, None, shapes: constants that can't be NaN
        a = as_array(a)
    if a.dtype.kind not in "fc":
        return None
    xp = backend.array_module(a)
    if xp.isfinite(a).all():
        return None
    return int(xp.isnan(a).sum()), int(xp.isinf(a).sum())


def _describe(a) -> str:
    """One input for a message: shape, dtype and the range of its finite values."""
    if not is_array(a):
        return repr(a)[:40]
    text = f"shape {a.shape} {a.dtype}"
    if a.dtype.kind == "f" and a.size:
        xp = backend.array_module(a)
        finite = a[xp.isfinite(a)]
        if finite.size:
            text += f" in [{float(finite.min()):.4g}, {float(finite.max()):.4g}]"
    return text


def _counts(bad, a) -> str:
    return f"{bad[0]} NaN and {bad[1]} inf values (of {getattr(a, 'size', 1)})"


def _caller() -> str | None:
    """The innermost frame outside the zerograd package: the user's line that ran the op."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_PACKAGE_DIR):
            return f"{path}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def _origin(where, caller) -> str:
    text = f"in layer {where}" if where is not None else "outside any nn.Module"
    return text + (f" (called from {caller})" if caller else "")


_FORWARD_HINT = (
    "Check the values reaching this op: a log or division at 0 or below, the sqrt of a negative "
    "number, an exp or a product overflowing float32 (above 3.4e38). If they grew during "
    "training, lower the learning rate or clip gradients; prefer the fused, stable ops "
    "(F.cross_entropy on logits, F.log_softmax)."
)
_BACKWARD_HINT = (
    "The forward values were fine but this op's gradient formula blows up at them (sqrt or log "
    "at 0, a division by a tiny number, a saturated function): keep its inputs away from that "
    "point (add a small epsilon, clamp) or use a numerically stable op."
)


def _anomaly_forward(fn: Function, arrays, y) -> None:
    """Anomaly mode, after ``fn.forward``: remember the layer, blame fn for a new NaN or inf."""
    where = str(anomaly_context[-1]) if anomaly_context else None
    caller = _caller()
    fn._anomaly_origin = (where, caller)  # for backward's message
    outs = y if type(y) is tuple else (y,)
    for k, out in enumerate(outs):
        bad = _nonfinite(out)
        if bad is None:
            continue
        if any(_nonfinite(a) is not None for a in arrays):
            return  # the inputs already held NaN or inf: whatever made them is to blame
        name = type(fn).__name__
        which = f"output {k}" if len(outs) > 1 else "output"
        inputs = "; ".join(f"input {i}: {_describe(a)}" for i, a in enumerate(arrays))
        raise AnomalyError(
            f"anomaly in the forward of {name} {_origin(where, caller)}: its {which} of shape "
            f"{getattr(out, 'shape', ())} has {_counts(bad, out)}, but its inputs were all "
            f"finite ({inputs}). {_FORWARD_HINT}",
            op=name,
            phase="forward",
            where=where,
            shape=getattr(out, "shape", ()),
            nan=bad[0],
            inf=bad[1],
        )


def _anomaly_backward(fn: Function, gys, gxs) -> None:
    """Anomaly mode, after ``fn.backward``: blame fn for a gradient with a new NaN or inf."""
    for k, (gx, need) in enumerate(zip(gxs, fn.needs_input_grad)):
        if not need or gx is None:
            continue
        bad = _nonfinite(gx)
        if bad is None:
            continue
        if any(_nonfinite(g) is not None for g in gys):
            return  # the upstream gradient already held NaN or inf
        arrays = [x.data if isinstance(x, Tensor) else x for x in fn.inputs]
        if any(_nonfinite(a) is not None for a in arrays):
            return  # so did the forward inputs: not this op's doing
        name = type(fn).__name__
        where, caller = getattr(fn, "_anomaly_origin", (None, None))
        made = (
            f"made in forward {_origin(where, caller)}"
            if hasattr(fn, "_anomaly_origin")
            else "made before anomaly mode was on, so its layer is unknown"
        )
        upstream = "; ".join(_describe(g) for g in gys)
        raise AnomalyError(
            f"anomaly in the backward of {name} ({made}): the gradient it returned for input {k} "
            f"(shape {getattr(gx, 'shape', ())}) has {_counts(bad, gx)}, though the upstream "
            f"gradient ({upstream}) and the forward inputs were all finite. {_BACKWARD_HINT}",
            op=name,
            phase="backward",
            where=where,
            shape=getattr(gx, "shape", ()),
            nan=bad[0],
            inf=bad[1],
        )
