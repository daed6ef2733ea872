"""The docs are written for users: no paths of the machines they were written on, no internal
issue numbers, no links to files that are not in the repository. Checks the Markdown sources (no
extra needed) and, in test_site.py, the built site."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# a path of our machines (/work/..., /opt/..., /tmp/..., a home folder), an internal issue number
# ("issue 6", "issues 6 and 7", "#12"), or a file that is not in the repository
FORBIDDEN = {
    "machine path": re.compile(r"(?<![\w.])/(?:work|opt|tmp|home|root|scratch)/"),
    "issue number": re.compile(r"\bissues? #?\d+|(?<![\w&/])(?<!input )#\d{1,4}\b", re.I),
    "missing file PERF.md": re.compile(r"\bPERF\.md\b"),
}


def problems(text: str, where: str, html: bool = False) -> list[str]:
    """``where:line: kind: the line`` for each forbidden thing in ``text``; ``html``: a built
    page, read without its styles, scripts and tags, and where ``#555`` is a colour."""
    if html:
        text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S | re.I)
        text = re.sub(r"<[^>]+>", " ", text)
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for kind, pattern in FORBIDDEN.items():
            if html and kind == "issue number":
                pattern = re.compile(r"\bissues? #?\d+", re.I)
            if pattern.search(line):
                found.append(f"{where}:{number}: {kind}: {line.strip()[:120]}")
    return found


def sources() -> list[Path]:
    """The Markdown pages and logs of docs/, and README.md."""
    files = [ROOT / "README.md", *DOCS.rglob("*.md")]
    return files + sorted((DOCS / "logs").glob("*")) if (DOCS / "logs").is_dir() else files


def test_the_patterns_catch_what_they_are_for():
    bad = "see /work/main/x, /tmp/runs/a, issue 6 and #12, PERF.md"
    assert len(problems(bad, "x")) == 3
    assert problems("a `/proc/pressure/cpu` probe, runs/mnist-mlp/, slowest input #5727", "x") == []


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_paths_or_issue_numbers(path):
    found = problems(
        path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(ROOT))
    )
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "path", [ROOT / "README.md", *DOCS.rglob("*.md")], ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(path):
    """Every relative link of a page points at a file of the repository (mkdocs checks the site's
    links too; this also covers README.md and runs without it)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    missing = []
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        target = link.split("#")[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        if not (path.parent / target).exists() and not _lesson_page(path, target):
            missing.append(link)
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"


def _lesson_page(page: Path, target: str) -> bool:
    """lessons/NAME.md pages are made at build time from examples/NAME.py."""
    resolved = (page.parent / target).resolve()
    return (
        resolved.parent == DOCS / "lessons" and (ROOT / "examples" / f"{resolved.stem}.py").exists()
    )
