"""The transformer's layers with PyTorch's names, layouts, defaults and state_dict keys:
``MultiheadAttention``, ``TransformerEncoderLayer``, ``TransformerEncoder``,
``TransformerDecoderLayer`` and ``TransformerDecoder`` (Vaswani et al., 2017).

Attention itself is one op, ``F.scaled_dot_product_attention``, with a hand-written backward; the
layers around it are projections (``F.linear``), reshapes, layer norms and dropout. A PyTorch
model's ``state_dict()`` (its tensors as NumPy arrays) loads into the same zerograd layer with
``load_state_dict`` and gives the same outputs.
"""

from __future__ import annotations

import copy
import math

from .. import functional as F
from ..autograd import Tensor
from ..backend import array_module
from ..creation import empty, zeros
from ..functional.args import check_input_dtype, layer_input, real_arg
from ..functional.attention import ScaledDotProductAttention
from . import init
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .norm import LayerNorm
from .parameter import Parameter

__all__ = [
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    "TransformerDecoderLayer",
    "TransformerDecoder",
]


def _positive_int(who: str, name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {n!r}.")
    return n


class MultiheadAttention(Module):
    """Multi-head attention (``torch.nn.MultiheadAttention``).

    Q = query W_q^T + b_q, K = key W_k^T + b_k, V = value W_v^T + b_v, split into ``num_heads``
    heads of ``embed_dim // num_heads`` features; each head computes
    softmax(Q K^T / sqrt(head_dim) + mask) V; the heads are concatenated and projected by
    ``out_proj``.

    Shapes: query (L, N, E), key (S, N, kdim), value (S, N, vdim) -> output (L, N, E), or
    (N, L, E) ... with ``batch_first=True``; unbatched (L, E) also. The weights returned with
    ``need_weights=True`` are (N, L, S), averaged over the heads, or (N, num_heads, L, S).

    Parameters (PyTorch's layout and keys): ``in_proj_weight`` (3E, E) holding W_q, W_k, W_v
    stacked (``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead when kdim or vdim
    differ from E), ``in_proj_bias`` (3E), ``out_proj.weight`` (E, E), ``out_proj.bias`` (E),
    and ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``. Init as PyTorch: Xavier-uniform
    projections, zero biases, Xavier-normal ``bias_k`` and ``bias_v``.

    Masks follow ``torch.nn.MultiheadAttention``'s convention (the opposite of
    ``F.scaled_dot_product_attention``'s): a bool ``key_padding_mask`` (N, S) or ``attn_mask``
    (L, S) / (N * num_heads, L, S) is True where a position must NOT be attended; float masks
    are added to the scores. Masks are constants (not differentiated). A query with every key
    masked gives NaN weights and output with ``need_weights=True`` and 0 attention without, as
    PyTorch does.

    Examples
    --------
    >>> import zerograd as zg
    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> x = zg.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    >>> [k for k in mha.state_dict()]
    ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
    >>> MultiheadAttention(10, 3)
    Traceback (most recent call last):
    ...
    ValueError: MultiheadAttention(embed_dim=10, num_heads=3): embed_dim must be divisible by ...
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        who = f"MultiheadAttention(embed_dim={embed_dim!r}, num_heads={num_heads!r})"
        _positive_int(who, "embed_dim", embed_dim)
        _positive_int(who, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(
                f"{who}: embed_dim must be divisible by num_heads (each head gets embed_dim // "
                f"num_heads features); {embed_dim} % {num_heads} = {embed_dim % num_heads}. "
                "Choose num_heads among the divisors of embed_dim."
            )
        if device not in (None, "cpu"):
            raise ValueError(f"{who}: zerograd runs on the CPU for now, got device={device!r}.")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = embed_dim if kdim is None else _positive_int(who, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else _positive_int(who, "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = real_arg(who, "dropout", dropout, "in [0, 1)", lambda p: 0 <= p < 1)
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * E, E, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(E, E, dtype=dtype))
            self.k_proj_weight = Parameter(empty(E, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(E, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * E, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, E, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, E, dtype=dtype))
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"

    @property
    def who(self) -> str:
        """The layer with its config in one line, for error messages."""
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    # --- forward ----------------------------------------------------------------------------
    def _check(self, q: Tensor, k: Tensor, v: Tensor, key_padding_mask, attn_mask) -> bool:
        who = self.who
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(
                f"{who}: query, key and value must all be 3-D (batched) or all 2-D (unbatched), "
                f"got shapes {q.shape}, {k.shape} and {v.shape}."
            )
        batched = q.ndim == 3
        layout = ("(N, L, E)" if self.batch_first else "(L, N, E)") if batched else "(L, E)"
        for name, t, dim in (("query", q, self.embed_dim), ("key", k, self.kdim)):
            if t.shape[-1] != dim:
                raise ValueError(
                    f"{who}: {name} has shape {t.shape} but its last dim must be {dim} "
                    f"(layout {layout})."
                )
        if v.shape[-1] != self.vdim:
            raise ValueError(
                f"{who}: value has shape {v.shape} but its last dim must be {self.vdim} "
                f"(layout {layout})."
            )
        seq = 1 if self.batch_first and batched else 0
        if k.shape[seq] != v.shape[seq] or (batched and k.shape[1 - seq] != v.shape[1 - seq]):
            raise ValueError(
                f"{who}: key {k.shape} and value {v.shape} must have the same sequence length "
                "and batch size."
            )
        if batched and q.shape[1 - seq] != k.shape[1 - seq]:
            raise ValueError(
                f"{who}: query {q.shape} and key {k.shape} have different batch sizes (layout "
                f"{layout}{', batch_first' if self.batch_first else ''})."
            )
        L, S = q.shape[seq], k.shape[seq]
        N = q.shape[1 - seq] if batched else None
        for name, m in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if m is not None and m.dtype != bool and m.dtype != q.dtype:
                raise TypeError(
                    f"{who}: {name} must be bool (True: not attended) or float of the query's "
                    f"dtype {q.dtype}, got {m.dtype}."
                )
        if key_padding_mask is not None:
            want = (N, S) if batched else (S,)
            if key_padding_mask.shape != want:
                raise ValueError(
                    f"{who}: key_padding_mask has shape {key_padding_mask.shape} but must be "
                    f"{want} (batch, source length) for key {k.shape}."
                )
        if attn_mask is not None:
            ok = [(L, S), (N * self.num_heads if batched else self.num_heads, L, S)]
            if attn_mask.shape not in ok:
                raise ValueError(
                    f"{who}: attn_mask has shape {attn_mask.shape} but must be {ok[0]} or "
                    f"{ok[1]} (target length L, source length S"
                    f"{', batch * num_heads first' if batched else ', num_heads first'})."
                )
        return batched

    def _merged_mask(self, key_padding_mask, attn_mask, N, L, S, dtype):
        """One additive float mask (N, H, L, S)-broadcastable from MHA's two masks, or None."""
        out = None
        for m, kind in ((attn_mask, "attn"), (key_padding_mask, "kpm")):
            if m is None:
                continue
            a = m.data
            xp = array_module(a)
            if a.dtype == bool:  # True: not attended
                a = xp.where(a, xp.asarray(-math.inf, dtype=dtype), xp.asarray(0, dtype=dtype))
            if kind == "attn":
                a = a.reshape(N, self.num_heads, L, S) if a.ndim == 3 else a
            else:
                a = a.reshape(N, 1, 1, S)
            if self.bias_k is not None or self.add_zero_attn:  # the extra keys: never masked
                extra = int(self.bias_k is not None) + int(self.add_zero_attn)
                pad = [(0, 0)] * (a.ndim - 1) + [(0, extra)]
                a = xp.pad(a, pad)
            out = a if out is None else out + a
        return out

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights or None)``.

        ``is_causal`` is a hint, as in PyTorch: it needs the causal ``attn_mask`` itself
        (``torch.nn.Transformer.generate_square_subsequent_mask``), which is what is applied.
        ``key`` defaults to ``query`` and ``value`` to ``key`` (self-attention, ``mha(x)``), a
        zerograd convenience (PyTorch requires all three); the ONNX exporter relies on it.
        """
        key = query if key is None else key
        value = key if value is None else value
        who = self.who
        q, k, v = (layer_input(who, t) for t in (query, key, value))
        kpm = None if key_padding_mask is None else layer_input(who, key_padding_mask)
        am = None if attn_mask is None else layer_input(who, attn_mask)
        if is_causal and am is None:
            raise ValueError(
                f"{who}: is_causal=True is a hint and needs the causal attn_mask too, e.g. "
                "Transformer.generate_square_subsequent_mask(L)."
            )
        batched = self._check(q, k, v, kpm, am)
        for t in (q, k, v):
            check_input_dtype(who, t, self.out_proj.weight.dtype)
        if not batched:  # one sequence: a batch of one
            q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E): the heads are split per sample
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        N, L, E = q.shape
        H, hd = self.num_heads, self.head_dim
        if self._qkv_same_embed_dim:
            W = self.in_proj_weight
            Wq, Wk, Wv = W[:E], W[E : 2 * E], W[2 * E :]
        else:
            Wq, Wk, Wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        q, k, v = F.linear(q, Wq, bq), F.linear(k, Wk, bk), F.linear(v, Wv, bv)
        if self.bias_k is not None:  # one more key and value, learned, for every sample
            k = F.cat([k, self.bias_k.expand(N, 1, E)], dim=1)
            v = F.cat([v, self.bias_v.expand(N, 1, E)], dim=1)
        # (N, L, E) -> (N, L, H, hd) -> (N, H, L, hd)
        q = q.reshape(N, L, H, hd).permute(0, 2, 1, 3)
        k = k.reshape(N, k.shape[1], H, hd).permute(0, 2, 1, 3)
        v = v.reshape(N, v.shape[1], H, hd).permute(0, 2, 1, 3)
        if self.add_zero_attn:  # one more key and value of zeros per head
            z = zeros(N, H, 1, hd, dtype=q.dtype)
            k, v = F.cat([k, z], dim=2), F.cat([v, z], dim=2)
        S = k.shape[2] - int(self.bias_k is not None) - int(self.add_zero_attn)
        mask = self._merged_mask(kpm, am, N, L, S, q.dtype)
        mask_t = None if mask is None else Tensor.wrap(mask)
        p = self.dropout if self.training else 0.0
        attention = ScaledDotProductAttention(
            1 / math.sqrt(hd),
            p,
            mask_shape=None if mask is None else mask.shape,
            need_weights=bool(need_weights),
            # PyTorch's weights path uses a plain softmax: a fully masked row is NaN there
            nan_rows=bool(need_weights),
        )
        out = attention(q, k, v, mask_t)
        y, weights = out if need_weights else (out, None)
        # (N, H, L, hd) -> (N, L, H, hd) -> (N, L, E), or (L, N, E)
        y = y.permute(0, 2, 1, 3) if self.batch_first or not batched else y.permute(2, 0, 1, 3)
        y = self.out_proj(y.reshape(*y.shape[:2], E))
        if not batched:
            y = y.squeeze(0)
        if weights is not None:
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        return y, weights


def _sequence(who: str, name: str, x, d_model: int, batch_first: bool, dtype) -> Tensor:
    """A layer's input sequence as a Tensor, checked: (L, N, d_model), (N, L, d_model) with
    ``batch_first``, or one sequence (L, d_model), in the parameters' dtype."""
    x = layer_input(who, x)
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        layout = "(N, L, E)" if batch_first else "(L, N, E)"
        raise ValueError(
            f"{who}: {name} has shape {x.shape} but must be {layout} (batch_first="
            f"{batch_first}) or one sequence (L, E), with E = d_model = {d_model}."
        )
    check_input_dtype(who, x, dtype)
    return x


def _activation(who: str, activation):
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ValueError(
            f"{who}: activation should be 'relu' or 'gelu' (or a callable), got {activation!r}."
        )
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable.")
    return activation


def _layer_args(who, d_model, nhead, dim_feedforward, dropout, layer_norm_eps):
    _positive_int(who, "d_model", d_model)
    _positive_int(who, "nhead", nhead)
    _positive_int(who, "dim_feedforward", dim_feedforward)
    if d_model % nhead:
        raise ValueError(
            f"{who}: d_model must be divisible by nhead (each head gets d_model // nhead "
            f"features); {d_model} % {nhead} = {d_model % nhead}. Choose nhead among the "
            "divisors of d_model."
        )
    real_arg(who, "dropout", dropout, "in [0, 1)", lambda p: 0 <= p < 1)
    real_arg(who, "layer_norm_eps", layer_norm_eps, ">= 0 and finite", lambda v: v >= 0)


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual connection and a layer
    norm (``torch.nn.TransformerEncoderLayer``).

    post-norm (default): x = norm1(x + SA(x));  x = norm2(x + FF(x))
    ``norm_first=True``:  x = x + SA(norm1(x));  x = x + FF(norm2(x))
    SA(x) = dropout1(self_attn(x, x, x)),  FF(x) = dropout2(linear2(dropout(act(linear1(x)))))

    Input (S, N, d_model), or (N, S, d_model) with ``batch_first``, or unbatched (S, d_model);
    output of the same shape. Sub-modules and state_dict keys as PyTorch's: ``self_attn``,
    ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``.

    Examples
    --------
    >>> import zerograd as zg
    >>> layer = TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    >>> layer(zg.randn(3, 5, 8)).shape
    (3, 5, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        who = f"TransformerEncoderLayer(d_model={d_model!r}, nhead={nhead!r})"
        _layer_args(who, d_model, nhead, dim_feedforward, dropout, layer_norm_eps)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(who, activation)
        self.batch_first, self.who = (
            batch_first,
            f"TransformerEncoderLayer(d_model={d_model}, nhead={nhead})",
        )
        self.d_model = d_model

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        dtype = self.linear1.weight.dtype
        x = _sequence(self.who, "src", src, self.d_model, self.batch_first, dtype)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's output (``memory``) and a feed-forward
    network, each with a residual connection and a layer norm
    (``torch.nn.TransformerDecoderLayer``).

    post-norm (default): x = norm1(x + SA(x));  x = norm2(x + MHA(x, mem));  x = norm3(x + FF(x))
    ``norm_first=True``:  x = x + SA(norm1(x));  x = x + MHA(norm2(x), mem);  x = x + FF(norm3(x))

    tgt (T, N, d_model) and memory (S, N, d_model) (``batch_first``: (N, T, d_model),
    (N, S, d_model)) -> (T, N, d_model). Sub-modules and state_dict keys as PyTorch's:
    ``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``, ``linear2``, ``norm1``..``norm3``,
    ``dropout1``..``dropout3``.

    Examples
    --------
    >>> import zerograd as zg
    >>> layer = TransformerDecoderLayer(8, 2, dim_feedforward=16)
    >>> layer(zg.randn(4, 3, 8), zg.randn(6, 3, 8)).shape
    (4, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        who = f"TransformerDecoderLayer(d_model={d_model!r}, nhead={nhead!r})"
        _layer_args(who, d_model, nhead, dim_feedforward, dropout, layer_norm_eps)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(who, activation)
        self.batch_first, self.who = (
            batch_first,
            f"TransformerDecoderLayer(d_model={d_model}, nhead={nhead})",
        )
        self.d_model = d_model

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        dtype = self.linear1.weight.dtype
        x = _sequence(self.who, "tgt", tgt, self.d_model, self.batch_first, dtype)
        mem = _sequence(self.who, "memory", memory, self.d_model, self.batch_first, dtype)
        if mem.ndim != x.ndim:
            raise ValueError(
                f"{self.who}: tgt {x.shape} and memory {mem.shape} must both be batched (3-D) "
                "or both one sequence (2-D)."
            )
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), mem, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _clones(who: str, layer, num_layers) -> ModuleList:
    _positive_int(who, "num_layers", num_layers)
    # independent copies, each with its own parameters, as PyTorch's _get_clones
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` one after the other, then ``norm`` if given
    (``torch.nn.TransformerEncoder``). Keys ``layers.0.self_attn.in_proj_weight`` ... and
    ``norm.weight``, as PyTorch's.

    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's signature; they tune
    PyTorch's inference fast path, which zerograd does not have.

    Examples
    --------
    >>> import zerograd as zg
    >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16)
    >>> encoder = TransformerEncoder(layer, num_layers=2)
    >>> encoder(zg.randn(5, 3, 8)).shape
    (5, 3, 8)
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(
                x,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal) and mask is not None,
            )
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` one after the other, each reading ``memory``,
    then ``norm`` if given (``torch.nn.TransformerDecoder``); PyTorch's keys.

    Examples
    --------
    >>> import zerograd as zg
    >>> decoder = TransformerDecoder(TransformerDecoderLayer(8, 2, 16), num_layers=2)
    >>> decoder(zg.randn(4, 3, 8), zg.randn(6, 3, 8)).shape
    (4, 3, 8)
    """

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ):
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal) and tgt_mask is not None,
                memory_is_causal=memory_is_causal,
            )
        return self.norm(x) if self.norm is not None else x
