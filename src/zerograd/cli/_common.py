"""What every sub-command shares: the one-line error, argument types that refuse NaN and negative
counts, and where a model comes from (``--run DIR`` or ``--pretrained NAME``)."""

from __future__ import annotations

import argparse
import math
import os
import sys

__all__ = [
    "CommandError",
    "Parser",
    "finite_float",
    "count",
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


def count(low: int):
    """An int of at least ``low``, for sizes, counts and seeds."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "whole number"
    return parse


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
    source.add_argument("--run", metavar="DIR", help="a folder made by zerograd train")
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
    config = read_run_config(args.run)
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
    try:
        model.load_state_dict(load(weights))
    except (ValueError, KeyError, TypeError) as e:
        raise CommandError(f"{weights} does not fit the run's {config.model}: {e}") from None
    return model.eval(), config.dataset, config.model, args.run
