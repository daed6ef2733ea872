"""Every registered op case: gradcheck in float64, and forward + backward against PyTorch in
float32 and float64. Also: the cases reach every Function subclass in zerograd.functional."""

import importlib
import inspect
import pkgutil

import pytest
from torch_ref import compare_with_torch, needs_torch, torch

import zerograd as zg
from zerograd import functional as F
from zerograd.autograd import Function
from zerograd.functional.registry import CASES, case_inputs

if torch is not None:  # the twins are torch functions; without torch their tests skip
    from functional.torch_twins import CHECKED_ELSEWHERE, TWINS

IDS = [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_float64(case):
    result = zg.gradcheck(
        case.fn,
        case_inputs(case),
        eps=case.eps,
        atol=case.atol,
        rtol=case.rtol,
        raise_exception=False,
    )
    assert result.passed, str(result)


TORCH_CASES = [] if torch is None else [c for c in CASES if c.name not in CHECKED_ELSEWHERE]


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_against_torch(case, dtype):
    compare_with_torch(torch, case.fn, TWINS[case.name], case_inputs(case, dtype=dtype), dtype)


@needs_torch
def test_every_case_has_a_torch_twin_or_a_named_check():
    names = {c.name for c in CASES}
    assert len(names) == len(CASES), "case names must be unique"
    assert names == set(TWINS) | set(CHECKED_ELSEWHERE)


def _functions_in_graph(out):
    seen, stack = set(), [o._creator for o in (out if isinstance(out, tuple) else (out,))]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(x._creator for x in fn.inputs if isinstance(x, zg.Tensor))
    return {type(fn) for fn in seen}


def test_cases_cover_every_function():
    defined = set()
    # every module of the package, so a new one is covered without editing this test
    names = [m.name for m in pkgutil.iter_modules(F.__path__) if not m.name.startswith("_")]
    for module in (importlib.import_module(f"zerograd.functional.{n}") for n in names):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Function) and obj.__module__ == module.__name__:
                if not obj.__name__.startswith("_"):
                    defined.add(obj)
    reached = set()
    for case in CASES:
        reached |= _functions_in_graph(case.fn(*case_inputs(case)))
    missing = sorted(c.__name__ for c in defined - reached)
    assert not missing, f"Functions with no registered case: {missing}"
