"""``zerograd export``: write a trained model as an ONNX file (``zerograd.onnx.export``) and check
it in onnxruntime when that is installed."""

from __future__ import annotations

import os
import sys

import numpy as np

__all__ = ["add_command"]

SEQUENCE_LENGTH = 16  # the length of the example text the character model is exported with


def _example(model, batch_size: int, rng):
    """An input the model takes: (N, 1, 28, 28) images in [0, 1], or (N, 16) character ids."""
    from .models import CharLSTM

    if isinstance(model, CharLSTM):
        return rng.integers(0, model.config["vocab_size"], size=(batch_size, SEQUENCE_LENGTH))
    return rng.random((batch_size, 1, 28, 28), dtype=np.float32)


def _describe(value_info) -> str:
    """``float32 [batch, 1, 28, 28]`` for a graph input or output."""
    from onnx import helper

    tensor_type = value_info.type.tensor_type
    dims = [
        d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
        for d in tensor_type.shape.dim
    ]
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))
    return f"{dtype} [{', '.join(dims)}]"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.1f} kB"


def _export(args) -> int:
    from . import onnx as zonnx
    from .cli_train import _load_model

    if args.batch_size < 1:
        raise SystemExit(
            f"zerograd export: --batch-size must be at least 1, got {args.batch_size}."
        )
    model, _, name = _load_model(args)
    if args.output:
        path = args.output
    elif args.pretrained:
        path = f"{args.pretrained}.onnx"
    else:
        path = os.path.join(args.run, "model.onnx")
    rng = np.random.default_rng(0)
    dynamic = not args.no_dynamic_batch
    try:
        proto = zonnx.export(
            model,
            _example(model, args.batch_size, rng),
            path,
            dynamic_batch=dynamic,
            opset_version=args.opset,
        )
    except (ImportError, OSError, TypeError, ValueError) as e:
        message = str(e).removeprefix("zerograd.onnx.export: ")
        raise SystemExit(f"zerograd export: {message}") from None
    print(
        f"Wrote {path} ({_size(os.path.getsize(path))}): {name} ({type(model).__name__}) as "
        f"ONNX IR {proto.ir_version}, opset {proto.opset_import[0].version}, "
        f"{'for any batch size' if dynamic else 'with fixed sizes'}."
    )
    for kind, values in (("input", proto.graph.input), ("output", proto.graph.output)):
        for v in values:
            print(f"  {kind:6s} {v.name:8s} {_describe(v)}")
    try:
        import onnxruntime
    except ImportError:
        print(
            "onnxruntime is not installed, so the file was not run; "
            'pip install "zerograd[onnx]" to check it.'
        )
        return 0
    n = args.batch_size + 1 if dynamic else args.batch_size  # another size than the example's
    try:
        diff = zonnx.check_with_onnxruntime(path, model, _example(model, n, rng))
    except RuntimeError as e:
        print(f"zerograd export: onnxruntime {onnxruntime.__version__}: {e}", file=sys.stderr)
        return 1
    print(
        f"Checked in onnxruntime {onnxruntime.__version__}: on a batch of {n} its outputs equal "
        f"zerograd's (largest difference {diff:.1e})."
    )
    return 0


def add_command(sub) -> None:
    from .cli_train import _add_model_source
    from .onnx import MIN_OPSET, OPSET

    e = sub.add_parser(
        "export",
        help="write a trained model as an ONNX file",
        description="Write a model (--pretrained NAME or --run DIR) as an ONNX file for "
        "onnxruntime and other runtimes, print its inputs and outputs, and run it in "
        "onnxruntime (when installed) to check that it gives zerograd's outputs. The example "
        "input is --batch-size random 1x28x28 images, or character ids of length "
        f"{SEQUENCE_LENGTH} for char-lstm. Needs the onnx package: "
        'pip install "zerograd[onnx]" (docs/onnx.md).',
    )
    _add_model_source(e)
    e.add_argument(
        "--format",
        choices=["onnx"],
        default="onnx",
        help="the file format (only onnx for now, the default)",
    )
    e.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="the file to write (default: NAME.onnx for --pretrained NAME, DIR/model.onnx for "
        "--run DIR); its folder must exist",
    )
    e.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        default=2,
        help="batch size of the example input the model is exported with (default 2)",
    )
    e.add_argument(
        "--no-dynamic-batch",
        action="store_true",
        help="fix the batch size (and the sequence length of the recurrent models) to the "
        "example's; by default they are symbolic, so the file runs on any",
    )
    e.add_argument(
        "--opset",
        type=int,
        default=OPSET,
        choices=range(MIN_OPSET, OPSET + 1),
        metavar="N",
        help=f"ONNX opset, {MIN_OPSET} to {OPSET} (default {OPSET}, the newest onnxruntime "
        "1.32 runs; older opsets for older runtimes)",
    )
    e.set_defaults(func=_export)
