"""The documentation site builds with ``mkdocs build --strict`` (no broken link, no missing
reference, no warning) and works in a real browser: headless Chromium, driven by Playwright,
opens the built site on localhost and checks the home page, a lesson with its pictures, an API
page, the Chinese course and search in both languages, with no console error. Screenshots go to
``artifacts/screenshots/`` (``ZEROGRAD_SCREENSHOTS`` chooses another folder).

Needs the docs extra (``pip install ".[docs]"``) for the build, and for the browser Playwright
for Python plus a Chromium (Debian: ``apt-get install chromium``; ``ZEROGRAD_CHROMIUM`` names
another binary). Lessons executed while building: ``ZEROGRAD_DOCS_EXECUTE`` (default here: the
two quickest notebook lessons; the others are rendered without outputs to keep the test short).
"""

import functools
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from browser_helpers import chromium_context, chromium_or_skip, collect_errors, screenshot

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "docs_text", Path(__file__).with_name("test_docs_text.py")
)
problems = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(problems)
problems = problems.problems  # the same patterns for the sources and the built pages
DOCS_EXTRA = 'pip install ".[docs]"'
EXECUTE = "01_perceptron,07b_autograd_engine"  # a few seconds each in quick mode


def _missing_docs_packages() -> list[str]:
    wanted = ["mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers", "mkdocs_jupyter"]
    return [name for name in wanted if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built strictly into a temporary folder; the build's output is checked too."""
    if missing := _missing_docs_packages():
        pytest.skip(f"building the docs needs {', '.join(missing)}: {DOCS_EXTRA}")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", ZEROGRAD_DOCS_CACHE="0")
    env.setdefault("ZEROGRAD_DOCS_EXECUTE", EXECUTE)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{log[-6000:]}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)
    return out


def test_site_has_every_page(site):
    for page in ["index.html", "zh/index.html", "zh/course/index.html", "course/index.html"]:
        assert (site / page).is_file(), page
    for api in (ROOT / "docs" / "api").glob("*.md"):
        assert (site / "api" / api.stem / "index.html").is_file(), api.name
    for lesson in (ROOT / "examples").glob("[0-9]*.py"):
        assert (site / "lessons" / lesson.stem / "index.html").is_file(), lesson.name
    assert (site / "search" / "search_index.json").is_file()


def test_api_reference_documents_the_public_names(site):
    """Every name in the __all__ of the documented modules has an entry (an anchor) in the API
    reference, so a user can look up any public name."""
    import zerograd

    html = "".join(p.read_text() for p in (site / "api").rglob("index.html"))
    anchors = set(re.findall(r'id="(zerograd[\w.]*)"', html))
    modules = [
        "autograd", "nn", "functional", "optim", "data", "io", "train", "models", "onnx",
        "inspect", "distributed", "testing", "creation",
    ]  # fmt: skip
    missing = []
    for name in modules:
        module = getattr(zerograd, name, None) or importlib.import_module(f"zerograd.{name}")
        for public in module.__all__:
            if not hasattr(getattr(module, public), "__file__"):  # submodules have their own
                ids = {f"zerograd.{name}.{public}", f"zerograd.{public}"}
                # or documented where it is defined, e.g. zerograd.train.run.run
                inside = [a for a in anchors if a.startswith(f"zerograd.{name}.")]
                if not ids & anchors and not any(a.endswith(f".{public}") for a in inside):
                    missing.append(f"zerograd.{name}.{public}")
    assert not missing, f"not in the API reference: {missing}"


def test_built_site_has_no_machine_paths_or_issue_numbers(site):
    found = []
    for page in site.rglob("*.html"):
        found += problems(page.read_text(encoding="utf-8"), str(page.relative_to(site)), html=True)
    assert not found, "\n".join(found[:20])


# --- in a real browser ------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per file would bury the test's own output
        pass


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    """(browser context, base URL): headless Chromium on the site served from localhost."""
    chromium_or_skip()  # before serving anything
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # a free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
            yield context, base
    finally:
        server.shutdown()


def _open(browser, path: str, shot: str):
    """The page at ``path``, loaded, its console errors collected in ``page.errors``."""
    context, base = browser
    page = collect_errors(context.new_page())
    page.goto(base + path, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.shot = shot
    return page


def _screenshot(page):
    page.wait_for_timeout(800)  # the header's title slides in after a scroll: let it settle
    screenshot(page, page.shot)


def _pictures(page) -> list:
    """(src, naturalWidth) of every picture of the page's article, after scrolling them in."""
    page.evaluate("document.querySelectorAll('article img').forEach(i => i.loading = 'eager')")
    page.wait_for_function(
        "[...document.querySelectorAll('article img')].every(i => i.complete)", timeout=15_000
    )
    images = "[...document.querySelectorAll('article img')]"
    return page.evaluate(f"{images}.map(i => [i.src.slice(0, 80), i.naturalWidth])")


def test_home_page(browser):
    page = _open(browser, "/", "home")
    _screenshot(page)
    assert "zerograd" in page.title()
    assert page.locator("article h1").first.inner_text().strip("¶ \n") == "zerograd"
    assert page.locator("nav").get_by_text("API reference").count() >= 1
    assert not page.errors, page.errors


def test_course_page_pictures_load(browser):
    page = _open(browser, "/course/", "course")
    pictures = _pictures(page)
    _screenshot(page)
    assert len(pictures) >= 10, pictures
    assert all(width > 0 for _, width in pictures), [p for p in pictures if p[1] == 0]
    assert not page.errors, page.errors


@pytest.mark.parametrize("lesson", ["01_perceptron", "07b_autograd_engine"])
def test_lesson_page_with_its_pictures(browser, lesson):
    if not (ROOT / "examples" / f"{lesson}.py").exists():
        pytest.skip(f"no lesson {lesson} in examples/")
    page = _open(browser, f"/lessons/{lesson}/", f"lesson-{lesson}")
    pictures = _pictures(page)
    page.locator("article img").first.scroll_into_view_if_needed()
    _screenshot(page)
    assert page.locator("article h1").count() >= 1
    assert page.locator("article pre, article .highlight-ipynb").count() >= 1  # its code
    executed = lesson in os.environ.get("ZEROGRAD_DOCS_EXECUTE", EXECUTE)
    text = (ROOT / "examples" / f"{lesson}.py").read_text()
    if executed or "# %%" not in text:  # run at build time, or a page with docs/img's pictures
        assert pictures, f"{lesson}: no picture on the page"
    assert all(width > 0 for _, width in pictures), [p for p in pictures if p[1] == 0]
    assert not page.errors, page.errors


def test_api_page_shows_a_documented_class(browser):
    page = _open(browser, "/api/nn/", "api-nn")
    linear = page.locator('[id="zerograd.nn.Linear"]')
    assert linear.count() == 1
    linear.scroll_into_view_if_needed()
    _screenshot(page)
    assert "Linear" in linear.inner_text()
    doc = page.locator('[id="zerograd.nn.Linear"] ~ div').first.inner_text()
    assert "in_features" in doc
    assert not page.errors, page.errors


def test_chinese_course_page(browser):
    page = _open(browser, "/zh/course/", "zh-course")
    _screenshot(page)
    assert "课程" in page.locator("article h1").first.inner_text()
    assert page.locator("article h2").get_by_text("第 1 课").count() == 1
    assert all(width > 0 for _, width in _pictures(page))
    assert not page.errors, page.errors


@pytest.mark.parametrize("term, shot", [("softmax", "search-en"), ("感知机", "search-zh")])
def test_search_finds_a_term(browser, term, shot):
    page = _open(browser, "/", shot)
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(term)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=30_000)  # the index is built in a worker on first use
    _screenshot(page)
    assert results.count() >= 1
    assert term.lower() in page.locator(".md-search-result").inner_text().lower()
    assert not page.errors, page.errors
