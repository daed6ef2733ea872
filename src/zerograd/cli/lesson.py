"""``zerograd lesson list`` and ``zerograd lesson NAME [ARGS ...]``: the course's lessons.

The lessons are the scripts in the repository's ``examples/`` folder, shipped in the package as
``zerograd.lessons``. Each has a ``main(argv)``; its module docstring's first line is its title.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ._common import CommandError

__all__ = ["add_command", "lessons", "find_lesson"]


def lessons() -> list:
    """(name, title) of every lesson, in course order."""
    import zerograd.lessons as pkg

    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name[:2].isdigit():
            module = importlib.import_module(f"zerograd.lessons.{info.name}")
            title = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
            out.append((info.name, title))
    return out


def find_lesson(name: str) -> str:
    """The lesson's module name from ``01_perceptron``, ``perceptron`` or ``1``."""
    names = [n for n, _ in lessons()]
    for n in names:
        number, _, topic = n.partition("_")
        if name in (n, topic) or (name.isdigit() and int(name) == int(number)):
            return n
    raise CommandError(
        f"no lesson {name!r}. The lessons are: {', '.join(names)} (zerograd lesson list shows "
        "their titles).",
        2,
    )


def _run(args) -> int:
    if args.name in (None, "list"):
        if args.args:
            raise CommandError(
                f"lesson list takes no arguments, got {' '.join(args.args)}; to run a lesson: "
                "zerograd lesson NAME [ARGS ...].",
                2,
            )
        for name, title in lessons():
            print(f"{name:28s} {title}")
        if args.name is None:
            print("\nRun one with: zerograd lesson NAME [--quick] [--out DIR]")
        return 0
    name = find_lesson(args.name)
    module = importlib.import_module(f"zerograd.lessons.{name}")
    argv0 = sys.argv[0]
    sys.argv[0] = f"zerograd lesson {name}"  # argparse names the program after argv[0]
    try:
        module.main(args.args)
    finally:
        sys.argv[0] = argv0
    return 0


def add_command(sub, parents) -> None:
    p = sub.add_parser(
        "lesson",
        parents=parents,
        help="list or run the course's lessons (perceptron ... transfer learning)",
        description="zerograd lesson list: the lessons in course order. zerograd lesson NAME "
        "[ARGS ...]: run one (NAME like 01_perceptron, perceptron or 1); ARGS go to the lesson, "
        "e.g. --quick for a short run, --out DIR for its pictures, --help for its own options.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="'list' or a lesson")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the lesson")
    p.set_defaults(func=_run)
