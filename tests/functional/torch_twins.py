"""The PyTorch twin of every case in ``zerograd.functional.registry.CASES``, by case name."""

import pytest
from torch_ref import NEEDS_TORCH

# pytest --doctest-modules imports this helper too: without torch it skips, saying why
torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
import torch.nn.functional as TF  # noqa: E402


def torch_layer(kind, x, hx, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, **kwargs):
    """One layer, one direction of torch.nn.RNN/LSTM/GRU (``kind``) run with the given weights
    (``torch.func.functional_call``), as a flat tuple (output, h_n[, c_n]) of zerograd's layout:
    states (N, H) without the layer axis; ``reverse`` runs it on the time-reversed sequence."""
    module = getattr(torch.nn, kind)(
        x.shape[2], w_hh.shape[1], bias=b_ih is not None, dtype=x.dtype, **kwargs
    )
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh}
    if b_ih is not None:
        params.update(bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    if isinstance(hx, tuple):
        hx = tuple(s[None] for s in hx)
    elif hx is not None:
        hx = hx[None]
    out, states = torch.func.functional_call(module, params, (x.flip(0) if reverse else x, hx))
    states = states if isinstance(states, tuple) else (states,)
    return ((out.flip(0) if reverse else out),) + tuple(s[0] for s in states)


TWINS = {
    "add": torch.add,
    "add_scalar": lambda x: x + 2.5,
    "sub": torch.sub,
    "rsub_scalar": lambda x: 1.0 - x,
    "mul": torch.mul,
    "mul_scalar": lambda x: x * 3.0,
    "div": torch.div,
    "rdiv_scalar": lambda x: 1.0 / x,
    "neg": torch.neg,
    "pow_scalar": lambda x: x**3,
    "pow_sqrt": lambda x: x**0.5,
    "pow_tensor": torch.pow,
    "rpow_scalar": lambda x: 2.0**x,
    "matmul": torch.matmul,
    "matmul_batch": torch.matmul,
    "matmul_broadcast": torch.matmul,
    "matmul_vec_mat": torch.matmul,
    "matmul_mat_vec": torch.matmul,
    "matmul_vec_vec": torch.matmul,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "clamp": lambda x: torch.clamp(x, -0.5, 0.5),
    "clamp_min": lambda x: torch.clamp(x, min=0.1),
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "where": torch.where,
    "cast_float32": lambda x: x.to(torch.float32),
    "clone": torch.clone,
    "reshape": lambda x: x.reshape(4, -1),
    "flatten": lambda x: torch.flatten(x, 1),
    "transpose": lambda x: torch.transpose(x, 0, 2),
    "permute": lambda x: x.permute(2, 0, 1),
    "T": lambda x: x.T,
    "squeeze": lambda x: torch.squeeze(x, 1),
    "unsqueeze": lambda x: torch.unsqueeze(x, -1),
    "expand": lambda x: x.expand(2, 3, -1),
    "broadcast_to": lambda x: torch.broadcast_to(x, (2, 3, 4)),
    "getitem_basic": lambda x: x[1:, ::2, 1],
    "getitem_int_array": lambda x: x[torch.tensor([0, 2, 0]), 1:],
    "getitem_pairs": lambda x: x[torch.tensor([0, 1, 1]), torch.tensor([3, 2, 2])],
    "getitem_bool": lambda x, m: x[m],
    "cat": lambda a, b: torch.cat([a, b], dim=1),
    "stack": lambda a, b: torch.stack([a, b], dim=1),
    "split": lambda x: torch.split(x, [1, 3], dim=1),
    "chunk": lambda x: torch.chunk(x, 2, dim=0)[0],
    "sum": torch.sum,
    "sum_dim_keepdim": lambda x: torch.sum(x, dim=1, keepdim=True),
    "sum_dims": lambda x: torch.sum(x, dim=(0, 2)),
    "mean": torch.mean,
    "mean_axis": lambda x: torch.mean(x, dim=0),
    "max": torch.max,
    "max_dim": lambda x: torch.max(x, dim=1).values,
    "min_dim_keepdim": lambda x: torch.min(x, dim=0, keepdim=True).values,
    "min": torch.min,
    "amax_dims": lambda x: torch.amax(x, dim=(0, 2)),
    "amin": lambda x: torch.amin(x, dim=1),
    "var": torch.var,
    "var_dim_biased": lambda x: torch.var(x, dim=1, correction=0),
    "std_dim": lambda x: torch.std(x, dim=0, keepdim=True),
    "logsumexp": lambda x: torch.logsumexp(x, dim=1),
    "step": lambda x: (x > 0).to(x.dtype) + 0 * x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda x: TF.leaky_relu(x, 0.1),
    "elu": TF.elu,
    "gelu": TF.gelu,
    "gelu_tanh": lambda x: TF.gelu(x, approximate="tanh"),
    "softplus": TF.softplus,
    "softmax": lambda x: torch.softmax(x, dim=1),
    "softmax_dim0": lambda x: torch.softmax(x, dim=0),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "mse_loss": TF.mse_loss,
    "mse_loss_sum": lambda x, t: TF.mse_loss(x, t, reduction="sum"),
    "mse_loss_none": lambda x, t: TF.mse_loss(x, t, reduction="none"),
    "cross_entropy": TF.cross_entropy,
    "cross_entropy_sum": lambda x, t: TF.cross_entropy(x, t, reduction="sum"),
    "cross_entropy_none": lambda x, t: TF.cross_entropy(x, t, reduction="none"),
    "cross_entropy_weight": lambda x, t, w: TF.cross_entropy(x, t, weight=w.to(x.dtype)),
    "cross_entropy_ignore": lambda x, t: TF.cross_entropy(x, t, ignore_index=1),
    "cross_entropy_smoothing": lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1),
    "cross_entropy_weight_smoothing": lambda x, t, w: TF.cross_entropy(
        x, t, weight=w.to(x.dtype), label_smoothing=0.2
    ),
    "cross_entropy_spatial": TF.cross_entropy,
    "cross_entropy_probs": lambda x, t: TF.cross_entropy(x, t.to(x.dtype)),
    "cross_entropy_probs_grad_smooth": lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1),
    "nll_loss": lambda x, t: TF.nll_loss(torch.log_softmax(x, dim=1), t),
    "nll_loss_weight_none": lambda x, t, w: TF.nll_loss(
        x, t, weight=w.to(x.dtype), reduction="none"
    ),
    "binary_cross_entropy": TF.binary_cross_entropy,
    "binary_cross_entropy_weight": lambda p, t, w: TF.binary_cross_entropy(
        p, t, weight=w.to(p.dtype), reduction="sum"
    ),
    "bce_with_logits": TF.binary_cross_entropy_with_logits,
    "bce_with_logits_pos_weight": lambda x, t, pw: TF.binary_cross_entropy_with_logits(
        x, t, pos_weight=pw.to(x.dtype), reduction="none"
    ),
    "linear": TF.linear,
    "linear_no_bias": TF.linear,
    "linear_3d": TF.linear,
    "batch_norm_train": lambda x, w, b, rm, rv: TF.batch_norm(x, rm, rv, w, b, training=True),
    "batch_norm_train_no_affine": lambda x, rm, rv: TF.batch_norm(
        x, rm, rv, training=True, momentum=0.3
    ),
    "batch_norm_eval": lambda x, w, b, rm, rv: TF.batch_norm(x, rm, rv, w, b, training=False),
    "batch_norm_3d": lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
    "layer_norm": lambda x, w, b: TF.layer_norm(x, (3, 4), w, b),
    "layer_norm_no_affine": lambda x: TF.layer_norm(x, (5,), eps=1e-3),
    "sdpa": TF.scaled_dot_product_attention,
    "sdpa_causal_scale": lambda q, k, v: TF.scaled_dot_product_attention(
        q, k, v, is_causal=True, scale=0.7
    ),
    "sdpa_bool_mask_broadcast": lambda q, k, v, m: TF.scaled_dot_product_attention(
        q, k, v, attn_mask=m
    ),
    "sdpa_float_mask": lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
    "conv2d": TF.conv2d,
    "conv2d_stride_pad": lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1),
    "conv2d_same_dilation_groups": lambda x, w: TF.conv2d(
        x, w, padding="same", dilation=2, groups=2
    ),
    "max_pool2d": lambda x: TF.max_pool2d(x, 2),
    "avg_pool2d": lambda x: TF.avg_pool2d(x, 3, 2, 1),
    "max_pool2d_overlap_pad": lambda x: TF.max_pool2d(x, (3, 2), stride=(2, 1), padding=1),
    "avg_pool2d_pad_exclude": lambda x: TF.avg_pool2d(
        x, 3, stride=2, padding=1, count_include_pad=False
    ),
    "adaptive_avg_pool2d": lambda x: TF.adaptive_avg_pool2d(x, 1),
    "adaptive_avg_pool2d_uneven": lambda x: TF.adaptive_avg_pool2d(x, (3, 4)),
    "pad_constant": lambda x: TF.pad(x, (1, 2, -1, 1), value=0.5),
    "pad_reflect": lambda x: TF.pad(x, (2, 1, 1, 2), mode="reflect"),
    "pad_replicate": lambda x: TF.pad(x, (3, 0), mode="replicate"),
    "pad_circular": lambda x: TF.pad(x, (1, 4, 2, -1), mode="circular"),
    "max_pool2d_dilation_ceil": lambda x: TF.max_pool2d(
        x, 3, stride=2, padding=1, dilation=(2, 1), ceil_mode=True
    ),
    "avg_pool2d_ceil_exclude": lambda x: TF.avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False
    ),
    "avg_pool2d_ceil_divisor": lambda x: TF.avg_pool2d(
        x, (3, 2), stride=2, ceil_mode=True, divisor_override=5
    ),
    "max_unpool2d": lambda x, idx: TF.max_unpool2d(x, idx, 2),
    "rnn_layer_tanh": lambda x, h, *w: torch_layer("RNN", x, h, *w),
    "rnn_layer_relu_reverse_no_bias": lambda x, h, *w: torch_layer(
        "RNN", x, h, *w, reverse=True, nonlinearity="relu"
    ),
    "lstm_layer": lambda x, h, c, *w: torch_layer("LSTM", x, (h, c), *w),
    "lstm_layer_reverse_zero_state": lambda x, *w: torch_layer("LSTM", x, None, *w, reverse=True),
    "gru_layer": lambda x, h, *w: torch_layer("GRU", x, h, *w),
    "gru_layer_reverse_no_bias": lambda x, h, *w: torch_layer("GRU", x, h, *w, reverse=True),
    "embedding": TF.embedding,
    "sin": torch.sin,
    "cos": torch.cos,
    "log1p": torch.log1p,
    "expm1": torch.expm1,
    "reciprocal": torch.reciprocal,
    "square": torch.square,
    "floor": torch.floor,
    "ceil": torch.ceil,
    "round": torch.round,
    "round_decimals": lambda x: torch.round(x, decimals=1),
    "sign": torch.sign,
    "nan_to_num": lambda x, m, k: torch.nan_to_num(
        x.masked_fill(m, float("inf")).masked_fill(k, float("nan")), 0.5, 2.0
    ),
    "prod": torch.prod,
    "prod_dim": lambda x: torch.prod(x, 1, keepdim=True),
    "prod_zeros": lambda x, m: torch.prod(x * m.to(x.dtype), dim=1),
    "cumsum": lambda x: torch.cumsum(x, dim=1),
    "norm": torch.norm,
    "norm_dim_keepdim": lambda x: torch.norm(x, dim=1, keepdim=True),
    "norm_p1": lambda x: torch.norm(x, p=1, dim=0),
    "norm_inf": lambda x: torch.norm(x, p=float("inf"), dim=1),
    "norm_p3": lambda x: torch.norm(x, p=3, dim=(0, 1)),
    "norm_zero_row": lambda x, m: torch.norm(x * m.to(x.dtype), dim=1),
    "mm": torch.mm,
    "bmm": torch.bmm,
    "dot": torch.dot,
    "outer": torch.outer,
    "flip": lambda x: torch.flip(x, (0, 2)),
    "roll": lambda x: torch.roll(x, (1, -2), (0, 2)),
    "roll_flat": lambda x: torch.roll(x, 5),
    "repeat": lambda x: x.repeat(2, 1, 3),
    "unbind": lambda x: torch.unbind(x, 1),
    "tril": lambda x: torch.tril(x, -1),
    "triu": lambda x: torch.triu(x, 1),
    "gather": lambda x, i: torch.gather(x, 1, i),
    "index_select": lambda x, i: torch.index_select(x, 1, i),
    "masked_fill": lambda x, m: torch.masked_fill(x, m, -1.5),
    "masked_fill_tensor_value": torch.masked_fill,
    "sort": lambda x: torch.sort(x, dim=0, descending=True).values,
    "topk": lambda x: torch.topk(x, 2, dim=1).values,
    "topk_smallest": lambda x: torch.topk(x, 3, dim=0, largest=False).values,
}

# Cases with no deterministic PyTorch twin, and the test that checks them instead.
CHECKED_ELSEWHERE = {
    "dropout": "tests/functional/test_layers.py (mask, scale and gradient)",
    "dropout2d": "tests/functional/test_layers.py (whole-channel mask, scale and gradient)",
}
