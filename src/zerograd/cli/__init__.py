"""The ``zerograd`` command, one module per sub-command, each thin over the layers below:
``train`` (train.py: arguments into a ``RunConfig`` for ``zerograd.train.run``), ``evaluate``,
``predict``, ``generate``, ``export``, ``gradcheck``, ``lesson``.

Every mistake and failure ends as one line on stderr, ``zerograd <command>: <what is wrong and
what to do>``, with exit status 2 for usage and 1 for failures, 130 for Ctrl-C; ``--debug`` (or
``ZEROGRAD_DEBUG=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import evaluate, export, generate, gradcheck, lesson, predict, train
from ._common import CommandError, Parser, one_line, os_error

__all__ = ["main", "build_parser", "CommandError"]

COMMANDS = (train, evaluate, predict, generate, export, gradcheck, lesson)


def build_parser() -> argparse.ArgumentParser:
    from .._version import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error (also ZEROGRAD_DEBUG=1)",
    )
    parser = Parser(
        prog="zerograd",
        description="zerograd: deep learning from zero, in NumPy.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"zerograd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_command(sub, [common])
    parser.commands = sub.choices  # name -> the sub-command's parser
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the sub-command that was given them, not by plain `zerograd`
        parser.commands.get(args.command, parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if args.command is None:
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False) or os.environ.get("ZEROGRAD_DEBUG") == "1"
    prog = f"zerograd {args.command}"
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like, which stopped reading
        # as the Python docs advise: point stdout at devnull so the exit flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt as e:
        if debug:
            raise
        print(f"{prog}: {one_line(e) if str(e) else 'interrupted.'}", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every error becomes one line, see below
        if debug:
            raise
        print(f"{prog}: {_describe(e, args)}", file=sys.stderr)
        return _status(e)


def _status(error: Exception) -> int:
    from ..train import RunError

    if isinstance(error, (CommandError, RunError)):
        return error.status
    return 1


def _describe(error: Exception, args) -> str:
    """The error as the user's one line: zerograd's own messages as they are; a full disk or a
    missing permission with the path; anything else marked as zerograd's fault, to report."""
    from ..train import RunError

    if isinstance(error, MemoryError):  # --batch-size is advice only where there is one
        if hasattr(args, "batch_size"):
            return "out of memory; try a smaller --batch-size, or close other programs."
        return "out of memory; close other programs, or give it less to do."
    if isinstance(error, OSError):
        return os_error(error)
    if isinstance(error, (CommandError, RunError, ValueError, TypeError, ImportError,
                          RuntimeError, IndexError, KeyError)):  # fmt: skip
        text = one_line(error)
        if isinstance(error, KeyError):
            text = f"missing {text}"
        return text
    return (
        f"internal error ({type(error).__name__}: {one_line(error)}); run again with --debug "
        "for the traceback and report it."
    )
