"""Plotting support: matplotlib, headless, with one clear message when it is missing.

Pictures are optional (the ``plot`` extra): ``History.plot``, the lessons and ``zerograd train``
get pyplot from here, with the Agg backend so they work without a display.
"""

from __future__ import annotations

__all__ = ["pyplot"]


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend.

    Raises
    ------
    ImportError
        Naming the extra to install when matplotlib is missing.
    """
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            'Pictures need matplotlib: pip install "zerograd[plot]" (or pip install matplotlib).'
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
