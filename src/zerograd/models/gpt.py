"""A decoder-only transformer language model, ``GPT`` (Radford et al., 2018, 2019), laid out as
Karpathy's nanoGPT ``model.py``, so its state_dict keys are nanoGPT's; and the sinusoidal
position encoding of "Attention is all you need" (``SinusoidalPositionalEncoding``).

idx (B, T) -> token embedding + learned position embedding -> dropout -> n_layer pre-norm blocks
(x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)), causal self-attention and a GELU MLP) -> ln_f ->
lm_head, whose weight is the token embedding's (weight tying, Press and Wolf, 2017).
"""

from __future__ import annotations

import math

from .. import backend, nn
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..creation import arange
from ..functional.args import layer_input, real_arg

__all__ = ["GPT", "SinusoidalPositionalEncoding"]


def _positive_int(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"GPT: {name} must be a positive int, got {n!r}.")
    return n


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t: one Linear makes Q, K, V
    (``c_attn``, (3C, C)), ``F.scaled_dot_product_attention(is_causal=True)`` attends per head,
    ``c_proj`` mixes the heads. nanoGPT's ``CausalSelfAttention``."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, T, H, C/H) -> (B, H, T, C/H): the heads side by side
        q = q.reshape(B, T, H, C // H).transpose(1, 2)
        k = k.reshape(B, T, H, C // H).transpose(1, 2)
        v = v.reshape(B, T, H, C // H).transpose(1, 2)
        p = self.dropout if self.training else 0.0  # on the attention weights, inside the op
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads concatenated again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Linear(C, 4C) -> GELU -> Linear(4C, C) -> dropout, nanoGPT's ``MLP``."""

    def __init__(self, n_embd: int, dropout: float, bias: bool):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm transformer block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPTBody(nn.Module):
    """The body under ``transformer.``: nanoGPT's ModuleDict, as attributes with the same keys."""

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        # a Sequential where nanoGPT has a ModuleList: the same keys (h.0 ...), and it is called
        self.h = nn.Sequential(*[Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)

    def forward(self, idx: Tensor) -> Tensor:
        """ids (B, T) -> the final hidden states (B, T, n_embd), after ln_f."""
        pos = arange(idx.shape[1], dtype="int64")
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C) + (T, C)
        return self.ln_f(self.h(x))


class GPT(nn.Module):
    """A GPT language model: ids (B, T) -> next-token logits (B, T, vocab_size).

    nanoGPT's architecture, config names and state_dict keys (``transformer.wte.weight``,
    ``transformer.h.0.attn.c_attn.weight``, ..., ``lm_head.weight``) and init (weights
    N(0, 0.02), the residual projections ``c_proj`` N(0, 0.02 / sqrt(2 n_layer)), biases 0).
    ``lm_head.weight`` is the same Parameter as ``transformer.wte.weight``: both keys are in the
    state_dict (as PyTorch's), ``load_state_dict`` writes the one array, and ``parameters()``
    yields it once.

    Unlike nanoGPT's, ``forward(idx)`` returns the logits of every position and no loss: take
    ``F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))``. ``config`` rebuilds the
    model: ``GPT(**model.config)``.

    Parameters
    ----------
    vocab_size : int
        Tokens in the vocabulary (65 for tiny-shakespeare's characters).
    block_size : int
        The longest context, the number of learned positions.
    n_layer, n_head, n_embd : int
        Blocks, attention heads per block and the width (a multiple of ``n_head``).
    dropout : float
        After the embeddings, on the attention weights and on each residual branch.
    bias : bool
        Biases in the Linear layers and LayerNorms (nanoGPT's default True; False is a bit
        better and faster, say its authors).

    Examples
    --------
    >>> import zerograd as zg
    >>> model = GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    >>> model(zg.tensor([[1, 2, 3], [4, 5, 6]])).shape
    (2, 3, 11)
    >>> model.lm_head.weight is model.transformer.wte.weight
    True
    >>> model.generate(zg.tensor([[1]]), max_new_tokens=4).shape
    (1, 5)
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 64,
        n_layer: int = 4,
        n_head: int = 4,
        n_embd: int = 128,
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        for name, n in (
            ("vocab_size", vocab_size),
            ("block_size", block_size),
            ("n_layer", n_layer),
            ("n_head", n_head),
            ("n_embd", n_embd),
        ):
            _positive_int(name, n)
        if n_embd % n_head:
            raise ValueError(
                f"GPT: n_embd must be divisible by n_head (each head gets n_embd // n_head "
                f"features); {n_embd} % {n_head} = {n_embd % n_head}. Choose n_head among the "
                "divisors of n_embd."
            )
        dropout = real_arg("GPT", "dropout", dropout, "in [0, 1)", lambda p: 0 <= p < 1)
        self.config = {
            "vocab_size": vocab_size,
            "block_size": block_size,
            "n_layer": n_layer,
            "n_head": n_head,
            "n_embd": n_embd,
            "dropout": dropout,
            "bias": bool(bias),
        }
        self.block_size = block_size
        self.transformer = GPTBody(vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        # weight tying: one Parameter under both names
        self.transformer.wte.weight = self.lm_head.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nanoGPT's init: N(0, 0.02) weights and embeddings, zero biases, and the residual
        projections scaled down by sqrt(2 n_layer) (GPT-2's paper), so the residual stream's
        variance does not grow with depth. LayerNorms: weight 1, bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.LayerNorm):
                m.reset_parameters()
        std = 0.02 / math.sqrt(2 * self.config["n_layer"])
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameters counted once (the tied head is the token embedding); nanoGPT's count
        leaves the position embedding out unless ``non_embedding=False``."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: Tensor) -> Tensor:
        idx = layer_input("GPT", idx)
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"GPT: idx must be token ids of shape (B, T) and an integer dtype, got shape "
                f"{idx.shape} and {idx.dtype}; for one sequence use idx.reshape(1, -1)."
            )
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(
                f"GPT: a sequence of {T} tokens is longer than block_size={self.block_size}; "
                f"feed the last {self.block_size} tokens, e.g. idx[:, -{self.block_size}:]."
            )
        return self.lm_head(self.transformer(idx))

    def generate(
        self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None
    ) -> Tensor:
        """Append ``max_new_tokens`` tokens to each sequence of ``idx`` (B, T), each drawn from
        softmax(logits / temperature) of the last position (only the ``top_k`` most likely kept,
        if given), from zerograd's generator; the context is cropped to ``block_size``. Runs
        under ``no_grad`` in the model's current mode (call ``eval()`` first for no dropout).
        Returns (B, T + max_new_tokens) int64 ids, nanoGPT's ``generate``."""
        idx = layer_input("GPT.generate", idx)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
            raise TypeError(f"GPT.generate: max_new_tokens must be an int, got {max_new_tokens!r}.")
        if max_new_tokens < 0:
            raise ValueError(f"GPT.generate: max_new_tokens must be >= 0, got {max_new_tokens}.")
        temperature = real_arg(
            "GPT.generate", "temperature", temperature, "positive", lambda t: t > 0
        )
        V = self.config["vocab_size"]
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k <= 0
        ):
            raise ValueError(f"GPT.generate: top_k must be a positive int or None, got {top_k!r}.")
        xp = backend.array_module(idx.data)
        ids = idx.data.astype("int64")
        rng = backend.generator()
        with no_grad():
            for _ in range(max_new_tokens):
                context = Tensor.wrap(ids[:, -self.block_size :])
                logits = self(context).data[:, -1, :] / temperature  # (B, V)
                if top_k is not None and top_k < V:
                    kth = xp.sort(logits, axis=-1)[:, -top_k][:, None]
                    logits = xp.where(logits < kth, -math.inf, logits)
                probs = F.softmax(Tensor.wrap(logits), dim=-1).data.astype("float64")
                probs /= probs.sum(axis=-1, keepdims=True)
                # inverse-CDF sampling, one uniform draw per sequence
                u = rng.random((len(probs), 1))
                nxt = (probs.cumsum(axis=-1) < u).sum(axis=-1, keepdims=True)
                ids = xp.concatenate([ids, xp.minimum(nxt, V - 1).astype("int64")], axis=1)
        return Tensor.wrap(ids)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.items())


class SinusoidalPositionalEncoding(nn.Module):
    """Add the fixed sinusoidal position code of Vaswani et al. (2017) to a sequence:

    PE[t, 2i] = sin(t / 10000^(2i/d_model)),   PE[t, 2i+1] = cos(t / 10000^(2i/d_model))

    Input (N, T, d_model) (``batch_first=True``) or (T, N, d_model) -> the same shape, then
    dropout, as in PyTorch's transformer tutorial. ``pe`` (max_len, d_model) is a buffer left
    out of the state_dict (``persistent=False``): it is a function of the config, not learned.

    Examples
    --------
    >>> import zerograd as zg
    >>> pe = SinusoidalPositionalEncoding(4, max_len=10)
    >>> [round(v, 4) for v in pe(zg.zeros(1, 2, 4))[0, 1].tolist()]  # t = 1
    [0.8415, 0.5403, 0.01, 0.9999]
    """

    def __init__(
        self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = True
    ):
        super().__init__()
        for name, n in (("d_model", d_model), ("max_len", max_len)):
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise ValueError(
                    f"SinusoidalPositionalEncoding: {name} must be a positive int, got {n!r}."
                )
        xp = backend.array_module(0.0)
        t = xp.arange(max_len, dtype="float64")[:, None]
        freq = xp.exp(xp.arange(0, d_model, 2, dtype="float64") * (-math.log(10000.0) / d_model))
        pe = xp.zeros((max_len, d_model))
        pe[:, 0::2] = xp.sin(t * freq)
        pe[:, 1::2] = xp.cos(t * freq[: d_model // 2])
        dtype = backend.get_default_dtype()
        self.register_buffer("pe", Tensor.wrap(pe.astype(dtype)), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first

    def forward(self, x: Tensor) -> Tensor:
        x = layer_input(self, x)
        t_dim = 1 if self.batch_first else 0
        if x.ndim != 3 or x.shape[2] != self.d_model or x.shape[t_dim] > self.max_len:
            layout = "(N, T, d_model)" if self.batch_first else "(T, N, d_model)"
            raise ValueError(
                f"{self!r}: input has shape {x.shape} but must be {layout} with d_model="
                f"{self.d_model} and T <= max_len={self.max_len}."
            )
        T = x.shape[t_dim]
        pe = self.pe.data[:T].astype(x.dtype, copy=False)
        pe = pe if self.batch_first else pe[:, None, :]  # (T, d) or (T, 1, d): broadcasts
        return self.dropout(x + Tensor.wrap(pe))

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"
