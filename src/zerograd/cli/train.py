"""``zerograd train``: arguments into a ``RunConfig``, then ``zerograd.train.run`` does the job.

``mpiexec -n N zerograd train --distributed ...`` trains data-parallel over N processes
(docs/distributed.md): every rank reads the data and takes its shard of each global batch of
``--batch-size``; rank 0 alone prints and writes the run folder.
"""

from __future__ import annotations

import argparse

from ._common import run_folder, validated

__all__ = ["add_command", "config_from_args"]


def _given(args) -> dict:
    """The RunConfig fields the user gave on the command line (only those)."""
    given = {}
    for name in ("dataset", "model", "optimizer", "lr", "weight_decay", "schedule", "epochs",
                 "batch_size", "val_split", "seed", "out", "data_dir", "log_every",
                 "tensorboard"):  # fmt: skip
        if hasattr(args, name):
            given[name] = getattr(args, name)
    if hasattr(args, "augment"):
        names = [n.strip() for n in args.augment.split(",") if n.strip()]
        given["augment"] = [] if names == ["none"] else names
    for name in ("sample", "download", "detect_anomaly", "distributed"):
        if getattr(args, name, False):
            given[name] = True
    if getattr(args, "no_progress", False):
        given["progress"] = False
    return given


def config_from_args(args):
    """The run's configuration: the defaults, or on ``--resume`` the run's own configuration,
    updated with what the command line gave."""
    from ..train import RunConfig, read_run_config
    from ..train.run import check_same_run

    given = _given(args)
    dropout = getattr(args, "dropout", None)
    if args.resume:
        base = RunConfig(**{k: given[k] for k in ("dataset", "model") if k in given})
        folder = run_folder(given.get("out") or base.run_dir, "--out")
        saved = read_run_config(folder)
        config = saved.replace(**{**given, "out": folder})
    else:
        config = RunConfig(**given)
    if dropout is not None:
        config = config.replace(model_options={**config.model_options, "dropout": dropout})
    if args.resume:  # another data set or model is another run: say so before other problems
        check_same_run(config, saved, folder)
    return config


def _train(args) -> int:
    from ..distributed import is_main_process
    from ..train import run

    def say(*parts):
        if is_main_process():
            print(*parts, flush=True)

    config = validated(config_from_args(args))
    run(config, resume=args.resume, overwrite=args.overwrite, say=say)
    return 0


def add_command(sub, parents) -> None:
    from ..models import IMAGE_MODELS, ZOO
    from ..train import AUGMENTATIONS, OPTIMIZERS, SCHEDULES

    t = sub.add_parser(
        "train",
        parents=parents,
        argument_default=argparse.SUPPRESS,  # only what is given overrides a resumed run's own
        help="train a model on MNIST or Fashion-MNIST (the main job)",
        description="Train an MLP or a CNN on MNIST (default) or Fashion-MNIST with a progress "
        "bar. A validation split of the training set (--val-split) picks best.safetensors and "
        "steps the plateau schedule; the test set is evaluated once, at the end. Writes "
        "config.json, checkpoints (last/best.safetensors), metrics.csv, model.safetensors, "
        "results.json and curves.png to --out (and TensorBoard logs with --tensorboard). "
        "Without the data files it falls back to a small MNIST sample shipped with the package "
        "and says so.",
    )
    t.add_argument("--dataset", choices=["mnist", "fashion-mnist"], help="default mnist")
    t.add_argument(
        "--model",
        choices=IMAGE_MODELS,
        metavar="MODEL",
        help="; ".join(f"{k}: {ZOO[k][2]}" for k in IMAGE_MODELS),
    )
    t.add_argument("--epochs", type=int, metavar="N", help="epochs to train (default 5)")
    t.add_argument("--batch-size", type=int, metavar="N", help="default 100")
    t.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZERS),
        help="default momentum (SGD, momentum 0.9)",
    )
    t.add_argument(
        "--lr",
        type=float,
        help="learning rate (default depends on the optimizer: "
        + ", ".join(f"{k} {v[1]}" for k, v in OPTIMIZERS.items())
        + ")",
    )
    t.add_argument(
        "--schedule",
        choices=list(SCHEDULES),
        help="learning-rate schedule: "
        + "; ".join(f"{k}: {v}" for k, v in SCHEDULES.items())
        + " (default cosine)",
    )
    t.add_argument(
        "--dropout",
        type=float,
        help="dropout probability of the hidden layers (default: the model's, 0 for the MLPs, "
        "0.5 for the deep CNNs)",
    )
    t.add_argument("--weight-decay", type=float, help="the optimizer's weight_decay (default 0)")
    t.add_argument(
        "--augment",
        metavar="LIST",
        help="comma-separated batch augmentations: "
        + "; ".join(f"{k}: {v[0]}" for k, v in AUGMENTATIONS.items())
        + " (default none)",
    )
    t.add_argument(
        "--val-split",
        type=float,
        metavar="F",
        help="fraction of the training set held out for validation, picked with --seed "
        "(default 0.1; 0 for none)",
    )
    t.add_argument("--seed", type=int, help="seed for init, shuffling, dropout, the split")
    t.add_argument("--out", metavar="DIR", help="run folder (default runs/DATASET-MODEL)")
    again = t.add_mutually_exclusive_group()  # continue the run, or replace it: not both
    again.add_argument(
        "--resume",
        nargs="?",
        const="last",
        default=False,
        metavar="last|best|FILE",
        help="continue the run in --out from its last checkpoint (or best, or a checkpoint "
        "FILE) to --epochs in total; options left out keep the run's own values",
    )
    again.add_argument(
        "--overwrite",
        action="store_true",
        default=False,
        help="replace a run already in --out (refused otherwise)",
    )
    t.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the IDX files are (before $ZEROGRAD_DATA and the cache)",
    )
    t.add_argument("--download", action="store_true", help="download missing files (online)")
    t.add_argument(
        "--sample",
        action="store_true",
        help="use the embedded MNIST sample even if the full files exist",
    )
    t.add_argument(
        "--log-every",
        type=int,
        metavar="N",
        help="steps between the step rows of metrics.csv (default 50)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    t.add_argument(
        "--tensorboard",
        nargs="?",
        const=True,
        metavar="DIR",
        help="log to TensorBoard: per-step loss and lr, per-epoch loss, accuracy and lr, weight "
        "and gradient histograms, misclassified validation images; in DIR (default: "
        "tensorboard/ in the run folder), where --resume goes on logging. View with "
        'tensorboard --logdir DIR (needs pip install "zerograd[tensorboard]")',
    )
    t.add_argument(
        "--detect-anomaly",
        action="store_true",
        help="check every op's forward output and gradient for NaN/inf and stop at the first op "
        "that makes one, naming the op, the layer, the epoch and the batch (steps take up to "
        "1.6x as long: use it when the loss turns NaN)",
    )
    t.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over MPI: run as mpiexec -n N zerograd train --distributed ...; "
        "each process takes 1/N of every batch of --batch-size, batch norm is synchronised, "
        'rank 0 prints and writes (needs pip install "zerograd[mpi]"; see docs/distributed.md)',
    )
    t.set_defaults(func=_train)
