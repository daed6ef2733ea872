"""``zerograd generate``: sample text from a character language model (lesson 16's weights)."""

from __future__ import annotations

import os

from ._common import CommandError, count, finite_float, path_arg, said_by

__all__ = ["add_command"]

MAX_LENGTH = 100_000  # characters one call may add: minutes on a CPU, not a run without end


def _generate(args) -> int:
    import zerograd as zg

    from ..models import generate, load_language_model, pretrained_path

    if args.temperature < 0:
        raise CommandError(f"--temperature must be 0 or more, got {args.temperature}.", 2)
    if not args.prompt:
        raise CommandError("--prompt is empty; give at least one character to start from.", 2)
    if args.pretrained:
        args.weights = str(pretrained_path(args.pretrained))
    elif not args.weights:
        raise CommandError(
            "give --weights FILE (lesson 16's char_lstm.safetensors) or --pretrained "
            "char-lstm-shakespeare (shipped with zerograd).",
            2,
        )
    if not os.path.exists(args.weights):
        raise CommandError(
            f"{args.weights} not found; train a model with `zerograd lesson 16_char_lm --out DIR` "
            "and pass DIR/char_lstm.safetensors."
        )
    if os.path.isdir(args.weights):
        raise CommandError(f"--weights {args.weights} is a folder; pass the .safetensors file.", 2)
    try:
        model, vocab, _ = load_language_model(args.weights)
    except (OSError, TypeError, ValueError) as e:
        raise said_by(e, "load_language_model") from None
    unknown = "".join(dict.fromkeys(c for c in args.prompt if c not in vocab.index))
    if unknown:
        raise CommandError(  # status 1: the prompt is fine, this model cannot read it
            f"--prompt {args.prompt!r}: {unknown!r} is not in the vocabulary of the model, "
            f"which knows only these {len(vocab)} characters: {vocab.chars!r}."
        )
    if args.seed is not None:
        zg.manual_seed(args.seed)
    print(generate(model, vocab, args.prompt, args.length, args.temperature))
    return 0


def add_command(sub, parents) -> None:
    g = sub.add_parser(
        "generate",
        parents=parents,
        help="sample text from a character language model",
        description="Read --prompt with a character-level LSTM (weights written by lesson 16, "
        "zerograd lesson 16_char_lm, or the ones shipped with zerograd: --pretrained) and "
        "continue it one sampled character at a time.",
    )
    source = g.add_mutually_exclusive_group()
    source.add_argument("--weights", type=path_arg, metavar="FILE", help="a char_lstm.safetensors")
    source.add_argument(
        "--pretrained",
        choices=["char-lstm-shakespeare"],
        help="the character model shipped with zerograd (validation 1.4556 nats/char)",
    )
    g.add_argument("--prompt", default="ROMEO:", help="text to start from (default ROMEO:)")
    g.add_argument(
        "--length",
        type=count(0, MAX_LENGTH),
        default=300,
        help=f"characters to add, up to {MAX_LENGTH} (default 300)",
    )
    g.add_argument(
        "--temperature",
        type=finite_float,
        default=0.8,
        help="below 1: safer, more repetitive; above 1: wilder; 0: always the likeliest "
        "(default 0.8)",
    )
    g.add_argument(
        "--seed", type=count(0), help="seed for the sampling (default: unseeded run-to-run)"
    )
    g.set_defaults(func=_generate)
