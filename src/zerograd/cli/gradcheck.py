"""``zerograd gradcheck``: every registered op's gradient against central differences."""

from __future__ import annotations

import time

from ._common import CommandError, count

__all__ = ["add_command"]


def _gradcheck(args) -> int:
    from ..functional.registry import CASES, case_inputs
    from ..testing import gradcheck

    cases = [c for c in CASES if args.op is None or args.op in c.name]
    if not cases:
        raise CommandError(
            f"no op matches {args.op!r}; zerograd gradcheck --list shows the {len(CASES)} op "
            "cases (--op takes a part of a name, e.g. --op softmax).",
            2,
        )
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


def add_command(sub, parents) -> None:
    g = sub.add_parser(
        "gradcheck",
        parents=parents,
        help="check every registered op's gradient against central differences",
        description="Run zerograd.gradcheck (float64, central differences) over every op the "
        "library registers and print a table: op, input shapes, max abs error, pass. Exits "
        "with status 1 if any op fails.",
    )
    g.add_argument("--op", metavar="TEXT", help="only ops whose name contains TEXT")
    g.add_argument("--list", action="store_true", help="list the op cases and exit")
    g.add_argument(
        "--seed", type=count(0), default=0, help="seed for the random inputs (default 0)"
    )
    g.set_defaults(func=_gradcheck)
