"""``zerograd export``: write a trained model as an ONNX file (``zerograd.onnx.export``) and check
it in onnxruntime when that is installed."""

from __future__ import annotations

import os

import numpy as np

from ._common import CommandError, add_model_source, count, load_model, path_arg, said_by

__all__ = ["add_command"]

SEQUENCE_LENGTH = 16  # the length of the example text the character model is exported with
MAX_BATCH = 65536  # the example batch is made in memory: 205 MB of images at this size


def _example(model, batch_size: int, rng):
    """An input the model takes: (N, 1, 28, 28) images in [0, 1], or (N, 16) character ids."""
    from ..models import CharLSTM

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


def _is_onnx(path: str) -> bool:
    try:
        import onnx

        onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001 - anything onnx cannot read is not an ONNX file to replace
        return False
    return True


def _check_output(path: str, force: bool) -> None:
    """Refuse a path that is a folder, whose folder is missing, a file or not writable, or that
    holds a file other than an ONNX model (a run's weights ...) unless ``--force``."""
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise CommandError(f"-o {path} is a folder; give a file name such as model.onnx.", 2)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CommandError(f"-o {path}: {folder} is a file, not a folder; choose another path.", 2)
    if not os.path.isdir(folder):
        raise CommandError(f"-o {path}: the folder {folder} does not exist; create it first.", 2)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(
            f"-o {path}: no permission to write in {folder}; choose another path.", 2
        )
    if os.path.exists(path) and not force and not (path.endswith(".onnx") and _is_onnx(path)):
        raise CommandError(
            f"-o {path} exists and is not an ONNX file; pass --force to replace it, or choose "
            "another name.",
            2,
        )


def _export(args) -> int:
    from .. import onnx as zonnx

    model, _, _, name = load_model(args)
    if args.output:
        path = args.output
    elif args.pretrained:
        path = f"{args.pretrained}.onnx"
    else:
        path = os.path.join(args.run, "model.onnx")
    _check_output(path, args.force)
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
        raise said_by(e, "zerograd.onnx.export") from None
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
        raise CommandError(f"onnxruntime {onnxruntime.__version__}: {e}") from None
    print(
        f"Checked in onnxruntime {onnxruntime.__version__}: on a batch of {n} its outputs equal "
        f"zerograd's (largest difference {diff:.1e})."
    )
    return 0


def add_command(sub, parents) -> None:
    from ..models import PRETRAINED
    from ..onnx import MIN_OPSET, OPSET

    e = sub.add_parser(
        "export",
        parents=parents,
        help="write a trained model as an ONNX file",
        description="Write a model (--pretrained NAME or --run DIR) as an ONNX file for "
        "onnxruntime and other runtimes, print its inputs and outputs, and run it in "
        "onnxruntime (when installed) to check that it gives zerograd's outputs. The example "
        "input is --batch-size random 1x28x28 images, or character ids of length "
        f"{SEQUENCE_LENGTH} for char-lstm. Needs the onnx package: "
        'pip install "zerograd[onnx]" (docs/onnx.md).',
    )
    add_model_source(e, list(PRETRAINED))
    e.add_argument(
        "--format",
        choices=["onnx"],
        default="onnx",
        help="the file format (only onnx for now, the default)",
    )
    e.add_argument(
        "-o",
        "--output",
        type=path_arg,
        metavar="PATH",
        help="the file to write (default: NAME.onnx for --pretrained NAME, DIR/model.onnx for "
        "--run DIR); its folder must exist. An existing file that is not ONNX is replaced "
        "only with --force",
    )
    e.add_argument("--force", action="store_true", help="replace an existing non-ONNX file")
    e.add_argument(
        "--batch-size",
        type=count(1, MAX_BATCH),
        metavar="N",
        default=2,
        help=f"batch size of the example input the model is exported with, up to {MAX_BATCH} "
        "(default 2)",
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
