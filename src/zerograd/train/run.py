"""``run(config)``: one whole training job from a validated ``RunConfig``, the one way the command
line, the lessons and Python users train a zoo model on MNIST or Fashion-MNIST.

In order: validate the configuration (every problem at once); check the run folder (``--out``);
on ``resume``, read the checkpoint's own configuration and refuse what would not be the same run;
find the data and hold out the validation split; build the model, optimizer and schedule; take the
folder's lock; train with ``fit`` (progress, ``metrics.csv``, checkpoints); evaluate the test set
once, at the end; write ``model.safetensors``, ``results.json`` and ``curves.png``.

A run folder holds ``config.json`` (this configuration, round-tripped), ``last.safetensors`` and
``best.safetensors`` (full checkpoints carrying the configuration; ``best`` is picked on the
validation split), ``metrics.csv``, and at the end ``model.safetensors`` (the final weights),
``results.json`` and ``curves.png``. With ``tensorboard`` set, TensorBoard's event files go to
``tensorboard/`` in it (or the folder named), and a resumed run goes on logging there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time

import numpy as np

from .config import CHANGEABLE, IDENTITY, OPTIMIZERS, ConfigError, RunConfig, RunError
from .rundir import RunFolder, refuse_unwritable

__all__ = [
    "run",
    "RunResult",
    "Interrupted",
    "read_run_config",
    "load_datasets",
    "check_same_run",
]


class Interrupted(RunError, KeyboardInterrupt):
    """Ctrl-C during a run: the message says where the last intact checkpoint is and how to
    resume. Still a ``KeyboardInterrupt``, so ``except KeyboardInterrupt`` catches it."""

    status = 130


@dataclasses.dataclass
class RunResult:
    """What ``run`` returns: the run folder, its results (``results.json``), the ``History`` and
    the trained model."""

    folder: str
    results: dict
    history: object
    model: object


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- data -------------------------------------------------------------------------------------


def load_datasets(config: RunConfig, say=print):
    """``(train, test, source)``: the full files when found, else the embedded MNIST sample (said
    so); a missing ``data_dir`` or Fashion-MNIST without files is a ``RunError``."""
    from ..data import datasets

    cls = datasets.MNIST if config.dataset == "mnist" else datasets.FashionMNIST
    if config.data_dir is not None and os.path.exists(config.data_dir):
        if not os.path.isdir(config.data_dir):
            raise RunError(
                f"--data-dir {config.data_dir} is a file, not a folder; pass the folder that "
                f"holds {config.dataset}/ with the IDX files.",
                2,
            )
    elif config.data_dir is not None:
        raise RunError(
            f"--data-dir {config.data_dir}: no such folder; pass the folder that holds "
            f"{config.dataset}/ with the IDX files, or leave --data-dir out.",
            2,
        )
    if not config.sample:
        found = datasets.find_mnist_files(config.dataset, root=config.data_dir)
        if found is not None or config.download:
            kw = dict(root=config.data_dir, download=config.download)
            train, test = cls(train=True, **kw), cls(train=False, **kw)
            where = os.path.dirname(train.files["train-images-idx3-ubyte"])
            return (
                train,
                test,
                f"{config.dataset} from {where} ({len(train)} train / {len(test)} test)",
            )
        looked = ("--data-dir, " if config.data_dir else "") + "$ZEROGRAD_DATA and the cache"
        if config.dataset != "mnist" or config.data_dir is not None:
            raise RunError(
                f"the {config.dataset} files were not found (looked in {looked}, "
                f"{datasets.cache_dir()}). Set ZEROGRAD_DATA to the folder holding "
                f"{config.dataset}/, pass --data-dir, or add --download when online."
            )
        say(
            f"No MNIST files found (looked in {looked}), so this run uses the small sample "
            f"embedded in the package ({datasets.SAMPLE_SIZES['train']} train / "
            f"{datasets.SAMPLE_SIZES['test']} test images): accuracy will be lower than on the "
            "full set. For the full data set, set ZEROGRAD_DATA to a folder holding mnist/ with "
            "the four original IDX files, pass --data-dir, or add --download when online."
        )
    train, test = cls(train=True, sample=True), cls(train=False, sample=True)
    return train, test, f"the embedded MNIST sample ({len(train)} train / {len(test)} test)"


def _split_validation(config: RunConfig, train):
    """``(train, val)``: ``val_split`` of the training set held out by a generator of its own
    seeded with ``seed``, so the split is the same on every rank and on resume."""
    from ..data import random_split

    n_val = int(round(len(train) * config.val_split))
    if n_val == 0:
        return train, None
    if n_val >= len(train):
        raise ConfigError([("val_split", f"{config.val_split} leaves no training images")])
    rest, val = random_split(
        train, [len(train) - n_val, n_val], generator=np.random.default_rng(config.seed)
    )
    return rest, val


def _distributed_datasets(config: RunConfig, world, say):
    """``load_datasets`` on every rank: rank 0 first (one download, not one per process); then a
    check that every rank found the same data."""
    from .. import distributed

    if world.rank == 0:
        found = load_datasets(config, say)
    distributed.barrier()
    if world.rank != 0:
        found = load_datasets(config, lambda *a: None)
    sizes = distributed.all_gather_object((len(found[0]), len(found[1])))
    if len(set(sizes)) > 1:
        listed = ", ".join(f"rank {r}: {a} train / {b} test" for r, (a, b) in enumerate(sizes))
        raise RunError(
            f"the ranks found different data ({listed}). Put the same files on every node (or "
            "in a shared folder) and pass --data-dir."
        )
    return found


# --- model, optimizer, schedule -----------------------------------------------------------------


def _optimizer(config: RunConfig, model):
    from .. import optim

    cls, _, options = OPTIMIZERS[config.optimizer]
    if config.weight_decay:
        options = {**options, "weight_decay": config.weight_decay}
    return getattr(optim, cls)(model.parameters(), lr=config.learning_rate, **options)


def _schedule(config: RunConfig, optimizer):
    from ..optim import lr_scheduler

    if config.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=2)
    return None


def _augmentation(names):
    from ..data import transforms
    from .config import AUGMENTATIONS

    if not names:
        return None
    return transforms.Compose(
        [getattr(transforms, AUGMENTATIONS[n][1])(*AUGMENTATIONS[n][2]) for n in names]
    )


# --- resume -----------------------------------------------------------------------------------


def _damage(path: str) -> str | None:
    """None when ``path`` reads as a whole safetensors file, else what is wrong with it."""
    from ..io import load

    try:
        load(path)
    except (OSError, ValueError) as e:
        return str(e)
    return None


def _checkpoint_extra(path: str) -> dict:
    from ..io import load_metadata

    meta = load_metadata(path)
    try:
        extra = json.loads(meta.get("extra", "null")) or {}
        epoch = json.loads(meta.get("epoch", "null"))
    except ValueError:
        raise RunError(f"{path}: its metadata is not valid JSON; the file is damaged.") from None
    if not isinstance(extra, dict) or not isinstance(epoch, int):
        raise RunError(f"{path} is not a checkpoint of zerograd train (no epoch or run data).")
    return {**extra, "epoch": epoch}


def read_run_config(folder) -> RunConfig:
    """The configuration of the run in ``folder``: from ``config.json``, else from its last
    checkpoint; a ``RunError`` naming the file when neither can be read."""
    folder = os.fspath(folder)
    path = os.path.join(folder, "config.json")
    if os.path.exists(path):
        return RunConfig.load(path)
    last = os.path.join(folder, "last.safetensors")
    if os.path.exists(last) and _damage(last) is None:
        saved = _checkpoint_extra(last).get("config")
        if isinstance(saved, dict):
            return RunConfig.from_dict(saved, last)
    if not os.path.isdir(folder):
        raise RunError(
            f"{folder}: no such run folder; train first (zerograd train --out {folder}).", 2
        )
    raise RunError(
        f"{folder} holds no run (no config.json); pass a folder made by zerograd train --out.", 2
    )


def check_same_run(config: RunConfig, saved: RunConfig, folder: str) -> None:
    """Refuse to resume ``saved``'s run as ``config`` when that would be another run: a
    ``RunError`` naming each difference (data set, model, seed, split, batch, optimizer ...)."""
    clash = config.differences(saved, IDENTITY + ("optimizer",))
    if clash:
        listed = "; ".join(
            f"it was trained with {k}={b!r}, this asks for {a!r}" for k, a, b in clash
        )
        raise RunError(
            f"cannot resume {folder}: {listed}. Resume with the run's own settings (leave those "
            "options out), or start a new run with another --out.",
            2,
        )


def _resume_point(folder: RunFolder, config: RunConfig, resume) -> tuple:
    """``(checkpoint path, its extra data, saved config, changes)`` or a ``RunError`` saying why
    this cannot be resumed and what to do."""
    which = "last" if resume is True else resume
    path = folder.file(f"{which}.safetensors") if which in ("last", "best") else os.fspath(which)
    if not os.path.exists(path):
        if which == "last" and set(folder.held_files()) <= {"config.json", "metrics.csv"}:
            raise RunError(
                f"--resume: no checkpoint at {path} (the run there stopped before its first "
                "epoch ended); start the run without --resume.",
                2,
            )
        raise RunError(f"--resume: no checkpoint at {path}; check the name and --out.", 2)
    problem = _damage(path)
    if problem is not None and which not in ("last", "best"):
        raise RunError(
            f"--resume {path} is not a checkpoint zerograd can read ({problem}); pass --resume "
            "last, --resume best, or another checkpoint file."
        )
    if problem is not None:
        best = folder.file("best.safetensors")
        if which == "last" and os.path.exists(best) and _damage(best) is None:
            epoch = _checkpoint_extra(best)["epoch"]
            raise RunError(
                f"{path} is damaged ({problem}); {best} (epoch {epoch}) is whole: resume from it "
                "with --resume best."
            )
        raise RunError(
            f"{path} is damaged ({problem}) and no other checkpoint of the run is whole; start "
            "the run again with --overwrite (the damaged run is replaced)."
        )
    extra = _checkpoint_extra(path)
    saved = extra.get("config")
    saved = (
        RunConfig.from_dict(saved, path)
        if isinstance(saved, dict)
        else read_run_config(folder.path)
    )
    check_same_run(config, saved, folder.path)
    if config.epochs <= extra["epoch"] and os.path.exists(folder.file("results.json")):
        raise RunError(
            f"{folder.path} has already trained {_plural(extra['epoch'], 'epoch')}; pass --epochs "
            f"above {extra['epoch']} to train on.",
            2,
        )
    changes = config.differences(saved, CHANGEABLE)
    return path, extra, saved, changes


def _restore(config, path, extra, changes, model, optimizer, say):
    """Load the checkpoint; apply the changed settings; return ``(scheduler, start epoch)``."""
    from ..io import load_checkpoint

    start = extra["epoch"]
    changed = {name for name, _, _ in changes}
    scheduler = _schedule(config, optimizer)
    same_plan = not changed & {"epochs", "lr", "schedule"}
    try:
        load_checkpoint(path, model, optimizer, scheduler if same_plan else None)
    except (ValueError, TypeError) as e:
        raise RunError(f"cannot resume from {path}: {e}") from None
    if same_plan and "weight_decay" not in changed:
        return scheduler, start
    for group in optimizer.param_groups:  # the new settings, as if the run had started with them
        group["weight_decay"] = config.weight_decay
        if not same_plan:
            group["lr"] = group["initial_lr"] = config.learning_rate
    if not same_plan:
        scheduler = _schedule(config, optimizer)
        if config.schedule == "cosine":
            for _ in range(start):  # where a run planned for config.epochs would be now
                scheduler.step()
    now = optimizer.param_groups[0]["lr"]
    listed = ", ".join(f"{k} {b} -> {a}" for k, a, b in changes)
    plan = (
        f"; the {config.schedule} schedule is re-planned as if the run had started with these "
        f"settings: epoch {start + 1} trains at lr {now:.4g}"
        if not same_plan
        else ""
    )
    say(f"Resuming with changed settings: {listed}{plan}.")
    return scheduler, start


# --- TensorBoard -------------------------------------------------------------------------------


def _check_tensorboard_extra() -> None:
    """Refuse ``tensorboard`` before any work when its writer (tensorboardX, with Pillow for the
    images) is not installed."""
    import importlib.util

    missing = [name for name, module in (("tensorboardX", "tensorboardX"), ("Pillow", "PIL"))
               if importlib.util.find_spec(module) is None]  # fmt: skip
    if missing:
        raise RunError(
            f"--tensorboard needs {' and '.join(missing)} to write the logs, and "
            f"{'they are' if len(missing) > 1 else 'it is'} not installed: "
            'pip install "zerograd[tensorboard]"',
            2,
        )


def _event_files(folder: str) -> list:
    """The TensorBoard event files directly in ``folder`` (what a writer there made)."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if n.startswith("events.out.tfevents."))


def _check_tensorboard_dir(config: RunConfig, resume, overwrite: bool) -> None:
    """A new run does not mix its logs into another run's: a ``--tensorboard DIR`` already
    holding event files is refused unless ``overwrite`` (the run folder's own ``tensorboard/``
    goes with the run folder, which ``RunFolder.check`` has allowed)."""
    where = config.tensorboard_dir
    if config.tensorboard is True or where is None:
        return
    refuse_unwritable("--tensorboard", where, "for the logs")
    if resume or overwrite:
        return
    if _event_files(where):
        raise RunError(
            f"--tensorboard {where} already holds the TensorBoard logs of another run; pass "
            "another folder (e.g. one per run), --overwrite to replace them, or --resume.",
            2,
        )


def _fresh_tensorboard_dir(config: RunConfig) -> None:
    """A new run's logs start clean: an earlier run's event files in its folder are removed."""
    where = config.tensorboard_dir
    for name in _event_files(where) if where is not None else []:
        os.remove(os.path.join(where, name))


# --- the run ----------------------------------------------------------------------------------


def run(config: RunConfig, resume=False, overwrite: bool = False, say=print) -> RunResult:
    """Train ``config.model`` on ``config.dataset`` as ``config`` says; return a ``RunResult``.

    Parameters
    ----------
    config : RunConfig
        Validated first: a ``ConfigError`` lists every problem before any work.
    resume : False, True / "last", "best", or a checkpoint path
        Continue the run in ``config.run_dir`` from that checkpoint. The checkpoint carries the
        run's configuration: another data set, model, seed, split, batch size, augmentation or
        optimizer is refused (a ``RunError`` naming what differs); a changed ``epochs``, ``lr``,
        ``schedule`` or ``weight_decay`` is applied and reported, the schedule re-planned as if
        the run had started with them. With the same configuration the result is bit for bit
        that of an uninterrupted run.
    overwrite : bool
        Replace a run already in the folder (otherwise refused).
    say : callable
        Where progress messages go (``print``; rank 0 only when distributed).

    Raises
    ------
    ConfigError, RunError
        What the user can act on, with the fix in the message (``status``: the exit status the
        command line gives it). ``Interrupted`` (a ``KeyboardInterrupt``) on Ctrl-C, naming the
        last intact checkpoint.
    """
    config.validate()
    if config.tensorboard:
        _check_tensorboard_extra()
    if not config.distributed:
        return _run(config, resume, overwrite, say, None)
    from .. import distributed

    try:
        world = distributed.init()
    except ImportError as e:
        raise RunError(f"--distributed: {e}") from None
    if world.rank > 0:
        say = _silent
    with distributed.abort_on_error():  # a failing rank ends the job instead of a hang
        try:
            return _run(config, resume, overwrite, say, world)
        except RunError as e:  # the user's one line, not a traceback per rank
            if world.world_size == 1:
                raise
            distributed.abort(f"zerograd train: {' '.join(str(e).split())}", code=e.status)


def _silent(*args, **kwargs) -> None:
    pass


def _run(config, resume, overwrite, say, world) -> RunResult:
    from .. import backend, models

    main = world is None or world.rank == 0
    folder = RunFolder(config.run_dir)
    if main:
        folder.check(resume=bool(resume), overwrite=overwrite)
        _check_tensorboard_dir(config, resume, overwrite)
    point = _resume_point(folder, config, resume) if resume else None
    tb_dir = config.tensorboard_dir if main else None
    tb_made = tb_dir is not None and not os.path.exists(tb_dir)
    if world is None:
        train_set, test_set, source = load_datasets(config, say)
    else:
        train_set, test_set, source = _distributed_datasets(config, world, say)
    train_set, val_set = _split_validation(config, train_set)
    backend.manual_seed(config.seed)
    model = models.create(config.model, **config.model_options)
    optimizer = _optimizer(config, model)
    held_before = folder.held_files() if main else []
    if main:
        folder.acquire()
    wrote = False
    try:
        if main:  # again under the lock: another run may have finished here meanwhile
            folder.check(resume=bool(resume), overwrite=overwrite)
        if point is None:
            scheduler, start_epoch, extra = _schedule(config, optimizer), 0, {}
        else:
            path, extra, _, changes = point
            scheduler, start_epoch = _restore(config, path, extra, changes, model, optimizer, say)
            say(f"Resuming from {path} after epoch {start_epoch}.")
        if main:
            if overwrite and not resume:
                folder.remove(held_before)
                held_before = []
            if not resume:
                _fresh_tensorboard_dir(config)
            config.save(folder.file("config.json"))
        result = _train(config, folder, model, optimizer, scheduler, start_epoch, extra,
                        (train_set, val_set, test_set, source), world, say)  # fmt: skip
        wrote = True
        return result
    except KeyboardInterrupt:
        raise Interrupted(_interrupted_message(folder, config)) from None
    except MemoryError:
        raise RunError(
            f"out of memory while training {config.model} with batch size {config.batch_size}; "
            f"try a smaller --batch-size (e.g. {max(1, config.batch_size // 2)})."
        ) from None
    finally:
        if main:
            keep = wrote or bool(held_before) or os.path.exists(folder.file("last.safetensors"))
            if not keep and tb_made:  # logs of a run that left nothing else: gone with it
                shutil.rmtree(tb_dir, ignore_errors=True)
            folder.release(keep=keep)


def _interrupted_message(folder: RunFolder, config: RunConfig) -> str:
    if os.path.exists(folder.file("results.json")):
        return f"interrupted after the run had finished; all its files are in {folder.path}."
    last = folder.file("last.safetensors")
    if os.path.exists(last) and _damage(last) is None:
        epoch = _checkpoint_extra(last)["epoch"]
        return (
            f"interrupted; the last intact checkpoint is {last} (epoch {epoch} of "
            f"{config.epochs}). Resume with: zerograd train --out {folder.path} --resume"
        )
    return "interrupted before the first epoch ended; nothing was saved."


def _train(config, folder, model, optimizer, scheduler, start_epoch, extra, data, world, say):
    from .. import backend, distributed, nn
    from ..data import DataLoader
    from ..io import atomic_write, save
    from .callbacks import LRSchedulerCallback, MetricsLogger, ModelCheckpoint, ProgressBar
    from .history import History
    from .loop import evaluate, fit

    train_set, val_set, test_set, source = data
    main = world is None or world.rank == 0
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                        transform=_augmentation(config.augment))  # fmt: skip
    val_loader = DataLoader(val_set, batch_size=1000) if val_set is not None else None
    test_loader = DataLoader(test_set, batch_size=1000)
    net, where = model, ""
    if world is not None:
        # batch norm over the global batch, so N processes train as one does; the state_dict
        # keys stay BatchNorm's
        model = distributed.SyncBatchNorm.convert_sync_batchnorm(model)
        net = distributed.DistributedDataParallel(model)  # rank 0's weights on every rank
        if world.rank > 0:  # dropout masks and augmentations: a stream of its own per rank
            own = np.random.SeedSequence([config.seed, world.rank, start_epoch])
            backend.manual_seed(int(own.generate_state(1)[0]))
        # the order of the global batches comes from (seed, epoch): the same at any world size
        loader = distributed.DistributedLoader(loader, seed=config.seed)
        test_loader = distributed.DistributedLoader(test_loader, seed=config.seed)
        if val_loader is not None:
            val_loader = distributed.DistributedLoader(val_loader, seed=config.seed)
        where = f" on {_plural(world.world_size, 'process').replace('processs', 'processes')}"

    history = History()
    history.load_state_dict(extra.get("history", {}))
    history.truncate(start_epoch)
    segments = list(extra.get("segments", []))
    started = time.perf_counter()

    def run_data() -> dict:  # what every checkpoint carries besides the weights
        now = {"from_epoch": start_epoch + 1, "seconds": time.perf_counter() - started}
        return {"config": config.to_dict(), "segments": [*segments, now]}

    monitor = "val_accuracy" if val_loader is not None else "accuracy"
    checkpoint = ModelCheckpoint(folder.path, monitor=monitor, save_best=val_loader is not None,
                                 extra=run_data)  # fmt: skip
    checkpoint.best = extra.get("best")
    callbacks = [checkpoint, MetricsLogger(folder.file("metrics.csv"), config.log_every,
                                           start_epoch)]  # fmt: skip
    if scheduler is not None:
        monitor_loss = "val_loss" if val_loader is not None else "loss"
        callbacks.append(LRSchedulerCallback(scheduler, monitor=monitor_loss))
    if config.tensorboard and main:
        from .tensorboard import TensorBoard

        # the whole validation split, read on this process (rank 0 when distributed)
        plain_val = DataLoader(val_set, batch_size=1000) if val_set is not None else None
        callbacks.append(TensorBoard(config.tensorboard_dir, val_loader=plain_val))
    if config.progress:
        callbacks.append(ProgressBar())
    held_out = (
        f"{len(val_set)} held out for validation" if val_set is not None else "no validation split"
    )
    say(
        f"Training {config.model} on {source}, {held_out}, for {_plural(config.epochs, 'epoch')}"
        f"{where}: {config.optimizer} lr={config.learning_rate}, batch {config.batch_size}, "
        f"seed {config.seed}"
        + (f", augment {','.join(config.augment)}" if config.augment else "")
        + f"; writing to {folder.path}/"
        + (
            f"; TensorBoard logs in {config.tensorboard_dir}/ (tensorboard --logdir "
            f"{config.tensorboard_dir})"
            if config.tensorboard
            else ""
        )
    )
    # a diverging run overflows on its way to NaN: the NaN guard says so in one line (and
    # --detect-anomaly names the op), so NumPy's floating-point warnings would only be noise
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit(net, nn.CrossEntropyLoss(), optimizer, loader, epochs=config.epochs,
                      val_loader=val_loader, callbacks=callbacks, progress=False,
                      start_epoch=start_epoch, history=history,
                      detect_anomaly=config.detect_anomaly, report_stop=False)  # fmt: skip
    if history.stop is not None:
        raise RunError(str(history.stop))
    test = evaluate(net, test_loader, nn.CrossEntropyLoss())  # the test set, once, at the end
    segments.append(run_data()["segments"][-1])
    results = {
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "epochs_run": len(history),
        "best_epoch": None,
        "best_val_accuracy": checkpoint.best if val_loader is not None else None,
        "final_val_accuracy": history.last.get("val_accuracy"),
        "seconds": sum(s["seconds"] for s in segments),
        "segments": segments,
        "data": source,
        "validation": held_out,
        "world_size": 1 if world is None else world.world_size,
    }
    if val_loader is not None:
        accs = history["val_accuracy"]
        results["best_epoch"] = history["epoch"][int(np.nanargmax(accs))] if accs else None
    if main:  # results.json last: a folder that has it holds the whole run
        save(
            model.state_dict(),
            folder.file("model.safetensors"),
            metadata={"config": json.dumps(config.to_dict())},
        )
        try:
            history.plot(folder.file("curves.png"))
            curves = "curves.png"
        except ImportError:
            curves = 'no curves.png (pip install "zerograd[plot]" for it)'
        with atomic_write(folder.file("results.json"), "w") as f:
            json.dump(results, f, indent=2)
        val = history.last.get("val_accuracy")
        has_val = val is not None and math.isfinite(val)
        val_text = f", validation {val * 100:.2f}%" if has_val else ""
        say(
            f"Test accuracy: {test['accuracy'] * 100:.2f}% (loss {test['loss']:.4f}){val_text} "
            f"after {_plural(len(history), 'epoch')}, {results['seconds']:.1f} s."
        )
        say(
            f"Wrote {folder.path}/: model.safetensors, last.safetensors, "
            + ("best.safetensors, " if val_loader is not None else "")
            + f"config.json, metrics.csv, results.json, {curves}"
            + (", tensorboard/" if config.tensorboard is True else "")
        )
    return RunResult(folder.path, results, history, model)
