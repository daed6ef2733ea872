"""Learning-rate schedules with PyTorch's names, constructors and step-for-step values.

A schedule is a separate object stepped by the training loop, once per epoch (or per batch),
after ``optimizer.step()``::

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        scheduler.step()

Building a schedule writes each group's starting lr to ``group["initial_lr"]`` (the ``base_lrs``)
and sets the lr for epoch 0. Most schedules update the lr recursively from its current value, as
PyTorch does, so two schedules on one optimizer compose (their factors multiply).

``state_dict()`` holds plain Python values only (never the optimizer): save it together with the
optimizer's, build the schedule before loading the optimizer's state (building one changes lr).
"""

from __future__ import annotations

import copy
import math
import numbers
import types
from bisect import bisect_left, bisect_right

from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "SequentialLR",
    "ReduceLROnPlateau",
]


class LRScheduler:
    """Base class of schedules: ``step()`` sets every group's lr to ``get_lr()``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    last_epoch : int
        The index of the last epoch: -1 (default) starts afresh and stores each group's lr as
        ``initial_lr``; a larger value resumes and needs ``initial_lr`` in every group.

    Attributes
    ----------
    base_lrs : list of float
        The groups' ``initial_lr``.
    last_epoch : int
        The number of ``step()`` calls since epoch 0.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: expected a zerograd.optim.Optimizer, got {type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        last_epoch = _last_epoch(name, last_epoch)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            missing = [i for i, g in enumerate(optimizer.param_groups) if "initial_lr" not in g]
            if missing:
                raise KeyError(
                    f"{name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in every "
                    f"parameter group, but groups {missing} have none. Load the optimizer's "
                    "state_dict first, or start with last_epoch=-1."
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the lr for epoch 0 (or the resumed epoch) without counting a user step."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (called by ``step``; read ``get_last_lr()``)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and set each group's lr.

        Call it after ``optimizer.step()``. PyTorch's deprecated ``step(epoch)`` is not supported.
        """
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _jump_to(self, epoch: int) -> None:
        """Set ``last_epoch`` and the lrs from the closed form (used by ``SequentialLR``)."""
        self.last_epoch = epoch
        closed_form = getattr(self, "_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def _set_lrs(self, lrs) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain Python values (copies)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned (the same kind of schedule).

        Raises
        ------
        ValueError
            If keys are missing or unexpected (a state_dict from another kind of schedule).
        """
        self._check_keys(state_dict)
        self._update_from(state_dict, skip=())

    def _check_keys(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: expected the dict from state_dict(), got "
                f"{type(state_dict).__name__}."
            )
        own = [k for k in self.__dict__ if k != "optimizer"]
        missing = sorted(k for k in own if k not in state_dict)
        unexpected = sorted(k for k in state_dict if k not in own)
        # a value of another kind (a damaged file) would only fail at a later step()
        wrong = [
            k for k in own if k in state_dict and not _same_kind(self.__dict__[k], state_dict[k])
        ]
        if missing or unexpected or wrong:
            raise ValueError(
                f"Error(s) in loading state_dict for {type(self).__name__}: "
                + "; ".join(
                    [f"missing key {k!r}" for k in missing]
                    + [f"unexpected key {k!r}" for k in unexpected]
                    + [
                        f"{k!r} is {_clip(state_dict[k])}, not like this schedule's "
                        f"{_clip(self.__dict__[k])}"
                        for k in wrong
                    ]
                )
                + ". Load a state_dict saved from the same kind of schedule."
            )

    def _update_from(self, state_dict: dict, skip) -> None:
        """Copy the plain values in (entries in ``skip`` are the caller's to restore)."""
        self.__dict__.update({k: copy.deepcopy(v) for k, v in state_dict.items() if k not in skip})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _per_group(name: str, optimizer: Optimizer, what: str, value) -> list:
    """``value`` repeated per group, or a list with one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name}: expected {n} {what} (one per parameter group), got {len(value)}."
            )
        return list(value)
    return [value] * n


def _same_kind(own, saved) -> bool:
    """Whether a saved value can stand where ``own`` is: numbers for numbers, lists for lists
    (item by item), strings for strings (None either way, other objects are not compared)."""
    if own is None or saved is None:
        return True
    if isinstance(own, bool):
        return isinstance(saved, bool)
    if isinstance(own, (int, float)):
        return isinstance(saved, (int, float)) and not isinstance(saved, bool)
    if isinstance(own, (list, tuple)):
        return isinstance(saved, (list, tuple)) and all(map(_same_kind, own, saved))
    if isinstance(own, str):
        return isinstance(saved, str)
    return True


def _clip(value, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def _finite(name: str, what: str, value, minimum: float = 0.0, strict: bool = False) -> float:
    """A real number >= minimum (> with ``strict``) and finite: a negative, NaN or infinite factor
    would silently make the lr negative or NaN at some later epoch."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a number, got {value!r}.")
    low = value > minimum if strict else value >= minimum
    if not (low and value < math.inf):
        sign = ">" if strict else ">="
        raise ValueError(f"{name}: {what} must be a finite number {sign} {minimum}, got {value!r}.")
    return value


def _milestones(name: str, milestones) -> list:
    """Epochs as a list of ints (a float, NaN or inf would never equal an epoch)."""
    if not isinstance(milestones, (list, tuple, range)):
        raise TypeError(f"{name}: milestones must be a list of epochs (ints), got {milestones!r}.")
    milestones = list(milestones)
    for m in milestones:
        if isinstance(m, bool) or not isinstance(m, int):
            raise ValueError(f"{name}: milestones must be integers (epochs), got {milestones!r}.")
    return milestones


def _last_epoch(name: str, value) -> int:
    """-1 to start, or the epoch a resumed schedule is at; NaN, inf or 2.5 are no epoch."""
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError(
            f"{name}: last_epoch must be an int >= -1 (-1 to start, else the epoch to resume "
            f"from), got {value!r}."
        )
    return value


def _positive_int(name: str, what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}.")
    return value


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), for any function of the epoch.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        ``epoch -> factor``; a list gives one function per parameter group.
    last_epoch : int

    The state_dict keeps the functions only if they are callable objects (their ``__dict__``);
    plain functions and lambdas are left out, as in PyTorch.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> for _ in range(3):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _per_group("LambdaLR", optimizer, "lr_lambdas", lr_lambda)
        for i, fn in enumerate(self.lr_lambdas):
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda[{i}] must be callable, got {fn!r}.")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "lr_lambdas")
        }
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        self._check_keys(state_dict)
        saved = state_dict["lr_lambdas"]
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"Error(s) in loading state_dict for LambdaLR: it holds {len(saved)} lr_lambdas, "
                f"this schedule has {len(self.lr_lambdas)}."
            )
        self._update_from(state_dict, skip=("lr_lambdas",))  # the functions are never replaced
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                fn.__dict__.update(copy.deepcopy(attributes))


class StepLR(LRScheduler):
    """Multiply the lr by gamma every ``step_size`` epochs.

    lr = base_lr * gamma^(epoch // step_size)

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = _finite("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone epoch (twice if it is listed twice).

    lr = base_lr * gamma^(number of milestones <= epoch). ``milestones`` is kept as a sorted list
    (PyTorch keeps a ``Counter``), so the state_dict holds plain values.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    >>> for _ in range(3):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.010000000000000002]
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(_milestones("MultiStepLR", milestones))
        self.gamma = _finite("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e = self.last_epoch
        hits = bisect_right(self.milestones, e) - bisect_left(self.milestones, e)
        if hits == 0:
            return self._current_lrs()
        return [lr * self.gamma**hits for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        n = bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**n for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch: lr = base_lr * gamma^epoch.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> for _ in range(3):
    ...     opt.step()
    ...     sched.step()
    >>> sched.get_last_lr()
    [0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _finite("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:  # resuming must not take one more step than saved
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr from base_lr to eta_min along half a cosine over T_max epochs.

    lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Like PyTorch, the lr is updated recursively from its current value,
    lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max)),
    so it composes with other schedules; it equals the closed form above (to rounding) when run
    alone. Past T_max it rises again (a cosine, not a restart).

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        # a float T_max works (the cosine's half period in epochs); inf would freeze the lr
        self.T_max = _finite("CosineAnnealingLR", "T_max", T_max, strict=True)
        self.eta_min = _finite("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [
                eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                for base in self.base_lrs
            ]
        if (t - 1 - T) % (2 * T) == 0:
            # at the bottom of the cosine the ratio below would be 0/0: step up from eta_min
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base, lr in zip(self.base_lrs, self._current_lrs())
            ]
        return [
            (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min)
            + eta_min
            for lr in self._current_lrs()
        ]

    def _closed_form_lr(self) -> list[float]:
        return [
            self.eta_min
            + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Warm-up: scale the lr linearly from start_factor to end_factor over total_iters epochs.

    lr(epoch) = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
    / total_iters), computed recursively as PyTorch does.

    Raises
    ------
    ValueError
        If start_factor is not in (0, 1] or end_factor not in [0, 1].

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}.")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        span = self.end_factor - self.start_factor
        factor = 1.0 + span / (self.total_iters * self.start_factor + (t - 1) * span)
        return [lr * factor for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        span = self.end_factor - self.start_factor
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + span * progress) for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run schedules one after another, switching at the milestone epochs.

    ``schedulers[i]`` runs from ``milestones[i-1]`` on, restarted at its own epoch 0 (closed
    form). The common recipe is a linear warm-up then cosine decay::

        warmup = LinearLR(opt, start_factor=0.01, total_iters=5)
        cosine = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, [warmup, cosine], milestones=[5])

    Raises
    ------
    ValueError
        If there is no schedule, the number of milestones is not one less than the number of
        schedules, a schedule belongs to another optimizer or is a ReduceLROnPlateau.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> warmup = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched = lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        schedulers = list(schedulers)
        milestones = _milestones("SequentialLR", milestones)
        last_epoch = _last_epoch("SequentialLR", last_epoch)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler, got none.")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(
                    f"SequentialLR: schedulers[{i}] is a ReduceLROnPlateau, which needs a metric "
                    "in step(metric); step it yourself instead."
                )
            if not isinstance(s, LRScheduler):
                raise TypeError(
                    f"SequentialLR: schedulers[{i}] must be an LRScheduler, got {type(s).__name__}."
                )
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: schedulers[{i}] ({type(s).__name__}) belongs to another "
                    "optimizer; all schedules must share the optimizer given to SequentialLR."
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expects one milestone fewer than schedulers, got "
                f"{len(schedulers)} schedulers and {len(milestones)} milestones {milestones}."
            )
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1

        # building the schedules stepped them once each: undo that, then start the first one
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo_initial_steps(scheduler) -> None:
        if hasattr(scheduler, "_schedulers"):
            for s in scheduler._schedulers:
                SequentialLR._undo_initial_steps(s)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._jump_to(0)  # the next schedule starts at its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        self._check_keys(state_dict)
        saved = state_dict["_schedulers"]
        if len(saved) != len(self._schedulers):
            raise ValueError(
                f"Error(s) in loading state_dict for SequentialLR: it holds the states of "
                f"{len(saved)} schedulers, this one runs {len(self._schedulers)}."
            )
        for s, s_state in zip(self._schedulers, saved):
            s.load_state_dict(s_state)
        self._update_from(state_dict, skip=("_schedulers",))


class ReduceLROnPlateau(LRScheduler):
    """Divide the lr by 1/factor when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` after each validation: if the metric is not better than the best so far
    (by more than ``threshold``, relative or absolute) for more than ``patience`` epochs in a
    row, every group's lr becomes max(lr * factor, min_lr), unless that changes it by less than
    eps; then ``cooldown`` epochs pass before bad epochs count again.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {'min', 'max'}
        Whether the metric should go down (a loss) or up (an accuracy).
    factor : float
        Multiplies the lr on a plateau; in [0, 1).
    patience : int
        Bad epochs tolerated before reducing.
    threshold : float
        The least change that counts as an improvement.
    threshold_mode : {'rel', 'abs'}
        'rel': better than best * (1 - threshold) (min mode) or best * (1 + threshold) (max
        mode); 'abs': better than best -/+ threshold.
    cooldown : int
        Epochs to wait after a reduction.
    min_lr : float or list of float
        Lower bound on the lr, one for all groups or one per group.
    eps : float
        Reductions smaller than this are skipped.

    Examples
    --------
    >>> import zerograd as zg
    >>> from zerograd.optim import SGD, lr_scheduler
    >>> opt = SGD([zg.nn.Parameter(zg.zeros(1))], lr=1.0)
    >>> sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr=0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                "ReduceLROnPlateau: expected a zerograd.optim.Optimizer, got "
                f"{type(optimizer).__name__}."
            )
        if not 0.0 <= factor < 1.0:
            raise ValueError(
                f"ReduceLROnPlateau: factor must be in [0, 1) (it multiplies the lr), got "
                f"{factor!r}."
            )
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}."
            )
        for what, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"ReduceLROnPlateau: {what} must be an int >= 0 (epochs), got {value!r}."
                )
        _finite("ReduceLROnPlateau", "threshold", threshold)
        _finite("ReduceLROnPlateau", "eps", eps)
        for value in min_lr if isinstance(min_lr, (list, tuple)) else (min_lr,):
            _finite("ReduceLROnPlateau", "min_lr", value)
        self.optimizer = optimizer
        self.factor = factor
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _per_group("ReduceLROnPlateau", optimizer, "min_lrs", min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metric) -> None:
        """Record one epoch's metric (a number or a one-element Tensor) and maybe reduce the lr."""
        try:
            current = float(metric)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step: metric must be a number (the epoch's validation loss or "
                f"accuracy), got {metric!r}."
            ) from None
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown don't count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups but "
                    f"min_lr lists {len(self.min_lrs)} (a group was added later); set "
                    "scheduler.min_lrs to one value per group."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, "
            f"patience={self.patience}, best={self.best}, lr={self._last_lr})"
        )
