"""Anomaly mode's layer names: which module was running when an op first made a NaN or inf.

``autograd.detect_anomaly()`` checks the ops; it knows nothing of modules. While it is on, the
two global forward hooks installed here keep the running modules in ``autograd.anomaly_context``
(innermost last), each as its name in the model and its configuration, so an ``AnomalyError``
reads ``in layer features.3 (Conv2d(16, 32, kernel_size=(3, 3), ...))``. The hooks exist only while
anomaly mode is on: with it off, ``Module.__call__`` sees no hooks and pays nothing.

Names are relative to the outermost running module (the model, or a loss module called on its
own): the one called while no other module's forward is running.
"""

from __future__ import annotations

import sys
from weakref import WeakKeyDictionary

from .. import autograd
from .module import register_module_forward_hook, register_module_forward_pre_hook

__all__: list = []

_MAX_CONFIG = 60  # characters of extra_repr() kept in a label

_names: WeakKeyDictionary = WeakKeyDictionary()  # outermost module -> {id(module): label}
_handles: list = []


class _Running:
    """One entry of ``autograd.anomaly_context``: a running module's label, for ``str()``.

    ``frame`` is the Python frame that called the module (and runs its forward), to tell a
    running module from one whose forward raised. Held, not its id: a freed frame's id is soon
    reused by the next call.
    """

    __slots__ = ("module_id", "label", "names", "frame")

    def __init__(self, module_id: int, label: str, names: dict, frame):
        self.module_id, self.label, self.names, self.frame = module_id, label, names, frame

    def __str__(self) -> str:
        return self.label


def _config(module) -> str:
    """``Conv2d(16, 32, kernel_size=(3, 3), ...)``: the class and its (shortened) settings."""
    extra = module.extra_repr()
    if len(extra) > _MAX_CONFIG:
        extra = extra[: _MAX_CONFIG - 5] + ", ..."
    return f"{type(module).__name__}({extra})" if extra else type(module).__name__


def _name_tree(root) -> dict:
    names = {}
    for name, m in root.named_modules():
        names[id(m)] = f"{name} ({_config(m)})" if name else f"{_config(m)}, the top-level module"
    _names[root] = names
    return names


def _drop_finished(context: list) -> None:
    """Drop the entries of module calls no longer on the Python stack: forwards that raised
    (and were caught), so never reached ``_leave``."""
    live = set()
    frame = sys._getframe(2)
    while frame is not None:
        live.add(id(frame))  # ids of frames alive now, and each entry holds its frame alive
        frame = frame.f_back
    running = 0
    while running < len(context) and id(context[running].frame) in live:
        running += 1
    del context[running:]


def _enter(module, args) -> None:
    context = autograd.anomaly_context
    if context:
        _drop_finished(context)
    if context:
        names = context[-1].names
        label = names.get(id(module))
        if label is None:  # a module made on the fly, not registered in the model
            label = f"{_config(module)} inside {context[-1].label}"
    else:
        names = _names.get(module)
        if names is None:
            names = _name_tree(module)
        label = names[id(module)]
    context.append(_Running(id(module), label, names, sys._getframe(1)))


def _leave(module, args, output) -> None:
    context = autograd.anomaly_context
    # pop down to this module's entry: entries above it belong to inner forwards that raised
    for k in range(len(context) - 1, -1, -1):
        if context[k].module_id == id(module):
            del context[k:]
            return


def _on_anomaly_mode(enabled: bool) -> None:
    if enabled and not _handles:
        _handles.append(register_module_forward_pre_hook(_enter))
        _handles.append(register_module_forward_hook(_leave))
    elif not enabled:
        for handle in _handles:
            handle.remove()
        _handles.clear()
        _names.clear()  # the models may change before the next time


autograd.anomaly_listeners.append(_on_anomaly_mode)
if autograd.is_anomaly_enabled():  # turned on before zerograd.nn was imported
    _on_anomaly_mode(True)
