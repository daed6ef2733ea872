"""``fit``, ``evaluate``, ``predict``: the one training loop of the run layer, lessons and
benchmarks. ``fit`` is a loop over epochs and batches around ``step.train_step``; the NaN guard,
anomaly mode, truncated BPTT, clipping and the distributed path wrap or hook into the step."""

from __future__ import annotations

import sys
import time

import numpy as np

from .. import autograd, backend, distributed
from ..autograd import AnomalyError, Tensor, no_grad
from ..distributed import DistributedDataParallel, DistributedLoader, SyncBatchNorm
from ..nn import anomaly as _anomaly  # noqa: F401  (anomaly mode's layer names)
from ..nn.utils import clip_grad_norm_, evaluating
from .callbacks import ModelCheckpoint, NaNGuard, ProgressBar
from .history import History
from .metrics import make_metric
from .step import (
    GlobalBatch,
    NonFiniteLoss,
    Stateful,
    StopTraining,
    check_batch,
    check_parameters,
    detach_state,
    train_step,
)

__all__ = ["fit", "evaluate", "predict", "Trainer", "detach_state", "evaluating"]


class Trainer:
    """What callbacks see during ``fit``: ``model``, ``optimizer``, ``scheduler``, ``epochs``,
    ``history``, ``batches_per_epoch``, ``epoch``, ``batch``; a callback ends training after this
    epoch by setting ``stop_training = True`` (and ``stop_reason``), or at once by raising
    ``StopTraining`` from ``on_loss``."""

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


def _rank_zero_only(callback) -> bool:
    """Whether a callback only prints or writes, so runs on rank 0 alone when distributed: the
    progress bar and checkpoints, or any callback with ``rank_zero_only = True``. The others
    (NaN guard, early stopping, LR schedules) run on every rank and, seeing the same logs,
    decide the same."""
    default = isinstance(callback, (ProgressBar, ModelCheckpoint))
    return bool(getattr(callback, "rank_zero_only", default))


def _check_distributed(ddp, train_loader, metrics, stateful: bool) -> None:
    """Fail before training, on every rank alike, where the distributed path can't follow."""
    if ddp is None:
        if isinstance(train_loader, DistributedLoader) and train_loader.num_replicas > 1:
            raise ValueError(
                "fit: the train_loader is a DistributedLoader (one shard of each batch per rank) "
                "but the model is not wrapped in DistributedDataParallel, so the ranks would "
                "train apart. Pass DistributedDataParallel(model)."
            )
        return
    if stateful:
        raise ValueError("fit: stateful=True is not supported with DistributedDataParallel.")
    for m in metrics:
        if not (hasattr(m, "correct") and hasattr(m, "count")):
            raise TypeError(
                f"fit: distributed training sums each metric's correct and count over the ranks; "
                f"{type(m).__name__} keeps no such counts."
            )
    syncs = any(isinstance(m, SyncBatchNorm) for m in ddp.modules())
    if syncs and getattr(train_loader, "has_empty_shards", False):
        raise ValueError(
            f"fit: the last batch of {train_loader!r} has fewer samples than there are ranks, "
            "and SyncBatchNorm needs every rank in every step. Use drop_last=True or a dataset "
            "size that leaves a bigger last batch."
        )


def _sum_over_ranks(totals, metrics) -> list:
    """``totals`` summed over the ranks; each metric's correct and count summed in place."""
    values = [*totals, *(v for m in metrics for v in (m.correct, m.count))]
    values = distributed.all_reduce(np.array(values, dtype=np.float64)).tolist()
    k = len(totals)
    for i, m in enumerate(metrics):
        m.correct, m.count = round(values[k + 2 * i]), round(values[k + 2 * i + 1])
    return values[:k]


_FIND_THE_OP = (
    "To find the op and layer that first made a NaN or inf, run again with "
    "fit(..., detect_anomaly=True) (zerograd train --detect-anomaly)."
)
_NO_OP_TO_BLAME = (
    "Anomaly mode saw no op turn finite values into NaN or inf, so they came in already "
    "non-finite: through a parameter or buffer changed outside fit's optimizer step, or an "
    "input that is not the batch."
)


def _stop_on_anomaly(e: AnomalyError, trainer, callbacks, history, n_batches) -> AnomalyError:
    """The error again, saying when; training ends as after any stop (callbacks' end hooks)."""
    i = trainer.batch
    of = f" of {n_batches}" if n_batches is not None else ""
    message = f"fit: stopped at epoch {trainer.epoch}, batch {i + 1}{of} (batch index {i}): {e}"
    trainer.stop_training, trainer.stop_reason = True, message
    _call("on_train_end", callbacks, trainer)
    history.stop_reason = message
    err = AnomalyError(message, e.op, e.phase, e.where, e.shape, e.nan, e.inf)
    err.epoch, err.batch_index, err.history = trainer.epoch, i, history
    return err.with_traceback(e.__traceback__)  # the traceback still ends at the op


def _make_step(trainer, model, loss_fn, callbacks, ddp, clip_grad_norm, detect_anomaly):
    """``step(x, y) -> (output or None, loss value, batch size)``: ``train_step`` with the hooks
    and wrappers this run needs, each added only when asked for."""
    optimizer = trainer.optimizer
    global_batch = GlobalBatch() if ddp is not None else None

    def on_loss(loss, value, n):
        if global_batch is not None:  # the global batch's mean loss, the same on every rank
            value, share = global_batch.reduce(value, n)
            loss = loss * share if loss is not None else None
        _call("on_loss", callbacks, trainer, value)
        if trainer.stop_training:  # a callback asked to stop before this update
            raise StopTraining(trainer.stop_reason or "a callback stopped training")
        return loss, value

    def before_update():
        if ddp is not None:
            ddp.sync_gradients()
        if clip_grad_norm is not None:
            clip_grad_norm_(trainer.model.parameters(), clip_grad_norm)

    def step(x, y):
        n = len(x)
        if global_batch is not None and n == 0:  # an empty shard of a last batch: sit it out
            value = global_batch.empty_shard(
                optimizer, lambda loss, v: on_loss(loss, v, 0), before_update
            )
            return None, value, global_batch.n
        out, value = train_step(
            model, loss_fn, optimizer, x, y, lambda loss, v: on_loss(loss, v, n), before_update
        )
        return out, value, (global_batch.n if global_batch is not None else n)

    if not detect_anomaly:
        return step

    def checked_step(x, y):
        with autograd.detect_anomaly():
            check_batch(x, y)
            result = step(x, y)
            check_parameters(trainer.model, optimizer)
        return result

    return checked_step


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
    detect_anomaly: bool = False,
    nan_guard: bool = True,
    report_stop: bool = True,
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
        ``LRSchedulerCallback`` ...). A ``NaNGuard`` is added unless ``nan_guard=False``; a
        ``ProgressBar`` too when ``progress`` is true and none is given.
    start_epoch, history : continue a run (``--resume``): epochs ``start_epoch + 1 .. epochs``.
    stateful : truncated backpropagation through time. The model is called as
        ``model(x, state) -> (output, state)``; the state starts as None each epoch, is carried
        from batch to batch (a ``data.text.BPTTLoader`` keeps each row one stream of text) and
        detached after each forward pass, so gradients flow back through one chunk only.
    clip_grad_norm : rescale the gradients so their global 2-norm is at most this before each
        step (``nn.utils.clip_grad_norm_``), the usual guard against exploding RNN gradients.
    detect_anomaly : run every training step in anomaly mode (``autograd.detect_anomaly``): the
        first op whose forward output or backward gradient turns NaN or inf from finite inputs
        raises ``AnomalyError`` naming the op, the layer, the epoch and the batch; so do NaN or
        inf in a batch's inputs or targets and a parameter an optimizer step made non-finite.
        Training stops as after any stop (``on_train_end`` runs; the epoch is not checkpointed)
        and the error carries ``epoch``, ``batch_index`` and ``history``. Steps take 1.1-1.6x as
        long (every array is scanned): use it to find a problem, then train without it.
    nan_guard : stop at the first NaN or inf loss, before its gradients reach the weights, with a
        message naming the epoch and batch (a ``NaNGuard``; the default, so a diverged run does
        not train on for epochs). ``False`` trains on, as PyTorch does.
    report_stop : print the reason when training stops early (on stderr, rank 0); the run layer
        turns it into its own message instead.

    Returns
    -------
    History
        One record per finished epoch. ``history.stop`` is the ``StopTraining`` (e.g. the NaN
        guard's ``NonFiniteLoss``) that ended training early, else None; ``history.stop_reason``
        its message.

    Distributed (``mpiexec -n N``; docs/distributed.md): pass a
    ``distributed.DistributedDataParallel`` model and ``distributed.DistributedLoader``
    loaders. Each rank then backpropagates its shard's mean loss scaled by the shard's share of
    the global batch, the gradients are summed over the ranks before every step, the loss,
    metrics and logs are those of the global batch (the same on every rank), buffers are
    averaged at the end of each epoch, and the progress bar and checkpoints run on rank 0 only
    (they save the inner model, so a checkpoint resumes at any world size). ``loss_fn`` must
    take the mean over the batch. The progress bar's running accuracy is rank 0's shard's.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}.")
    backend.tune_allocator_for_training()  # freed arrays stay for the next step (backend.py)
    callbacks = list(callbacks)
    if nan_guard and not any(isinstance(c, NaNGuard) for c in callbacks):
        callbacks.insert(0, NaNGuard())
    if progress and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.append(ProgressBar())
    callbacks.sort(key=lambda c: getattr(c, "order", 0))  # stable: equal orders keep theirs
    history = history if history is not None else History()
    try:
        n_batches = len(train_loader)
    except TypeError:
        n_batches = None
    train_metrics = [make_metric(m) for m in metrics]
    ddp = model if isinstance(model, DistributedDataParallel) else None
    _check_distributed(ddp, train_loader, train_metrics, stateful)
    if ddp is not None and not distributed.is_main_process():
        callbacks = [c for c in callbacks if not _rank_zero_only(c)]
    # callbacks see the plain model: checkpoints hold its keys, loadable at any world size
    trainer = Trainer(model if ddp is None else ddp.module, optimizer, epochs, history, n_batches)
    trainer.callbacks = callbacks
    net = Stateful(model) if stateful else model
    step = _make_step(trainer, net, loss_fn, callbacks, ddp, clip_grad_norm, detect_anomaly)
    _call("on_train_begin", callbacks, trainer)
    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            trainer.epoch = epoch
            logs = _train_epoch(trainer, model, net, step, train_loader, train_metrics, callbacks)
            if val_loader is not None:
                val = evaluate(model, val_loader, loss_fn, metrics, stateful=stateful)
                logs.update({f"val_{k}": v for k, v in val.items()})
            history.append(logs)
            _call("on_epoch_end", callbacks, trainer, epoch, logs)
            if trainer.stop_training:
                break
    except StopTraining as stop:  # mid-epoch: that epoch is neither logged nor checkpointed
        if isinstance(stop, NonFiniteLoss):
            hint = _NO_OP_TO_BLAME if detect_anomaly else _FIND_THE_OP
            stop.args = (f"{stop} {hint}",)
        history.stop, trainer.stop_training, trainer.stop_reason = stop, True, str(stop)
    except AnomalyError as e:
        raise _stop_on_anomaly(e, trainer, callbacks, history, n_batches) from None
    _call("on_train_end", callbacks, trainer)
    history.stop_reason = trainer.stop_reason
    if report_stop and trainer.stop_reason and distributed.is_main_process():
        print(trainer.stop_reason, file=sys.stderr, flush=True)
    return history


def _train_epoch(trainer, model, net, step, train_loader, metrics, callbacks) -> dict:
    """One pass over ``train_loader``; the epoch's logs (loss, metrics, lr, seconds, images/s)."""
    epoch = trainer.epoch
    model.train()
    for m in metrics:
        m.reset()
    if hasattr(train_loader, "set_epoch"):  # DistributedLoader: this epoch's order
        train_loader.set_epoch(epoch)
    if isinstance(net, Stateful):  # each epoch reads the text from its start
        net.reset()
    _call("on_epoch_begin", callbacks, trainer, epoch)
    start = time.perf_counter()
    total_loss, seen = 0.0, 0
    for i, batch in enumerate(train_loader):
        trainer.batch = i
        x, y = _split(batch)
        out, value, n = step(x, y)
        total_loss += value * n
        seen += n
        if out is not None:
            for m in metrics:
                m.update(out.data, y.data if isinstance(y, Tensor) else y)
        logs = {"batch_size": n, "loss": value, "running_loss": total_loss / seen}
        if metrics:
            logs["running_" + metrics[0].name] = metrics[0].compute()
        _call("on_batch_end", callbacks, trainer, i, logs)
    seconds = time.perf_counter() - start
    if isinstance(model, DistributedDataParallel):  # replicas' batch norm statistics differ
        model.sync_buffers()
        _sum_over_ranks([], metrics)
    logs = {"epoch": epoch, "loss": total_loss / max(seen, 1)}
    logs.update({m.name: m.compute() for m in metrics})
    logs["lr"] = trainer.optimizer.param_groups[0]["lr"]
    logs["seconds"] = seconds
    logs["images_per_s"] = seen / seconds if seconds > 0 else float("nan")
    return logs


def evaluate(model, loader, loss_fn=None, metrics=("accuracy",), stateful: bool = False) -> dict:
    """Loss (if ``loss_fn``) and metrics over ``loader`` in eval mode without a graph; with
    ``stateful`` the model's state is carried from batch to batch as in ``fit``. Each batch's loss
    weighs by its number of targets, so a mean-reduced loss comes out as the mean over every
    target (a short last chunk of text counts for what it holds).

    Distributed: a ``DistributedDataParallel`` model first averages its buffers (batch norm's
    running statistics) over the ranks; over a ``DistributedLoader`` each rank evaluates its
    shards and the sums are combined, so every rank returns the whole set's numbers. Call it on
    every rank."""
    if isinstance(model, DistributedDataParallel):
        model.sync_buffers()
    ms = [make_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    total, seen = 0.0, 0
    net = Stateful(model) if stateful else model
    with evaluating(model), no_grad():
        for batch in loader:
            x, y = _split(batch)
            if len(x) == 0:  # an empty shard of a last batch smaller than the world
                continue
            out = net(x)
            n = y.numel() if isinstance(y, Tensor) else np.size(y)
            if loss_fn is not None:
                total += loss_fn(out, y).item() * n
            seen += n
            for m in ms:
                m.update(out.data, y.data if isinstance(y, Tensor) else y)
    if isinstance(loader, DistributedLoader):
        total, seen = _sum_over_ranks([total, seen], ms)
    result = {"loss": total / max(seen, 1)} if loss_fn is not None else {}
    result.update({m.name: m.compute() for m in ms})
    return result


def predict(model, inputs, batch_size: int = 256) -> Tensor:
    """The model's outputs for ``inputs`` (an array or Tensor, first dim = examples), in eval
    mode without a graph, computed ``batch_size`` rows at a time."""
    data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
    with evaluating(model), no_grad():
        outs = [
            model(Tensor(data[i : i + batch_size])).data for i in range(0, len(data), batch_size)
        ]
    return Tensor(np.concatenate(outs) if outs else np.empty((0,)))
