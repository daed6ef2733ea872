"""Every op the library registers, with inputs to check it on.

``zerograd gradcheck`` runs ``gradcheck`` over ``CASES`` and prints a table; the tests run the same
cases against PyTorch. Each case names an op, a function of tensors, and how to make each input:
``N`` normal values, ``P`` positive values, ``Away`` values away from 0 (kinks), ``U`` uniform in
a range, ``Const`` a non-differentiable input (class indices, masks), ``Stat`` non-differentiable
floats of the case's dtype (running statistics). A test checks that the cases reach every
``Function`` in ``zerograd.functional``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from ..autograd import Tensor
from . import activations as A
from . import arithmetic as M
from . import attention as At
from . import conv as Co
from . import indexing as Ix
from . import layers as L
from . import losses as Lo
from . import norm as No
from . import padding as Pd
from . import pointwise as Pw
from . import pooling as Po
from . import recurrent as Rc
from . import reduce as R
from . import shape as S
from . import sparse as Sp

__all__ = ["OpCase", "CASES", "case_inputs", "N", "P", "Away", "U", "Const", "Stat"]


@dataclass(frozen=True)
class N:
    """Standard normal values (differentiable input)."""

    shape: tuple

    def make(self, rng, dtype):
        return rng.standard_normal(self.shape).astype(dtype)


@dataclass(frozen=True)
class U:
    """Uniform values in [lo, hi) (differentiable input)."""

    shape: tuple
    lo: float = 0.0
    hi: float = 1.0

    def make(self, rng, dtype):
        return rng.uniform(self.lo, self.hi, self.shape).astype(dtype)


def _pool_indices(rng, shape, k):
    """Indices as max_pool2d(kernel_size=k) returns them for an output of ``shape``: a random
    position in each k x k window, as a flat index into the (H*k, W*k) plane."""
    H, W = shape[2:]
    rows = numpy.arange(H)[:, None] * k + rng.integers(0, k, shape)
    cols = numpy.arange(W)[None, :] * k + rng.integers(0, k, shape)
    return rows * (W * k) + cols


def P(shape):
    """Positive values in [0.5, 2) (log, sqrt, division)."""
    return U(shape, 0.5, 2.0)


@dataclass(frozen=True)
class Away:
    """Values with |x| in [0.2, 2) and random sign: no finite difference straddles a kink at 0."""

    shape: tuple

    def make(self, rng, dtype):
        mag = rng.uniform(0.2, 2.0, self.shape)
        return (mag * rng.choice([-1.0, 1.0], self.shape)).astype(dtype)


@dataclass(frozen=True)
class Const:
    """A non-differentiable input made by ``make(rng)`` (class indices, boolean masks)."""

    make_fn: object

    def make(self, rng, dtype):
        return self.make_fn(rng)


@dataclass(frozen=True)
class Stat:
    """Uniform values in [lo, hi) of the case's dtype that are not differentiated (running
    statistics, which must share the input's dtype)."""

    shape: tuple
    lo: float = 0.0
    hi: float = 1.0

    def make(self, rng, dtype):
        return rng.uniform(self.lo, self.hi, self.shape).astype(dtype)


@dataclass(frozen=True)
class OpCase:
    """One op on one set of inputs."""

    name: str
    fn: object
    inputs: tuple
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    shapes: str = field(default="")

    def describe_shapes(self) -> str:
        return self.shapes or ", ".join(
            "x".join(map(str, i.shape)) or "()" for i in self.inputs if hasattr(i, "shape")
        )


def case_inputs(case: OpCase, dtype="float64", seed: int = 0, requires_grad: bool = True):
    """The case's inputs: Tensors (requiring grad) for values, arrays/Tensors for constants."""
    rng = numpy.random.default_rng(seed)
    out = []
    for spec in case.inputs:
        a = spec.make(rng, dtype)
        constant = isinstance(spec, (Const, Stat))
        out.append(Tensor(a) if constant else Tensor(a, requires_grad=requires_grad))
    return out


def _labels(n, classes, shape=None):
    return Const(lambda rng: rng.integers(0, classes, shape or (n,)))


def _probs(shape):
    def make(rng):
        e = numpy.exp(rng.standard_normal(shape))
        return e / e.sum(axis=1, keepdims=True)

    return make


def _mask(shape):
    return Const(lambda rng: rng.random(shape) > 0.5)


def _flat(result):
    """A recurrent layer's (output, h_n) or (output, (h_n, c_n)) as one flat tuple of tensors."""
    output, states = result
    return (output,) + (tuple(states) if isinstance(states, tuple) else (states,))


# one recurrent layer: x (L=3, N=2, H_in=4), hidden size 3, G gate blocks in the weights
def _rnn_inputs(G, states=1, bias=True):
    weights = (N((G * 3, 4)), N((G * 3, 3))) + ((N((G * 3,)), N((G * 3,))) if bias else ())
    return (N((3, 2, 4)),) + (N((2, 3)),) * states + weights


CASES = [
    # --- arithmetic -----------------------------------------------------------------------
    OpCase("add", M.add, (N((3, 4)), N((4,)))),
    OpCase("add_scalar", lambda x: x + 2.5, (N((3, 4)),)),
    OpCase("sub", M.sub, (N((2, 3, 4)), N((3, 1)))),
    OpCase("rsub_scalar", lambda x: 1.0 - x, (N((3, 4)),)),
    OpCase("mul", M.mul, (N((3, 4)), N((3, 1)))),
    OpCase("mul_scalar", lambda x: x * 3.0, (N((3, 4)),)),
    OpCase("div", M.div, (N((3, 4)), P((4,)))),
    OpCase("rdiv_scalar", lambda x: 1.0 / x, (P((3, 4)),)),
    OpCase("neg", M.neg, (N((3, 4)),)),
    OpCase("pow_scalar", lambda x: x**3, (N((3, 4)),)),
    OpCase("pow_sqrt", lambda x: x**0.5, (P((3, 4)),)),
    OpCase("pow_tensor", M.pow, (P((3, 4)), N((3, 4)))),
    OpCase("rpow_scalar", lambda x: 2.0**x, (N((3, 4)),)),
    OpCase("matmul", M.matmul, (N((3, 4)), N((4, 5)))),
    OpCase("matmul_batch", M.matmul, (N((2, 3, 4)), N((4, 5)))),
    OpCase("matmul_broadcast", M.matmul, (N((2, 1, 3, 4)), N((5, 4, 2)))),
    OpCase("matmul_vec_mat", M.matmul, (N((4,)), N((4, 5)))),
    OpCase("matmul_mat_vec", M.matmul, (N((3, 4)), N((4,)))),
    OpCase("matmul_vec_vec", M.matmul, (N((4,)), N((4,)))),
    OpCase("exp", M.exp, (N((3, 4)),)),
    OpCase("log", M.log, (P((3, 4)),)),
    OpCase("sqrt", M.sqrt, (P((3, 4)),)),
    OpCase("abs", M.abs, (Away((3, 4)),)),
    OpCase("clamp", lambda x: M.clamp(x, -0.5, 0.5), (N((4, 5)),)),
    OpCase("clamp_min", lambda x: M.clamp(x, min=0.1), (N((4, 5)),)),
    OpCase("maximum", M.maximum, (N((3, 4)), N((4,)))),
    OpCase("minimum", M.minimum, (N((3, 4)), N((3, 1)))),
    OpCase("where", M.where, (_mask((3, 4)), N((3, 4)), N((4,)))),
    OpCase("cast_float32", lambda x: M.cast(x, "float32"), (N((3, 4)),), eps=1e-2, atol=1e-4),
    OpCase("clone", M.clone, (N((3, 4)),)),
    # --- shapes ---------------------------------------------------------------------------
    OpCase("reshape", lambda x: S.reshape(x, 4, -1), (N((2, 3, 4)),)),
    OpCase("flatten", lambda x: S.flatten(x, 1), (N((2, 3, 4)),)),
    OpCase("transpose", lambda x: S.transpose(x, 0, 2), (N((2, 3, 4)),)),
    OpCase("permute", lambda x: S.permute(x, 2, 0, 1), (N((2, 3, 4)),)),
    OpCase("T", lambda x: x.T, (N((3, 4)),)),
    OpCase("squeeze", lambda x: S.squeeze(x, 1), (N((3, 1, 4)),)),
    OpCase("unsqueeze", lambda x: S.unsqueeze(x, -1), (N((3, 4)),)),
    OpCase("expand", lambda x: S.expand(x, 2, 3, -1), (N((3, 1)),)),
    OpCase("broadcast_to", lambda x: S.broadcast_to(x, (2, 3, 4)), (N((4,)),)),
    OpCase("getitem_basic", lambda x: x[1:, ::2, 1], (N((3, 4, 5)),)),
    OpCase("getitem_int_array", lambda x: x[numpy.array([0, 2, 0]), 1:], (N((3, 4)),)),
    OpCase(
        "getitem_pairs", lambda x: x[numpy.array([0, 1, 1]), numpy.array([3, 2, 2])], (N((3, 4)),)
    ),
    OpCase("getitem_bool", lambda x, m: x[m.data], (N((3, 4)), _mask((3, 4)))),
    OpCase("cat", lambda a, b: S.cat([a, b], dim=1), (N((2, 3)), N((2, 4)))),
    OpCase("stack", lambda a, b: S.stack([a, b], dim=1), (N((2, 3)), N((2, 3)))),
    OpCase("split", lambda x: S.split(x, [1, 3], dim=1), (N((2, 4)),)),
    OpCase("chunk", lambda x: S.chunk(x, 2, dim=0)[0], (N((4, 3)),)),
    # --- reductions -----------------------------------------------------------------------
    OpCase("sum", R.sum, (N((3, 4)),)),
    OpCase("sum_dim_keepdim", lambda x: R.sum(x, dim=1, keepdim=True), (N((3, 4)),)),
    OpCase("sum_dims", lambda x: R.sum(x, dim=(0, 2)), (N((2, 3, 4)),)),
    OpCase("mean", R.mean, (N((3, 4)),)),
    OpCase("mean_axis", lambda x: R.mean(x, axis=0), (N((3, 4)),)),
    OpCase("max", R.max, (N((3, 4)),)),
    OpCase("max_dim", lambda x: R.max(x, dim=1).values, (N((3, 4)),)),
    OpCase("min_dim_keepdim", lambda x: R.min(x, dim=0, keepdim=True).values, (N((3, 4)),)),
    OpCase("min", R.min, (N((3, 4)),)),
    OpCase("amax_dims", lambda x: R.amax(x, dim=(0, 2)), (N((2, 3, 4)),)),
    OpCase("amin", lambda x: R.amin(x, dim=1), (N((3, 4)),)),
    OpCase("var", R.var, (N((3, 4)),)),
    OpCase("var_dim_biased", lambda x: R.var(x, dim=1, correction=0), (N((3, 4)),)),
    OpCase("std_dim", lambda x: R.std(x, dim=0, keepdim=True), (N((3, 4)),)),
    OpCase("logsumexp", lambda x: R.logsumexp(x, dim=1), (N((3, 4)),)),
    # --- activations ----------------------------------------------------------------------
    OpCase("step", A.step, (Away((3, 4)),)),
    OpCase("sigmoid", A.sigmoid, (N((3, 4)),)),
    OpCase("tanh", A.tanh, (N((3, 4)),)),
    OpCase("relu", A.relu, (Away((3, 4)),)),
    OpCase("leaky_relu", lambda x: A.leaky_relu(x, 0.1), (Away((3, 4)),)),
    OpCase("elu", A.elu, (Away((3, 4)),)),
    OpCase("gelu", A.gelu, (N((3, 4)),)),
    OpCase("gelu_tanh", lambda x: A.gelu(x, approximate="tanh"), (N((3, 4)),)),
    OpCase("softplus", A.softplus, (N((3, 4)),)),
    OpCase("softmax", lambda x: A.softmax(x, dim=1), (N((3, 4)),)),
    OpCase("softmax_dim0", lambda x: A.softmax(x, dim=0), (N((3, 4)),)),
    OpCase("log_softmax", lambda x: A.log_softmax(x, dim=-1), (N((3, 4)),)),
    # --- losses ---------------------------------------------------------------------------
    OpCase("mse_loss", Lo.mse_loss, (N((3, 4)), N((3, 4)))),
    OpCase("mse_loss_sum", lambda x, t: Lo.mse_loss(x, t, reduction="sum"), (N((3, 4)), N((3, 4)))),
    OpCase(
        "mse_loss_none", lambda x, t: Lo.mse_loss(x, t, reduction="none"), (N((3, 4)), N((3, 4)))
    ),
    OpCase("cross_entropy", Lo.cross_entropy, (N((5, 4)), _labels(5, 4))),
    OpCase(
        "cross_entropy_sum",
        lambda x, t: Lo.cross_entropy(x, t, reduction="sum"),
        (N((5, 4)), _labels(5, 4)),
    ),
    OpCase(
        "cross_entropy_none",
        lambda x, t: Lo.cross_entropy(x, t, reduction="none"),
        (N((5, 4)), _labels(5, 4)),
    ),
    OpCase(
        "cross_entropy_weight",
        lambda x, t, w: Lo.cross_entropy(x, t, weight=w),
        (N((5, 4)), _labels(5, 4), Const(lambda r: r.uniform(0.5, 2, 4))),
    ),
    OpCase(
        "cross_entropy_ignore",
        lambda x, t: Lo.cross_entropy(x, t, ignore_index=1),
        (N((6, 4)), _labels(6, 4)),
    ),
    OpCase(
        "cross_entropy_smoothing",
        lambda x, t: Lo.cross_entropy(x, t, label_smoothing=0.1),
        (N((5, 4)), _labels(5, 4)),
    ),
    OpCase(
        "cross_entropy_weight_smoothing",
        lambda x, t, w: Lo.cross_entropy(x, t, weight=w, label_smoothing=0.2),
        (N((5, 4)), _labels(5, 4), Const(lambda r: r.uniform(0.5, 2, 4))),
    ),
    OpCase("cross_entropy_spatial", Lo.cross_entropy, (N((2, 4, 3)), _labels(2, 4, (2, 3)))),
    OpCase("cross_entropy_probs", Lo.cross_entropy, (N((5, 4)), Const(_probs((5, 4))))),
    OpCase(
        "cross_entropy_probs_grad_smooth",
        lambda x, t: Lo.cross_entropy(x, t, label_smoothing=0.1),
        (N((5, 4)), P((5, 4))),
    ),
    OpCase(
        "nll_loss", lambda x, t: Lo.nll_loss(A.log_softmax(x, dim=1), t), (N((5, 4)), _labels(5, 4))
    ),
    OpCase(
        "nll_loss_weight_none",
        lambda x, t, w: Lo.nll_loss(x, t, weight=w, reduction="none"),
        (N((5, 4)), _labels(5, 4), Const(lambda r: r.uniform(0.5, 2, 4))),
    ),
    OpCase("binary_cross_entropy", Lo.binary_cross_entropy, (U((3, 4), 0.05, 0.95), U((3, 4)))),
    OpCase(
        "binary_cross_entropy_weight",
        lambda p, t, w: Lo.binary_cross_entropy(p, t, weight=w, reduction="sum"),
        (U((3, 4), 0.05, 0.95), U((3, 4)), Const(lambda r: r.uniform(0.5, 2, (4,)))),
    ),
    OpCase("bce_with_logits", Lo.binary_cross_entropy_with_logits, (N((3, 4)), U((3, 4)))),
    OpCase(
        "bce_with_logits_pos_weight",
        lambda x, t, pw: Lo.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none"),
        (N((3, 4)), U((3, 4)), Const(lambda r: r.uniform(0.5, 3, (4,)))),
    ),
    # --- layers ---------------------------------------------------------------------------
    OpCase("linear", L.linear, (N((5, 4)), N((3, 4)), N((3,)))),
    OpCase("linear_no_bias", L.linear, (N((5, 4)), N((3, 4)))),
    OpCase("linear_3d", L.linear, (N((2, 5, 4)), N((3, 4)), N((3,)))),
    OpCase("dropout", lambda x: L.dropout(x, 0.3), (N((4, 5)),)),
    OpCase("dropout2d", lambda x: L.dropout2d(x, 0.3), (N((3, 4, 2, 2)),)),
    # --- normalisation --------------------------------------------------------------------
    OpCase(
        "batch_norm_train",
        lambda x, w, b, rm, rv: No.batch_norm(x, rm, rv, w, b, training=True),
        (N((6, 4)), U((4,), 0.5, 2.0), N((4,)), Stat((4,), -1.0, 1.0), Stat((4,), 0.5, 2.0)),
    ),
    OpCase(
        "batch_norm_train_no_affine",
        lambda x, rm, rv: No.batch_norm(x, rm, rv, training=True, momentum=0.3),
        (N((5, 3)), Stat((3,), -1.0, 1.0), Stat((3,), 0.5, 2.0)),
    ),
    OpCase(
        "batch_norm_eval",
        lambda x, w, b, rm, rv: No.batch_norm(x, rm, rv, w, b, training=False),
        (N((6, 4)), U((4,), 0.5, 2.0), N((4,)), Stat((4,), -1.0, 1.0), Stat((4,), 0.5, 2.0)),
    ),
    OpCase(
        "batch_norm_3d",
        lambda x, w, b: No.batch_norm(x, None, None, w, b, training=True),
        (N((4, 3, 5)), U((3,), 0.5, 2.0), N((3,))),
    ),
    OpCase(
        "layer_norm",
        lambda x, w, b: No.layer_norm(x, (3, 4), w, b),
        (N((2, 3, 4)), N((3, 4)), N((3, 4))),
    ),
    OpCase("layer_norm_no_affine", lambda x: No.layer_norm(x, 5, eps=1e-3), (N((4, 5)),)),
    # --- attention ------------------------------------------------------------------------
    OpCase(
        "sdpa", At.scaled_dot_product_attention, (N((2, 3, 4, 5)), N((2, 3, 6, 5)), N((2, 3, 6, 2)))
    ),
    OpCase(
        "sdpa_causal_scale",
        lambda q, k, v: At.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7),
        (N((2, 5, 3)), N((2, 4, 3)), N((2, 4, 3))),
    ),
    OpCase(
        "sdpa_bool_mask_broadcast",
        lambda q, k, v, m: At.scaled_dot_product_attention(q, k, v, attn_mask=m),
        (N((2, 1, 4, 3)), N((2, 2, 5, 3)), N((1, 2, 5, 3)), _mask((4, 5))),
    ),
    OpCase(
        "sdpa_float_mask",
        lambda q, k, v, m: At.scaled_dot_product_attention(q, k, v, attn_mask=m),
        (N((2, 4, 3)), N((2, 5, 3)), N((2, 5, 2)), N((2, 1, 5))),
    ),
    # --- convolution ----------------------------------------------------------------------
    OpCase("conv2d", Co.conv2d, (N((2, 3, 6, 5)), N((4, 3, 3, 2)), N((4,)))),
    OpCase(
        "conv2d_stride_pad",
        lambda x, w, b: Co.conv2d(x, w, b, stride=2, padding=1),
        (N((2, 3, 7, 6)), N((4, 3, 3, 3)), N((4,))),
    ),
    OpCase(
        "conv2d_same_dilation_groups",
        lambda x, w: Co.conv2d(x, w, padding="same", dilation=2, groups=2),
        (N((2, 4, 6, 6)), N((6, 2, 3, 2))),
    ),
    # --- pooling --------------------------------------------------------------------------
    OpCase("max_pool2d", lambda x: Po.max_pool2d(x, 2), (N((2, 3, 6, 6)),)),
    OpCase("avg_pool2d", lambda x: Po.avg_pool2d(x, 3, 2, 1), (N((2, 3, 7, 6)),)),
    OpCase(
        "max_pool2d_overlap_pad",
        lambda x: Po.max_pool2d(x, (3, 2), stride=(2, 1), padding=1),
        (N((2, 2, 7, 6)),),
    ),
    OpCase(
        "avg_pool2d_pad_exclude",
        lambda x: Po.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
        (N((2, 2, 7, 6)),),
    ),
    OpCase("adaptive_avg_pool2d", lambda x: Po.adaptive_avg_pool2d(x, 1), (N((2, 3, 4, 4)),)),
    OpCase(
        "adaptive_avg_pool2d_uneven",
        lambda x: Po.adaptive_avg_pool2d(x, (3, 4)),
        (N((2, 3, 5, 6)),),
    ),
    OpCase("pad_constant", lambda x: Pd.pad(x, (1, 2, -1, 1), value=0.5), (N((2, 3, 4)),)),
    OpCase("pad_reflect", lambda x: Pd.pad(x, (2, 1, 1, 2), mode="reflect"), (N((2, 3, 4)),)),
    OpCase("pad_replicate", lambda x: Pd.pad(x, (3, 0), mode="replicate"), (N((2, 3, 4)),)),
    OpCase("pad_circular", lambda x: Pd.pad(x, (1, 4, 2, -1), mode="circular"), (N((2, 3, 4)),)),
    OpCase(
        "max_pool2d_dilation_ceil",
        lambda x: Po.max_pool2d(x, 3, stride=2, padding=1, dilation=(2, 1), ceil_mode=True),
        (N((2, 2, 7, 8)),),
    ),
    OpCase(
        "avg_pool2d_ceil_exclude",
        lambda x: Po.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        (N((2, 2, 6, 7)),),
    ),
    OpCase(
        "avg_pool2d_ceil_divisor",
        lambda x: Po.avg_pool2d(x, (3, 2), stride=2, ceil_mode=True, divisor_override=5),
        (N((2, 2, 6, 7)),),
    ),
    OpCase(
        "max_unpool2d",
        lambda x, idx: Po.max_unpool2d(x, idx, 2),
        (N((2, 3, 2, 3)), Const(lambda rng: _pool_indices(rng, (2, 3, 2, 3), 2))),
    ),
    # --- recurrent ------------------------------------------------------------------------
    OpCase("rnn_layer_tanh", lambda x, h, *w: _flat(Rc.rnn_layer(x, h, *w)), _rnn_inputs(1)),
    OpCase(
        "rnn_layer_relu_reverse_no_bias",
        lambda x, h, *w: _flat(Rc.rnn_layer(x, h, *w, nonlinearity="relu", reverse=True)),
        _rnn_inputs(1, bias=False),
    ),
    OpCase(
        "lstm_layer",
        lambda x, h, c, *w: _flat(Rc.lstm_layer(x, (h, c), *w)),
        _rnn_inputs(4, states=2),
    ),
    OpCase(
        "lstm_layer_reverse_zero_state",
        lambda x, *w: _flat(Rc.lstm_layer(x, None, *w, reverse=True)),
        _rnn_inputs(4, states=0),
    ),
    OpCase("gru_layer", lambda x, h, *w: _flat(Rc.gru_layer(x, h, *w)), _rnn_inputs(3)),
    OpCase(
        "gru_layer_reverse_no_bias",
        lambda x, h, *w: _flat(Rc.gru_layer(x, h, *w, reverse=True)),
        _rnn_inputs(3, bias=False),
    ),
    # --- lookup tables --------------------------------------------------------------------
    # (padding_idx is no case: its row's zero gradient is by design, not the derivative;
    # tests/nn/test_sparse.py checks it against PyTorch)
    OpCase("embedding", Sp.embedding, (_labels(2, 5, (2, 4)), N((5, 3)))),
    # --- everyday tensor functions: pointwise math ----------------------------------------
    OpCase("sin", Pw.sin, (N((3, 4)),)),
    OpCase("cos", Pw.cos, (N((3, 4)),)),
    OpCase("log1p", Pw.log1p, (P((3, 4)),)),
    OpCase("expm1", Pw.expm1, (N((3, 4)),)),
    OpCase("reciprocal", Pw.reciprocal, (Away((3, 4)),)),
    OpCase("square", Pw.square, (N((3, 4)),)),
    OpCase("floor", Pw.floor, (N((3, 4)),)),
    OpCase("ceil", Pw.ceil, (N((3, 4)),)),
    OpCase("round", Pw.round, (U((3, 4), -3.0, 3.0),)),
    OpCase("round_decimals", lambda x: Pw.round(x, decimals=1), (N((3, 4)),)),
    OpCase("sign", Pw.sign, (Away((3, 4)),)),
    OpCase(
        "nan_to_num",
        lambda x, m, k: Pw.nan_to_num(
            Ix.masked_fill(Ix.masked_fill(x, m, float("inf")), k, float("nan")), 0.5, 2.0
        ),
        (N((3, 4)), _mask((3, 4)), _mask((4,))),
    ),
    # --- everyday tensor functions: reductions ------------------------------------------------
    OpCase("prod", R.prod, (U((3, 4), 0.5, 1.5),)),
    OpCase("prod_dim", lambda x: R.prod(x, 1, keepdim=True), (N((3, 4)),)),
    OpCase(
        "prod_zeros",  # rows with no zero, one zero, two zeros
        lambda x, m: R.prod(x * m.to(x.dtype), dim=1),
        (N((3, 4)), Const(lambda rng: numpy.array([[1.0] * 4, [1, 0, 1, 1], [0, 1, 0, 1]]))),
    ),
    OpCase("cumsum", lambda x: R.cumsum(x, dim=1), (N((3, 4)),)),
    OpCase("norm", R.norm, (N((3, 4)),)),
    OpCase("norm_dim_keepdim", lambda x: R.norm(x, dim=1, keepdim=True), (N((3, 4)),)),
    OpCase("norm_p1", lambda x: R.norm(x, p=1, dim=0), (Away((3, 4)),)),
    OpCase("norm_inf", lambda x: R.norm(x, p=float("inf"), dim=1), (N((3, 4)),)),
    OpCase("norm_p3", lambda x: R.norm(x, p=3, dim=(0, 1)), (Away((3, 4)),)),
    OpCase(
        "norm_zero_row",
        lambda x, m: R.norm(x * m.to(x.dtype), dim=1),
        (N((3, 4)), Const(lambda rng: numpy.array([[1.0], [0.0], [1.0]]))),
    ),
    # --- everyday tensor functions: products, shapes and indexing -----------------------------
    OpCase("mm", M.mm, (N((3, 4)), N((4, 5)))),
    OpCase("bmm", M.bmm, (N((2, 3, 4)), N((2, 4, 5)))),
    OpCase("dot", M.dot, (N((4,)), N((4,)))),
    OpCase("outer", M.outer, (N((3,)), N((4,)))),
    OpCase("flip", lambda x: S.flip(x, (0, 2)), (N((2, 3, 4)),)),
    OpCase("roll", lambda x: S.roll(x, (1, -2), (0, 2)), (N((2, 3, 4)),)),
    OpCase("roll_flat", lambda x: S.roll(x, 5), (N((2, 3, 4)),)),
    OpCase("repeat", lambda x: S.repeat(x, 2, 1, 3), (N((3, 2)),)),
    OpCase("unbind", lambda x: S.unbind(x, 1), (N((2, 3)),)),
    OpCase("tril", lambda x: S.tril(x, -1), (N((2, 3, 4)),)),
    OpCase("triu", lambda x: S.triu(x, 1), (N((3, 4)),)),
    OpCase(
        "gather",
        lambda x, i: Ix.gather(x, 1, i),
        (N((3, 4)), Const(lambda rng: rng.integers(0, 4, (2, 5)))),
    ),
    OpCase(
        "index_select",
        lambda x, i: Ix.index_select(x, 1, i),
        (N((3, 4)), Const(lambda rng: numpy.array([3, 0, 3, 1]))),
    ),
    OpCase("masked_fill", lambda x, m: Ix.masked_fill(x, m, -1.5), (N((3, 4)), _mask((4,)))),
    OpCase(
        "masked_fill_tensor_value",
        lambda x, m, v: Ix.masked_fill(x, m, v),
        (N((3, 4)), _mask((3, 4)), N(())),
    ),
    OpCase("sort", lambda x: Ix.sort(x, dim=0, descending=True).values, (N((3, 4)),)),
    OpCase("topk", lambda x: Ix.topk(x, 2, dim=1).values, (N((3, 4)),)),
    OpCase("topk_smallest", lambda x: Ix.topk(x, 3, dim=0, largest=False).values, (N((4, 2)),)),
]
