"""A real ``tensorboard`` server on a free localhost port, for the tests that read a run back
over its HTTP API or look at it in a browser. Needs tensorboard (``pip install tensorboard``)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.request

import pytest


@contextlib.contextmanager
def tensorboard_server(logdir, timeout: float = 120):
    """``tensorboard --logdir logdir`` on 127.0.0.1 (a free port, reloading every second); yields
    its base URL (``http://127.0.0.1:PORT``) and ends it, with its data server, afterwards."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--reload_interval",
            "1",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its data server too, ended with it below
    )
    try:
        yield _server_url(proc, timeout)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        proc.stdout.close()


def _server_url(proc, timeout: float) -> str:
    """The address ``tensorboard`` prints once it listens (``... at http://127.0.0.1:PORT/``)."""
    seen, deadline = [], time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=1):
                continue
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if found:
                return found.group(1)
    pytest.fail(f"tensorboard did not start within {timeout} s:\n{''.join(seen)}")


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def poll_json(url: str, ready, timeout: float):
    """``get_json(url)`` again every half second until ``ready(answer)`` or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = get_json(url)
        if ready(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.5)
