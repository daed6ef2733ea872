"""zerograd lesson list / NAME."""

import pytest

from zerograd.cli import CommandError, main
from zerograd.cli.lesson import find_lesson, lessons


def test_lesson_list_is_in_course_order(capsys):
    assert main(["lesson", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    names = [n for n, _ in lessons()]
    assert names == sorted(names) and len(out) == len(names)
    for (name, title), line in zip(lessons(), out):
        assert line.startswith(name) and title in line and title


def test_find_lesson_by_name_topic_or_number():
    first = lessons()[0][0]
    number, _, topic = first.partition("_")
    assert find_lesson(first) == find_lesson(topic) == find_lesson(str(int(number))) == first
    with pytest.raises(CommandError, match="no lesson 'nope'"):
        find_lesson("nope")


def test_a_lessons_help_names_the_command(capsys):
    name = lessons()[0][0]
    with pytest.raises(SystemExit) as e:
        main(["lesson", name, "--help"])
    assert e.value.code == 0
    assert f"usage: zerograd lesson {name}" in capsys.readouterr().out
