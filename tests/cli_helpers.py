"""Run ``zerograd`` in-process for the command-line tests: ``call`` hands back the exit status and
what it printed; ``fails`` checks a failure is one line on stderr with no traceback; ``snapshot``
records a folder so a test can check that a failed command changed nothing in it."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import re
from pathlib import Path

from zerograd.cli import main


@dataclasses.dataclass
class Result:
    status: int
    out: str
    err: str


def call(argv) -> Result:
    """``zerograd ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: --help, usage errors
            status = e.code if isinstance(e.code, int) else 1
    return Result(status, out.getvalue(), err.getvalue())


def check_failure(r: Result, prog: str, match: str, status: int | None = None) -> str:
    """``r`` must be a failure (with ``status`` if given) said in one stderr line that starts with
    ``prog: `` and matches ``match``, with no traceback; returns the line."""
    assert r.status != 0, f"{prog} succeeded:\n{r.out}"
    if status is not None:
        assert r.status == status, (r.status, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{r.err}"
    assert "Traceback" not in r.err
    assert lines[0].startswith(f"{prog}: "), lines[0]
    assert re.search(match, lines[0]), f"{match!r} not in {lines[0]!r}"
    return lines[0]


def fails(argv, match: str, status: int | None = None) -> Result:
    """``zerograd ARGV`` must fail with one line on stderr, prefixed with the command, that
    matches ``match``, and no traceback."""
    r = call(argv)
    check_failure(r, f"zerograd {argv[0]}", match, status)
    return r


def snapshot(*folders) -> dict:
    """Everything under ``folders`` (and the folders themselves): each file's SHA-256 and
    modification time, each folder and link as such. Two snapshots are equal when nothing was
    written, removed or added there."""
    seen = {}
    for folder in map(Path, folders):
        if not folder.exists():
            seen[str(folder)] = None
            continue
        for path in [folder, *sorted(folder.rglob("*"))]:
            if path.is_symlink():
                seen[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                seen[str(path)] = ("folder",)
            else:
                try:
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                except PermissionError:  # a test's unreadable file: its mtime still tells
                    digest = None
                seen[str(path)] = ("file", digest, path.stat().st_mtime_ns)
    return seen


def changes(before: dict, after: dict) -> list:
    """What differs between two snapshots, one line each (empty when nothing does)."""
    out = [f"removed {p}" for p in before.keys() - after.keys()]
    out += [f"added {p}" for p in after.keys() - before.keys()]
    out += [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(out)


def train_sample_run(base) -> Path:
    """A one-epoch run on the embedded sample in ``base/run``, trained with no data files in
    sight (what the ``finished_run`` fixture holds, for scripts run outside pytest)."""
    base = Path(base)
    saved = {k: os.environ.get(k) for k in ("ZEROGRAD_DATA", "XDG_CACHE_HOME")}
    os.environ["ZEROGRAD_DATA"] = str(base / "nodata")
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")
    try:
        r = call(["train", "--sample", "--epochs", "1", "--no-progress", "--out", base / "run"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert r.status == 0, r.err
    return base / "run"
