"""``zerograd train --tensorboard`` seen in a real browser: a 2-epoch run on the embedded sample,
the real ``tensorboard`` server on a free localhost port, and its Scalars page in headless
Chromium, which must draw the run's loss curves with no console error. The screenshot goes to
``artifacts/screenshots/tensorboard_scalars.png`` (``ZEROGRAD_SCREENSHOTS`` chooses the folder).

Needs tensorboardX and Pillow (``pip install "zerograd[tensorboard]"``), tensorboard, Playwright
for Python and a Chromium (see tests/browser_helpers.py).
"""

from __future__ import annotations

import pytest
from browser_helpers import chromium_context, chromium_or_skip, collect_errors, screenshot
from cli_helpers import call
from tensorboard_helpers import poll_json, tensorboard_server

NEEDS_WRITER = 'needs tensorboardX and Pillow (the writer): pip install "zerograd[tensorboard]"'
NEEDS_SERVER = "needs tensorboard (TensorBoard's server): pip install tensorboard"
STEPS = 54  # steps an epoch: 5,400 training images of the sample in batches of 100
LOSSES = ["loss/train", "loss/val", "step/loss"]  # what the filter "loss" shows


def test_tensorboard_scalars_page_draws_the_runs_curves(tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX", reason=NEEDS_WRITER)
    pytest.importorskip("PIL", reason=NEEDS_WRITER)
    pytest.importorskip("tensorboard", reason=NEEDS_SERVER)
    chromium_or_skip()  # before training anything
    monkeypatch.setenv("ZEROGRAD_DATA", str(tmp_path / "nodata"))  # the embedded sample only
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "run"
    r = call(["train", "--sample", "--epochs", "2", "--no-progress", "--out", out, "--tensorboard"])
    assert r.status == 0, r.err

    with tensorboard_server(out) as url, chromium_context(tmp_path / "profile") as context:
        # the page reads what the server has loaded: wait for the last epoch's scalars first
        loaded = lambda t: "accuracy/val" in t.get("tensorboard", {})  # noqa: E731
        tags = poll_json(f"{url}/data/plugin/scalars/tags", loaded, timeout=60)
        assert set(LOSSES) <= set(tags["tensorboard"]), tags
        # Only the server's own address counts: TensorBoard serves its fonts and scripts itself,
        # so any error from it is a real fault. A request to another host (a font, a plugin's
        # page) can only fail on this closed network and would work for a user online; such
        # failures are kept in page.offsite and do not fail the test.
        page = collect_errors(context.new_page(), origin=url)
        # the Scalars dashboard, its tag filter set to "loss": the three loss charts on top
        page.goto(f"{url}/#scalars&tagFilter=loss", wait_until="load")
        cards = {}
        for tag in LOSSES:
            card = page.locator("tf-scalar-card").filter(has=page.get_by_text(f"tag: {tag}"))
            card.first.wait_for(timeout=30_000)
            cards[tag] = card.first
        # drawn: each chart's line joins its points (one an epoch; one a step for step/loss, of
        # which the chart may merge a few that fall on the same pixels)
        for tag, points in (("loss/train", 2), ("loss/val", 2), ("step/loss", STEPS)):
            line = cards[tag].locator("path.line").first
            line.wait_for(timeout=30_000)
            page.wait_for_function(
                "([el, n]) => (el.getAttribute('d') || '').split('L').length >= n",
                arg=[line.element_handle(), points],
                timeout=30_000,
            )
        page.wait_for_timeout(500)  # the charts' last transition
        shot = screenshot(page, "tensorboard_scalars")
        assert shot.stat().st_size > 10_000  # a page with charts, not a blank one
        assert not page.errors, page.errors
