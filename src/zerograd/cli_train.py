"""``zerograd train | evaluate | predict``: the main job, thin over data, models, optim, train, io.

A run folder (``--out``) holds ``config.json`` (what was trained, how), ``model.safetensors``
(the final weights), ``last.safetensors`` / ``best.safetensors`` (full checkpoints for
``--resume``), ``curves.png`` and ``results.json``.

``mpiexec -n N zerograd train --distributed ...`` trains data-parallel over N processes
(``zerograd.distributed``, docs/distributed.md): every rank reads the data and takes its shard of
each global batch of ``--batch-size``; rank 0 alone prints and writes the run folder.
"""

from __future__ import annotations

import inspect
import json
import os
import time

import numpy as np

__all__ = ["add_commands"]

OPTIMIZERS = {  # name -> (class name, default lr, extra options)
    "sgd": ("SGD", 0.1, {}),
    "momentum": ("SGD", 0.1, {"momentum": 0.9}),
    "nesterov": ("SGD", 0.05, {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", 0.01, {}),
    "rmsprop": ("RMSprop", 0.001, {}),
    "adam": ("Adam", 0.001, {}),
    "adamw": ("AdamW", 0.001, {}),
}
AUGMENTATIONS = {  # name -> (what it does, transform class name, arguments)
    "shift": ("random shift by up to 2 pixels", "RandomShift", (2,)),
    "rotate": ("random rotation by up to 10 degrees", "RandomRotation", (10,)),
    "flip": ("random horizontal flip (Fashion-MNIST, not digits)", "RandomHorizontalFlip", ()),
}


def _say(*args):
    """Print a message; when distributed, on rank 0 only (one line, not one per process)."""
    from .distributed import is_main_process

    if is_main_process():
        print(*args, flush=True)


def _build_model(config: dict):
    """The run's model from its config.json (``model`` and ``model_config``)."""
    from . import models

    if config["model"] not in models.ZOO:
        raise SystemExit(
            f"zerograd: config.json names model {config['model']!r}, which this version does not "
            f"have ({', '.join(models.ZOO)})."
        )
    if "model_config" not in config:  # a run folder from before model_config was written
        return models.MLP(784, config["hidden"], 10, dropout=config.get("dropout", 0.0))
    return models.ZOO[config["model"]][0](**config["model_config"])


def _augmentation(names: str):
    """``--augment shift,rotate`` as one transform (None for none)."""
    from .data import transforms

    if not names or names == "none":
        return None
    steps = []
    for name in names.split(","):
        if name not in AUGMENTATIONS:
            raise SystemExit(
                f"zerograd train: --augment {names}: unknown {name!r}; use a comma-separated "
                f"list of {', '.join(AUGMENTATIONS)} (or none)."
            )
        _, cls, args = AUGMENTATIONS[name]
        steps.append(getattr(transforms, cls)(*args))
    return transforms.Compose(steps)


def _datasets(dataset: str, data_dir, sample: bool, download: bool):
    """(train, test, source description): the full files when found, else the embedded sample."""
    from .data import datasets

    cls = datasets.MNIST if dataset == "mnist" else datasets.FashionMNIST
    if sample and dataset != "mnist":
        raise SystemExit(
            f"zerograd: --sample: the package embeds a sample of MNIST only, not {dataset}; drop "
            f"--sample and set ZEROGRAD_DATA to a folder holding {dataset}/ (or pass --data-dir)."
        )
    if not sample:
        found = datasets.find_mnist_files(dataset, root=data_dir)
        if found is not None or download:
            kw = dict(root=data_dir, download=download)
            train, test = cls(train=True, **kw), cls(train=False, **kw)
            where = os.path.dirname(train.files["train-images-idx3-ubyte"])
            return train, test, f"{dataset} from {where} ({len(train)} train / {len(test)} test)"
        if dataset != "mnist":
            raise SystemExit(
                f"zerograd: the {dataset} files were not found (looked in --data-dir, "
                f"$ZEROGRAD_DATA and {datasets.cache_dir()}). Set ZEROGRAD_DATA to the folder "
                "holding fashion-mnist/, pass --data-dir, or add --download when online."
            )
        _say(
            "No MNIST files found (looked in --data-dir, $ZEROGRAD_DATA and "
            f"{datasets.cache_dir()}), so this run uses the small sample embedded in the package "
            f"({datasets.SAMPLE_SIZES['train']} train / {datasets.SAMPLE_SIZES['test']} test "
            "images): accuracy will be lower than on the full set. For the full data set, set "
            "ZEROGRAD_DATA to a folder holding mnist/ with the four original IDX files, pass "
            "--data-dir, or add --download when online."
        )
    train = cls(train=True, sample=True)
    test = cls(train=False, sample=True)
    return train, test, f"the embedded MNIST sample ({len(train)} train / {len(test)} test)"


def _train(args) -> int:
    if not args.distributed:
        return _run_training(args, None)
    from . import distributed

    try:
        world = distributed.init()
    except ImportError as e:
        raise SystemExit(f"zerograd train --distributed: {e}") from None
    # a rank that fails (or exits) ends the job, instead of leaving the others waiting
    with distributed.abort_on_error():
        return _run_training(args, world)


def _distributed_datasets(args, world):
    """``_datasets`` on every rank: rank 0 first (one download, not one per process); then a
    check that every rank found the same data."""
    from . import distributed

    where = args.dataset, args.data_dir, args.sample, args.download
    if world.rank == 0:
        train_set, test_set, source = _datasets(*where)
    distributed.barrier()
    if world.rank != 0:
        train_set, test_set, source = _datasets(*where)
    sizes = distributed.all_gather_object((len(train_set), len(test_set)))
    if len(set(sizes)) > 1:
        found = ", ".join(f"rank {r}: {a} train / {b} test" for r, (a, b) in enumerate(sizes))
        raise SystemExit(
            f"zerograd train --distributed: the ranks found different data ({found}). Put the "
            "same files on every node (or in a shared folder) and pass --data-dir."
        )
    return train_set, test_set, source


def _run_training(args, world) -> int:
    """The training run; ``world`` is ``distributed.init()``'s World when --distributed."""
    import zerograd as zg

    from . import distributed, models, nn, optim
    from .autograd import AnomalyError
    from .data import DataLoader
    from .io import atomic_write, load_checkpoint, save
    from .train import LRSchedulerCallback, ModelCheckpoint, evaluate, fit

    for flag in ("epochs", "batch_size"):
        if getattr(args, flag) < 1:
            raise SystemExit(
                f"zerograd train: --{flag.replace('_', '-')} must be at least 1, "
                f"got {getattr(args, flag)}."
            )
    main_process = world is None or world.rank == 0
    out = args.out or os.path.join("runs", f"{args.dataset}-{args.model}")
    if main_process:
        os.makedirs(out, exist_ok=True)
    opt_class, default_lr, opt_options = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else default_lr
    model_config = {}
    if args.dropout is not None:
        if "dropout" not in inspect.signature(models.ZOO[args.model][0]).parameters:
            raise SystemExit(f"zerograd train: --dropout: {args.model} has no dropout layer.")
        model_config["dropout"] = args.dropout
    augment = _augmentation(args.augment)
    config = {
        "dataset": args.dataset,
        "model": args.model,
        "optimizer": args.optimizer,
        "lr": lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "seed": args.seed,
        "schedule": args.schedule,
        "weight_decay": args.weight_decay,
        "augment": args.augment,
    }
    if world is None:
        train_set, test_set, source = _datasets(
            args.dataset, args.data_dir, args.sample, args.download
        )
    else:
        config["world_size"] = world.world_size
        train_set, test_set, source = _distributed_datasets(args, world)
    config["data"] = source

    zg.manual_seed(args.seed)
    model = models.create(args.model, **model_config)
    config["model_config"] = model.config
    if args.weight_decay:
        opt_options = {**opt_options, "weight_decay": args.weight_decay}
    optimizer = getattr(optim, opt_class)(model.parameters(), lr=lr, **opt_options)
    callbacks = [ModelCheckpoint(out, monitor="val_accuracy")]
    scheduler = None
    if args.schedule == "cosine":
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
        callbacks.append(LRSchedulerCallback(scheduler))
    start_epoch, history = 0, None
    if args.resume:
        ckpt = os.path.join(out, "last.safetensors")
        if not os.path.exists(ckpt):
            raise SystemExit(f"zerograd train --resume: no checkpoint at {ckpt}; train first.")
        info = load_checkpoint(ckpt, model, optimizer, scheduler)
        from .train import History

        start_epoch = info["epoch"]
        history = History()
        history.load_state_dict(info["extra"]["history"])
        callbacks[0].best = info["extra"].get("best")
        _say(f"Resuming from {ckpt} after epoch {start_epoch}.")

    if main_process:
        with atomic_write(os.path.join(out, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, transform=augment)
    test_loader = DataLoader(test_set, batch_size=1000)
    net, where = model, ""
    if world is not None:
        # batch norm over the global batch, so N processes train as one does; the state_dict
        # keys stay BatchNorm's
        model = distributed.SyncBatchNorm.convert_sync_batchnorm(model)
        net = distributed.DistributedDataParallel(model)  # rank 0's weights on every rank
        if world.rank > 0:  # dropout masks and augmentations: a stream of its own per rank
            own = np.random.SeedSequence([args.seed, world.rank, start_epoch])
            zg.manual_seed(int(own.generate_state(1)[0]))
        # the order of the global batches comes from (seed, epoch): the same at any world size
        loader = distributed.DistributedLoader(loader, seed=args.seed)
        test_loader = distributed.DistributedLoader(test_loader, seed=args.seed)
        where = f" on {world.world_size} process" + ("es" if world.world_size > 1 else "")
    _say(
        f"Training {args.model} on {source} for {args.epochs} epochs{where}: {args.optimizer} "
        f"lr={lr}, batch {args.batch_size}, seed {args.seed}"
        + (f", augment {args.augment}" if augment else "")
        + f"; writing to {out}/"
    )
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    try:
        history = fit(
            net,
            loss_fn,
            optimizer,
            loader,
            epochs=args.epochs,
            val_loader=test_loader,
            callbacks=callbacks,
            progress=not args.no_progress,
            start_epoch=start_epoch,
            history=history,
            detect_anomaly=args.detect_anomaly,
        )
    except AnomalyError as e:  # exit status 1; the last epoch's checkpoints stay as they were
        raise SystemExit(f"zerograd train --detect-anomaly: {e}") from None
    seconds = time.perf_counter() - start
    if history.stop_reason and "NaN" in history.stop_reason:
        return 1
    test = evaluate(net, test_loader, loss_fn)
    if not main_process:  # rank 0 writes the run folder
        return 0
    save(
        model.state_dict(),
        os.path.join(out, "model.safetensors"),
        metadata={"config": json.dumps(config)},
    )
    results = {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "epochs_run": len(history),
        "seconds": seconds,
        "data": source,
    }
    with atomic_write(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    try:
        history.plot(os.path.join(out, "curves.png"))
        curves = "curves.png"
    except ImportError:
        curves = 'no curves.png (pip install "zerograd[plot]" for it)'
    _say(
        f"Test accuracy: {test['accuracy'] * 100:.2f}% (loss {test['loss']:.4f}) after "
        f"{len(history)} epochs, {seconds:.1f} s."
    )
    _say(
        f"Wrote {out}/: model.safetensors, last.safetensors, best.safetensors, config.json, "
        f"results.json, {curves}"
    )
    return 0


def _load_model(args):
    """(model in eval mode, config, its name for messages) from --run DIR or --pretrained NAME."""
    if args.pretrained:
        from .models import pretrained, pretrained_info

        info = pretrained_info(args.pretrained)
        return pretrained(args.pretrained), info, f"pretrained {args.pretrained}"
    if not args.run:
        raise SystemExit(
            f"zerograd {args.command}: give --run DIR (a folder made by zerograd train) or "
            "--pretrained NAME (weights shipped with zerograd)."
        )
    return (*_load_run(args.run), args.run)


def _load_run(run: str):
    from .io import load

    cfg_path = os.path.join(run, "config.json")
    weights = os.path.join(run, "model.safetensors")
    for p in (cfg_path, weights):
        if not os.path.exists(p):
            raise SystemExit(
                f"zerograd: {p} not found; pass --run with a folder made by "
                "`zerograd train --out FOLDER`."
            )
    with open(cfg_path) as f:
        config = json.load(f)
    model = _build_model(config)
    model.load_state_dict(load(weights))
    model.eval()
    return model, config


def _evaluate(args) -> int:
    from . import nn
    from .data import DataLoader
    from .train import confusion_matrix, evaluate, per_class_accuracy, predict

    model, config, name = _load_model(args)
    dataset = args.dataset or config["dataset"]
    _, test_set, source = _datasets(dataset, args.data_dir, args.sample, False)
    result = evaluate(
        model,
        DataLoader(test_set, batch_size=1000),
        nn.CrossEntropyLoss(),
        metrics=("accuracy", "top5"),
    )
    _say(f"{name}: {config['model']} on {source}")
    _say(
        f"accuracy {result['accuracy'] * 100:.2f}%  top-5 {result['top5'] * 100:.2f}%  "
        f"loss {result['loss']:.4f}"
    )
    x, t = next(iter(DataLoader(test_set, batch_size=len(test_set))))
    cm = confusion_matrix(predict(model, x), t, 10)
    _say(
        "per-class accuracy: "
        + "  ".join(f"{i}:{a * 100:.1f}%" for i, a in enumerate(per_class_accuracy(cm)))
    )
    _say("confusion matrix (rows: true class, columns: predicted):")
    for i, row in enumerate(cm):
        _say(f"  {i} " + " ".join(f"{v:5d}" for v in row))
    return 0


def _load_image(path: str) -> np.ndarray:
    from .io import read_png

    if path.endswith(".npy"):
        try:
            img = np.load(path, allow_pickle=False).astype(np.float32)
        except ValueError as e:
            raise SystemExit(f"zerograd predict: {path}: not a plain .npy array ({e}).") from None
        if img.max() > 1.0:
            img = img / 255.0
    elif path.lower().endswith(".png"):
        try:
            img = read_png(path)
        except ValueError as e:
            raise SystemExit(f"zerograd predict: {e}") from None
    else:
        raise SystemExit(f"zerograd predict: {path}: give a .png or .npy image.")
    img = np.squeeze(img)
    if img.shape != (28, 28):
        raise SystemExit(
            f"zerograd predict: {path} is {img.shape}; the model needs a 28 x 28 grey image "
            "(resize it first)."
        )
    if img.mean() > 0.5:  # dark digit on a light background: MNIST is light on dark
        img = 1.0 - img
    return img.reshape(1, 28, 28)


def _predict(args) -> int:
    from .functional import softmax
    from .train import predict

    model, _, _ = _load_model(args)
    images = np.stack([_load_image(p) for p in args.images])
    probs = softmax(predict(model, images), dim=1).data
    for path, p in zip(args.images, probs):
        top = np.argsort(-p)[:3]
        others = ", ".join(f"{k} ({p[k] * 100:.1f}%)" for k in top[1:])
        _say(f"{path}: {top[0]} ({p[top[0]] * 100:.1f}%)   next: {others}")
    return 0


def _add_model_source(parser) -> None:
    from .models import PRETRAINED

    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", metavar="DIR", help="a folder made by zerograd train")
    source.add_argument(
        "--pretrained",
        choices=list(PRETRAINED),
        help="weights shipped with zerograd: "
        + "; ".join(f"{k}: {v}" for k, v in PRETRAINED.items()),
    )


def add_commands(sub) -> None:
    from .models import IMAGE_MODELS, ZOO

    t = sub.add_parser(
        "train",
        help="train a model on MNIST or Fashion-MNIST (the main job)",
        description="Train an MLP or a CNN on MNIST (default) or Fashion-MNIST with a progress "
        "bar, print the test accuracy and write weights, checkpoints and curves to --out. "
        "Without the data files it falls back to a small MNIST sample shipped with the "
        "package and says so.",
    )
    t.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    t.add_argument(
        "--model",
        choices=IMAGE_MODELS,
        default="mlp",
        help="; ".join(f"{k}: {ZOO[k][2]}" for k in IMAGE_MODELS),
    )
    t.add_argument("--epochs", type=int, default=5, help="epochs to train (default 5)")
    t.add_argument("--batch-size", type=int, default=100, help="default 100")
    t.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZERS),
        default="momentum",
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
        choices=["none", "cosine"],
        default="cosine",
        help="learning-rate schedule over the epochs (default cosine)",
    )
    t.add_argument(
        "--dropout",
        type=float,
        help="dropout probability of the hidden layers (default: the model's, 0 for the MLPs, "
        "0.5 for the deep CNNs)",
    )
    t.add_argument(
        "--weight-decay", type=float, default=0.0, help="the optimizer's weight_decay (default 0)"
    )
    t.add_argument(
        "--augment",
        default="none",
        metavar="LIST",
        help="comma-separated batch augmentations: "
        + "; ".join(f"{k}: {v[0]}" for k, v in AUGMENTATIONS.items())
        + " (default none)",
    )
    t.add_argument("--seed", type=int, default=0, help="seed for init, shuffling, dropout")
    t.add_argument("--out", metavar="DIR", help="run folder (default runs/DATASET-MODEL)")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from DIR/last.safetensors to --epochs in total",
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
    t.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
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

    e = sub.add_parser(
        "evaluate",
        help="test accuracy, per class, and the confusion matrix",
        description="Evaluate a trained run on its data set's test split.",
    )
    _add_model_source(e)
    e.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist"],
        help="default: the one the run was trained on",
    )
    e.add_argument("--data-dir", metavar="DIR")
    e.add_argument("--sample", action="store_true", help="evaluate on the embedded sample")
    e.set_defaults(func=_evaluate)

    p = sub.add_parser(
        "predict",
        help="classify 28x28 images (PNG or .npy)",
        description="Print the predicted class and the next two guesses for "
        "each image. Images are 28 x 28 grey (PNG 8-bit grey/RGB/RGBA, or .npy); "
        "dark-on-light drawings are inverted to MNIST's light-on-dark.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    _add_model_source(p)
    p.set_defaults(func=_predict)
