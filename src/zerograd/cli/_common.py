"""What every sub-command shares: the one-line error, argument types that refuse NaN, negative
counts and empty paths, options named by their flags in a configuration's problems, and where a
model comes from (``--run DIR`` or ``--pretrained NAME``)."""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import sys

__all__ = [
    "CommandError",
    "Parser",
    "one_line",
    "os_error",
    "said_by",
    "finite_float",
    "count",
    "path_arg",
    "flag",
    "validated",
    "run_folder",
    "add_model_source",
    "load_model",
    "class_names",
]


class CommandError(Exception):
    """A mistake or a failure the user can act on; ``main`` prints ``zerograd <command>:
    <message>`` and exits with ``status`` (2: usage, 1: failure)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def one_line(error: BaseException) -> str:
    """The error's message on one line (what ``main`` prints after ``zerograd <command>:``)."""
    return " ".join(str(error).split()) or type(error).__name__


# what to do about the operating system's refusals, for the messages Python writes itself
_OS_HINTS = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "give a file, not a folder",
    errno.EACCES: "check its permissions, or use another path",
    errno.EPERM: "check its permissions, or use another path",
    errno.EROFS: "the file system is read-only: use another path",
    errno.ENOSPC: "the disk is full: free some space, or use another disk",
}


def os_error(error: OSError) -> str:
    """An ``OSError`` as ``PATH: what the system said; what to do``, without Python's
    ``[Errno 2]``: zerograd's own messages keep their words, Python's get the path first."""
    text = one_line(error)
    if error.strerror and error.filename is not None and text.startswith("[Errno"):
        where = f"{error.filename} -> {error.filename2}" if error.filename2 else error.filename
        hint = _OS_HINTS.get(error.errno)
        return f"{where}: {error.strerror}" + (f"; {hint}." if hint else ".")
    text = re.sub(r"^\[Errno \d+\] ", "", text)
    if error.filename is not None and str(error.filename) not in text:
        text = f"{error.filename}: {text}"
    return text


def said_by(error: Exception, who: str) -> CommandError:
    """A library function's error as the command's own: the same words without the function's
    ``who: `` in front (the user typed a command, not a call), a failure (status 1)."""
    text = os_error(error) if isinstance(error, OSError) else one_line(error)
    return CommandError(text.removeprefix(f"{who}: "))


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake said in one line (not the usage block and a second line)."""

    def error(self, message):
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def finite_float(text: str) -> float:
    """A float that is a number: ``nan``, ``inf`` and words are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def count(low: int, high: int | None = None):
    """An int of at least ``low`` (and at most ``high``), for sizes, counts and seeds."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


def path_arg(text: str) -> str:
    """A file or folder path; an empty one (``--run ""``, an unset shell variable) is refused
    instead of meaning the current folder or nothing at all."""
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    return text


FLAGS = {"model_options": "--dropout"}  # RunConfig fields whose flag is not --field-name


def flag(name: str) -> str:
    """The command-line flag of a ``RunConfig`` field: ``batch_size`` -> ``--batch-size``."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def validated(config):
    """``config.validate()``, its problems named by the flags the user typed (``--lr``, not
    ``lr``)."""
    from ..train import ConfigError

    try:
        return config.validate()
    except ConfigError as e:
        raise ConfigError([(flag(k), m) for k, m in e.problems], "the options") from None


def run_folder(folder: str, option: str = "--run") -> str:
    """``folder``, refused when it is a file (the run layer would call it missing)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CommandError(
            f"{option} {folder} is a file, not a run folder; pass the folder zerograd train "
            "wrote (its --out).",
            2,
        )
    return folder


def class_names(dataset: str) -> list:
    """What to call each class: the digit for MNIST, the garment for Fashion-MNIST."""
    from ..data.datasets import FashionMNIST

    return list(FashionMNIST.classes) if dataset == "fashion-mnist" else [str(d) for d in range(10)]


def image_pretrained() -> list:
    """The shipped weights of image classifiers (what evaluate, predict and export take)."""
    from ..models import IMAGE_MODELS, PRETRAINED, pretrained_info

    return [name for name in PRETRAINED if pretrained_info(name)["model"] in IMAGE_MODELS]


def add_model_source(parser, names=None) -> None:
    from ..models import PRETRAINED

    names = names if names is not None else image_pretrained()
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--run", type=path_arg, metavar="DIR", help="a folder made by zerograd train"
    )
    source.add_argument(
        "--pretrained",
        choices=names,
        metavar="NAME",
        help="weights shipped with zerograd: " + "; ".join(f"{k}: {PRETRAINED[k]}" for k in names),
    )


def load_model(args):
    """(model in eval mode, dataset name, model name, what to call it in messages) from ``--run``
    or ``--pretrained``."""
    from ..io import load
    from ..models import create, pretrained, pretrained_info
    from ..train import read_run_config

    if args.pretrained:
        info = pretrained_info(args.pretrained)
        return (
            pretrained(args.pretrained),
            info["dataset"],
            info["model"],
            f"pretrained {args.pretrained}",
        )
    if not args.run:
        raise CommandError(
            "give --run DIR (a folder made by zerograd train) or --pretrained NAME (weights "
            "shipped with zerograd).",
            2,
        )
    config = read_run_config(run_folder(args.run))
    weights = os.path.join(args.run, "model.safetensors")
    if not os.path.exists(weights):
        last = os.path.join(args.run, "last.safetensors")
        hint = (
            " (its training has not finished: resume it with zerograd train --out "
            f"{args.run} --resume)"
            if os.path.exists(last)
            else ""
        )
        raise CommandError(f"{weights} not found{hint}.")
    model = create(config.model, **config.model_options)
    again = f"zerograd train --out {args.run} --overwrite"
    try:
        state = load(weights)
    except (OSError, ValueError) as e:
        text = (os_error(e) if isinstance(e, OSError) else one_line(e)).rstrip(".")
        raise CommandError(
            f"{text}; the run's weights cannot be read: train it again ({again})."
        ) from None
    misfit = _misfit(model, state)
    if misfit:
        raise CommandError(
            f"{weights} does not fit the run's {config.model} ({type(model).__name__}, as its "
            f"config.json says): {misfit}. It holds another model's weights; put back the run's "
            f"own model.safetensors, or train again ({again})."
        )
    model.load_state_dict(state)
    return model.eval(), config.dataset, config.model, args.run


def _misfit(model, state) -> str:
    """What keeps ``state`` from loading into ``model``, in a few words ('' when it fits)."""

    def some(names):
        return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")

    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} is {tuple(state[k].shape)}, not {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    parts = [f"it lacks {some(missing)}"] if missing else []
    parts += [f"it has {some(unexpected)}, which the model has not"] if unexpected else []
    parts += [some(shapes)] if shapes else []
    return "; ".join(parts)
