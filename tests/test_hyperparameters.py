"""NaN and inf hyper-parameters, across the library: every optimizer, schedule, layer and op that
takes a number refuses NaN, inf and -inf with a ValueError naming the class (or op), the argument
and the value, at construction (or at the call, for the ops). Where inf means something
(``clip_grad_norm_``'s max_norm: measure only; ``Softplus``'s threshold: never linear) it works
as in PyTorch.

The optimizer and schedule cases come from the signatures, so a new hyper-parameter is covered
the day it is added.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest

import zerograd as zg
import zerograd.functional as F
from zerograd import nn, optim
from zerograd.optim import lr_scheduler

NAN, INF = float("nan"), float("inf")
NOT_FINITE = [NAN, INF, -INF]


def params():
    return [nn.Parameter(zg.zeros(3))]


def refused(who: str, name: str, value, call):
    """``call()`` raises a ValueError naming ``who``, the argument ``name`` and ``value``."""
    with pytest.raises(ValueError) as e:
        call()
    message = str(e.value)
    assert message.startswith(f"{who}: "), message
    assert re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message), message
    assert repr(value) in message, message


# ---------------------------------------------------------------------------------------------
# optimizers: every number in every signature

OPTIMIZERS = [
    getattr(optim, n)
    for n in optim.__all__
    if isinstance(getattr(optim, n), type) and n != "Optimizer"
]


def optimizer_numbers():
    for cls in OPTIMIZERS:
        for name, p in inspect.signature(cls).parameters.items():
            default = p.default
            if isinstance(default, bool) or name == "params":
                continue
            if isinstance(default, (int, float)):
                yield cls, name, None
            elif isinstance(default, tuple):  # betas: each of the pair
                for i in range(len(default)):
                    yield cls, name, i


@pytest.mark.parametrize("value", NOT_FINITE, ids=repr)
@pytest.mark.parametrize(
    "cls, name, index",
    list(optimizer_numbers()),
    ids=[f"{c.__name__}-{n}{'' if i is None else i}" for c, n, i in optimizer_numbers()],
)
def test_every_optimizer_number_refuses_nan_and_inf(cls, name, index, value):
    # before: SGD took dampening=nan, inf and -inf (every weight NaN after one step)
    if index is None:
        kwargs = {name: value}
        shown = name
    else:
        pair = list(inspect.signature(cls).parameters[name].default)
        pair[index] = value
        kwargs, shown = {name: tuple(pair)}, f"{name}[{index}]"
    refused(cls.__name__, shown, value, lambda: cls(params(), **{"lr": 0.1, **kwargs}))
    # and in a parameter group of its own
    group = {"params": params(), **kwargs}
    refused(cls.__name__, shown, value, lambda: cls([group], lr=0.1))


def test_sgd_dampening_may_be_any_finite_number_as_in_pytorch():
    for dampening in (-0.5, 0.0, 0.3, 1.5):
        assert optim.SGD(params(), lr=0.1, dampening=dampening).defaults["dampening"] == dampening


def test_a_loaded_state_dict_with_nan_dampening_is_refused_and_changes_nothing():
    opt = optim.SGD(params(), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["param_groups"][0]["dampening"] = NAN
    with pytest.raises(ValueError, match=r"parameter group 0: dampening must be finite, got nan"):
        opt.load_state_dict(state)
    assert opt.param_groups[0]["dampening"] == 0.0


# ---------------------------------------------------------------------------------------------
# schedules: every number in every signature, plus milestones and last_epoch

# what each schedule needs besides the optimizer (valid values)
SCHEDULES = {
    "StepLR": dict(step_size=2),
    "MultiStepLR": dict(milestones=[2, 4]),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=10),
    "LinearLR": dict(),
    "ReduceLROnPlateau": dict(),
    "LambdaLR": dict(lr_lambda=lambda epoch: 1.0),
}


def schedule_numbers():
    for sched, required in SCHEDULES.items():
        for name, p in inspect.signature(getattr(lr_scheduler, sched)).parameters.items():
            if name in ("optimizer", "lr_lambda"):
                continue
            if isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
                yield sched, name
            elif name in required and isinstance(required[name], (int, float)):
                yield sched, name  # required numbers: step_size, gamma, T_max
    yield "MultiStepLR", "milestones"


@pytest.mark.parametrize("value", NOT_FINITE, ids=repr)
@pytest.mark.parametrize(
    "sched, name", list(schedule_numbers()), ids=[f"{s}-{n}" for s, n in schedule_numbers()]
)
def test_every_schedule_number_refuses_nan_and_inf(sched, name, value):
    # before: CosineAnnealingLR took T_max=inf (the lr never moved), and last_epoch=nan gave a
    # KeyError about a missing 'initial_lr'
    kwargs = {**SCHEDULES[sched], name: [2, value] if name == "milestones" else value}
    cls = getattr(lr_scheduler, sched)
    refused(sched, name, value, lambda: cls(optim.SGD(params(), lr=0.1), **kwargs))


@pytest.mark.parametrize("value", NOT_FINITE, ids=repr)
@pytest.mark.parametrize("name", ["milestones", "last_epoch"])
def test_sequential_lr_refuses_nan_and_inf_milestones_and_last_epoch(name, value):
    # before: SequentialLR took milestones=[nan] and never switched schedules
    opt = optim.SGD(params(), lr=0.1)
    schedules = [lr_scheduler.StepLR(opt, 2), lr_scheduler.ExponentialLR(opt, 0.9)]
    kwargs = {"milestones": [value]} if name == "milestones" else {"milestones": [3], name: value}
    refused(
        "SequentialLR", name, value, lambda: lr_scheduler.SequentialLR(opt, schedules, **kwargs)
    )


def test_cosine_annealing_takes_a_float_t_max():
    opt = optim.SGD(params(), lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=2.5)
    for _ in range(5):
        opt.step()
        sched.step()
    expected = (1 + math.cos(math.pi * 5 / 2.5)) / 2
    np.testing.assert_allclose(sched.get_last_lr(), [expected], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# layers and ops


def x3():
    return zg.randn(4, 3)


LAYER_CASES = [
    # (who, argument, call with the value, values refused)
    ("Dropout", "p", lambda v: nn.Dropout(v), NOT_FINITE),
    ("Dropout2d", "p", lambda v: nn.Dropout2d(v), NOT_FINITE),
    ("dropout", "p", lambda v: F.dropout(x3(), v), NOT_FINITE),
    ("LSTM", "dropout", lambda v: nn.LSTM(3, 3, num_layers=2, dropout=v), NOT_FINITE),
    ("LeakyReLU", "negative_slope", lambda v: nn.LeakyReLU(v), NOT_FINITE),
    ("leaky_relu", "negative_slope", lambda v: F.leaky_relu(x3(), v), NOT_FINITE),
    ("ELU", "alpha", lambda v: nn.ELU(v), NOT_FINITE),
    ("elu", "alpha", lambda v: F.elu(x3(), v), NOT_FINITE),
    ("Softplus", "beta", lambda v: nn.Softplus(beta=v), NOT_FINITE),
    ("softplus", "beta", lambda v: F.softplus(x3(), beta=v), NOT_FINITE),
    ("Softplus", "threshold", lambda v: nn.Softplus(threshold=v), [NAN, -INF]),
    ("softplus", "threshold", lambda v: F.softplus(x3(), threshold=v), [NAN, -INF]),
    ("BatchNorm1d", "eps", lambda v: nn.BatchNorm1d(3, eps=v), NOT_FINITE),
    ("BatchNorm1d", "momentum", lambda v: nn.BatchNorm1d(3, momentum=v), NOT_FINITE),
    ("BatchNorm2d", "eps", lambda v: nn.BatchNorm2d(3, eps=v), NOT_FINITE),
    (
        "batch_norm",
        "eps",
        lambda v: F.batch_norm(x3(), zg.zeros(3), zg.ones(3), training=True, eps=v),
        NOT_FINITE,
    ),
    (
        "batch_norm",
        "momentum",
        lambda v: F.batch_norm(x3(), zg.zeros(3), zg.ones(3), training=True, momentum=v),
        NOT_FINITE,
    ),
    ("CrossEntropyLoss", "label_smoothing", lambda v: nn.CrossEntropyLoss(label_smoothing=v),
     NOT_FINITE),
    ("cross_entropy", "label_smoothing",
     lambda v: F.cross_entropy(x3(), zg.tensor([0, 1, 2, 0]), label_smoothing=v), NOT_FINITE),
    ("clip_grad_norm_", "max_norm", lambda v: nn.utils.clip_grad_norm_(with_grad(), v),
     [NAN, -INF, -1.0]),
    ("clip_grad_value_", "clip_value", lambda v: nn.utils.clip_grad_value_(with_grad(), v),
     [NAN, -INF, -1.0]),
]  # fmt: skip


def with_grad():
    w = nn.Parameter(zg.tensor([3.0, 4.0]))
    (w * w).sum().backward()
    return [w]


def layer_cases():
    for who, name, call, values in LAYER_CASES:
        for v in values:
            yield pytest.param(who, name, call, v, id=f"{who}-{name}-{v!r}")


@pytest.mark.parametrize("who, name, call, value", list(layer_cases()))
def test_every_layer_and_op_number_refuses_nan_and_inf(who, name, call, value):
    # before: LeakyReLU, ELU, Softplus and their ops took NaN and inf (NaN outputs, and F.elu
    # warned "invalid value encountered in multiply"); BatchNorm and batch_norm took eps=nan or
    # inf; clip_grad_norm_ and clip_grad_value_ took NaN and negative bounds (every gradient NaN,
    # or flipped)
    with np.errstate(all="raise"):  # refused before any arithmetic
        refused(who, name, value, lambda: call(value))


def test_layers_store_their_numbers_as_floats_and_still_compute():
    x = zg.tensor([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(nn.LeakyReLU(np.float64(0.5))(x).data, [[-0.5, 0.5, 2.0]])
    assert type(nn.ELU(np.float32(2.0)).alpha) is float
    assert nn.Softplus(beta=2, threshold=10).beta == 2.0


def test_inf_means_no_clipping_as_in_pytorch():
    w = with_grad()  # gradient (6, 8): norm 10
    total = nn.utils.clip_grad_norm_(w, INF)
    assert total.item() == 10.0 and w[0].grad.tolist() == [6.0, 8.0]
    nn.utils.clip_grad_value_(w, INF)
    assert w[0].grad.tolist() == [6.0, 8.0]


def test_softplus_threshold_inf_is_never_linear():
    x = zg.tensor([30.0, 0.0, -30.0], dtype="float64")
    expected = np.log1p(np.exp(x.data))
    np.testing.assert_allclose(nn.Softplus(threshold=INF)(x).data, expected, rtol=1e-15)
    np.testing.assert_allclose(F.softplus(x, threshold=INF).data, expected, rtol=1e-15)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: nn.LeakyReLU("0.2"), r"^LeakyReLU: negative_slope must be a number, got '0.2'"),
        (lambda: nn.BatchNorm1d(3, eps="1e-5"), r"^BatchNorm1d: eps must be a number, got '1e-5'"),
        (lambda: nn.utils.clip_grad_norm_(with_grad(), None), r"^clip_grad_norm_: max_norm must"),
        (lambda: lr_scheduler.CosineAnnealingLR(optim.SGD(params(), lr=0.1), "10"), r"T_max"),
    ],
)
def test_a_string_or_none_where_a_number_belongs_is_a_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()
