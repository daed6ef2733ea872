"""Every layer with a PyTorch twin, on PyTorch's own module inputs (``module_db``).

Each of PyTorch's ModuleInputs builds the layer in both libraries with the same constructor
arguments, copies PyTorch's parameters and buffers into zerograd's through ``load_state_dict``
(so the state_dict keys must match), and compares, in float64 and float32, in training and (where
they differ) eval mode: the outputs, the input gradients and the parameter gradients for one
random upstream gradient, and the buffers after the forward pass (BatchNorm's running stats).
A sample passes, is refused by zerograd with its own clear error (unsupported), or is skipped by
``pytorch_db.skip_reason``; any other outcome fails. ``python tests/conformance/test_module_db.py
--write`` puts the per-layer counts into docs/conformance.md.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pytest

if __name__ == "__main__":  # run as a script (--write): the tests' helpers are one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytorch_db import Tally, compare, render_counts, run_sample, skip_reason, to_zg, torch

import zerograd.nn as znn

from torch.testing._internal.common_modules import module_db  # noqa: E402  isort: skip

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
START, END = "<!-- module conformance: start -->", "<!-- module conformance: end -->"
NP = {torch.float64: np.float64, torch.float32: np.float32}

MAPPED = [m for m in module_db if hasattr(znn, m.module_cls.__name__)]
DTYPES = [torch.float64, torch.float32]
# layers whose float32 results sum longer chains (attention inside) round more
LOOSER = {"MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer",
          "TransformerEncoder", "TransformerDecoder", "Transformer"}  # fmt: skip


def _key(info) -> str:
    name, variant = info.module_cls.__name__, info.name.split(".")[-1]
    return name if variant == name else f"{name} ({variant})"


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)


def run_module(info, dtype) -> Tally:
    tally = Tally()
    if dtype not in info.supported_dtypes("cpu"):
        return tally
    name = info.module_cls.__name__
    zcls = getattr(znn, name)
    modes = (True, False) if info.train_and_eval_differ else (True,)
    for training in modes:
        torch.manual_seed(0)
        inputs = info.module_inputs_func(
            info, device="cpu", dtype=dtype, requires_grad=True, training=training
        )
        for i, mi in enumerate(inputs):
            c, f = mi.constructor_input, mi.forward_input
            if f is None:
                continue
            rule = skip_reason(c.args, c.kwargs) or skip_reason(f.args, f.kwargs)
            if rule:
                tally.add("skipped", rule)
                continue
            state = {}

            def call_torch(c=c, f=f, state=state, training=training):
                torch.manual_seed(0)
                m = info.module_cls(*c.args, **c.kwargs).to(dtype)
                m.train(training)
                state["torch"] = m
                # the state zerograd starts from: PyTorch's before its forward pass moves the
                # running statistics
                state["initial"] = {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}
                out = m(*f.args, **f.kwargs)
                leaves = [t for t in _tensors((f.args, f.kwargs)) if t.requires_grad and t.is_leaf]
                return out, leaves + [p for p in m.parameters() if p.requires_grad]

            def call_zg(c=c, f=f, state=state, training=training):
                pairs = []
                m = zcls(*to_zg(c.args, [], grads=False), **to_zg(c.kwargs, [], grads=False))
                m.to(NP[dtype])
                m.train(training)
                m.load_state_dict(state["initial"])  # strict: the keys must be PyTorch's
                state["zg"] = m
                out = m(*to_zg(f.args, pairs), **to_zg(f.kwargs, pairs))
                leaves = [z for t, z in pairs if t.is_leaf]
                params = [p for _, p in m.named_parameters()]
                return out, leaves + params

            describe = f"{name} {mi.desc or i} ({'train' if training else 'eval'})"
            before = tally.passed
            run_sample(
                describe, call_torch, call_zg, dtype, seed=i, grads=True, tally=tally,
                loose=name in LOOSER,
            )  # fmt: skip
            if tally.passed > before:  # values and gradients agree: the buffers must too
                if problem := _compare_buffers(state, dtype):
                    tally.passed -= 1
                    tally.add("failure", f"{describe}: {problem}")
    return tally


def _compare_buffers(state, dtype):
    t_buffers = dict(state["torch"].named_buffers())
    z_buffers = dict(state["zg"].named_buffers())
    if t_buffers.keys() != z_buffers.keys():
        return f"buffers {sorted(z_buffers)} vs PyTorch's {sorted(t_buffers)}"
    for k, v in t_buffers.items():
        if problem := compare(f"buffer {k}", z_buffers[k], v, dtype):
            return problem
    return None


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d)[6:])
@pytest.mark.parametrize("info", MAPPED, ids=[_key(m) for m in MAPPED])
def test_layer_matches_pytorch_on_its_module_inputs(info, dtype):
    tally = run_module(info, dtype)
    assert not tally.failures, f"{len(tally.failures)} failures:\n" + "\n".join(tally.failures[:20])


def test_parameter_names_and_order_match_pytorch_for_every_mapped_layer():
    """zerograd's parameters come in PyTorch's order under PyTorch's names (the gradients above
    are paired by position), for the first constructor input of each layer."""
    for info in MAPPED:
        c = info.module_inputs_func(
            info, device="cpu", dtype=torch.float64, requires_grad=False, training=True
        )[0].constructor_input
        try:
            zm = getattr(znn, info.module_cls.__name__)(
                *to_zg(c.args, [], grads=False), **to_zg(c.kwargs, [], grads=False)
            )
        except (TypeError, ValueError, NotImplementedError):
            continue  # refused; counted as unsupported by the test above
        tm = info.module_cls(*c.args, **c.kwargs)
        assert [n for n, _ in zm.named_parameters()] == [n for n, _ in tm.named_parameters()]


# ---------------------------------------------------------------------------------------------
# the table in docs/conformance.md


def render_table() -> str:
    names = [_key(info) for info in MAPPED]
    return render_counts("layer", names, lambda i, d: run_module(MAPPED[i], d), DTYPES)


def main(argv) -> int:
    from doc_tables import write_or_print

    return write_or_print(DOC, START, END, render_table(), argv, len(MAPPED))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main(sys.argv[1:]))
