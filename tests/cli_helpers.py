"""Run ``zerograd`` in-process for the command-line tests: ``call`` hands back the exit status and
what it printed; ``fails`` checks a failure is one line on stderr with no traceback."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re

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


def fails(argv, match: str, status: int | None = None) -> Result:
    """``zerograd ARGV`` must fail with one line on stderr, prefixed with the command, that
    matches ``match``, and no traceback."""
    r = call(argv)
    assert r.status != 0, f"zerograd {' '.join(map(str, argv))} succeeded:\n{r.out}"
    if status is not None:
        assert r.status == status, (r.status, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{r.err}"
    assert "Traceback" not in r.err
    assert lines[0].startswith(f"zerograd {argv[0]}: "), lines[0]
    assert re.search(match, lines[0]), f"{match!r} not in {lines[0]!r}"
    return r
