"""Callbacks for ``fit``: progress, checkpoints, early stopping, LR schedules, the NaN guard.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_loss(trainer, value)`` (before backward), ``on_batch_end(trainer, batch, logs)``,
``on_epoch_end(trainer, epoch, logs)`` and ``on_train_end(trainer)``. ``trainer`` carries
``model``, ``optimizer``, ``scheduler``, ``history``, ``epoch``, ``epochs``, ``stop_training`` and
``stop_reason``. Callbacks run in ascending ``order`` (0 by default); checkpoints run last
(order 100) so they save the state after every other callback's epoch-end step (the LR schedule's
included), which is what a resumed run must start from.
"""

from __future__ import annotations

import math
import os
import sys
import time

from .step import NonFiniteLoss

__all__ = [
    "Callback",
    "ProgressBar",
    "ModelCheckpoint",
    "EarlyStopping",
    "LRSchedulerCallback",
    "NaNGuard",
    "MetricsLogger",
]


class Callback:
    """Base class: every hook does nothing."""

    order = 0

    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None: ...

    def on_loss(self, trainer, value: float) -> None: ...

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, trainer) -> None: ...


def _format(logs: dict) -> str:
    parts = []
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in logs:
            parts.append(f"{key} {logs[key]:.4f}")
    for key, value in logs.items():
        if key.startswith(("top", "val_top")):
            parts.append(f"{key} {value:.4f}")
    if "images_per_s" in logs:
        parts.append(f"{logs['images_per_s']:,.0f} img/s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A bar per epoch with loss, accuracy and images/s: tqdm on a terminal when installed,
    otherwise plain log lines (one every ``interval`` seconds and one per epoch), as in CI."""

    def __init__(self, file=None, interval: float = 10.0, force_plain: bool = False):
        self.file = file or sys.stderr
        self.interval = interval
        self.plain = force_plain or not self._tqdm_usable()
        self.bar = None

    def _tqdm_usable(self) -> bool:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return hasattr(self.file, "isatty") and self.file.isatty() and not os.environ.get("CI")

    def on_epoch_begin(self, trainer, epoch):
        self.start = self.last_print = time.perf_counter()
        self.seen = 0
        total = trainer.batches_per_epoch
        if not self.plain:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                desc=f"epoch {epoch}/{trainer.epochs}",
                file=self.file,
                leave=True,
                dynamic_ncols=True,
                mininterval=0.2,
            )

    def on_batch_end(self, trainer, batch, logs):
        self.seen += logs["batch_size"]
        now = time.perf_counter()
        rate = self.seen / max(now - self.start, 1e-9)
        if self.bar is not None:
            self.bar.update(1)
            if now - self.last_print > 0.2:
                self.bar.set_postfix_str(
                    f"loss {logs['running_loss']:.4f} acc {logs.get('running_accuracy', 0):.4f} "
                    f"{rate:,.0f} img/s",
                    refresh=False,
                )
                self.last_print = now
        elif now - self.last_print > self.interval:
            total = trainer.batches_per_epoch
            print(
                f"epoch {trainer.epoch}/{trainer.epochs}  batch {batch + 1}/{total}  "
                f"loss {logs['running_loss']:.4f}  {rate:,.0f} img/s",
                file=self.file,
                flush=True,
            )
            self.last_print = now

    def on_epoch_end(self, trainer, epoch, logs):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs))
            self.bar.close()
            self.bar = None
        else:
            print(
                f"epoch {epoch}/{trainer.epochs}  {_format(logs)}  ({logs['seconds']:.1f} s)",
                file=self.file,
                flush=True,
            )

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _better(mode: str, value: float, best: float | None, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _monitored(logs: dict, monitor: str, who: str) -> float:
    if monitor in logs:
        return logs[monitor]
    raise KeyError(
        f"{who}: the monitored value {monitor!r} is not in this epoch's logs "
        f"({', '.join(sorted(logs))}); pass val_loader to fit for val_* values, or monitor "
        "one of those."
    )


class ModelCheckpoint(Callback):
    """Save ``last.safetensors`` every epoch and ``best.safetensors`` when ``monitor`` improves.

    Each is a full checkpoint (model, optimizer, scheduler, RNG, epoch, history), written
    atomically. An epoch stopped by the NaN guard is never saved, so the last good one stays.
    ``extra``: more JSON-able values to store in each checkpoint, a dict or a function returning
    one at save time (the run layer stores the run's configuration and timing this way).
    """

    order = 100  # after the LR schedule and early stopping have updated the state

    def __init__(
        self,
        directory,
        monitor: str = "val_accuracy",
        mode: str = "max",
        save_best: bool = True,
        save_last: bool = True,
        extra=None,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}.")
        self.directory, self.monitor, self.mode = os.fspath(directory), monitor, mode
        self.save_best, self.save_last = save_best, save_last
        self.extra = extra
        self.best = None
        self.last_path = os.path.join(self.directory, "last.safetensors")
        self.best_path = os.path.join(self.directory, "best.safetensors")

    def on_train_begin(self, trainer):
        os.makedirs(self.directory, exist_ok=True)

    def _save(self, trainer, path, epoch):
        from ..io import save_checkpoint

        save_checkpoint(
            path,
            trainer.model,
            trainer.optimizer,
            trainer.scheduler,
            epoch=epoch,
            extra={
                **((self.extra() if callable(self.extra) else self.extra) or {}),
                "history": trainer.history.state_dict(),
                "best": self.best,
            },
        )

    def on_epoch_end(self, trainer, epoch, logs):
        if self.save_best:
            value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
            if value is None:
                _monitored(logs, self.monitor, "ModelCheckpoint")
            if _better(self.mode, value, self.best):
                self.best = value
                self._save(trainer, self.best_path, epoch)
        if self.save_last:
            self._save(trainer, self.last_path, epoch)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        mode: str = "min",
        min_delta: float = 0.0,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}.")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, patience, mode, min_delta
        self.best, self.wait = None, 0

    def on_epoch_end(self, trainer, epoch, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if _better(self.mode, value, self.best, self.min_delta):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            trainer.stop_reason = (
                f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                f"(best {self.best:.4f})"
            )


class LRSchedulerCallback(Callback):
    """Step an LR schedule after every epoch (or every batch with ``interval='batch'``).

    ``ReduceLROnPlateau`` is stepped with the epoch's ``monitor`` value.
    """

    def __init__(self, scheduler, interval: str = "epoch", monitor: str = "val_loss"):
        if interval not in ("epoch", "batch"):
            raise ValueError(
                f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got {interval!r}."
            )
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def on_train_begin(self, trainer):
        trainer.scheduler = self.scheduler

    def on_batch_end(self, trainer, batch, logs):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval != "epoch":
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
            if value is None:
                _monitored(logs, self.monitor, "LRSchedulerCallback")
            self.scheduler.step(value)
        else:
            self.scheduler.step()


def _last_checkpoint(trainer) -> str | None:
    """The path of the last checkpoint a ``ModelCheckpoint`` of this fit has on disk, if any."""
    for c in getattr(trainer, "callbacks", ()):
        if isinstance(c, ModelCheckpoint) and c.save_last and os.path.exists(c.last_path):
            return c.last_path
    return None


class NaNGuard(Callback):
    """Stop at once when the loss is NaN or inf, before the bad gradients reach the weights."""

    def on_loss(self, trainer, value):
        if not math.isfinite(value):
            saved = _last_checkpoint(trainer)
            kept = f"the last good checkpoint, {saved}, was kept" if saved else "nothing was saved"
            raise NonFiniteLoss(
                f"NaN guard: the loss became {value} at epoch {trainer.epoch}, batch "
                f"{trainer.batch + 1}; training stopped before the update, and {kept}. Lower "
                "the learning rate, check the inputs for NaN, or clip gradients.",
                value,
                trainer.epoch,
                trainer.batch,
            )


class MetricsLogger(Callback):
    """Write ``metrics.csv``: a row per epoch, and a step row every ``every`` steps (the mean loss
    of those steps), so a spreadsheet or pandas reads the run; the step rows also go into
    ``history.steps`` for the curves. A resumed run (``start_epoch`` > 0) keeps the rows up to
    its checkpoint's epoch and drops any written after it."""

    order = 90  # after the LR schedule (the row shows the lr the epoch used), before checkpoints
    rank_zero_only = True
    COLUMNS = ("kind", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
               "seconds")  # fmt: skip

    def __init__(self, path, every: int = 50, start_epoch: int = 0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"MetricsLogger: every must be a positive int, got {every!r}.")
        self.path, self.every, self.start_epoch = os.fspath(path), every, start_epoch
        self.file = None

    def _kept_rows(self) -> list:
        import csv

        if self.start_epoch == 0 or not os.path.exists(self.path):
            return []
        with open(self.path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        kept = []
        for row in rows:  # a row torn by a killed process has too few cells: dropped
            if len(row) == len(self.COLUMNS) and row[1].isdigit():
                if int(row[1]) <= self.start_epoch:
                    kept.append(row)
        return kept

    def on_train_begin(self, trainer):
        import csv

        from ..io import atomic_write

        kept = self._kept_rows()
        with atomic_write(self.path, "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(self.COLUMNS)
            writer.writerows(kept)
        self.file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.losses = []

    def _row(self, kind, epoch, step, logs, lr):
        cells = [kind, epoch, step]
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            cells.append(f"{logs[key]:.6g}" if key in logs else "")
        cells += [f"{lr:.6g}", f"{logs['seconds']:.3f}" if "seconds" in logs else ""]
        self.writer.writerow(cells)
        self.file.flush()

    def on_batch_end(self, trainer, batch, logs):
        self.losses.append(logs["loss"])
        per_epoch = trainer.batches_per_epoch or 0
        done = batch + 1
        if done % self.every and done != per_epoch:
            return
        step = (trainer.epoch - 1) * per_epoch + done
        loss = sum(self.losses) / len(self.losses)
        lr = trainer.optimizer.param_groups[0]["lr"]
        self.losses = []
        self._row("step", trainer.epoch, step, {"loss": loss}, lr)
        trainer.history.steps.append(
            {
                "step": step,
                "epoch": trainer.epoch,
                "step_in_epoch": done,
                "steps_per_epoch": max(per_epoch, done),
                "loss": loss,
                "lr": lr,
            }  # fmt: skip
        )

    def on_epoch_end(self, trainer, epoch, logs):
        per_epoch = trainer.batches_per_epoch or 0
        self._row("epoch", epoch, epoch * per_epoch, logs, logs.get("lr", math.nan))

    def on_train_end(self, trainer):
        if self.file is not None:
            self.file.close()
            self.file = None
