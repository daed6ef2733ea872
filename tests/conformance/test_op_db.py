"""Every op with a PyTorch twin, on PyTorch's own sample inputs (``op_db``), float64 and float32.

Each sample passes (same values and input gradients as PyTorch), or zerograd refuses it with its
own clear error (counted as unsupported), or it is skipped by the rule in
``pytorch_db.skip_reason``.
A wrong value, a wrong gradient or a crash fails the test. ``python tests/conformance/test_op_db.py
--write`` puts the per-op counts into docs/conformance.md.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script (--write): the tests' helpers are one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytorch_db import (
    Skip,
    Tally,
    describe_sample,
    render_counts,
    run_sample,
    skip_reason,
    to_zg,
    torch,
)

import zerograd as zg
import zerograd.functional as F

from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402  isort: skip

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
START, END = "<!-- op conformance: start -->", "<!-- op conformance: end -->"


def _method(name):
    return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


# the OpInfo entries whose ``op`` is a lambda that reorders its arguments, or a Tensor method:
# zerograd's twin takes the same (input, *args, **kwargs)
SPECIAL = {
    "T": lambda x: x.T,
    "where": lambda x, condition, other, **kwargs: zg.where(condition, x, other, **kwargs),
    "zero_": lambda x: x.clone().zero_(),
    "__getitem__": lambda x, index: x[index],
    "nn.functional.embedding": lambda weight, idx, **kwargs: F.embedding(idx, weight, **kwargs),
    "__radd__": _method("__radd__"),
    "__rsub__": _method("__rsub__"),
    "__rmul__": _method("__rmul__"),
    "__rmatmul__": _method("__rmatmul__"),
    "__rpow__": _method("__rpow__"),
    "__ror__": _method("__ror__"),
}
# random ops: the values cannot match PyTorch's generator; their shape and dtype must
# (and ops whose values are undefined: empty memory)
RANDOM = {"randn", "randn_like", "rand_like", "randint", "randint_like", "randperm", "rand",
          "normal", "multinomial", "bernoulli", "nn.functional.dropout", "nn.functional.dropout2d",
          "empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided"}  # fmt: skip
# float32 ops compared at pytorch_db.FLOAT32_LOOSER
LOOSER = {"nn.functional.scaled_dot_product_attention"}
# ops random only with some arguments (attention with dropout)
RANDOM_WHEN = {
    "nn.functional.scaled_dot_product_attention": lambda s: s.kwargs.get("dropout_p", 0.0) > 0,
}


def twin(op):
    """zerograd's callable for an OpInfo entry, or None when zerograd has no such op."""
    if op.name in SPECIAL:
        return SPECIAL[op.name]
    parts = op.name.split(".")
    if parts[:2] == ["nn", "functional"] and len(parts) == 3:
        return getattr(F, parts[2], None)
    if len(parts) == 1:
        if hasattr(zg, op.name) and callable(getattr(zg, op.name)):
            return getattr(zg, op.name)
        if isinstance(getattr(zg.Tensor, op.name, None), property):  # x.mT
            return lambda x: getattr(x, op.name)
        if hasattr(zg.Tensor, op.name):
            return _method(op.name)
    return None


def mapped():
    """(key, op, callable) for every op zerograd has: the function, and the Tensor method where
    both libraries have one under the same name (``Tensor.sum``)."""
    out = []
    for op in op_db:
        fn = twin(op)
        if fn is None:
            continue
        key = op.name + (f" ({op.variant_test_name})" if op.variant_test_name else "")
        out.append((key, op, fn, op.op))
        short = op.name.split(".")[-1]
        if (
            op.method_variant is not None
            and op.name not in SPECIAL
            and not op.name.startswith("nn.")
            and callable(getattr(zg.Tensor, short, None))
            and fn is not None
            and not isinstance(fn, functools.partial)
            and hasattr(zg, op.name)
        ):
            out.append((f"Tensor.{key}", op, _method(short), op.method_variant))
    return out


MAPPED = mapped()
DTYPES = [torch.float64, torch.float32]


def run_op(key, op, zg_fn, torch_fn, dtype) -> Tally:
    tally = Tally()
    if dtype not in op.supported_dtypes("cpu"):
        return tally
    requires_grad = op.supports_autograd and dtype.is_floating_point and op.name not in RANDOM
    torch.manual_seed(0)
    samples = list(op.sample_inputs("cpu", dtype, requires_grad=requires_grad))
    for i, sample in enumerate(samples):
        if sample.kwargs.get("memory_format") is torch.preserve_format:
            sample.kwargs = {k: v for k, v in sample.kwargs.items() if k != "memory_format"}
        args, kwargs = sample.args, sample.kwargs
        if rule := skip_reason((sample.input, *args), kwargs):
            tally.add("skipped", rule)
            continue

        def call_torch(sample=sample):
            torch.manual_seed(0)
            leaves = [
                t
                for t in _tensors((sample.input, sample.args, sample.kwargs))
                if t.requires_grad and t.is_leaf
            ]
            return torch_fn(sample.input, *sample.args, **sample.kwargs), leaves

        def call_zg(sample=sample):
            pairs = []
            x = to_zg(sample.input, pairs)
            a = to_zg(sample.args, pairs)
            k = to_zg(sample.kwargs, pairs)
            out = zg_fn(x, *a, **k)
            if op.name in RANDOM or RANDOM_WHEN.get(op.name, lambda s: False)(sample):
                out = _shape_and_dtype(out)
            zl = [z for t, z in pairs if t.is_leaf]
            return out, zl

        if op.name in RANDOM or RANDOM_WHEN.get(op.name, lambda s: False)(sample):
            run_sample(
                f"{key} {describe_sample(sample)}",
                lambda c=call_torch: (_shape_and_dtype(c()[0]), []),
                call_zg,
                dtype,
                seed=i,
                grads=False,
                tally=tally,
            )
            continue
        run_sample(
            f"{key} {describe_sample(sample)}",
            call_torch,
            call_zg,
            dtype,
            seed=i,
            grads=requires_grad,
            tally=tally,
            loose=op.name in LOOSER,
        )
    return tally


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)


def _shape_and_dtype(out):
    """A random op's result reduced to what both libraries must agree on."""
    import numpy as np

    if isinstance(out, (tuple, list)):
        return tuple(_shape_and_dtype(o) for o in out)
    if isinstance(out, torch.Tensor):
        return torch.tensor(list(out.shape) + [np.dtype(str(out.dtype)[6:]).num])
    if isinstance(out, zg.Tensor):
        return torch.tensor(list(out.shape) + [np.dtype(out.dtype).num])
    raise Skip("a random op returned a non-tensor")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("key, op, zg_fn, torch_fn", MAPPED, ids=[m[0] for m in MAPPED])
def test_op_matches_pytorch_on_its_samples(key, op, zg_fn, torch_fn, dtype):
    tally = run_op(key, op, zg_fn, torch_fn, dtype)
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures[:20])


# ---------------------------------------------------------------------------------------------
# the table in docs/conformance.md


def render_table() -> str:
    names = [m[0] for m in MAPPED]
    return render_counts("op", names, lambda i, d: run_op(*MAPPED[i], d), DTYPES)


def main(argv) -> int:
    from doc_tables import write_or_print

    return write_or_print(DOC, START, END, render_table(), argv, len(MAPPED))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main(sys.argv[1:]))
