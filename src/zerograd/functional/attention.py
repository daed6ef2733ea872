"""Attention: ``scaled_dot_product_attention`` (Vaswani et al., 2017), PyTorch's semantics, as one
op with a hand-written backward.

The one (L, S) array per head that the op keeps for backward is the attention weights P; every
other (L, S) array (the scores, their gradient) lives only while forward or backward runs.
"""

from __future__ import annotations

import math

from ..autograd import Function, Tensor
from ..backend import array_module, errstate, generator, sum_to
from .args import as_tensor, real_arg

__all__ = ["scaled_dot_product_attention"]


class ScaledDotProductAttention(Function):
    """softmax(Q K^T * scale + M) V along the key axis, with dropout on the weights.

    S = scale * Q K^T + M   (M: the additive mask; a bool mask is 0 where True, -inf where False)
    P = softmax(S)          (a row with every key masked: P = 0 there, PyTorch's safe softmax;
                             with ``nan_rows`` it is NaN, as the weights ``nn.MultiheadAttention``
                             returns)
    A = P * D / (1 - p)     (dropout: D ~ Bernoulli(1 - p), drawn from zerograd's generator)
    y = A V

    gA = gy V^T (+ the gradient of the returned weights A, when they are an output)
    gV = A^T gy,   gP = gA * D / (1 - p),   gS = P * (gP - sum(gP * P, keys))
    gQ = scale * gS K,   gK = scale * gS^T Q,   gM = gS   (each summed to its input's shape)

    Q: (*, L, E), K: (*, S, E), V: (*, S, Ev), M: broadcastable to (*, L, S) -> y: (*, L, Ev),
    the batch dims * broadcast. Saved: P (and the dropout mask D as bools), plus Q, K, V.
    """

    op_name = "scaled_dot_product_attention"

    def __init__(
        self,
        scale,
        dropout_p=0.0,
        is_causal=False,
        mask_shape=None,
        need_weights=False,
        nan_rows=False,
    ):
        self.scale, self.p, self.is_causal = scale, dropout_p, is_causal
        self.mask_shape, self.need_weights, self.nan_rows = mask_shape, need_weights, nan_rows

    def forward(self, q, k, v, mask):
        xp = array_module(q)
        L, S = q.shape[-2], k.shape[-2]
        s = q @ xp.swapaxes(k, -1, -2)  # (*, L, S), fresh: scaled and masked in place
        s *= self.scale
        if self.is_causal:  # query i sees keys 0..i (top-left aligned, as PyTorch)
            xp.copyto(s, -math.inf, where=xp.triu(xp.ones((L, S), dtype=bool), 1))
        if mask is not None:
            if mask.dtype == bool:
                xp.copyto(s, -math.inf, where=~mask)
            else:
                s += mask
        # softmax in place, the row max subtracted first (no overflow); a row of -inf only
        # (every key masked) has max -inf: shift it by 0 so it stays -inf and not NaN
        m = s.max(axis=-1, keepdims=True, initial=-math.inf)  # S = 0 keys: -inf, as masked
        if not self.nan_rows:
            m[m == -math.inf] = 0
        with errstate(invalid="ignore"):
            s -= m
            xp.exp(s, out=s)
            total = s.sum(axis=-1, keepdims=True)
            if not self.nan_rows:
                total[total == 0] = 1  # a fully masked row: 0 / 1 = 0, PyTorch's safe softmax
            s /= total
        P = s
        D = None
        A = P
        if self.p > 0:
            D = generator().random(P.shape, dtype=P.dtype) >= self.p
            A = P * D * (1 / (1 - self.p))
        self.save_for_backward(q, k, v, P, D)
        y = A @ v
        return (y, A) if self.need_weights else y

    def backward(self, gy, gA_out=None):
        q, k, v, P, D = self.saved
        xp = array_module(gy)
        need_q, need_k, need_v, need_m = self.needs_input_grad
        scale_d = 1 / (1 - self.p) if D is not None else 1.0
        gv = None
        if need_v:
            A = P if D is None else P * D * scale_d
            gv = sum_to(xp.swapaxes(A, -1, -2) @ gy, v.shape)
            del A
        gs = gy @ xp.swapaxes(v, -1, -2)  # gA: (*, L, S)
        if gA_out is not None:
            gs += gA_out
        if D is not None:
            gs *= D
            gs *= scale_d
        # gS = P * (gP - sum(gP * P)): rows where P is 0 (masked keys) get 0, NaN rows stay NaN
        gs -= (gs * P).sum(axis=-1, keepdims=True)
        gs *= P
        gq = sum_to((gs @ k) * self.scale, q.shape) if need_q else None
        gk = sum_to((xp.swapaxes(gs, -1, -2) @ q) * self.scale, k.shape) if need_k else None
        gm = sum_to(gs, self.mask_shape) if need_m else None
        return gq, gk, gv, gm


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> None:
    who = "scaled_dot_product_attention"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            f"{who}: query, key and value must have at least 2 dims (*, L, E), got shapes "
            f"{q.shape}, {k.shape} and {v.shape}."
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{who}: query {q.shape} and key {k.shape} must have the same last dim (the "
            f"embedding E), got {q.shape[-1]} and {k.shape[-1]}."
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{who}: key {k.shape} and value {v.shape} must have the same number of positions "
            f"(dim -2), got {k.shape[-2]} and {v.shape[-2]}."
        )
    for name, t in (("key", k), ("value", v)):
        if t.dtype != q.dtype:
            raise TypeError(
                f"{who}: query is {q.dtype} but {name} is {t.dtype}; convert them to one dtype."
            )
    if q.dtype.kind != "f":
        raise TypeError(f"{who}: query, key and value must be floating point, got {q.dtype}.")
    try:
        batch = array_module(q.data).broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{who}: the batch dims of query {q.shape}, key {k.shape} and value {v.shape} "
            "(all but the last two) do not broadcast."
        ) from None
    del batch


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, with dropout on the attention weights
    (``torch.nn.functional.scaled_dot_product_attention``).

    One op: its backward is written by hand and keeps only the attention weights (one (L, S)
    array per batch entry and head) besides the inputs.

    Parameters
    ----------
    query : Tensor
        (*, L, E): L queries; * any batch dims, e.g. (N, heads).
    key : Tensor
        (*, S, E).
    value : Tensor
        (*, S, Ev).
    attn_mask : Tensor or None
        Broadcastable to the scores' shape (*, L, S) (not wider). A bool mask says which keys
        each query may attend to (True: takes part, as in PyTorch); a float mask is added to the
        scores (-inf removes a key) and is differentiable. A query whose keys are all masked
        gets an output of 0.
    dropout_p : float
        Probability of zeroing each attention weight (the rest are scaled by 1/(1 - p)); applied
        whenever it is > 0, so pass 0 in evaluation, as ``nn.MultiheadAttention`` does.
    is_causal : bool
        Query i attends to keys 0..i only (the mask ``ones(L, S).tril()``); not with
        ``attn_mask``.
    scale : float or None
        The factor of the scores; default 1 / sqrt(E).

    Returns
    -------
    Tensor
        (*, L, Ev), the batch dims broadcast.

    Raises
    ------
    ValueError
        On shapes that do not fit, a mask that does not broadcast to (*, L, S), ``attn_mask``
        together with ``is_causal``, or ``dropout_p`` outside [0, 1).
    TypeError
        On integer inputs, inputs of different dtypes, or a mask neither bool nor of the
        inputs' dtype.

    Examples
    --------
    >>> import zerograd
    >>> q = k = zerograd.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = zerograd.tensor([[1.0], [2.0]])
    >>> y = scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> [round(a, 4) for a in y.reshape(-1).tolist()]  # query 0 sees key 0 only
    [1.0, 1.6698]
    >>> scaled_dot_product_attention(q, zerograd.ones(2, 3), v)
    Traceback (most recent call last):
    ...
    ValueError: scaled_dot_product_attention: query (2, 2) and key (2, 3) must have the same ...
    """
    who = "scaled_dot_product_attention"
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    _check_qkv(q, k, v)
    p = real_arg(who, "dropout_p", dropout_p, "in [0, 1)", lambda x: 0 <= x < 1)
    E = q.shape[-1]
    if scale is None:
        scale = 1 / math.sqrt(E) if E else 1.0
    else:
        scale = real_arg(who, "scale", scale, "a finite number")
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(
                f"{who}: pass attn_mask or is_causal=True, not both (PyTorch refuses them "
                "together too); fold the causal mask into attn_mask if you need both."
            )
        mask = check_attn_mask(who, attn_mask, q)
        xp = array_module(q.data)
        batch = xp.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        scores = (*batch, q.shape[-2], k.shape[-2])
        try:
            fits = xp.broadcast_shapes(mask.shape, scores) == scores
        except ValueError:
            fits = False
        if not fits:  # a mask with more batch dims than the inputs is refused, as by PyTorch
            raise ValueError(
                f"{who}: attn_mask has shape {mask.shape}, which does not broadcast to the "
                f"scores' shape {scores} (*, L, S) of query {q.shape} and key {k.shape}."
            )
    mask_shape = None if mask is None else mask.shape
    return ScaledDotProductAttention(float(scale), p, bool(is_causal), mask_shape)(q, k, v, mask)


def check_attn_mask(who: str, attn_mask, q: Tensor) -> Tensor:
    """``attn_mask`` as a Tensor, bool or of the query's dtype; a TypeError naming ``who``."""
    mask = as_tensor(attn_mask)
    if mask.dtype != bool and mask.dtype != q.dtype:
        raise TypeError(
            f"{who}: attn_mask must be bool (True: attend) or float of the query's dtype "
            f"{q.dtype}, got {mask.dtype}."
        )
    return mask
