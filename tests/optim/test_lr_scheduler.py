"""LR schedules against PyTorch's sequences, state_dict round trips and errors."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import optim
from zerograd.optim import lr_scheduler

LRS = (0.1, 0.03)  # two parameter groups, so per-group base_lrs are exercised
STEPS = 50


def _torch():
    return pytest.importorskip("torch", reason=NEEDS_TORCH)


def zg_optimizer(lrs=LRS):
    groups = [{"params": [zg.nn.Parameter(zg.zeros(2))], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=1.0)


def torch_optimizer(torch, lrs=LRS):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=1.0)


def _warm_cosine(m, opt):
    warm = m.LinearLR(opt, start_factor=0.1, total_iters=5)
    cosine = m.CosineAnnealingLR(opt, T_max=30, eta_min=1e-4)
    return m.SequentialLR(opt, [warm, cosine], milestones=[5])


def _three_phases(m, opt):
    scheds = [
        m.LinearLR(opt, start_factor=0.5, end_factor=0.9, total_iters=4),
        m.ExponentialLR(opt, gamma=0.9),
        m.StepLR(opt, step_size=3, gamma=0.5),
    ]
    return m.SequentialLR(opt, scheds, milestones=[6, 20])


# each builds a schedule from a module with PyTorch's names (ours or torch.optim.lr_scheduler)
SCHEDULES = {
    "StepLR": lambda m, opt: m.StepLR(opt, step_size=7, gamma=0.5),
    "StepLR-default-gamma": lambda m, opt: m.StepLR(opt, step_size=10),
    "MultiStepLR": lambda m, opt: m.MultiStepLR(opt, milestones=[30, 5, 12, 12], gamma=0.3),
    "ExponentialLR": lambda m, opt: m.ExponentialLR(opt, gamma=0.93),
    "CosineAnnealingLR": lambda m, opt: m.CosineAnnealingLR(opt, T_max=50),
    # past T_max: through the bottom (the 0/0 branch) and up again
    "CosineAnnealingLR-past-T_max": lambda m, opt: m.CosineAnnealingLR(opt, T_max=12, eta_min=1e-3),
    "LinearLR": lambda m, opt: m.LinearLR(opt),
    "LinearLR-decay": lambda m, opt: m.LinearLR(opt, 1.0, 0.25, total_iters=20),
    "LambdaLR": lambda m, opt: m.LambdaLR(opt, lambda e: 0.95**e / (1 + e % 3)),
    "LambdaLR-per-group": lambda m, opt: m.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
    "SequentialLR-warmup-cosine": _warm_cosine,
    "SequentialLR-three": _three_phases,
}


def _assert_rel(a, b, err=""):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, err_msg=err)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch(name):
    torch = _torch()
    build = SCHEDULES[name]
    zopt, topt = zg_optimizer(), torch_optimizer(torch)
    zs, ts = build(lr_scheduler, zopt), build(torch.optim.lr_scheduler, topt)
    seen = []
    for epoch in range(STEPS):
        z, t = zs.get_last_lr(), ts.get_last_lr()
        _assert_rel(z, t, f"epoch {epoch}")
        _assert_rel([g["lr"] for g in zopt.param_groups], [g["lr"] for g in topt.param_groups])
        assert all(type(v) is float for v in z)
        seen.append(z[0])
        zopt.step()
        topt.step()
        zs.step()
        ts.step()
    assert [g["initial_lr"] for g in zopt.param_groups] == list(LRS)
    assert len(set(seen)) > 1, "a schedule that never changed the lr tests nothing"


PLATEAU = {
    "min-rel": dict(patience=2),
    "min-abs-cooldown": dict(threshold=0.05, threshold_mode="abs", cooldown=3, patience=1),
    "max-rel": dict(mode="max", factor=0.5, patience=1, threshold=0.01),
    "max-abs-min_lr": dict(
        mode="max", factor=0.3, patience=0, threshold_mode="abs", min_lr=[1e-3, 2e-3]
    ),
    "eps-skips-tiny-steps": dict(factor=0.5, patience=0, eps=0.01),
}


def _metrics():
    """A scripted validation curve: improves, plateaus, wiggles, improves a little, plateaus."""
    values = [1.0, 0.8, 0.7, 0.7, 0.71, 0.69, 0.7, 0.7, 0.72, 0.5, 0.5, 0.49999, 0.6]
    values += [0.4 + 0.01 * math.sin(i) for i in range(STEPS - len(values))]
    return values


@pytest.mark.parametrize("name", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(name):
    torch = _torch()
    kw = PLATEAU[name]
    zopt, topt = zg_optimizer(), torch_optimizer(torch)
    zs = lr_scheduler.ReduceLROnPlateau(zopt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    lrs = set()
    for epoch, metric in enumerate(_metrics()):
        zs.step(zg.tensor(metric, dtype=zg.float64) if epoch % 2 else metric)  # Tensors work too
        ts.step(metric)
        _assert_rel(zs.get_last_lr(), ts.get_last_lr(), f"epoch {epoch}")
        _assert_rel([g["lr"] for g in zopt.param_groups], [g["lr"] for g in topt.param_groups])
        assert (zs.num_bad_epochs, zs.cooldown_counter, zs.best) == (
            ts.num_bad_epochs,
            ts.cooldown_counter,
            ts.best,
        )
        lrs.add(zs.get_last_lr()[0])
    assert len(lrs) > 1, "the script must trigger at least one reduction"


# --- state_dict round trip ------------------------------------------------------------------------
def _plateau(m, opt):
    return m.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)


ROUND_TRIP = dict(SCHEDULES, ReduceLROnPlateau=_plateau)


def _step(sched, epoch):
    if isinstance(sched, lr_scheduler.ReduceLROnPlateau):
        sched.step(_metrics()[epoch])
    else:
        sched.step()


def _assert_plain(value, path="state_dict"):
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), (path, k)
            _assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _assert_plain(v, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (int, float, bool, str), (path, type(value))


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip_is_bit_identical(name):
    build = ROUND_TRIP[name]
    opt = zg_optimizer()
    sched = build(lr_scheduler, opt)
    straight = []
    for epoch in range(20):
        opt.step()
        _step(sched, epoch)
        straight.append(sched.get_last_lr())

    opt = zg_optimizer()
    sched = build(lr_scheduler, opt)
    for epoch in range(10):
        opt.step()
        _step(sched, epoch)
    saved_sched = copy.deepcopy(sched.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    _assert_plain(saved_sched)
    assert "optimizer" not in saved_sched

    opt = zg_optimizer()
    sched = build(lr_scheduler, opt)  # build the schedule first: building it changes the lr
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved_sched)
    resumed = []
    for epoch in range(10, 20):
        opt.step()
        _step(sched, epoch)
        resumed.append(sched.get_last_lr())
    assert resumed == straight[10:]


def test_state_dict_is_a_copy():
    opt = zg_optimizer()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[2, 4])
    sd = sched.state_dict()
    sd["milestones"].append(1)
    sd["base_lrs"][0] = 5.0
    assert sched.milestones == [2, 4] and sched.base_lrs == list(LRS)


def test_lambda_lr_state_keeps_callable_objects_only():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate**epoch

    decay = Decay()
    opt = zg_optimizer()
    sched = lr_scheduler.LambdaLR(opt, [decay, lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    decay.rate = 0.1
    sched.load_state_dict(sd)
    assert decay.rate == 0.5


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = zg_optimizer()
    with pytest.raises(KeyError, match=r"StepLR: resuming with last_epoch=4.*groups \[0, 1\]"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=4)
    lr_scheduler.StepLR(opt, step_size=2)  # stores initial_lr
    resumed = lr_scheduler.StepLR(opt, step_size=2, last_epoch=4)
    assert resumed.last_epoch == 5


# --- errors ---------------------------------------------------------------------------------------
BAD = [
    (lambda o: lr_scheduler.StepLR(o, step_size=0), r"StepLR: step_size must be a positive.*0"),
    (lambda o: lr_scheduler.MultiStepLR(o, [1.5]), r"MultiStepLR: milestones must be integers"),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), r"CosineAnnealingLR: T_max .*0"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), r"LinearLR: start_factor .*\(0, 1\].*0"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), r"LinearLR: end_factor .*1\.5"),
    (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), r"LambdaLR: expected 2 lr_lambdas.*1"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), r"ReduceLROnPlateau: factor.*1\.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="avg"), r"ReduceLROnPlateau: mode .*'avg'"),
    (
        lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
        r"ReduceLROnPlateau: threshold_mode .*'pct'",
    ),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), r"expected 2 min_lrs.*got 1"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), r"SequentialLR: .*at least one"),
    (
        lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ExponentialLR(o, 0.9)], [3]),
        r"SequentialLR: expects one milestone fewer.*1 schedulers and 1 milestones",
    ),
    (
        lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
        r"SequentialLR: schedulers\[0\] is a ReduceLROnPlateau",
    ),
    (
        lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(zg_optimizer(), 2)], []),
        r"SequentialLR: schedulers\[0\] \(StepLR\) belongs to another optimizer",
    ),
]


@pytest.mark.parametrize(("build", "pattern"), BAD)
def test_invalid_arguments_are_named(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build(zg_optimizer())


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="StepLR: expected a zerograd.optim.Optimizer, got list"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(TypeError, match="ReduceLROnPlateau: expected a zerograd.optim.Optimizer"):
        lr_scheduler.ReduceLROnPlateau(None)


def test_load_state_dict_from_another_kind_of_schedule_fails():
    opt = zg_optimizer()
    step = lr_scheduler.StepLR(opt, step_size=2)
    cosine = lr_scheduler.CosineAnnealingLR(zg_optimizer(), T_max=10)
    with pytest.raises(ValueError, match=r"CosineAnnealingLR: missing key 'T_max'.*'step_size'"):
        cosine.load_state_dict(step.state_dict())


def test_sequential_lr_load_checks_the_number_of_schedules():
    opt = zg_optimizer()
    two = _warm_cosine(lr_scheduler, opt)
    three = _three_phases(lr_scheduler, zg_optimizer())
    with pytest.raises(ValueError, match="holds the states of 3 schedulers, this one runs 2"):
        two.load_state_dict(three.state_dict())
