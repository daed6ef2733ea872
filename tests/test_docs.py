"""The docs match the code: every lesson is in both course walks, every picture link resolves,
every figure in results.md has its command nearby."""

import re
from pathlib import Path

import pytest

from zerograd.cli.lesson import lessons

DOCS = Path(__file__).resolve().parents[1] / "docs"
COURSES = [DOCS / "course.md", DOCS / "zh" / "course.md"]


@pytest.mark.parametrize("course", COURSES, ids=["en", "zh"])
def test_every_lesson_is_in_the_course_with_its_command(course):
    text = course.read_text()
    for name, _ in lessons():
        number = int(name[:2])
        found = re.search(rf"^## (Lesson|第) {number}\b", text, flags=re.M)
        assert found, f"{course.name}: no section for lesson {number}"
        assert f"zerograd lesson {name}" in text, f"{course}: no command for {name}"


@pytest.mark.parametrize("course", COURSES, ids=["en", "zh"])
def test_every_picture_link_resolves_and_is_small(course):
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", course.read_text())
    assert links
    for link in links:
        path = (course.parent / link).resolve()
        assert path.exists(), f"{course}: {link} is missing"
        assert path.stat().st_size < 200_000, f"{path} is too big for the repository"


def test_results_give_their_commands():
    text = (DOCS / "results.md").read_text()
    assert "zerograd train" in text and "benchmarks/bench_core.py" in text
    assert "benchmarks/bench_mlp_epoch.py" in text
