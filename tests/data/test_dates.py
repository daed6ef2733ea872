"""data.dates: dates as people write them and their ISO forms (lesson 18's translation task)."""

import datetime

import numpy as np
import pytest

import zerograd as zg
from zerograd.data.dates import (
    FIRST_DAY,
    FORMATS,
    LAST_DAY,
    SOURCE_CHARS,
    TARGET_CHARS,
    dates,
    format_date,
)

# strptime's reading of each of FORMATS (it ignores case in names; %y is fixed up below)
PATTERNS = (
    "%B %d, %Y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%d %b %y",
    "%A, %B %d, %Y", "%A, %d %B %Y", "%m/%d/%y", "%m/%d/%Y", "%d.%m.%Y", "%d.%m.%y",
    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d-%b-%Y",
)  # fmt: skip


def read(source: str, style: int) -> datetime.date:
    day = datetime.datetime.strptime(source, PATTERNS[style]).date()
    if "%y" in PATTERNS[style]:  # two-digit years are 1950-2049 here (strptime: 1969-2068)
        year = day.year % 100
        day = day.replace(year=(1900 if year >= 50 else 2000) + year)
    return day


def test_the_formats_write_the_example_date():
    day = datetime.date(1994, 9, 27)
    assert [format_date(day, s) for s in range(len(FORMATS))] == list(FORMATS)


@pytest.mark.parametrize("style", range(len(FORMATS)))
def test_every_format_reads_back_as_the_same_day(style):
    rng = np.random.default_rng(style)
    ordinals = rng.integers(FIRST_DAY.toordinal(), LAST_DAY.toordinal() + 1, 300).tolist()
    for day in map(datetime.date.fromordinal, ordinals + [FIRST_DAY.toordinal()]):
        assert read(format_date(day, style), style) == day


def test_sources_and_targets_agree_and_use_the_fixed_vocabularies():
    sources, targets = dates(2000, seed=0)
    assert len(sources) == len(targets) == 2000
    for s, t in zip(sources, targets):
        day = datetime.date.fromisoformat(t)
        assert FIRST_DAY <= day <= LAST_DAY
        assert any(format_date(day, k) == s for k in range(len(FORMATS))), (s, t)
        assert set(s) <= set(SOURCE_CHARS) and set(t) <= set(TARGET_CHARS)
    assert 6 <= min(map(len, sources)) and max(map(len, sources)) <= 29
    assert len({s.replace("/", ".") for s in sources}) > 1900  # mostly distinct
    assert (
        len(set(SOURCE_CHARS)) == len(SOURCE_CHARS)
        and "".join(sorted(SOURCE_CHARS)) == SOURCE_CHARS
    )


def test_every_format_and_both_centuries_are_drawn():
    sources, targets = dates(3000, seed=1)
    years = [int(t[:4]) for t in targets]
    assert min(years) < 1960 and max(years) > 2040
    styles = {k for s, t in zip(sources, targets) for k in range(len(FORMATS))
              if format_date(datetime.date.fromisoformat(t), k) == s}  # fmt: skip
    assert styles == set(range(len(FORMATS)))


def test_seeds_repeat_and_none_uses_the_library_generator():
    assert dates(50, seed=3) == dates(50, seed=3)
    assert dates(50, seed=3) != dates(50, seed=4)
    assert dates(5, seed=np.random.default_rng(7)) == dates(5, seed=7)
    zg.manual_seed(11)
    a = dates(20)
    zg.manual_seed(11)
    assert dates(20) == a


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_counts_are_refused(n):
    with pytest.raises(ValueError, match="dates: n must be"):
        dates(n)


def test_bad_seed_and_style_are_refused():
    with pytest.raises(ValueError, match="dates: seed"):
        dates(3, seed="x")
    with pytest.raises(ValueError, match="format_date: style must be in"):
        format_date(FIRST_DAY, len(FORMATS))
