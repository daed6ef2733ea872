"""``Optimizer``: the base of every optimizer (``torch.optim.Optimizer``).

An optimizer holds parameter groups (``param_groups``: dicts of ``params`` plus hyper-parameters,
so one model can train its layers with different learning rates) and per-parameter state
(``state[p]``: a dict of named Tensors such as ``momentum_buffer``, keyed by the Parameter object
itself). ``step()`` updates every parameter that has a gradient, in place, on its own dtype.

``state_dict()`` uses PyTorch's layout: parameters are numbered in order across the groups, and
the state and groups refer to them by those numbers, so a checkpoint does not depend on object
identity::

    {"state": {0: {"step": 3, "exp_avg": Tensor, ...}, ...},
     "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}, ...]}
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of optimizers: parameter groups, per-parameter state, ``zero_grad``, checkpoints.

    Subclasses pass their hyper-parameters as ``defaults``, list their state names in
    ``_state_names``, check values in ``_problems`` and update one group in ``_step_group``.

    Parameters
    ----------
    params : iterable of Tensor, or iterable of dict
        The parameters to optimize (``model.parameters()``), or parameter groups: dicts with a
        ``params`` entry and any hyper-parameters that differ from the defaults for that group.
    defaults : dict
        The hyper-parameters that groups inherit unless they set their own.

    Raises
    ------
    ValueError
        If ``params`` is empty, a parameter is in two groups or is not a leaf, or a
        hyper-parameter is out of range.
    TypeError
        If ``params`` is a single Tensor or holds something that is not a Tensor.
    """

    #: the names a state dict may hold for one parameter (checked by ``load_state_dict``)
    _state_names: tuple = ()
    #: hyper-parameters that are flags (bool) and pairs (tuple of 2 floats); the rest are floats
    _flag_options: tuple = ()
    _pair_options: tuple = ()

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        self.defaults = self._normalized(defaults, defaults.keys(), "")
        self._raise_problems(self.defaults, "")
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []

        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts (parameter groups), "
                f"got a single Tensor of shape {params.shape}. Wrap it in a list: {name}([w])."
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: params must be an ordered collection (list, generator), not a set: a "
                "set's order changes between runs and the state_dict numbers parameters by order."
            )
        if not isinstance(params, Iterable):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of dicts (parameter groups), "
                f"got {type(params).__name__}."
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{name}: got an empty parameter list. Pass model.parameters() (check that the "
                "model has parameters and that the generator was not used up already) or a list "
                "of parameter groups."
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # --- parameter groups ---------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. unfrozen layers).

        Options the group does not set are taken from the optimizer's defaults.

        Examples
        --------
        >>> import zerograd as zg
        >>> from zerograd.optim import SGD
        >>> w, b = zg.nn.Parameter(zg.zeros(3)), zg.nn.Parameter(zg.zeros(1))
        >>> opt = SGD([w], lr=0.1)
        >>> opt.add_param_group({"params": [b], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.01]
        """
        name = type(self).__name__
        index = len(self.param_groups)
        where = f"parameter group {index}: "
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}: {where}a parameter group must be a dict with a 'params' entry, got "
                f"{type(param_group).__name__}. Don't mix Tensors and dicts in params."
            )
        if "params" not in param_group:
            raise ValueError(f"{name}: {where}the dict has no 'params' entry.")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: {where}params must be an ordered collection (list), not a set."
            )
        else:
            params = list(params)

        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: {where}can only optimize Tensors, but params[{i}] is "
                    f"{type(p).__name__}."
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: {where}params[{i}] (shape {p.shape}) is not a leaf tensor: it was "
                    "computed from others, so updating it would not change anything. Optimize "
                    "the Parameters it was made from."
                )
        seen = set()
        for group in self.param_groups:
            seen.update(group["params"])
        duplicates = []
        for i, p in enumerate(params):
            if p in seen:
                duplicates.append(f"params[{i}] (shape {p.shape})")
            seen.add(p)
        if duplicates:
            raise ValueError(
                f"{name}: {where}{', '.join(duplicates)} appear more than once across the "
                "parameter groups; each parameter may be listed only once, or it would be updated "
                "more than once per step."
            )

        group = dict(self.defaults)
        group.update((k, v) for k, v in param_group.items() if k != "params")
        group = self._normalized(group, self.defaults.keys(), where)
        self._raise_problems(group, where)
        group["params"] = params
        self.param_groups.append(group)

    def _normalized(self, options: dict, keys, where: str) -> dict:
        """``options`` with the hyper-parameters named in ``keys`` as plain Python values.

        Flags (``_flag_options``) become bools, pairs (``_pair_options``) tuples of two floats,
        every other hyper-parameter a float (never a NumPy scalar, which would upcast float32
        updates). Other keys (``initial_lr``, a user's own) pass through.
        """
        name = type(self).__name__
        out = dict(options)
        for key in keys:
            value = out[key]
            try:
                # float("0.1") and float(True) would pass: a str or bool here is a mistake
                numbers = value if key in self._pair_options else (value,)
                if key not in self._flag_options and any(
                    isinstance(v, (str, bytes, bool)) for v in _iterable(numbers)
                ):
                    raise TypeError
                if key in self._flag_options:
                    value = bool(value)
                elif key in self._pair_options:
                    value = tuple(float(v) for v in value)
                    if len(value) != 2:
                        raise ValueError
                else:
                    value = float(value)
            except (TypeError, ValueError):
                kind = "a pair of numbers" if key in self._pair_options else "a number"
                raise TypeError(f"{name}: {where}{key} must be {kind}, got {value!r}.") from None
            out[key] = value
        return out

    def _problems(self, options: dict) -> list[str]:
        """Describe every out-of-range hyper-parameter in ``options`` (subclasses override)."""
        return []

    def _raise_problems(self, options: dict, where: str) -> None:
        problems = self._problems(options)
        if problems:
            raise ValueError(f"{type(self).__name__}: {where}" + "; ".join(problems) + ".")

    # --- the update -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters: to None (PyTorch's default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (it runs with grad enabled, before the
            update); its loss is returned.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _step_group(group)")

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout, parameters numbered in order across groups.

        State arrays are returned as the optimizer's own Tensors (not copies, as in PyTorch): save
        them right away or ``copy.deepcopy`` the dict to keep a snapshot. Parameters without state
        (never stepped) are left out of ``state``.

        Returns
        -------
        dict
            ``{"state": {index: {name: Tensor or int}}, "param_groups": [{..., "params": [index,
            ...]}]}`` with hyper-parameters as plain Python values.
        """
        index = 0
        groups = []
        state = {}
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                ids.append(index)
                s = self.state.get(p)
                if s:
                    state[index] = dict(s)
                index += 1
            packed["params"] = ids
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and hyper-parameters saved by ``state_dict()``.

        The optimizer must have been built with the same groups holding the same number of
        parameters; every state array must have its parameter's shape. All problems are listed in
        one error and nothing is changed. Arrays are copied, in each parameter's dtype.

        Raises
        ------
        ValueError
            If the groups, the parameters or the state do not fit this optimizer.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{name}.load_state_dict: expected a dict from state_dict(), got "
                f"{type(state_dict).__name__}."
            )
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(
                f"{name}.load_state_dict: the dict has no {' or '.join(map(repr, missing))} "
                "entry; pass what optimizer.state_dict() returned."
            )
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        problems = _malformed(saved_groups, saved_state)
        if problems:  # the checks below assume this much structure
            self._raise_load_problems(problems)
        if len(saved_groups) != len(self.param_groups):
            problems.append(
                f"the state_dict has {len(saved_groups)} parameter group(s), this optimizer has "
                f"{len(self.param_groups)}"
            )
        else:
            for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
                if not isinstance(saved, dict) or "params" not in saved:
                    problems.append(f"saved parameter group {i} is not a dict with 'params'")
                    continue
                n_saved, n_own = len(saved["params"]), len(group["params"])
                if n_saved != n_own:
                    problems.append(
                        f"parameter group {i} holds {n_saved} parameter(s) in the state_dict but "
                        f"{n_own} in this optimizer"
                    )
        if problems:
            self._raise_load_problems(problems)

        # saved index -> this optimizer's parameter, in order across groups
        params = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for index, p in zip(saved["params"], group["params"]):
                params[_as_index(index)] = p

        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            options = {k: v for k, v in group.items() if k != "params"}
            options.update((k, _plain(v)) for k, v in saved.items() if k != "params")
            options.update(self._forced_options())
            where = f"parameter group {i}: "
            try:
                options = self._normalized(options, self.defaults.keys(), where)
            except TypeError as e:
                problems.append(str(e).removeprefix(f"{name}: ").rstrip("."))
                continue
            problems.extend(where + p for p in self._problems(options))
            new_groups.append(options)

        new_state = {}
        for key, entry in saved_state.items():
            index = _as_index(key)
            p = params.get(index)
            if p is None:
                problems.append(
                    f"state for parameter {key!r}, which no saved parameter group lists"
                )
                continue
            restored = {}
            for k, v in entry.items():
                if k not in self._state_names:
                    problems.append(
                        f"unexpected state {k!r} for parameter {key} ({name} keeps "
                        f"{', '.join(self._state_names) or 'no state'})"
                    )
                elif v is None:
                    continue
                elif k == "step":
                    try:
                        restored[k] = int(_plain(v))
                    except (TypeError, ValueError, OverflowError):  # OverflowError: inf
                        problems.append(f"state[{key}]['step'] must be a number, got {v!r}")
                else:
                    a = v.data if isinstance(v, Tensor) else v
                    shape = tuple(getattr(a, "shape", ()))
                    if shape != p.shape:
                        problems.append(
                            f"size mismatch for state[{key}][{k!r}]: shape {shape} in the "
                            f"state_dict, the parameter has shape {p.shape}"
                        )
                        continue
                    xp = backend.array_module(p.data)
                    restored[k] = Tensor.wrap(xp.array(a, dtype=p.dtype, copy=True))
            new_state[p] = restored
        if problems:
            self._raise_load_problems(problems)

        for group, options in zip(self.param_groups, new_groups):
            params_list = group["params"]
            group.clear()
            group.update(options)
            group["params"] = params_list
        self.state = defaultdict(dict, new_state)

    def _forced_options(self) -> dict:
        """Options a subclass always sets, whatever a loaded state_dict says (AdamW)."""
        return {}

    def _raise_load_problems(self, problems: list[str]) -> None:
        raise ValueError(
            f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
            + "\n  ".join(problems)
            + "\nBuild the optimizer with the same parameter groups, holding the same parameters "
            "in the same order, as the one whose state_dict was saved."
        )

    # --- printing -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _plain(value):
    """A hyper-parameter or step as a plain Python value (0-d arrays and Tensors unwrapped)."""
    if isinstance(value, Tensor):
        value = value.data
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()  # 0-d arrays and NumPy scalars
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _malformed(saved_groups, saved_state) -> list[str]:
    """What keeps a state_dict from having ``state_dict()``'s structure (from a damaged file)."""
    if not isinstance(saved_groups, (list, tuple)):
        return [f"'param_groups' is a {type(saved_groups).__name__}, not a list of dicts"]
    if not isinstance(saved_state, dict):
        return [f"'state' is a {type(saved_state).__name__}, not a dict"]
    problems = []
    for i, saved in enumerate(saved_groups):
        if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
            problems.append(f"saved parameter group {i} is not a dict with a list of 'params'")
        elif not all(_is_index(k) for k in saved["params"]):
            problems.append(
                f"saved parameter group {i} lists params {saved['params']!r}; expected "
                "parameter indices (ints)"
            )
    for key, entry in saved_state.items():
        if not _is_index(key):
            problems.append(f"state key {key!r} is not a parameter index (an int)")
        elif not isinstance(entry, dict):
            problems.append(f"state[{key!r}] is a {type(entry).__name__}, not a dict")
    return problems


def _is_index(key) -> bool:
    key = _as_index(key)
    return isinstance(key, int) and not isinstance(key, bool)


def _as_index(key):
    """A saved parameter index as an int (JSON-style checkpoints turn int keys into strings)."""
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return _plain(key)


def _iterable(v):
    return v if isinstance(v, (tuple, list)) else (v,)


def _negative(options: dict, *names: str) -> list[str]:
    """A problem for each named hyper-parameter that is not >= 0 (NaN included) or is infinite."""
    problems = [f"{n} must be >= 0, got {options[n]!r}" for n in names if not options[n] >= 0.0]
    # an infinite lr, momentum or decay turns every weight into inf or NaN at the first step
    problems += [f"{n} must be finite, got {options[n]!r}" for n in names if options[n] == math.inf]
    return problems


def _finite(options: dict, *names: str) -> list[str]:
    """A problem for each named hyper-parameter that is NaN or infinite (any finite value may
    do, as for SGD's dampening)."""
    bad = [n for n in names if not math.isfinite(options[n])]
    return [f"{n} must be finite, got {options[n]!r}" for n in bad]


def _lerp_(a, b, weight: float, tmp) -> None:
    """a <- a + weight * (b - a), in place, rounded as PyTorch's ``lerp_`` (tmp: scratch).

    PyTorch takes the form anchored at the nearer end: a + w (b - a) for w < 0.5, else
    b - (b - a)(1 - w), so both ends are exact.
    """
    xp = backend.array_module(a)
    xp.subtract(b, a, out=tmp)
    if weight < 0.5:
        tmp *= weight
        a += tmp
    else:
        tmp *= 1.0 - weight
        xp.subtract(b, tmp, out=a)
