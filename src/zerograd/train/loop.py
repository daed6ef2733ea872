"""``fit``, ``evaluate``, ``predict``: the one training loop of the CLI, lessons and benchmarks."""

from __future__ import annotations

import sys
import time

import numpy as np

from ..autograd import Tensor, no_grad
from ..nn.utils import clip_grad_norm_
from .callbacks import NaNGuard, ProgressBar
from .history import History
from .metrics import make_metric

__all__ = ["fit", "evaluate", "predict", "Trainer", "detach_state"]


class Trainer:
    """What callbacks see during ``fit``."""

    def __init__(self, model, optimizer, epochs, history, batches_per_epoch):
        self.model, self.optimizer, self.scheduler = model, optimizer, None
        self.epochs, self.history = epochs, history
        self.batches_per_epoch = batches_per_epoch
        self.epoch, self.batch = 0, 0
        self.stop_training, self.stop_reason = False, None


def _split(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise ValueError(
        "fit: each batch must be a pair (inputs, targets), as a DataLoader over a TensorDataset "
        f"or MNIST gives; got {type(batch).__name__}."
    )


def detach_state(state):
    """A recurrent state (a Tensor, a tuple of them such as LSTM's (h, c), or None) cut from the
    graph: truncated backpropagation through time stops here."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state.detach()


def _forward(model, x, stateful: bool, state):
    """(output, next state): ``model(x)``, or ``model(x, state)`` for a stateful model."""
    if not stateful:
        return model(x), None
    need = (
        f"fit(stateful=True): the model must take model(x, state) and return (output, state), "
        f"as an RNN language model does; {type(model).__name__}"
    )
    try:
        result = model(x, state)
    except TypeError as e:
        if "positional argument" in str(e):  # forward(x) called with a state
            raise TypeError(f"{need} does not take a state ({e}).") from None
        raise
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{need} returned {type(result).__name__}.")
    out, state = result
    return out, detach_state(state)


def _call(hook, callbacks, *args):
    for cb in callbacks:
        getattr(cb, hook)(*args)


def fit(
    model,
    loss_fn,
    optimizer,
    train_loader,
    epochs: int = 1,
    val_loader=None,
    metrics=("accuracy",),
    callbacks=(),
    progress: bool = True,
    start_epoch: int = 0,
    history: History | None = None,
    stateful: bool = False,
    clip_grad_norm: float | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the ``History``.

    Parameters
    ----------
    model : nn.Module
    loss_fn : callable
        ``loss_fn(output, target)``, e.g. ``nn.CrossEntropyLoss()``.
    optimizer : optim.Optimizer
    train_loader, val_loader : iterables of (inputs, targets) batches (``DataLoader``)
    metrics : names ("accuracy", "top5") or ``Metric`` objects, computed on train and validation
    callbacks : ``Callback`` objects (``ModelCheckpoint``, ``EarlyStopping``,
        ``LRSchedulerCallback`` ...). A ``NaNGuard`` is always added; a ``ProgressBar`` too when
        ``progress`` is true and none is given.
    start_epoch, history : continue a run (``--resume``): epochs ``start_epoch + 1 .. epochs``.
    stateful : truncated backpropagation through time. The model is called as
        ``model(x, state) -> (output, state)``; the state starts as None each epoch, is carried
        from batch to batch (a ``data.text.BPTTLoader`` keeps each row one stream of text) and
        detached after each forward pass, so gradients flow back through one chunk only.
    clip_grad_norm : rescale the gradients so their global 2-norm is at most this before each
        step (``nn.utils.clip_grad_norm_``), the usual guard against exploding RNN gradients.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}.")
    callbacks = list(callbacks)
    if not any(isinstance(c, NaNGuard) for c in callbacks):
        callbacks.insert(0, NaNGuard())
    if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.append(ProgressBar())
    callbacks.sort(key=lambda c: getattr(c, "order", 0))  # stable: equal orders keep theirs
    history = history if history is not None else History()
    try:
        n_batches = len(train_loader)
    except TypeError:
        n_batches = None
    trainer = Trainer(model, optimizer, epochs, history, n_batches)
    train_metrics = [make_metric(m) for m in metrics]
    _call("on_train_begin", callbacks, trainer)

    for epoch in range(start_epoch + 1, epochs + 1):
        trainer.epoch = epoch
        model.train()
        for m in train_metrics:
            m.reset()
        _call("on_epoch_begin", callbacks, trainer, epoch)
        start = time.perf_counter()
        total_loss, seen, state = 0.0, 0, None
        for i, batch in enumerate(train_loader):
            trainer.batch = i
            x, y = _split(batch)
            out, state = _forward(model, x, stateful, state)
            loss = loss_fn(out, y)
            value = loss.item()
            _call("on_loss", callbacks, trainer, value)
            if trainer.stop_training:
                break
            optimizer.zero_grad()
            loss.backward()
            if clip_grad_norm is not None:
                clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            n = len(x)
            total_loss += value * n
            seen += n
            for m in train_metrics:
                m.update(out.data, y.data if isinstance(y, Tensor) else y)
            logs = {"batch_size": n, "loss": value, "running_loss": total_loss / seen}
            if train_metrics:
                logs["running_" + train_metrics[0].name] = train_metrics[0].compute()
            _call("on_batch_end", callbacks, trainer, i, logs)
        if trainer.stop_training and trainer.stop_reason and "NaN" in trainer.stop_reason:
            break
        seconds = time.perf_counter() - start
        logs = {"epoch": epoch, "loss": total_loss / max(seen, 1)}
        logs.update({m.name: m.compute() for m in train_metrics})
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics, stateful=stateful)
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = optimizer.param_groups[0]["lr"]
        logs["seconds"] = seconds
        logs["images_per_s"] = seen / seconds if seconds > 0 else float("nan")
        history.append(logs)
        _call("on_epoch_end", callbacks, trainer, epoch, logs)
        if trainer.stop_training:
            break
    _call("on_train_end", callbacks, trainer)
    history.stop_reason = trainer.stop_reason
    if trainer.stop_reason:
        print(trainer.stop_reason, file=sys.stderr, flush=True)
    return history


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",), stateful: bool = False) -> dict:
    """Loss (if ``loss_fn``) and metrics over ``loader`` in eval mode without a graph; with
    ``stateful`` the model's state is carried from batch to batch as in ``fit``. Each batch's loss
    weighs by its number of targets, so a mean-reduced loss comes out as the mean over every
    target (a short last chunk of text counts for what it holds)."""
    was_training = model.training
    model.eval()
    ms = [make_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    total, seen, state = 0.0, 0, None
    try:
        with no_grad():
            for batch in loader:
                x, y = _split(batch)
                out, state = _forward(model, x, stateful, state)
                n = y.numel() if isinstance(y, Tensor) else np.size(y)
                if loss_fn is not None:
                    total += loss_fn(out, y).item() * n
                seen += n
                for m in ms:
                    m.update(out.data, y.data if isinstance(y, Tensor) else y)
    finally:
        model.train(was_training)
    result = {"loss": total / max(seen, 1)} if loss_fn is not None else {}
    result.update({m.name: m.compute() for m in ms})
    return result


def predict(model, inputs, batch_size: int = 256) -> Tensor:
    """The model's outputs for ``inputs`` (an array or Tensor, first dim = examples), in eval
    mode without a graph, computed ``batch_size`` rows at a time."""
    data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outs = [
                model(Tensor(data[i : i + batch_size])).data
                for i in range(0, len(data), batch_size)
            ]
    finally:
        model.train(was_training)
    return Tensor(np.concatenate(outs) if outs else np.empty((0,)))
