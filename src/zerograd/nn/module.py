"""``Module``: the base of every layer and model, with PyTorch's semantics.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it (in order); buffers
(running statistics) are registered with ``register_buffer``. From that registry come
``parameters()``, ``named_parameters()``, ``state_dict()`` with PyTorch's key names
(``0.weight``, ``fc1.bias``), ``train()/eval()``, ``freeze()`` and the printed tree.
"""

from __future__ import annotations

import os
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import backend
from ..autograd import Tensor, no_grad
from .parameter import Parameter

__all__ = [
    "Module",
    "RemovableHandle",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
]

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

# hooks every module runs (before its own): what summary() and anomaly mode listen with
_global_forward_pre_hooks: dict = OrderedDict()
_global_forward_hooks: dict = OrderedDict()


class RemovableHandle:
    """What ``register_*hook`` returns: ``handle.remove()`` takes the hook away again.

    Also a context manager, so ``with module.register_forward_hook(fn): ...`` removes it on exit.
    """

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add_hook(hooks: dict, hook, who: str) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"{who}: the hook must be callable, got {type(hook).__name__}.")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args)`` before every module's forward (PyTorch's global hook).

    It may return new args (a tuple, or one value) to use instead. Returns a handle whose
    ``remove()`` takes the hook away.
    """
    return _add_hook(_global_forward_pre_hooks, hook, "register_module_forward_pre_hook")


def register_module_forward_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after every module's forward (PyTorch's global hook).

    It may return a new output to use instead. Returns a handle whose ``remove()`` takes the hook
    away.
    """
    return _add_hook(_global_forward_hooks, hook, "register_module_forward_hook")


class Module:
    """Base class of layers and models: subclass it, set layers in ``__init__``, define ``forward``.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(4, 3)
    ...         self.fc2 = nn.Linear(3, 2)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> [name for name, _ in TwoLayer().named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # --- registration -----------------------------------------------------------------------
    def _registry(self):
        try:
            return self._parameters, self._buffers, self._modules
        except AttributeError:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() at the start of __init__, "
                "before assigning parameters or layers."
            ) from None

    def __setattr__(self, name: str, value) -> None:
        params, buffers, modules = self._registry()
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a Parameter; assign a Parameter (or None), "
                    f"not {type(value).__name__}. To change its values use "
                    f"{name}.data[...] = ... or load_state_dict."
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a sub-module; assign a Module or None."
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a buffer; assign a Tensor or None."
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep=None) -> None:
        """Drop ``name`` from every registry but ``keep`` (where re-assignment keeps its place)."""
        for registry in self._registry():
            if registry is not keep:
                registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str):
        # only called when normal lookup fails: look in the registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in self._registry():
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared but absent parameter) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None.")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a non-learnable tensor (running statistics) saved in the state_dict."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None.")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name`` (what attribute assignment does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None.")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    # --- calling ----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def __call__(self, *args, **kwargs):
        if (
            self._forward_pre_hooks
            or self._forward_hooks
            or _global_forward_pre_hooks
            or _global_forward_hooks
        ):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        for hook in (*_global_forward_pre_hooks.values(), *self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        output = self.forward(*args, **kwargs)
        for hook in (*_global_forward_hooks.values(), *self._forward_hooks.values()):
            new = hook(self, args, output)
            if new is not None:
                output = new
        return output

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args.

        Returns a handle: ``handle.remove()`` (or leaving its ``with`` block) takes it away.
        """
        return _add_hook(
            self._forward_pre_hooks, hook, f"{type(self).__name__}.register_forward_pre_hook"
        )

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; it may return a new output.

        Examples
        --------
        >>> import zerograd as zg
        >>> from zerograd import nn
        >>> layer, seen = nn.Linear(3, 2), []
        >>> with layer.register_forward_hook(lambda m, args, out: seen.append(out.shape)):
        ...     _ = layer(zg.zeros(4, 3))
        >>> _ = layer(zg.zeros(5, 3))  # the hook is gone
        >>> seen
        [(4, 2)]
        """
        return _add_hook(self._forward_hooks, hook, f"{type(self).__name__}.register_forward_hook")

    # --- walking the tree -------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = ""):
        """Yield ``(name, module)`` for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named(self, registry: str, prefix: str, recurse: bool):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in modules:
            for name, t in getattr(m, registry).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mprefix}.{name}" if mprefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(name, Parameter)``; a parameter shared by two layers is yielded once."""
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self; return self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- modes and gradients ----------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (dropout active, batch norm updates statistics); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}.")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None, PyTorch's default, or to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def freeze(self):
        """Stop training these parameters, e.g. a pretrained base: requires_grad off and any
        gradient they still hold dropped, so no optimizer step moves them (optimizers skip
        parameters whose grad is None). Returns self.

        Examples
        --------
        >>> from zerograd import nn
        >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> _ = model[0].freeze()
        >>> [p.requires_grad for p in model.parameters()]
        [False, False, True, True]
        """
        for p in self.parameters():
            p.requires_grad_(False)
            p.grad = None
        return self

    def unfreeze(self):
        """Train these parameters again (requires_grad on)."""
        return self.requires_grad_(True)

    # --- dtype ------------------------------------------------------------------------------
    def to(self, dtype_or_device=None, dtype=None):
        """Convert floating parameters and buffers to ``dtype`` in place; returns self.

        ``to("cpu")`` is accepted (everything lives on the CPU until the GPU backend lands).
        """
        if backend.is_device(dtype_or_device):
            backend.check_device(f"{type(self).__name__}.to", dtype_or_device)
            dtype_or_device = None
        target = dtype if dtype is not None else dtype_or_device
        if target is None:
            return self
        d = backend.resolve_dtype(target)
        if d.kind != "f":
            raise TypeError(f"to: modules convert only to floating dtypes, got {d}.")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.kind == "f" and t.dtype != d:
                t.data = t.data.astype(d)
                if t.grad is not None:
                    t.grad = Tensor.wrap(t.grad.data.astype(d))
        return self

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    # --- state ------------------------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> OrderedDict:
        """Parameters and persistent buffers by PyTorch's key names, as Tensors sharing data."""
        out = OrderedDict()
        for mprefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            for name, p in m._parameters.items():
                if p is not None:
                    out[f"{mprefix}.{name}" if mprefix else name] = p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[f"{mprefix}.{name}" if mprefix else name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` (Tensors or NumPy arrays) into this module.

        Values are copied into the existing arrays, keeping their dtype (like PyTorch). With
        ``strict=True`` any missing or unexpected key fails; a wrong shape always fails; every
        problem is listed in one error and nothing is changed.

        Returns
        -------
        namedtuple (missing_keys, unexpected_keys)

        Raises
        ------
        TypeError
            If ``state_dict`` is not a mapping (``None``, a path, a module, a list), saying what
            to pass instead.
        RuntimeError
            Listing every missing or unexpected key (with ``strict``) and every shape mismatch.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(self._not_a_state_dict(state_dict))
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            v = v.data if isinstance(v, Tensor) else v
            if not hasattr(v, "shape"):
                try:
                    v = Tensor(v).data
                except TypeError:
                    problems.append(f"{k}: expected an array, got {type(v).__name__}")
                    continue
            if tuple(v.shape) != target.shape:
                problems.append(
                    f"size mismatch for {k}: copying a value of shape {tuple(v.shape)}, the "
                    f"parameter in this model has shape {target.shape}"
                )
            values[k] = v
        if strict:
            problems = (
                [f"missing key: {k}" for k in missing]
                + [f"unexpected key: {k}" for k in unexpected]
                + problems
            )
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                + "\n  ".join(problems)
                + "\nCheck that the weights come from the same architecture (layer sizes and "
                "names); pass strict=False to skip missing or unexpected keys."
            )
        with no_grad():
            for k, v in values.items():
                own[k].data[...] = v  # same array as the parameter: copied in place
                own[k].bump_version()
        return _IncompatibleKeys(missing, unexpected)

    def _not_a_state_dict(self, value) -> str:
        who = type(self).__name__ if self._modules else repr(self)  # one line: no sub-modules
        head = (
            f"{who}.load_state_dict: expected a mapping of names to Tensors or arrays, such as "
            "another model's state_dict() or zerograd.io.load(path)"
        )
        if isinstance(value, Module):
            return (
                f"{head}, got a {type(value).__name__} module. Pass its weights: "
                "model.load_state_dict(other.state_dict())."
            )
        if isinstance(value, (str, bytes, os.PathLike)):
            return (
                f"{head}, got the path {os.fspath(value)!r}. Read the file first: "
                "model.load_state_dict(zerograd.io.load(path)), or zerograd.io.load_into(model, "
                "path) (zerograd.io.load_pytorch for a torch.save file)."
            )
        if isinstance(value, (list, tuple)):
            kind = type(value).__name__
            return f"{head}, got a {kind}. For (name, value) pairs pass dict(pairs)."
        return f"{head}, got {'None' if value is None else type(value).__name__}."

    # --- printing ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The configuration shown inside the parentheses of ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"{extra}" if extra else "")
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )
