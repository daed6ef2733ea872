"""Lookup-table layers: ``Embedding``."""

from __future__ import annotations

import numbers

from ..autograd import Tensor, no_grad
from ..creation import empty
from ..functional.args import as_tensor
from ..functional.sparse import embedding
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer
    index (``torch.nn.Embedding``): y[...] = weight[input[...]].

    Input: integers of any shape (*), each in [0, num_embeddings) -> output (*, embedding_dim).
    ``weight`` is (num_embeddings, embedding_dim), initialised from N(0, 1) as in PyTorch, with
    row ``padding_idx`` (if given; negative counts from the end) zeroed and never updated: its
    gradient is always zero, so it can stand for padding in batches of unequal sequences.

    Unlike PyTorch, ``max_norm``, ``norm_type``, ``scale_grad_by_freq`` and ``sparse`` are not
    supported; ``_weight`` (an initial table, shared, as in PyTorch) and ``dtype`` are keywords.

    Examples
    --------
    >>> import zerograd
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb
    Embedding(10, 3, padding_idx=0)
    >>> emb(zerograd.tensor([[1, 2, 0], [4, 0, 0]])).shape
    (2, 3, 3)
    >>> emb.weight[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        *,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        dtype=None,
    ):
        super().__init__()
        # PyTorch's other options, accepted at their defaults (the signature stays PyTorch's)
        unsupported = [
            f"{name}={value!r}"
            for name, value, default in (
                ("max_norm", max_norm, None),
                ("scale_grad_by_freq", scale_grad_by_freq, False),
                ("sparse", sparse, False),
            )
            if value != default
        ]
        if unsupported:
            raise NotImplementedError(
                f"Embedding: {', '.join(unsupported)} is not implemented; leave it at PyTorch's "
                "default (renormalising rows, frequency-scaled and sparse gradients are not "
                "supported)."
            )
        self.max_norm, self.norm_type = None, float(norm_type)
        self.scale_grad_by_freq, self.sparse = False, False
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {n!r}.")
        if padding_idx is not None:
            if (
                isinstance(padding_idx, bool)
                or not isinstance(padding_idx, numbers.Integral)
                or not -num_embeddings <= padding_idx < num_embeddings
            ):
                raise ValueError(
                    f"Embedding: padding_idx must be an int in [{-num_embeddings}, "
                    f"{num_embeddings - 1}] (within num_embeddings={num_embeddings}), got "
                    f"{padding_idx!r}."
                )
            padding_idx = int(padding_idx) % num_embeddings  # PyTorch stores it non-negative
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight has shape {tuple(_weight.shape)} but must be "
                    f"(num_embeddings, embedding_dim) = ({num_embeddings}, {embedding_dim})."
                )
            self.weight = Parameter(as_tensor(_weight), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0
                self.weight.bump_version()

    @classmethod
    def from_pretrained(
        cls, embeddings, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An ``Embedding`` whose weight is ``embeddings`` (shared, not copied, as in PyTorch).

        Parameters
        ----------
        embeddings : Tensor
            (num_embeddings, embedding_dim) floats.
        freeze : bool
            If True (the default) the weight does not require grad, so training leaves it as it is.
        padding_idx : int or None
            As in the constructor, except that the row is not zeroed (PyTorch's rule: the table is
            used as given).

        Examples
        --------
        >>> import zerograd
        >>> emb = Embedding.from_pretrained(zerograd.tensor([[1.0, 2.5], [4.0, 5.5]]))
        >>> emb(zerograd.tensor([1])).tolist(), emb.weight.requires_grad
        ([[4.0, 5.5]], False)
        """
        t = as_tensor(embeddings)
        if t.ndim != 2:
            raise ValueError(
                "Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, "
                f"embedding_dim), got shape {t.shape}."
            )
        return cls(t.shape[0], t.shape[1], padding_idx, _weight=t, _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return embedding(input, self.weight, self.padding_idx)
        except (TypeError, IndexError) as e:  # name the layer, not the op
            raise type(e)(f"{self!r}: {str(e).removeprefix('embedding: ')}") from None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
