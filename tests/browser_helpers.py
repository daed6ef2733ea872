"""Headless Chromium through Playwright for Python, for the tests that look at a page as a user
does (the docs site, TensorBoard). Debian's Chromium is launched by path (``apt-get install
chromium``; ``ZEROGRAD_CHROMIUM`` names another binary), never a browser Playwright downloads.
Screenshots go to ``artifacts/screenshots/`` (``ZEROGRAD_SCREENSHOTS`` chooses another folder).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("ZEROGRAD_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
CHROMIUM_ARGS = [  # as root on a closed network: no sandbox, no calls home
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> str:
    """The Chromium binary to drive; skips (saying what to install) without Playwright or it."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the browser check needs Playwright for Python: pip install playwright")
    chromium = os.environ.get("ZEROGRAD_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        pytest.skip(
            "the browser check needs Chromium: apt-get install chromium (or set ZEROGRAD_CHROMIUM)"
        )
    return chromium


@contextlib.contextmanager
def chromium_context(profile, viewport=(1280, 900)):
    """A headless Chromium browser context with its profile in ``profile`` (a fresh folder)."""
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield context
        finally:
            context.close()


def collect_errors(page, origin: str | None = None):
    """Gather the page's console errors, uncaught exceptions and failed requests in
    ``page.errors`` (a list of strings), from now on. With ``origin`` (``http://127.0.0.1:PORT``),
    failed requests to other hosts and the console errors they cause go to ``page.offsite``
    instead: on a closed network they fail whatever the page does, and a user online never sees
    them."""
    page.errors, page.offsite = [], []

    def elsewhere(url: str) -> bool:
        return origin is not None and bool(url) and not url.startswith(origin)

    def console(m):
        if m.type == "error":
            where = m.location.get("url", "")  # a failed load's is the resource's address
            (page.offsite if elsewhere(where) else page.errors).append(f"{where}: {m.text}")

    def failed(r):
        (page.offsite if elsewhere(r.url) else page.errors).append(f"{r.url}: {r.failure}")

    page.on("console", console)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("requestfailed", failed)
    return page


def screenshot(page, name: str) -> Path:
    """Save what the page shows now as ``SHOTS/name.png``; return its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
