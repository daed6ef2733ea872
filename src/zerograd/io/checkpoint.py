"""Checkpoints: everything needed to resume training, in one safetensors file, written atomically.

Layout (format version 1)::

    tensors        model.<key>                       the model's state_dict
                   optimizer.state.<index>.<name>    the optimizer's tensor state (exp_avg ...)
    __metadata__   format          "zerograd.checkpoint"
                   format_version  "1"
                   epoch, extra    JSON
                   rng_state       JSON: zerograd.get_rng_state() (its big ints are exact in JSON)
                   optimizer       JSON: {"state": {index: {name: value}}, "param_groups": [...]},
                                   a tensor shown as {"__tensor__": "optimizer.state.0.exp_avg"}
                   scheduler       JSON: scheduler.state_dict()

Tuples are kept as ``{"__tuple__": [...]}`` so that, e.g., Adam's ``betas`` come back as a tuple.
Everything is plain data: loading runs no code, and the file is readable by any safetensors tool.
"""

from __future__ import annotations

import copy
import json
import os
from collections import OrderedDict
from collections.abc import Mapping

import numpy

from .. import backend
from ..autograd import Tensor
from .weights import _CHECKPOINT_FORMAT, _read, save

__all__ = ["save_checkpoint", "load_checkpoint"]

FORMAT_VERSION = 1
_TUPLE, _TENSOR = "__tuple__", "__tensor__"
_MODEL, _OPTIM_STATE = "model.", "optimizer.state."


def save_checkpoint(
    path, model, optimizer=None, scheduler=None, epoch: int | None = None, extra=None
) -> None:
    """Write model, optimizer, scheduler, epoch, ``extra`` and the RNG state to one file.

    The file is replaced atomically: a crash mid-save leaves the previous checkpoint intact.

    Parameters
    ----------
    path : str or os.PathLike
    model : Module
        Saved through ``model.state_dict()``.
    optimizer : optional
        Anything with ``state_dict()`` returning ``{"state": {int: {str: Tensor or number}},
        "param_groups": [dict of plain values]}`` (``zerograd.optim`` optimizers).
    scheduler : optional
        Anything with ``state_dict()`` returning a dict of plain values.
    epoch : int, optional
    extra : dict, optional
        Your own JSON-able values (best accuracy, config ...).

    Raises
    ------
    TypeError
        If a value cannot be stored (the message says where it is), or ``epoch``/``extra`` have
        the wrong type.

    Examples
    --------
    >>> import os, tempfile
    >>> import zerograd as zg
    >>> from zerograd import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> net = nn.Linear(2, 1)
    >>> _ = zg.manual_seed(0)
    >>> save_checkpoint(path, net, epoch=3, extra={"best_acc": 0.91})
    >>> a = zg.rand(2).tolist()
    >>> load_checkpoint(path, nn.Linear(2, 1))
    {'epoch': 3, 'extra': {'best_acc': 0.91}}
    >>> zg.rand(2).tolist() == a  # the RNG resumes where it was saved
    True
    """
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
        raise TypeError(f"save_checkpoint: epoch must be an int or None, got {epoch!r}.")
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(
            f"save_checkpoint: extra must be a dict of JSON-able values or None, got "
            f"{type(extra).__name__}."
        )
    tensors = OrderedDict((_MODEL + k, v) for k, v in model.state_dict().items())
    metadata = {
        "format": _CHECKPOINT_FORMAT,
        "format_version": str(FORMAT_VERSION),
        "epoch": _dumps(epoch, "epoch"),
        "extra": _dumps(extra, "extra"),
        "rng_state": _dumps(backend.get_rng_state(), "the RNG state"),
    }
    if optimizer is not None:
        optimizer_json = _optimizer_json(optimizer, tensors)
        metadata["optimizer"] = _dumps(optimizer_json, "optimizer.state_dict()")
    if scheduler is not None:
        metadata["scheduler"] = _dumps(scheduler.state_dict(), "scheduler.state_dict()")
    save(tensors, path, metadata=metadata)


def _optimizer_json(optimizer, tensors: OrderedDict) -> dict:
    """The optimizer's state_dict with tensors moved into ``tensors`` and referenced by name."""
    sd = optimizer.state_dict()
    if (
        not isinstance(sd, Mapping)
        or not isinstance(sd.get("state"), Mapping)
        or not isinstance(sd.get("param_groups"), list)
    ):
        raise TypeError(
            f"save_checkpoint: {type(optimizer).__name__}.state_dict() must return "
            '{"state": {int: {str: Tensor or number}}, "param_groups": [dict, ...]}, got '
            f"{type(sd).__name__} with keys {list(sd) if isinstance(sd, Mapping) else None}."
        )
    state = {}
    for index, per_param in sd["state"].items():
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(
                f"save_checkpoint: optimizer state keys must be parameter indices (int), "
                f"got {index!r}."
            )
        entry = {}
        for name, value in per_param.items():
            if isinstance(value, (Tensor, numpy.ndarray)):
                key = f"{_OPTIM_STATE}{index}.{name}"
                tensors[key] = value
                entry[name] = _TensorRef(key)
            else:
                entry[name] = value
        state[str(index)] = entry
    return {"state": state, "param_groups": sd["param_groups"]}


class _TensorRef(str):
    """Marks a tensor's name inside the optimizer JSON; written as ``{"__tensor__": name}``."""


def _dumps(value, where: str) -> str:
    return json.dumps(_plain(value, where))


def _plain(v, where: str):
    """``v`` as JSON-ready data; tuples tagged so they come back as tuples."""
    if isinstance(v, _TensorRef):
        return {_TENSOR: str(v)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, numpy.generic) and v.dtype.kind in "biuf":
        return v.item()
    if isinstance(v, tuple):
        return {_TUPLE: [_plain(x, f"{where}[{i}]") for i, x in enumerate(v)]}
    if isinstance(v, list):
        return [_plain(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, Mapping):
        for k in v:
            if not isinstance(k, str):
                raise TypeError(
                    f"save_checkpoint: {where} has the key {k!r} ({type(k).__name__}); JSON "
                    "keys must be str."
                )
        if set(v) in ({_TUPLE}, {_TENSOR}):
            raise ValueError(f"save_checkpoint: {where} uses the reserved key {next(iter(v))!r}.")
        return {k: _plain(x, f"{where}[{k!r}]") for k, x in v.items()}
    raise TypeError(
        f"save_checkpoint: {where} is a {type(v).__name__}, which cannot be stored as JSON; use "
        "numbers, strings, lists and dicts (tensors belong in the model or optimizer state)."
    )


# ---------------------------------------------------------------------------------------------


def load_checkpoint(path, model, optimizer=None, scheduler=None) -> dict:
    """Restore a checkpoint from ``save_checkpoint`` into ``model`` (and optimizer, scheduler).

    The model is loaded strictly (every key, every shape), then the optimizer and scheduler, then
    the library's RNG state, so training resumes bit for bit. If any step fails, the model and
    optimizer are put back as they were and the RNG is not touched.

    Parameters
    ----------
    path : str or os.PathLike
    model : Module
    optimizer, scheduler : optional
        Restored with their ``load_state_dict``; the checkpoint must hold their state.

    Returns
    -------
    dict
        ``{"epoch": ..., "extra": ...}`` as they were saved.

    Raises
    ------
    ValueError
        If the file is not valid safetensors, not a zerograd checkpoint, has a format version this
        zerograd does not know, or lacks the optimizer or scheduler state asked for; also whatever
        the optimizer's or scheduler's ``load_state_dict`` raises.
    RuntimeError
        From ``model.load_state_dict`` if the architecture differs.

    Examples
    --------
    >>> import os, tempfile
    >>> from zerograd import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> save_checkpoint(path, nn.Linear(2, 1), epoch=1)
    >>> load_checkpoint(path, nn.Linear(2, 1))["epoch"]
    1
    """
    tensors, metadata = _read(path)
    where = f"load_checkpoint: {os.fspath(path)!r}"
    fmt = metadata.get("format")
    if fmt != _CHECKPOINT_FORMAT:
        raise ValueError(
            f"{where} is not a zerograd checkpoint: its metadata has format={fmt!r}, expected "
            f"{_CHECKPOINT_FORMAT!r}. For plain weights use zerograd.io.load or load_into."
        )
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ValueError(
            f"{where} has checkpoint format version {version!r}, but this zerograd reads version "
            f"{FORMAT_VERSION} only; load it with the zerograd that wrote it (or a newer one)."
        )
    for asked, field in ((optimizer, "optimizer"), (scheduler, "scheduler")):
        if asked is not None and field not in metadata:
            raise ValueError(
                f"{where} holds no {field} state (it was saved without one); pass {field}=None."
            )
    used = set()
    fields = {}
    for field in ("epoch", "extra", "rng_state", "optimizer", "scheduler"):
        if field in metadata:
            fields[field] = _loads(metadata[field], tensors, used, f"{where}: {field}")
        elif field not in ("optimizer", "scheduler"):
            raise ValueError(f"{where}: the metadata lacks {field!r}; the file is damaged.")
    unknown = [k for k in tensors if not k.startswith(_MODEL) and k not in used]
    if unknown:
        raise ValueError(
            f"{where}: tensors {unknown} belong to neither the model nor the optimizer; expected "
            f"names starting with {_MODEL!r} or referenced by the optimizer state."
        )
    _check_rng_state(fields["rng_state"], where)
    if optimizer is not None:
        optimizer_sd = _optimizer_state_dict(fields["optimizer"], where)

    # each load_state_dict checks everything before changing anything; if a later one fails,
    # the earlier ones are put back, so a failed load leaves the whole training state as it was
    undo = []
    try:
        model_sd = model.state_dict()
        undo.append((model, OrderedDict((k, v.data.copy()) for k, v in model_sd.items())))
        model.load_state_dict(
            OrderedDict((k[len(_MODEL) :], v) for k, v in tensors.items() if k.startswith(_MODEL)),
            strict=True,
        )
        if optimizer is not None:
            undo.append((optimizer, _copy_optimizer_state(optimizer.state_dict())))
            optimizer.load_state_dict(optimizer_sd)
        if scheduler is not None:
            scheduler.load_state_dict(fields["scheduler"])
    except BaseException as e:
        for owner, previous in reversed(undo):
            owner.load_state_dict(previous)
            _drop_new_group_keys(owner, previous)
        if type(e) in (ValueError, TypeError, RuntimeError):  # name the file, keep the type
            raise type(e)(f"{where} does not fit: {e}") from None
        raise
    backend.set_rng_state(fields["rng_state"])
    return {"epoch": fields["epoch"], "extra": fields["extra"]}


def _drop_new_group_keys(owner, previous) -> None:
    """Undo what ``load_state_dict`` merges rather than replaces: the keys a loaded parameter
    group added (PyTorch's rule keeps unknown keys such as ``initial_lr``)."""
    groups = getattr(owner, "param_groups", None)
    if not isinstance(groups, list) or not isinstance(previous, Mapping):
        return
    for group, saved in zip(groups, previous.get("param_groups", [])):
        for key in set(group) - set(saved) - {"params"}:
            del group[key]


def _copy_optimizer_state(sd) -> dict:
    """A snapshot of ``optimizer.state_dict()`` (whose tensors are the live ones)."""
    return {
        "state": {
            i: {k: Tensor(v.data.copy()) if isinstance(v, Tensor) else copy.deepcopy(v)
                for k, v in s.items()}
            for i, s in sd["state"].items()
        },
        "param_groups": copy.deepcopy(sd["param_groups"]),
    }  # fmt: skip


def _loads(text: str, tensors: Mapping, used: set, where: str):
    """Parse one metadata field; ``{"__tensor__": key}`` becomes the tensor, tuples tuples."""

    def hook(d):
        if set(d) == {_TUPLE} and isinstance(d[_TUPLE], list):
            return tuple(d[_TUPLE])
        if set(d) == {_TENSOR}:
            key = d[_TENSOR]
            if key not in tensors:
                raise _BadField(f"it refers to a tensor {key!r} that the file does not hold")
            used.add(key)
            return tensors[key]
        return d

    try:
        return json.loads(text, object_hook=hook)
    except _BadField as e:
        raise ValueError(f"{where}: {e}; the file is damaged.") from None
    except (ValueError, RecursionError, TypeError) as e:
        raise ValueError(f"{where} is not valid JSON ({e}); the file is damaged.") from None


class _BadField(Exception):
    pass


def _optimizer_state_dict(data, where: str) -> dict:
    """The JSON form back to ``{"state": {int: {...}}, "param_groups": [...]}``."""
    try:
        state = {int(index): dict(per_param) for index, per_param in data["state"].items()}
        param_groups = list(data["param_groups"])
    except (TypeError, KeyError, ValueError, AttributeError) as e:
        raise ValueError(f"{where}: the optimizer state is malformed ({e!r}).") from None
    return {"state": state, "param_groups": param_groups}


def _check_rng_state(state, where: str) -> None:
    """Try the state on a spare bit generator, so a bad one fails before anything is restored."""
    spare = type(backend.generator().bit_generator)()
    try:
        spare.state = state
    except Exception as e:  # NumPy raises TypeError, KeyError, OverflowError ... for bad states
        raise ValueError(
            f"{where}: the saved RNG state cannot be restored ({type(e).__name__}: {e}); the file "
            "is damaged."
        ) from None
