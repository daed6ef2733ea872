"""Dates written the way people write them, and the same dates in ISO form: a toy translation
task for sequence-to-sequence models and attention (lesson 18).

``dates(n)`` draws ``n`` days between 1950-01-01 and 2049-12-31 and writes each in one of
``FORMATS``, chosen at random: ``"september 27, 1994"``, ``"27 Sep 1994"``, ``"9/27/94"``,
``"tuesday, 27 september 1994"``, ... The target is always ``"1994-09-27"``, ten characters.
Slashes put the month first (American), dots and words the day wherever it is written; two-digit
years mean 1950-2049 (``50``-``99`` are 19xx, ``00``-``49`` 20xx), so every source has one
reading.
"""

from __future__ import annotations

import datetime

from .toy import _count, _rng

__all__ = [
    "FORMATS",
    "FIRST_DAY",
    "LAST_DAY",
    "SOURCE_CHARS",
    "TARGET_CHARS",
    "dates",
    "format_date",
]

FIRST_DAY = datetime.date(1950, 1, 1)
LAST_DAY = datetime.date(2049, 12, 31)

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# the ways of writing 1994-09-27, one per format; ``format_date`` fills them in
FORMATS = (
    "september 27, 1994",
    "September 27, 1994",
    "sep 27, 1994",
    "27 september 1994",
    "27 Sep 1994",
    "27 sep 94",
    "tuesday, september 27, 1994",
    "Tuesday, 27 September 1994",
    "9/27/94",
    "09/27/1994",
    "27.09.1994",
    "27.9.94",
    "1994-09-27",
    "1994/09/27",
    "19940927",
    "27-sep-1994",
)


def format_date(day: datetime.date, style: int) -> str:
    """``day`` written in ``FORMATS[style]``.

    Examples
    --------
    >>> import datetime
    >>> day = datetime.date(2001, 3, 4)
    >>> [format_date(day, s) for s in (0, 5, 8, 11, 14)]
    ['march 4, 2001', '4 mar 01', '3/4/01', '4.3.01', '20010304']
    """
    if not 0 <= style < len(FORMATS):
        raise ValueError(f"format_date: style must be in [0, {len(FORMATS)}), got {style!r}.")
    d, m, y = day.day, day.month, day.year
    month, mon = _MONTHS[m - 1], _MONTHS[m - 1][:3]
    weekday = _WEEKDAYS[day.weekday()]
    yy = f"{y % 100:02d}"
    written = (
        f"{month} {d}, {y}",
        f"{month.capitalize()} {d}, {y}",
        f"{mon} {d}, {y}",
        f"{d} {month} {y}",
        f"{d} {mon.capitalize()} {y}",
        f"{d} {mon} {yy}",
        f"{weekday}, {month} {d}, {y}",
        f"{weekday.capitalize()}, {d} {month.capitalize()} {y}",
        f"{m}/{d}/{yy}",
        f"{m:02d}/{d:02d}/{y}",
        f"{d:02d}.{m:02d}.{y}",
        f"{d}.{m}.{yy}",
        f"{y}-{m:02d}-{d:02d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}{m:02d}{d:02d}",
        f"{d:02d}-{mon}-{y}",
    )
    return written[style]


# every character a source or a target can hold, sorted (a fixed vocabulary, whatever is drawn)
_NAMES = " ".join(_MONTHS + _WEEKDAYS)
SOURCE_CHARS = "".join(sorted(set(_NAMES + _NAMES.title() + " ,-./0123456789")))
TARGET_CHARS = "-0123456789"


def dates(n: int, seed=None):
    """``n`` random days, each written in a random one of ``FORMATS``, and their ISO forms.

    Days are uniform over 1950-01-01 .. 2049-12-31 (36,525 of them), formats uniform over the
    16 of ``FORMATS``. ``seed``: an int or a ``numpy.random.Generator``; None draws from the
    library's generator (``zerograd.manual_seed``).

    Returns
    -------
    sources : list of str
        The dates as people write them, 6 to 29 characters.
    targets : list of str
        The same dates as ``"YYYY-MM-DD"``.

    Examples
    --------
    >>> sources, targets = dates(3, seed=0)
    >>> len(sources), all(len(t) == 10 for t in targets)
    (3, True)
    >>> dates(1, seed=3)
    (['February 25, 2031'], ['2031-02-25'])
    """
    n = _count(n, "dates")
    rng = _rng(seed, "dates")
    first, last = FIRST_DAY.toordinal(), LAST_DAY.toordinal()
    days = rng.integers(first, last + 1, size=n)
    styles = rng.integers(0, len(FORMATS), size=n)
    sources, targets = [], []
    for ordinal, style in zip(days.tolist(), styles.tolist()):
        day = datetime.date.fromordinal(ordinal)
        sources.append(format_date(day, style))
        targets.append(day.isoformat())
    return sources, targets
