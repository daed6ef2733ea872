"""``TensorBoard``: a ``fit`` callback that logs a run to TensorBoard, as a PyTorch user would
with ``torch.utils.tensorboard.SummaryWriter`` in their loop.

What it writes, every value at the global step (optimizer steps so far), so per-step and
per-epoch points share one x-axis and a resumed run's ``purge_step`` covers all of them:

- every ``log_every`` steps: ``step/loss`` (that step's loss) and ``step/lr`` (the learning rate
  it used);
- every epoch: ``loss/train``, ``loss/val``, ``accuracy/train``, ``accuracy/val`` (each metric of
  ``fit`` as ``NAME/train`` and ``NAME/val``), ``lr`` (the epoch's), ``epoch``, and
  ``speed/images_per_s``; histograms ``weights/NAME`` and ``gradients/NAME`` of every parameter
  (the gradients of the epoch's last step); and for an image classifier given a ``val_loader``,
  ``misclassified/val``, a grid of up to ``max_images`` validation images the model gets wrong,
  with ``misclassified/val_labels`` (a table of their true and predicted classes). Data that is
  not images (N, C, H, W) or (N, H, W) with class-index targets gets no grid, quietly.

The writer is made when training starts (``zerograd.utils.tensorboard``, the extra
``pip install "zerograd[tensorboard]"``) and writes out every 10 s, so TensorBoard shows the run as
it trains; a run resumed after epoch k (``fit(start_epoch=k)``) hides whatever an earlier writer
logged past that point, so each step shows once.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..autograd import Tensor, no_grad
from ..nn.utils import evaluating
from .callbacks import Callback

__all__ = ["TensorBoard", "misclassified", "image_grid"]

_EPOCH_ONLY = ("epoch", "lr", "seconds", "images_per_s")


class TensorBoard(Callback):
    """Log ``fit`` to TensorBoard event files in ``log_dir``.

    Parameters
    ----------
    log_dir : str or path, optional
        The folder of the event files; default PyTorch's, ``runs/DATETIME_HOSTNAME``.
    val_loader : iterable of (inputs, targets), optional
        Where to look for misclassified images (the loader given to ``fit``); None for no grid.
    log_every : int
        Steps between the per-step points (1: every step).
    histograms : bool
        Log the weight and gradient histograms each epoch.
    max_images : int
        At most this many misclassified images per epoch (0 for none).
    writer : zerograd.utils.tensorboard.SummaryWriter, optional
        Write through this writer instead (it is flushed, not closed, at the end).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import zerograd as zg
    >>> from zerograd import nn, optim
    >>> from zerograd.data import DataLoader, TensorDataset
    >>> from zerograd.train import fit
    >>> from zerograd.train.tensorboard import TensorBoard
    >>> x = zg.Tensor(np.random.default_rng(0).random((64, 1, 4, 4), dtype=np.float32))
    >>> y = zg.Tensor((x.data.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64))
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=16)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    >>> board = TensorBoard(tempfile.mkdtemp(), val_loader=loader)
    >>> history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
    ...               loader, epochs=2, val_loader=loader, callbacks=[board], progress=False)
    >>> board.step
    8
    """

    order = -10  # before an LR schedule steps per batch: the step's lr is the one it used
    rank_zero_only = True  # one process writes when distributed

    def __init__(
        self,
        log_dir=None,
        val_loader=None,
        log_every: int = 1,
        histograms: bool = True,
        max_images: int = 32,
        writer=None,
    ):
        for name, value, low in (("log_every", log_every, 1), ("max_images", max_images, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"TensorBoard: {name} must be an int >= {low}, got {value!r}.")
        self.log_dir = os.fspath(log_dir) if log_dir is not None else None
        self.val_loader, self.log_every = val_loader, log_every
        self.histograms, self.max_images = histograms, max_images
        self.writer, self._own_writer = writer, writer is None
        self.step, self._opened = 0, False

    # --- the writer ---------------------------------------------------------------------------

    def _open(self, trainer, epoch: int) -> None:
        """Make the writer as the first epoch starts, when fit's start epoch is known."""
        per_epoch = trainer.batches_per_epoch or 0
        self.step = (epoch - 1) * per_epoch
        if self.writer is not None:
            return
        from ..utils.tensorboard import SummaryWriter

        # resumed after epoch - 1: what a writer logged past that point is hidden
        purge = self.step + 1 if epoch > 1 else None
        # written out every 10 s as it trains (PyTorch's 120 s is slow to watch), closed at the end
        self.writer = SummaryWriter(self.log_dir, purge_step=purge, flush_secs=10)
        self.log_dir = self.writer.log_dir

    def on_train_begin(self, trainer):
        self._opened = False
        if self._own_writer:  # a second fit with this callback: a new writer, the same folder
            self.writer = None

    def on_epoch_begin(self, trainer, epoch):
        if not self._opened:
            self._open(trainer, epoch)
            self._opened = True
        elif trainer.batches_per_epoch:  # steps follow the loader's length, as on resume
            self.step = (epoch - 1) * trainer.batches_per_epoch

    def on_train_end(self, trainer):
        if self.writer is None:
            return
        if self._own_writer:
            self.writer.close()
        else:
            self.writer.flush()

    # --- per step and per epoch ---------------------------------------------------------------

    def on_batch_end(self, trainer, batch, logs):
        self.step += 1
        if self.step % self.log_every == 0:
            self.writer.add_scalar("step/loss", logs["loss"], self.step)
            self.writer.add_scalar("step/lr", trainer.optimizer.param_groups[0]["lr"], self.step)

    def on_epoch_end(self, trainer, epoch, logs):
        w, step = self.writer, self.step
        for key, value in logs.items():
            if key in _EPOCH_ONLY or not isinstance(value, (int, float)) or math.isnan(value):
                continue
            name, split = (key[4:], "val") if key.startswith("val_") else (key, "train")
            w.add_scalar(f"{name}/{split}", value, step)
        w.add_scalar("epoch", epoch, step)
        if "lr" in logs:
            w.add_scalar("lr", logs["lr"], step)
        if math.isfinite(logs.get("images_per_s", math.nan)):
            w.add_scalar("speed/images_per_s", logs["images_per_s"], step)
        if self.histograms:
            self._histograms(trainer.model, step)
        if self.val_loader is not None and self.max_images > 0:
            found = misclassified(trainer.model, self.val_loader, self.max_images)
            if found is not None:
                images, targets, predicted = found
                w.add_image("misclassified/val", image_grid(images), step)
                rows = [f"| {i} | {t} | {p} |" for i, (t, p) in enumerate(zip(targets, predicted))]
                table = "\n".join(["| image | true | predicted |", "|---|---|---|", *rows])
                w.add_text("misclassified/val_labels", table, step)

    def _histograms(self, model, step: int) -> None:
        for name, p in model.named_parameters():
            data = p.data if isinstance(p, Tensor) else np.asarray(p)
            if data.size and np.isfinite(data).all():
                self.writer.add_histogram(f"weights/{name}", data, step)
            grad = getattr(p, "grad", None)
            grad = grad.data if isinstance(grad, Tensor) else grad
            if grad is not None and grad.size and np.isfinite(grad).all():
                self.writer.add_histogram(f"gradients/{name}", grad, step)


# --- misclassified images -------------------------------------------------------------------------


def _as_images(x: np.ndarray) -> np.ndarray | None:
    """A batch as (N, C, H, W) images with 1, 3 or 4 channels, or None if it is not one."""
    if x.ndim == 3 and x.dtype.kind in "biuf":
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3, 4) or x.dtype.kind not in "biuf":
        return None
    return x


def misclassified(model, loader, max_images: int = 32):
    """``(images, targets, predicted)``: up to ``max_images`` inputs of ``loader`` that ``model``
    (in eval mode, without a graph) classifies wrongly, as (N, C, H, W) arrays with their true and
    predicted classes; None when the batches are not images with class-index targets or the
    outputs are not (N, classes) scores. It stops reading ``loader`` once it has enough."""
    images, targets, predicted = [], [], []
    found = 0
    with evaluating(model), no_grad():
        for batch in loader:
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                return None
            x, y = batch
            xa = _as_images(x.data if isinstance(x, Tensor) else np.asarray(x))
            ya = y.data if isinstance(y, Tensor) else np.asarray(y)
            if xa is None or ya.ndim != 1 or ya.dtype.kind not in "iu" or len(ya) != len(xa):
                return None
            if len(xa) == 0:
                continue
            out = model(x if isinstance(x, Tensor) else Tensor(x))
            scores = out.data if isinstance(out, Tensor) else None
            if scores is None or scores.ndim != 2 or scores.shape[0] != len(xa):
                return None
            pred = scores.argmax(axis=1)
            wrong = np.flatnonzero(pred != ya)[: max_images - found]
            images.append(xa[wrong])
            targets += ya[wrong].tolist()
            predicted += pred[wrong].tolist()
            found += len(wrong)
            if found >= max_images:
                break
    if not found:
        return None
    return np.concatenate(images), targets, predicted


def image_grid(images: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 0.5):
    """(N, C, H, W) images as one (C, H', W') grid, ``nrow`` per row, ``padding`` pixels of
    ``pad_value`` around each: ``torchvision.utils.make_grid(..., normalize=True,
    scale_each=True)``, each image scaled from its own min and max to [0, 1].

    >>> image_grid(np.ones((3, 1, 2, 2)), nrow=2, padding=1).shape
    (1, 7, 7)
    """
    n, c, h, w = images.shape
    x = images.astype(np.float32)
    low = x.min(axis=(1, 2, 3), keepdims=True)
    span = x.max(axis=(1, 2, 3), keepdims=True) - low
    x = np.where(span > 0, (x - low) / np.where(span > 0, span, 1), np.clip(x, 0, 1))
    cols = min(n, nrow)
    rows = -(-n // cols)
    grid = np.full(
        (c, rows * (h + padding) + padding, cols * (w + padding) + padding),
        pad_value,
        dtype=np.float32,
    )
    for i in range(n):
        top = (i // cols) * (h + padding) + padding
        left = (i % cols) * (w + padding) + padding
        grid[:, top : top + h, left : left + w] = x[i]
    return grid
