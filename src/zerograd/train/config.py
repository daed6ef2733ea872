"""``RunConfig``: what one training run is, as data. Validated once, every problem listed; saved as
``config.json`` and inside every checkpoint, and read back unchanged.

The command line only turns its arguments into a ``RunConfig``; Python users build one directly:

>>> cfg = RunConfig(model="simple-cnn", epochs=3, lr=0.05)
>>> RunConfig.from_dict(cfg.to_dict()) == cfg
True
>>> RunConfig(epochs=0, lr=float("nan")).validate()
Traceback (most recent call last):
...
zerograd.train.config.ConfigError: 2 problems with the run configuration: lr: ...; epochs: ...
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
from dataclasses import dataclass, field, fields

__all__ = [
    "RunConfig",
    "ConfigError",
    "RunError",
    "OPTIMIZERS",
    "AUGMENTATIONS",
    "SCHEDULES",
    "DATASETS",
]

DATASETS = ("mnist", "fashion-mnist")
OPTIMIZERS = {  # name -> (class name in zerograd.optim, default lr, extra options)
    "sgd": ("SGD", 0.1, {}),
    "momentum": ("SGD", 0.1, {"momentum": 0.9}),
    "nesterov": ("SGD", 0.05, {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", 0.01, {}),
    "rmsprop": ("RMSprop", 0.001, {}),
    "adam": ("Adam", 0.001, {}),
    "adamw": ("AdamW", 0.001, {}),
}
SCHEDULES = {
    "none": "a constant learning rate",
    "cosine": "cosine annealing from lr to 0 over the epochs",
    "plateau": "divide lr by 10 when the validation loss stalls for 2 epochs",
}
AUGMENTATIONS = {  # name -> (what it does, transform class name, arguments)
    "shift": ("random shift by up to 2 pixels", "RandomShift", (2,)),
    "rotate": ("random rotation by up to 10 degrees", "RandomRotation", (10,)),
    "flip": ("random horizontal flip (Fashion-MNIST, not digits)", "RandomHorizontalFlip", ()),
}

# what makes a run the run it is: a resumed run must agree on all of these
IDENTITY = ("dataset", "sample", "model", "model_options", "val_split", "seed", "batch_size",
            "augment")  # fmt: skip
# settings added after runs were first saved: an older config.json is read with these values
ADDED_LATER = {"tensorboard": False}
# what a resumed run may change: applied and reported
CHANGEABLE = ("epochs", "lr", "schedule", "weight_decay")


class RunError(Exception):
    """A run that cannot start or go on, for a reason the user can act on. ``status`` is the exit
    status the command line gives it: 2 for a request to change (usage), 1 for a failure."""

    status = 1

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class ConfigError(RunError, ValueError):
    """A run configuration with problems; ``problems`` lists ``(field, message)`` pairs."""

    status = 2

    def __init__(self, problems, where: str = "the run configuration", status: int = 2):
        self.problems = list(problems)
        self.where, self.status = where, status
        n = len(self.problems)
        text = "; ".join(
            message if name.startswith("(") else f"{name}: {message}"
            for name, message in self.problems
        )
        head = "a problem" if n == 1 else f"{n} problems"
        Exception.__init__(self, f"{head} with {where}: {text}.")


def _upgrade(old: dict) -> dict:
    """The older ``config.json`` (``model_config``, ``augment`` as text, ``data`` ...) in the
    current form."""
    augment = old.get("augment") or "none"
    new = {k: old[k] for k in ("dataset", "model", "optimizer", "lr", "batch_size", "epochs",
                               "seed", "schedule", "weight_decay") if k in old}  # fmt: skip
    new["model_options"] = old.get("model_config") or {}
    new["augment"] = [] if augment == "none" else str(augment).split(",")
    new["val_split"] = 0.0  # those runs held nothing out
    return new


@dataclass
class RunConfig:
    """One training run of an image classifier on MNIST or Fashion-MNIST.

    Fields (the command line's flags have the same names with dashes):
    ``dataset`` ("mnist", "fashion-mnist"); ``model`` (a name from ``zerograd.models.ZOO``'s
    image models) and ``model_options`` (its constructor's keyword arguments, e.g.
    ``{"dropout": 0.3}``); ``optimizer`` (a key of ``OPTIMIZERS``), ``lr`` (None: the
    optimizer's default), ``weight_decay``, ``schedule`` (a key of ``SCHEDULES``); ``epochs``,
    ``batch_size``, ``augment`` (names from ``AUGMENTATIONS``); ``val_split``, the fraction of the
    training set held out to pick ``best`` and step the plateau schedule (0 for none: the test set
    is used once, at the end, either way); ``seed``; ``out`` (the run folder; None:
    ``runs/DATASET-MODEL``); ``data_dir``, ``sample`` (the package's MNIST sample), ``download``;
    ``log_every`` (steps between step rows of ``metrics.csv``); ``progress``,
    ``detect_anomaly``; ``distributed`` (data parallel over the MPI processes of ``mpiexec``);
    ``tensorboard`` (TensorBoard logs: False for none, True for ``tensorboard/`` in the run folder,
    or a folder path; ``tensorboard_dir`` is where they go).
    """

    dataset: str = "mnist"
    model: str = "mlp"
    model_options: dict = field(default_factory=dict)
    optimizer: str = "momentum"
    lr: float | None = None
    weight_decay: float = 0.0
    schedule: str = "cosine"
    epochs: int = 5
    batch_size: int = 100
    augment: list = field(default_factory=list)
    val_split: float = 0.1
    seed: int = 0
    out: str | None = None
    data_dir: str | None = None
    sample: bool = False
    download: bool = False
    log_every: int = 50
    progress: bool = True
    detect_anomaly: bool = False
    distributed: bool = False
    tensorboard: bool | str = False

    # --- reading and writing -------------------------------------------------------------------

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(
        cls, data, where: str = "the run configuration", require_all: bool = False
    ) -> RunConfig:
        """A config from ``to_dict()``'s form; unknown (and with ``require_all`` missing) keys and
        wrong types are listed at once. A ``config.json`` of zerograd 0.1's older form (with
        ``model_config``) is read as the run it describes."""
        if isinstance(data, dict) and "model_config" in data:
            data, require_all = _upgrade(data), False
        if not isinstance(data, dict):
            raise ConfigError(
                [("(whole)", f"it must be a JSON object, got {type(data).__name__}")], where
            )
        data = {**ADDED_LATER, **data}  # a config.json written before these settings existed
        known = {f.name for f in fields(cls)}
        problems = [(k, "is not a setting zerograd knows") for k in data if k not in known]
        if require_all:
            problems += [(k, "is missing") for k in sorted(known - set(data))]
        if problems:
            raise ConfigError(problems, where)
        cfg = cls(**data)
        cfg.validate(where)
        return cfg

    @classmethod
    def load(cls, path) -> RunConfig:
        """Read a run folder's ``config.json``; any damage is a ``ConfigError`` naming the file."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ConfigError([("(file)", f"it is not valid JSON ({e})")], path, 1) from None
        except UnicodeDecodeError:
            raise ConfigError([("(file)", "it is not a UTF-8 text file")], path, 1) from None
        try:
            return cls.from_dict(data, path, require_all=True)
        except ConfigError as e:  # a damaged file is a failure, not a usage mistake
            e.status = 1
            raise

    def save(self, path) -> None:
        from ..io import atomic_write

        with atomic_write(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    # --- derived values ------------------------------------------------------------------------

    @property
    def run_dir(self) -> str:
        return self.out or os.path.join("runs", f"{self.dataset}-{self.model}")

    @property
    def tensorboard_dir(self) -> str | None:
        """Where the TensorBoard logs go: None (``tensorboard`` is False), ``tensorboard/`` in
        the run folder (True, so it moves with the folder), or the folder ``tensorboard`` names.
        """
        if self.tensorboard is True:
            return os.path.join(self.run_dir, "tensorboard")
        return self.tensorboard or None

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimizer's default when it is None."""
        return self.lr if self.lr is not None else OPTIMIZERS[self.optimizer][1]

    def differences(self, other: RunConfig, names) -> list:
        """``(name, mine, other's)`` for each of ``names`` where the two differ."""
        out = []
        for name in names:
            a, b = getattr(self, name), getattr(other, name)
            if name == "lr":
                a, b = self.learning_rate, other.learning_rate
            if a != b:
                out.append((name, a, b))
        return out

    # --- validation ----------------------------------------------------------------------------

    def validate(self, where: str = "the run configuration") -> RunConfig:
        """Check every field; raise one ``ConfigError`` listing every problem, else return self."""
        problems = []

        def bad(name, message):
            problems.append((name, message))

        def choice(name, allowed):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in allowed:
                bad(name, f"must be one of {', '.join(allowed)}, got {value!r}")

        def whole(name, low, high=None):
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
            if ok and high is not None and value > high:
                ok = False
            if not ok:
                rng = f"from {low} to {high}" if high is not None else f"of at least {low}"
                bad(name, f"must be a whole number {rng}, got {value!r}")

        def number(name, low, low_open, high=None, high_open=True, none_ok=False):
            value = getattr(self, name)
            if value is None and none_ok:
                return
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            ok = ok and (value > low if low_open else value >= low)
            if ok and high is not None:
                ok = value < high if high_open else value <= high
            if not ok:
                bounds = f"{'above' if low_open else 'at least'} {low:g}"
                if high is not None:
                    bounds += f" and {'below' if high_open else 'at most'} {high:g}"
                bad(name, f"must be a finite number {bounds}, got {value!r}")

        def flag(name):
            if not isinstance(getattr(self, name), bool):
                bad(name, f"must be true or false, got {getattr(self, name)!r}")

        def path(name):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                bad(name, f"must be a folder path or null, got {value!r}")

        choice("dataset", DATASETS)
        self._check_model(bad)
        choice("optimizer", tuple(OPTIMIZERS))
        number("lr", 0, True, none_ok=True)
        number("weight_decay", 0, False)
        choice("schedule", tuple(SCHEDULES))
        whole("epochs", 1, 100_000)
        whole("batch_size", 1, 1_000_000)
        self._check_augment(bad)
        number("val_split", 0, False, 1, True)
        whole("seed", 0, 2**63 - 1)
        path("out")
        path("data_dir")
        for name in ("sample", "download", "progress", "detect_anomaly", "distributed"):
            flag(name)
        whole("log_every", 1)
        tb = self.tensorboard
        if not isinstance(tb, (bool, str)) or tb == "":
            bad("tensorboard", f"must be true, false or a folder path, got {tb!r}")
        if self.sample is True and self.dataset == "fashion-mnist":
            bad("sample", "the package embeds a sample of MNIST only, not fashion-mnist")
        if problems:
            raise ConfigError(problems, where)
        return self

    def _check_model(self, bad) -> None:
        from ..models import IMAGE_MODELS, ZOO

        if not isinstance(self.model, str) or self.model not in IMAGE_MODELS:
            bad("model", f"must be one of {', '.join(IMAGE_MODELS)}, got {self.model!r}")
            return
        if not isinstance(self.model_options, dict):
            bad("model_options", f"must be a dict, got {type(self.model_options).__name__}")
            return
        cls = ZOO[self.model][0]
        accepted = inspect.signature(cls).parameters
        for key, value in self.model_options.items():
            if key not in accepted:
                bad("model_options", f"{self.model} ({cls.__name__}) takes no option {key!r}")
            elif key == "dropout" and not (
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and 0 <= value < 1
            ):  # fmt: skip
                bad("dropout", f"must be a probability from 0 to below 1, got {value!r}")

    def _check_augment(self, bad) -> None:
        names = self.augment
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            bad("augment", f"must be a list of names, got {names!r}")
            return
        for name in names:
            if name not in AUGMENTATIONS:
                bad("augment", f"unknown {name!r}; use {', '.join(AUGMENTATIONS)}")
        if len(set(names)) != len(names):
            bad("augment", f"names a transform twice: {names}")
