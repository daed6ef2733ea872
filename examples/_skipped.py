"""What a lesson skips on this machine, and how to get it: one ``skipped:`` line each, at the end.

The lessons run on a bare ``pip install zerograd``. Without matplotlib (the ``plot`` extra) they
print their numbers and draw nothing; without the data files they use the MNIST sample shipped in
the package, or leave out the part that needs the files. Either way the run ends normally (exit
status 0): a missing extra is the machine's setup, not an error. A lesson makes one ``Skipped``,
gets what may be missing through it, and calls ``report()`` last::

    skipped = Skipped()
    plt = skipped.pyplot()  # None without matplotlib
    train, test, what = skipped.mnist_splits(sample=True if args.quick else None)
    ...
    if plt is not None:
        ...  # the pictures
    skipped.report()

which prints, for example::

    skipped: the figures (matplotlib is not installed: pip install "zerograd[plot]")
"""

from __future__ import annotations

import importlib.util
import os

from zerograd.data.datasets import FashionMNIST, cache_dir, mnist_splits
from zerograd.data.text import tiny_shakespeare
from zerograd.plot import pyplot

__all__ = ["Skipped"]

PLOT_EXTRA = 'pip install "zerograd[plot]"'


def _looked_in() -> str:
    """Where the data files are looked for, in words: ZEROGRAD_DATA, then the user cache."""
    data = os.environ.get("ZEROGRAD_DATA")
    first = f"ZEROGRAD_DATA={data}" if data else "ZEROGRAD_DATA (not set)"
    return f"{first} or {cache_dir()}"


class Skipped:
    """The things a lesson could not do here, each with the reason and how to get it.

    Attributes
    ----------
    lines : list of str
        One ``"skipped: WHAT (WHY)"`` line per thing skipped, in the order they were noted.
    """

    def __init__(self):
        self.lines = []

    def add(self, what: str, why: str, instead: str = "") -> None:
        """Note that ``what`` was skipped because of ``why`` (which says how to get it)."""
        self.lines.append(f"skipped: {what} ({why})" + (f"; {instead}" if instead else ""))

    def report(self) -> None:
        """Print the ``skipped:`` lines after a blank one (nothing when nothing was skipped).

        Returns None, so a notebook's last cell, ``skipped.report()``, shows no value."""
        if self.lines:
            print()
        for line in self.lines:
            print(line)

    def pyplot(self):
        """``matplotlib.pyplot`` (headless), or None without matplotlib: the figures are noted."""
        try:
            return pyplot()
        except ImportError as e:
            if importlib.util.find_spec("matplotlib") is None:
                why = f"matplotlib is not installed: {PLOT_EXTRA}"
            else:  # installed but broken: say what failed rather than call it absent
                cause = e.__cause__ or e.__context__ or e
                why = (
                    f"matplotlib is installed but does not import ({cause}): reinstall it, "
                    "pip install --force-reinstall matplotlib"
                )
            self.add("the figures", why)
            return None

    def mnist_splits(self, sample: bool | None = None, **kwargs) -> tuple:
        """``zerograd.data.datasets.mnist_splits``, noting when the full set was asked for but the
        package's sample had to stand in for it. Returns ``(train, test, what)``."""
        train, test, what = mnist_splits(sample=sample, announce=False, **kwargs)
        if sample is None and train.is_sample:
            self.add(
                "the full MNIST set",
                f"no MNIST files in {_looked_in()}: set ZEROGRAD_DATA to a folder holding mnist/, "
                "or download them once with zerograd.data.datasets.MNIST(download=True)",
                "using the sample shipped in the package instead "
                "(6,000 training and 1,000 test images)",
            )
        return train, test, what

    def fashion_mnist(self, what: str, **kwargs) -> tuple | None:
        """Fashion-MNIST's ``(train, test)`` splits, or None when its files are not found (then
        ``what``, the part of the lesson that needs them, is noted as skipped)."""
        try:
            return FashionMNIST(train=True, **kwargs), FashionMNIST(train=False, **kwargs)
        except FileNotFoundError:
            self.add(
                what,
                f"no Fashion-MNIST files in {_looked_in()}: set ZEROGRAD_DATA to a folder holding "
                "fashion-mnist/, or download them once with "
                "zerograd.data.datasets.FashionMNIST(download=True)",
            )
            return None

    def tiny_shakespeare(self, what: str) -> str | None:
        """The text of tiny-shakespeare, or None when ``input.txt`` is not found (then ``what``,
        the part of the lesson that needs it, is noted as skipped)."""
        try:
            return tiny_shakespeare()
        except FileNotFoundError:
            self.add(
                what,
                f"no tinyshakespeare/input.txt in {_looked_in()}: set ZEROGRAD_DATA to a folder "
                "holding tinyshakespeare/input.txt (the text of Karpathy's char-rnn)",
            )
            return None
