"""``fit``, ``evaluate``, ``predict``: the one training loop of the CLI, lessons and benchmarks."""

from __future__ import annotations

import sys
import time

import numpy as np

from ..autograd import Tensor, no_grad
from .callbacks import NaNGuard, ProgressBar
from .history import History
from .metrics import make_metric

__all__ = ["fit", "evaluate", "predict", "Trainer"]


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
        total_loss, seen = 0.0, 0
        for i, batch in enumerate(train_loader):
            trainer.batch = i
            x, y = _split(batch)
            out = model(x)
            loss = loss_fn(out, y)
            value = loss.item()
            _call("on_loss", callbacks, trainer, value)
            if trainer.stop_training:
                break
            optimizer.zero_grad()
            loss.backward()
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
            val = evaluate(model, val_loader, loss_fn, metrics)
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


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",)) -> dict:
    """Loss (if ``loss_fn``) and metrics over ``loader`` in eval mode without a graph."""
    was_training = model.training
    model.eval()
    ms = [make_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    total, seen = 0.0, 0
    try:
        with no_grad():
            for batch in loader:
                x, y = _split(batch)
                out = model(x)
                n = len(x)
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
