"""``fit``, ``evaluate``, ``predict``: the one training loop of the CLI, lessons and benchmarks."""

from __future__ import annotations

import contextlib
import math
import sys
import time

import numpy as np

from .. import autograd, backend, distributed
from ..autograd import AnomalyError, Tensor, no_grad
from ..distributed import DistributedDataParallel, DistributedLoader, SyncBatchNorm
from ..nn import anomaly as _anomaly  # noqa: F401  (anomaly mode's layer names)
from ..nn.utils import clip_grad_norm_
from .callbacks import ModelCheckpoint, NaNGuard, ProgressBar
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


def _count_nonfinite(a):
    """(NaN count, inf count) when ``a`` (a Tensor or array) is floating and holds a NaN or inf."""
    a = a.data if isinstance(a, Tensor) else a
    if not backend.is_array(a) or a.dtype.kind not in "fc":
        return None
    xp = backend.array_module(a)
    if xp.isfinite(a).all():
        return None
    return int(xp.isnan(a).sum()), int(xp.isinf(a).sum())


def _check_batch(x, y) -> None:
    """Anomaly mode: NaN or inf in the batch itself is the data's fault, not an op's."""
    for what, a in (("inputs", x), ("targets", y)):
        bad = _count_nonfinite(a)
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


def _layer_of(model, param_name: str) -> str:
    """``0 (Linear(2, 16))`` for ``0.weight``: the layer that owns a parameter."""
    path = param_name.rpartition(".")[0]
    owner = dict(model.named_modules()).get(path, model)
    extra = owner.extra_repr()
    config = f"{type(owner).__name__}({extra})" if extra else type(owner).__name__
    return f"{path} ({config})" if path else f"{config}, the top-level module"


def _check_parameters(model, optimizer) -> None:
    """Anomaly mode, after the optimizer step: did it make a parameter NaN or inf?"""
    for name, p in model.named_parameters():
        bad = _count_nonfinite(p)
        if bad is None:
            continue
        where = _layer_of(model, name)
        if p.grad is None:
            cause = "it had no gradient, so something else changed it"
        elif _count_nonfinite(p.grad) is not None:
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

    Distributed (``mpiexec -n N``; docs/distributed.md): pass a
    ``distributed.DistributedDataParallel`` model and ``distributed.DistributedLoader``
    loaders. Each rank then backpropagates its shard's mean loss scaled by the shard's share of
    the global batch, the gradients are summed over the ranks before every step, the loss,
    metrics and logs are those of the global batch (the same on every rank), buffers are
    averaged at the end of each epoch, and the progress bar and checkpoints run on rank 0 only
    (they save the inner model, so a checkpoint resumes at any world size). ``loss_fn`` must
    take the mean over the batch. The progress bar's running accuracy is rank 0's shard's.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}.")
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
    main_process = distributed.is_main_process()
    if ddp is not None and not main_process:
        callbacks = [c for c in callbacks if not _rank_zero_only(c)]
    # callbacks see the plain model: checkpoints hold its keys, loadable at any world size
    trainer = Trainer(model if ddp is None else ddp.module, optimizer, epochs, history, n_batches)
    anomaly_mode = autograd.detect_anomaly if detect_anomaly else contextlib.nullcontext
    _call("on_train_begin", callbacks, trainer)

    for epoch in range(start_epoch + 1, epochs + 1):
        trainer.epoch = epoch
        model.train()
        for m in train_metrics:
            m.reset()
        if hasattr(train_loader, "set_epoch"):  # DistributedLoader: this epoch's order
            train_loader.set_epoch(epoch)
        _call("on_epoch_begin", callbacks, trainer, epoch)
        start = time.perf_counter()
        total_loss, seen, state = 0.0, 0, None
        for i, batch in enumerate(train_loader):
            trainer.batch = i
            x, y = _split(batch)
            n = len(x)
            # a rank's shard of a last batch smaller than the world may be empty: it sits out
            has_data = n > 0 or ddp is None
            try:
                with anomaly_mode():
                    if detect_anomaly:
                        _check_batch(x, y)
                    if has_data:
                        out, state = _forward(model, x, stateful, state)
                        loss = loss_fn(out, y)
                        value = loss.item()
                    if ddp is not None:  # the global batch's mean loss, the same on every rank
                        mine = np.array([value * n if has_data else 0.0, n], dtype=np.float64)
                        total, count = distributed.all_reduce(mine).tolist()
                        value, share = total / count, n / count
                    _call("on_loss", callbacks, trainer, value)
                    if trainer.stop_training:
                        if trainer.stop_reason and not math.isfinite(value):
                            hint = _NO_OP_TO_BLAME if detect_anomaly else _FIND_THE_OP
                            trainer.stop_reason = f"{trainer.stop_reason} {hint}"
                        break
                    optimizer.zero_grad()
                    if ddp is None:
                        loss.backward()
                    else:
                        if has_data:  # d(share * shard mean): summed over ranks, the global mean's
                            loss.backward(np.asarray(share))
                        ddp.sync_gradients()
                        n = int(count)
                    if clip_grad_norm is not None:
                        clip_grad_norm_(model.parameters(), clip_grad_norm)
                    optimizer.step()
                    if detect_anomaly:
                        _check_parameters(trainer.model, optimizer)
            except AnomalyError as e:
                raise _stop_on_anomaly(e, trainer, callbacks, history, n_batches) from None
            total_loss += value * n
            seen += n
            if has_data:
                for m in train_metrics:
                    m.update(out.data, y.data if isinstance(y, Tensor) else y)
            logs = {"batch_size": n, "loss": value, "running_loss": total_loss / seen}
            if train_metrics:
                logs["running_" + train_metrics[0].name] = train_metrics[0].compute()
            _call("on_batch_end", callbacks, trainer, i, logs)
        if trainer.stop_training and trainer.stop_reason and "NaN" in trainer.stop_reason:
            break
        seconds = time.perf_counter() - start
        if ddp is not None:  # replicas' batch norm statistics differ: average them
            ddp.sync_buffers()
            _sum_over_ranks([], train_metrics)
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
    if trainer.stop_reason and main_process:
        print(trainer.stop_reason, file=sys.stderr, flush=True)
    return history


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
                if len(x) == 0:  # an empty shard of a last batch smaller than the world
                    continue
                out, state = _forward(model, x, stateful, state)
                n = y.numel() if isinstance(y, Tensor) else np.size(y)
                if loss_fn is not None:
                    total += loss_fn(out, y).item() * n
                seen += n
                for m in ms:
                    m.update(out.data, y.data if isinstance(y, Tensor) else y)
    finally:
        model.train(was_training)
    if isinstance(loader, DistributedLoader):
        total, seen = _sum_over_ranks([total, seen], ms)
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
