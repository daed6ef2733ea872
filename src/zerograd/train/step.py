"""One training step, and what wraps it: the NaN guard's typed stop, truncated BPTT, anomaly mode,
data parallelism.

``train_step`` is the course's picture in code: forward, loss, backward, update. Everything else
``fit`` may need hooks in at two points (``on_loss``: the loss is known, no gradient yet;
``before_update``: gradients are known, the weights not yet changed) or wraps the whole step
(anomaly mode, an empty shard of a distributed batch), each in its own few lines below.
"""

from __future__ import annotations

import numpy as np

from .. import backend, distributed
from ..autograd import AnomalyError, Tensor

__all__ = ["train_step", "StopTraining", "NonFiniteLoss", "detach_state", "Stateful"]


class StopTraining(Exception):
    """Raised inside a step (by an ``on_loss`` hook) to end training at once, before this step's
    update. ``fit`` catches it, runs the callbacks' ``on_train_end`` and returns the ``History``
    with ``history.stop`` set to it; the epoch it happened in is not logged or checkpointed."""


class NonFiniteLoss(StopTraining):
    """The NaN guard's stop: the loss became NaN or inf (``value``) at ``epoch``, ``batch``."""

    def __init__(self, message: str, value: float, epoch: int, batch: int):
        super().__init__(message)
        self.value, self.epoch, self.batch = value, epoch, batch


def train_step(model, loss_fn, optimizer, x, y, on_loss=None, before_update=None):
    """One step of gradient descent on the batch ``(x, y)``; returns ``(output, loss value)``.

    ``on_loss(loss, value) -> (loss, value)`` sees the loss before any gradient exists (the NaN
    guard raises ``StopTraining`` there; the distributed path hands back the shard's loss scaled by
    its share and the global batch's mean); ``before_update()`` runs between backward and the
    update (all-reduce, clipping).
    """
    out = model(x)  # forward
    loss = loss_fn(out, y)  # loss
    value = loss.item()
    if on_loss is not None:
        loss, value = on_loss(loss, value)
    optimizer.zero_grad()
    loss.backward()  # backward: the gradients of the loss
    if before_update is not None:
        before_update()
    optimizer.step()  # update: w <- w - lr * grad (or the optimizer's rule)
    return out, value


def detach_state(state):
    """A recurrent state (a Tensor, a tuple of them such as LSTM's (h, c), or None) cut from the
    graph: truncated backpropagation through time stops here."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state.detach()


class Stateful:
    """Truncated BPTT: ``model(x, state) -> (output, state)`` called as ``wrapper(x) -> output``,
    the state carried from batch to batch and detached, so gradients flow back one chunk only.
    ``reset()`` starts a new stream (each epoch)."""

    def __init__(self, model):
        self.model, self.state = model, None

    def reset(self) -> None:
        self.state = None

    def __call__(self, x):
        need = (
            f"fit(stateful=True): the model must take model(x, state) and return (output, state), "
            f"as an RNN language model does; {type(self.model).__name__}"
        )
        try:
            result = self.model(x, self.state)
        except TypeError as e:
            if "positional argument" in str(e):  # forward(x) called with a state
                raise TypeError(f"{need} does not take a state ({e}).") from None
            raise
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"{need} returned {type(result).__name__}.")
        out, state = result
        self.state = detach_state(state)
        return out


# --- anomaly mode: checks around the step ----------------------------------------------------


def count_nonfinite(a):
    """(NaN count, inf count) when ``a`` (a Tensor or array) is floating and holds a NaN or inf."""
    a = a.data if isinstance(a, Tensor) else a
    if not backend.is_array(a) or a.dtype.kind not in "fc":
        return None
    xp = backend.array_module(a)
    if xp.isfinite(a).all():
        return None
    return int(xp.isnan(a).sum()), int(xp.isinf(a).sum())


def check_batch(x, y) -> None:
    """Anomaly mode: NaN or inf in the batch itself is the data's fault, not an op's."""
    for what, a in (("inputs", x), ("targets", y)):
        bad = count_nonfinite(a)
        if bad is not None:
            raise AnomalyError(
                f"anomaly in the data: the batch's {what} (shape {tuple(a.shape)}) hold {bad[0]} "
                f"NaN and {bad[1]} inf values before the model ran. Check the data set and its "
                "transforms (a division by a zero standard deviation when normalising?).",
                phase="data",
                shape=tuple(a.shape),
                nan=bad[0],
                inf=bad[1],
            )


def layer_of(model, param_name: str) -> str:
    """``0 (Linear(2, 16))`` for ``0.weight``: the layer that owns a parameter."""
    path = param_name.rpartition(".")[0]
    owner = dict(model.named_modules()).get(path, model)
    extra = owner.extra_repr()
    config = f"{type(owner).__name__}({extra})" if extra else type(owner).__name__
    return f"{path} ({config})" if path else f"{config}, the top-level module"


def check_parameters(model, optimizer) -> None:
    """Anomaly mode, after the optimizer step: did it make a parameter NaN or inf?"""
    for name, p in model.named_parameters():
        bad = count_nonfinite(p)
        if bad is None:
            continue
        where = layer_of(model, name)
        if p.grad is None:
            cause = "it had no gradient, so something else changed it"
        elif count_nonfinite(p.grad) is not None:
            cause = "its gradient already held NaN or inf (summed past the float range?)"
        else:
            cause = (
                f"its gradient was finite (largest |grad| {float(abs(p.grad.data).max()):.4g}), "
                f"so the update overflowed: lr={optimizer.param_groups[0]['lr']} is too large "
                "for these gradients. Lower the learning rate, or clip gradients "
                "(fit(..., clip_grad_norm=1.0))"
            )
        raise AnomalyError(
            f"anomaly in the optimizer step ({type(optimizer).__name__}): parameter {name!r} of "
            f"layer {where} (shape {p.shape}) holds {bad[0]} NaN and {bad[1]} inf values after "
            f"the update; {cause}.",
            op=type(optimizer).__name__,
            phase="optimizer step",
            where=where,
            shape=p.shape,
            nan=bad[0],
            inf=bad[1],
        )


# --- data parallelism: the global batch's loss and gradients ---------------------------------


class GlobalBatch:
    """The distributed step's hooks: each rank backpropagates its shard's mean loss scaled by the
    shard's share of the global batch, so the gradients summed over the ranks (``before_update``)
    are the global mean's; the loss every rank sees and logs is the global batch's mean."""

    def __init__(self):
        self.n = 0  # the global batch's size, after on_loss

    def reduce(self, value: float, n: int) -> tuple[float, float]:
        """(global mean loss, this shard's share) from every rank's (mean loss, shard size)."""
        mine = np.array([value * n if n else 0.0, n], dtype=np.float64)
        total, count = distributed.all_reduce(mine).tolist()
        self.n = int(count)
        return total / count, n / count

    @staticmethod
    def empty_shard(optimizer, on_loss, before_update) -> float:
        """A rank whose shard of a small last batch is empty sits the step out but still takes
        part in every all-reduce and the update, so the weights stay equal on every rank."""
        _, value = on_loss(None, 0.0)  # the loss's all-reduce
        optimizer.zero_grad()
        before_update()  # the gradients' all-reduce, clipping
        optimizer.step()
        return value
