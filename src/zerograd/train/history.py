"""``History``: what ``fit`` measured each epoch (and every few steps), and its curves as a PNG."""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """One dict per epoch (``epoch``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
    ``lr``, ``seconds``, ``images_per_s`` ...); ``history["loss"]`` is one value over epochs.

    ``steps`` holds step records (``step``, ``epoch``, ``loss``, ``lr``) when a ``MetricsLogger``
    writes them, so a one-epoch run still draws a loss curve. ``stop`` is the ``StopTraining``
    that ended training early (the NaN guard's ``NonFiniteLoss`` ...), else None.
    """

    def __init__(self, epochs=None, steps=None):
        self.epochs = list(epochs or [])
        self.steps = list(steps or [])
        self.stop = None
        self.stop_reason = None

    def append(self, record: dict) -> None:
        self.epochs.append(dict(record))

    def __getitem__(self, key: str) -> list:
        return [e.get(key, math.nan) for e in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def state_dict(self) -> dict:
        return {"epochs": [dict(e) for e in self.epochs], "steps": [dict(s) for s in self.steps]}

    def load_state_dict(self, state: dict) -> None:
        self.epochs = [dict(e) for e in state.get("epochs", [])]
        self.steps = [dict(s) for s in state.get("steps", [])]

    def truncate(self, epoch: int) -> None:
        """Forget everything after ``epoch`` (a resumed run starts again from there)."""
        self.epochs = [e for e in self.epochs if e.get("epoch", 0) <= epoch]
        self.steps = [s for s in self.steps if s.get("epoch", 0) <= epoch]

    def plot(self, path) -> None:
        """Write loss and accuracy curves (train and validation) to a PNG, headless.

        The loss panel draws the step records against fractional epochs when there are any (a
        one-epoch run is still a curve), the epochs' mean losses as points over them.
        """
        from ..io import atomic_write
        from ..plot import pyplot

        plt = pyplot()

        epochs = self["epoch"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        if self.steps:
            x = [s["epoch"] - 1 + s["step_in_epoch"] / s["steps_per_epoch"] for s in self.steps]
            ax1.plot(x, [s["loss"] for s in self.steps], lw=1, alpha=0.7, label="train (steps)")
        for key, label in (("loss", "train"), ("val_loss", "validation")):
            if any(not math.isnan(v) for v in self[key]):
                ax1.plot(epochs, self[key], marker="o", label=f"{label} (epoch)")
        ax1.set(title="loss", xlabel="epoch")
        for key, label in (("accuracy", "train"), ("val_accuracy", "validation")):
            if any(not math.isnan(v) for v in self[key]):
                ax2.plot(epochs, self[key], marker="o", label=label)
        ax2.set(title="accuracy", xlabel="epoch")
        if len(epochs) <= 10:  # whole epochs as ticks, never 0.5 of an epoch
            ax2.set_xticks(epochs)
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100)
        plt.close(fig)
