"""``zerograd predict``: classify pictures (PNG, JPEG, BMP, GIF ... or .npy) with a trained model.

Each picture is put into MNIST's form first (``zerograd.data.load_image``): grey, light ink on
dark, the drawing fitted into a 20 x 20 box and centred by its centre of mass in 28 x 28.
"""

from __future__ import annotations

import numpy as np

from ._common import CommandError, add_model_source, class_names, load_model, path_arg, said_by

__all__ = ["add_command"]


def _predict(args) -> int:
    from ..data.images import load_image
    from ..functional import softmax
    from ..train import predict

    model, dataset, _, _ = load_model(args)
    classes = class_names(dataset)
    invert = {"auto": "auto", "yes": True, "no": False}[args.invert]
    images = []
    for path in args.images:
        try:
            images.append(load_image(path, invert=invert))
        except (ImportError, OSError, TypeError, ValueError) as e:
            raise said_by(e, "load_image") from None
        except MemoryError:  # an .npy header can promise more than any memory holds
            raise CommandError(
                f"{path}: too large to read into memory; is it one picture? A digit needs a few "
                "hundred pixels a side at most."
            ) from None
    batch = np.stack(images)[:, None]  # (N, 1, 28, 28)
    probs = softmax(predict(model, batch), dim=1).data
    for path, p in zip(args.images, probs):
        top = np.argsort(-p)[:3]
        others = ", ".join(f"{classes[k]} ({p[k] * 100:.1f}%)" for k in top[1:])
        print(f"{path}: {classes[top[0]]} ({p[top[0]] * 100:.1f}%)   next: {others}")
    return 0


def add_command(sub, parents) -> None:
    p = sub.add_parser(
        "predict",
        parents=parents,
        help="classify pictures (PNG, JPEG, BMP, GIF or .npy)",
        description="Print the predicted class and the next two guesses for each picture. Any "
        "size and colour mode: each is turned into MNIST's form (grey, light on dark, the "
        "drawing fitted into 20 x 20 and centred by its centre of mass in 28 x 28). Needs "
        'Pillow for image files: pip install "zerograd[image]".',
    )
    p.add_argument("images", nargs="+", type=path_arg, metavar="IMAGE")
    add_model_source(p)
    p.add_argument(
        "--invert",
        choices=["auto", "yes", "no"],
        default="auto",
        help="turn dark ink on light paper into MNIST's light on dark: auto (default) decides "
        "from the picture's border",
    )
    p.set_defaults(func=_predict)
