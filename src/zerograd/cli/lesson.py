"""``zerograd lesson list`` and ``zerograd lesson NAME [ARGS ...]``: the course's lessons.

The lessons are the scripts in the repository's ``examples/`` folder, shipped in the package as
``zerograd.lessons``. Each is a jupytext notebook in ``py:percent`` form (``# %%`` cells, the title
in the first markdown heading), run top to bottom as a script; ``zerograd lesson NAME --notebook
[DIR]`` writes it as ``NAME.ipynb``. A lesson's name starts with its number, e.g.
``07_gender_by_hand``, or with a number and a letter for a stop between two others, e.g.
``07b_autograd_engine``.
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
from pathlib import Path

from zerograd.lessons.runner import lesson_source, lesson_title, run

from ._common import CommandError

__all__ = ["add_command", "lessons", "find_lesson"]


def lessons() -> list:
    """(name, title) of every lesson, in course order."""
    import zerograd.lessons as pkg

    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name[:2].isdigit():
            # read, not imported: a lesson in cells runs when imported
            out.append((info.name, lesson_title(lesson_source(info.name))))
    return out


def _same_number(asked: str, number: str) -> bool:
    """``7`` and ``07`` name lesson ``07``; ``7b`` and ``07b`` name ``07b``."""
    asked_digits, number_digits = _leading_digits(asked), _leading_digits(number)
    return (
        bool(asked_digits)
        and int(asked_digits) == int(number_digits)
        and asked[len(asked_digits) :] == number[len(number_digits) :]
    )


def _leading_digits(text: str) -> str:
    return text[: len(text) - len(text.lstrip("0123456789"))]


def find_lesson(name: str) -> str:
    """The lesson's module name from ``01_perceptron``, ``perceptron``, ``1`` or ``7b``."""
    names = [n for n, _ in lessons()]
    for n in names:
        number, _, topic = n.partition("_")
        if name in (n, topic) or _same_number(name, number):
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
    if args.args[:1] == ["--notebook"]:
        return _notebook(name, args.args[1:])
    argv0 = sys.argv[0]
    sys.argv[0] = f"zerograd lesson {name}"  # argparse names the program after argv[0]
    try:
        run(name, args.args)
    finally:
        sys.argv[0] = argv0
    return 0


def _notebook(name: str, argv: list) -> int:
    """``zerograd lesson NAME --notebook [DIR] [--lang zh]``: write NAME.ipynb into DIR."""
    p = argparse.ArgumentParser(prog=f"zerograd lesson {name} --notebook", add_help=False)
    p.add_argument("folder", nargs="?", default=str(Path("runs") / "notebooks"))
    p.add_argument("--lang", default="en")
    known, extra = p.parse_known_args(argv)
    if extra:
        raise CommandError(
            f"lesson {name} --notebook takes a folder and --lang, got {' '.join(extra)}; e.g. "
            f"zerograd lesson {name} --notebook runs/notebooks --lang zh.",
            2,
        )
    from zerograd.lessons.notebook import write

    try:
        path = write(name, known.folder, known.lang)
    except ValueError as e:
        raise CommandError(str(e), 2) from None
    except ImportError as e:
        raise CommandError(str(e), 1) from None
    print(f"wrote {path}; open it with: jupyter lab {path}")
    return 0


def add_command(sub, parents) -> None:
    p = sub.add_parser(
        "lesson",
        parents=parents,
        help="list or run the course's lessons (perceptron ... transfer learning)",
        description="zerograd lesson list: the lessons in course order. zerograd lesson NAME "
        "[ARGS ...]: run one (NAME like 01_perceptron, perceptron or 1); ARGS go to the lesson, "
        "e.g. --quick for a short run, --out DIR for its pictures, --help for its own options. "
        "zerograd lesson NAME --notebook [DIR] [--lang zh]: write the lesson as a Jupyter "
        "notebook, DIR/NAME.ipynb (default DIR runs/notebooks; needs the notebook extra).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="'list' or a lesson")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the lesson")
    p.set_defaults(func=_run)
