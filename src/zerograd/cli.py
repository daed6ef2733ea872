"""The ``zerograd`` command: ``train``, ``evaluate``, ``predict`` (``cli_train.py``), ``gradcheck``,
``generate`` (``cli_text.py``), ``lesson`` (``cli_lesson.py``), ``export`` (``cli_export.py``).

Thin over the library: each sub-command parses its arguments and calls public functions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from .cli_export import add_command as add_export_command
from .cli_lesson import add_command as add_lesson_command
from .cli_text import add_command as add_generate_command
from .cli_train import add_commands

__all__ = ["main"]


def _gradcheck(args) -> int:
    from .functional.registry import CASES, case_inputs
    from .gradcheck import gradcheck

    cases = [c for c in CASES if args.op is None or args.op in c.name]
    if not cases:
        names = ", ".join(c.name for c in CASES)
        print(
            f"zerograd gradcheck: no op matches {args.op!r}. Registered ops: {names}",
            file=sys.stderr,
        )
        return 2
    if args.list:
        for c in cases:
            print(f"{c.name:34s} {c.describe_shapes()}")
        return 0
    print(
        f"Checking {len(cases)} op cases: autograd vs central differences in float64 "
        f"(eps per case, default 1e-6; pass when |a - n| <= atol + rtol |n|)."
    )
    header = f"{'op':34s} {'shapes':26s} {'max abs error':>14s}  pass"
    print(header)
    print("-" * len(header))
    failed = []
    start = time.perf_counter()
    for c in cases:
        try:
            r = gradcheck(
                c.fn,
                case_inputs(c, seed=args.seed),
                eps=c.eps,
                atol=c.atol,
                rtol=c.rtol,
                raise_exception=False,
            )
            ok, err = r.passed, f"{r.max_abs_error:14.2e}"
        except Exception as e:  # report every op, then fail at the end
            ok, err, r = False, f"{'error':>14s}", f"{type(e).__name__}: {e}"
        print(f"{c.name:34s} {c.describe_shapes():26s} {err}  {'yes' if ok else 'NO'}")
        if not ok:
            failed.append((c.name, r))
    took = time.perf_counter() - start
    print("-" * len(header))
    print(f"{len(cases) - len(failed)} passed, {len(failed)} failed ({took:.1f} s)")
    for name, r in failed:
        print(f"  {name}: {r}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="zerograd",
        description="zerograd: deep learning from zero, in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"zerograd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser(
        "gradcheck",
        help="check every registered op's gradient against central differences",
        description="Run zerograd.gradcheck (float64, central differences) over every op the "
        "library registers and print a table: op, input shapes, max abs error, pass. Exits "
        "with status 1 if any op fails.",
    )
    g.add_argument("--op", metavar="TEXT", help="only ops whose name contains TEXT")
    g.add_argument("--list", action="store_true", help="list the op cases and exit")
    g.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default 0)")
    g.set_defaults(func=_gradcheck)
    add_commands(sub)
    add_generate_command(sub)
    add_lesson_command(sub)
    add_export_command(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading
        # as the Python docs advise: point stdout at devnull so the exit flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
