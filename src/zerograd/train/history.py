"""``History``: what ``fit`` measured each epoch, and its curves as a PNG."""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """One dict per epoch (``epoch``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
    ``lr``, ``seconds``, ``images_per_s`` ...); ``history["loss"]`` is one value over epochs."""

    def __init__(self, epochs=None):
        self.epochs = list(epochs or [])

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
        return {"epochs": [dict(e) for e in self.epochs]}

    def load_state_dict(self, state: dict) -> None:
        self.epochs = [dict(e) for e in state.get("epochs", [])]

    def plot(self, path) -> None:
        """Write loss and accuracy curves (train and validation) to a PNG, headless."""
        from ..io import atomic_write
        from ..plot import pyplot

        plt = pyplot()

        epochs = self["epoch"]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        for key, label in (("loss", "train"), ("val_loss", "validation")):
            if any(not math.isnan(v) for v in self[key]):
                ax1.plot(epochs, self[key], marker="o", label=label)
        ax1.set(title="loss", xlabel="epoch")
        for key, label in (("accuracy", "train"), ("val_accuracy", "validation")):
            if any(not math.isnan(v) for v in self[key]):
                ax2.plot(epochs, self[key], marker="o", label=label)
        ax2.set(title="accuracy", xlabel="epoch")
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        with atomic_write(path) as f:
            fig.savefig(f, format="png", dpi=100)
        plt.close(fig)
