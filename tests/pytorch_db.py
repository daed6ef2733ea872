"""Run PyTorch's own test inputs through zerograd: the machinery of tests/conformance.

PyTorch ships the inputs its team chose to break its ops and layers: the OpInfo database
(``op_db``, each entry's ``sample_inputs``) and the ModuleInfo database (``module_db``, each
entry's ``module_inputs_func``), in ``torch.testing._internal``. For every op and module zerograd
has a twin of, each sample is converted to zerograd (tensors by value, dtypes and devices by name)
and the outputs, input gradients (one random upstream gradient shared by both libraries),
parameter gradients and buffers are compared.

Each sample ends in one of four ways:

- ``passed``: same values (and gradients) as PyTorch;
- ``unsupported``: zerograd refused it with its own clear error (ValueError, TypeError,
  IndexError, NotImplementedError or RuntimeError raised by zerograd's code, or a keyword
  zerograd's signature does not have);
- ``skipped``: a sample zerograd cannot express by the rule in ``skip_reason`` (complex dtypes,
  ``out=``, memory formats, devices other than the CPU);
- a failure: a wrong value or gradient, or a crash (an error from inside NumPy, or of any other
  type). The tests fail on these; there must be none.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
import warnings

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
pytest.importorskip(
    "expecttest", reason="PyTorch's test database needs expecttest: pip install expecttest"
)

import zerograd as zg  # noqa: E402

ZG_ROOT = os.path.dirname(os.path.abspath(zg.__file__))
# zerograd's dtypes are NumPy's (zg.float32 is np.float32): torch's map to them by name
DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16,
          torch.int64: np.int64, torch.int32: np.int32, torch.int16: np.int16,
          torch.int8: np.int8, torch.uint8: np.uint8, torch.bool: np.bool_}  # fmt: skip
# how close is "the same value": float64 results differ from PyTorch's only by the order of
# summation; float32 ones by that, in float32
TOLERANCE = {torch.float64: dict(rtol=1e-9, atol=1e-10), torch.float32: dict(rtol=2e-5, atol=2e-5)}
# float32 ops that sum long chains twice (attention: QK^T, softmax, then @V and back) round more
FLOAT32_LOOSER = dict(rtol=2e-4, atol=2e-4)
OUTCOMES = ("passed", "unsupported", "skipped")


class Unsupported(Exception):
    """zerograd refused the sample with its own message (kept in ``args[0]``)."""


class Skip(Exception):
    """The sample is outside what the harness converts (the rule is the message)."""


@dataclasses.dataclass
class Tally:
    """Counts of one op or module at one dtype, and the failures with their samples."""

    passed: int = 0
    unsupported: int = 0
    skipped: int = 0
    failures: list = dataclasses.field(default_factory=list)
    messages: dict = dataclasses.field(default_factory=dict)  # zerograd's refusals, counted

    def add(self, outcome: str, detail: str = "") -> None:
        if outcome in OUTCOMES:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if outcome == "unsupported":
                first_line = detail.splitlines()[0][:160] if detail else ""
                self.messages[first_line] = self.messages.get(first_line, 0) + 1
        else:
            self.failures.append(detail)


# ---------------------------------------------------------------------------------------------
# converting a sample


def skip_reason(args, kwargs) -> str | None:
    """The rule: what zerograd cannot express is skipped, never counted as passing.

    (``memory_format=torch.preserve_format``, the default, is dropped from the sample before
    this is asked: passing the default is the same call as leaving it out.)"""
    if "out" in kwargs:
        return "out= (zerograd's ops return new tensors)"
    if "memory_format" in kwargs or any(isinstance(a, torch.memory_format) for a in args):
        return "memory_format (NumPy arrays have no channels-last format)"
    for v in list(args) + list(kwargs.values()):
        if isinstance(v, torch.Tensor) and (v.is_complex() or v.is_sparse or v.is_quantized):
            return "complex, sparse or quantized tensors"
        if isinstance(v, torch.dtype) and v not in DTYPES:
            return f"dtype {v} (zerograd has no such dtype)"
        if isinstance(v, torch.device) and v.type != "cpu":
            return f"device {v}"
    return None


def to_zg(value, leaves: list, grads: bool = True):
    """A torch value as zerograd takes it: Tensors by value (a float tensor that requires grad
    becomes a zerograd leaf that does, recorded in ``leaves``), dtypes by name, the rest as is."""
    if isinstance(value, torch.Tensor):
        if value.dtype not in DTYPES:
            raise Skip(f"dtype {value.dtype}")
        t = zg.tensor(value.detach().numpy().copy())
        if grads and value.requires_grad:
            t.requires_grad_(True)
            leaves.append((value, t))
        return t
    if isinstance(value, torch.nn.Module):
        return twin_module(value)
    if callable(value) and id(value) in _FUNCTIONAL:  # an activation passed by function
        return getattr(zg.functional, _FUNCTIONAL[id(value)])
    if isinstance(value, torch.dtype):
        if value not in DTYPES:
            raise Skip(f"dtype {value}")
        return DTYPES[value]
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, list):
        return [to_zg(v, leaves, grads) for v in value]
    if isinstance(value, tuple):
        return tuple(to_zg(v, leaves, grads) for v in value)
    if isinstance(value, dict):
        return {k: to_zg(v, leaves, grads) for k, v in value.items()}
    return value


_FUNCTIONAL = {
    id(getattr(torch.nn.functional, name)): name
    for name in dir(torch.nn.functional)
    if hasattr(zg.functional, name) and callable(getattr(torch.nn.functional, name))
}


def twin_module(m):
    """zerograd's layer built with the config of PyTorch's ``m`` (a layer passed to another
    layer's constructor, as TransformerEncoder takes its encoder_layer); weights are copied later
    through the outer layer's state_dict."""
    znn = zg.nn
    name = type(m).__name__
    if name == "LayerNorm":
        return znn.LayerNorm(
            m.normalized_shape, m.eps, m.elementwise_affine, bias=m.bias is not None
        )
    if name in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
        activation = m.activation
        if isinstance(activation, torch.nn.Module):
            activation = getattr(znn, type(activation).__name__)()
        else:
            activation = to_zg(activation, [])
        return getattr(znn, name)(
            m.self_attn.embed_dim,
            m.self_attn.num_heads,
            dim_feedforward=m.linear1.out_features,
            dropout=m.dropout.p,
            activation=activation,
            layer_norm_eps=m.norm1.eps,
            batch_first=m.self_attn.batch_first,
            norm_first=m.norm_first,
            bias=m.linear1.bias is not None,
        )
    raise Skip(f"a {name} passed to a constructor (the harness builds no twin of it)")


def flat(out) -> list:
    """An op's result as a flat list (tuples and named tuples such as (values, indices) opened)."""
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in flat(x)]
    return [out]


def as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, zg.Tensor):
        return np.asarray(x.data)
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# running a sample


def zerograd_refusal(error: BaseException) -> str | None:
    """The message when ``error`` is zerograd's own refusal, None when it is a crash.

    Its own: a ValueError, TypeError, IndexError, NotImplementedError or RuntimeError (in-place
    edits of graph tensors) raised in zerograd's code
    (not one NumPy raised and an op passed on), or the
    TypeError Python raises when zerograd's signature has no such argument. A crash: any other
    type, or an error raised from inside NumPy (or anywhere outside zerograd)."""
    if not isinstance(
        error, (ValueError, TypeError, NotImplementedError, IndexError, RuntimeError)
    ):
        return None
    if "failed on inputs of shapes" in str(error):
        return None  # Function's wrapper around an error NumPy raised: a crash, not a refusal
    frames = traceback.extract_tb(error.__traceback__)
    where = frames[-1].filename if frames else ""
    if where.startswith(ZG_ROOT):
        return f"{type(error).__name__}: {error}"
    msg = str(error)
    if isinstance(error, TypeError) and (
        "unexpected keyword argument" in msg or "positional argument" in msg
    ):
        return f"{type(error).__name__}: {msg}"  # raised at the call, by zerograd's signature
    return None


def compare(name: str, got, want, dtype, loose: bool = False) -> str | None:
    """None when ``got`` (zerograd) equals ``want`` (torch), else what differs; ``loose`` takes
    FLOAT32_LOOSER for float32 (float64 is never loosened)."""
    g, w = as_numpy(got), as_numpy(want)
    if g.shape != w.shape:
        return f"{name}: shape {g.shape}, PyTorch's {w.shape}"
    if w.dtype.kind in "biu" or w.dtype == bool:
        if g.dtype.kind == "f" or not np.array_equal(g, w):
            return f"{name}: {g.dtype} {g.ravel()[:6]} vs PyTorch's {w.dtype} {w.ravel()[:6]}"
        return None
    tol = TOLERANCE.get(dtype, TOLERANCE[torch.float32])
    if loose and dtype != torch.float64:
        tol = FLOAT32_LOOSER
    if g.dtype != w.dtype:
        return f"{name}: dtype {g.dtype}, PyTorch's {w.dtype}"
    if not np.allclose(g, w, equal_nan=True, **tol):
        err = np.nanmax(np.abs(g.astype(np.float64) - w.astype(np.float64)))
        return f"{name}: differs by up to {err:.3g} ({g.ravel()[:4]} vs {w.ravel()[:4]})"
    return None


def upstream(outputs, seed: int) -> list:
    """One random upstream gradient per float output, shared by both libraries."""
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal(o.shape).astype(as_numpy(o).dtype) if _float(o) else None
        for o in outputs
    ]


def _float(x) -> bool:
    return isinstance(x, torch.Tensor) and x.is_floating_point()


def backward_both(t_outs, z_outs, t_leaves, z_leaves, seed: int, loose: bool) -> list[str]:
    """Input (or parameter) gradients of sum(out * g) in both libraries, compared."""
    gs = upstream(t_outs, seed)
    pairs = [(t, z, g) for t, z, g in zip(t_outs, z_outs, gs) if g is not None and t.requires_grad]
    if not pairs or not t_leaves:
        return []
    t_loss = sum((t * torch.from_numpy(g)).sum() for t, _, g in pairs)
    t_grads = torch.autograd.grad(t_loss, t_leaves, allow_unused=True)
    z_diff = [(z, g) for _, z, g in pairs if isinstance(z, zg.Tensor) and z.requires_grad]
    if z_diff:
        z_loss = z_diff[0][0].mul(zg.tensor(z_diff[0][1])).sum()
        for z, g in z_diff[1:]:
            z_loss = z_loss + z.mul(zg.tensor(g)).sum()
        z_loss.backward()
    problems = []
    for i, (tg, zl) in enumerate(zip(t_grads, z_leaves)):
        want = np.zeros(zl.shape, as_numpy(zl).dtype) if tg is None else tg
        got = np.zeros(zl.shape, as_numpy(zl).dtype) if zl.grad is None else zl.grad
        if problem := compare(f"grad of input {i}", got, want, t_leaves[i].dtype, loose):
            problems.append(problem)
    return problems


def run_sample(
    describe: str, call_torch, call_zg, dtype, seed: int, grads: bool, tally: Tally, loose=False
):
    """Run one sample in both libraries and count it. ``call_*`` return (outputs, leaves)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_out, t_leaves = call_torch()
    except Exception:  # noqa: BLE001 - PyTorch refuses it too: not a sample of the op
        tally.add("skipped")
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z_out, z_leaves = call_zg()
            t_outs, z_outs = flat(t_out), flat(z_out)
            if len(t_outs) != len(z_outs):
                raise AssertionError(f"{len(z_outs)} outputs, PyTorch gives {len(t_outs)}")
            problems = [
                p
                for i, (z, t) in enumerate(zip(z_outs, t_outs))
                if (p := compare(f"output {i}", z, t, dtype, loose))
            ]
            if grads and not problems:
                problems = backward_both(t_outs, z_outs, t_leaves, z_leaves, seed, loose)
    except Skip as rule:
        tally.add("skipped", str(rule))
        return
    except AssertionError as e:
        tally.add("failure", f"{describe}: {e}")
        return
    except Exception as e:  # noqa: BLE001 - sorted into refusals and crashes just below
        message = zerograd_refusal(e)
        if message is None:
            where = traceback.extract_tb(e.__traceback__)[-1]
            tally.add(
                "failure",
                f"{describe}: crash {type(e).__name__}: {e} (at {where.filename}:{where.lineno})",
            )
        else:
            tally.add("unsupported", message)
        return
    if problems:
        tally.add("failure", f"{describe}: " + "; ".join(problems))
    else:
        tally.add("passed")


def describe_sample(sample) -> str:
    def short(v):
        if isinstance(v, torch.Tensor):
            return f"tensor{tuple(v.shape)}:{str(v.dtype)[6:]}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(short(x) for x in v) + "]"
        return repr(v)

    args = [short(sample.input)] + [short(a) for a in sample.args]
    args += [f"{k}={short(v)}" for k, v in sample.kwargs.items()]
    return "(" + ", ".join(args) + ")"


def render_counts(what: str, names: list, run, dtypes) -> str:
    """The docs table: for each name, ``run(index, dtype) -> Tally`` in each dtype, as
    passed / unsupported / skipped with zerograd's refusal messages counted, and a total row.
    Fails (rather than write a table) if any sample fails."""
    rows = [f"| {what} | float64: passed / unsupported / skipped | float32 | zerograd's refusals |",
            "|---|---|---|---|"]  # fmt: skip
    total = {d: Tally() for d in dtypes}
    for i, name in enumerate(names):
        cells, reasons = [], {}
        for d in dtypes:
            t = run(i, d)
            assert not t.failures, t.failures[:3]
            for outcome in OUTCOMES:
                setattr(total[d], outcome, getattr(total[d], outcome) + getattr(t, outcome))
            cells.append(f"{t.passed} / {t.unsupported} / {t.skipped}")
            for m, n in t.messages.items():
                reasons[m] = reasons.get(m, 0) + n
        why = "; ".join(f"{n}x {m}" for m, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        why = why.replace("|", "\\|")[:300]
        rows.append(f"| `{name}` | {cells[0]} | {cells[1]} | {why} |")
    totals = [f"{total[d].passed} / {total[d].unsupported} / {total[d].skipped}" for d in dtypes]
    rows.append(f"| **all {len(names)} {what}s** | {totals[0]} | {totals[1]} | |")
    return "\n".join(rows) + "\n"
