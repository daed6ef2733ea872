"""zerograd: deep learning from zero, in NumPy.

Hands on the public names; defines nothing (see DESIGN.md for the layers).
"""

from . import functional  # noqa: F401  (also binds Tensor's operators)
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    bool_,
    float32,
    float64,
    get_default_dtype,
    get_rng_state,
    int64,
    manual_seed,
    set_default_dtype,
    set_rng_state,
)
from .creation import (
    arange,
    as_tensor,
    empty,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .functional import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    clip,
    exp,
    flatten,
    log,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    permute,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .gradcheck import gradcheck, numerical_gradient

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled",
    "bool_", "float32", "float64", "get_default_dtype", "get_rng_state", "int64", "manual_seed",
    "set_default_dtype", "set_rng_state",
    "arange", "as_tensor", "empty", "eye", "full", "full_like", "linspace", "ones", "ones_like",
    "rand", "rand_like", "randint", "randn", "randn_like", "tensor", "zeros", "zeros_like",
    "abs", "amax", "amin", "argmax", "argmin", "cat", "chunk", "clamp", "clip", "exp", "flatten",
    "log", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "permute",
    "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "std", "sum", "tanh",
    "transpose", "unsqueeze", "var", "where",
    "gradcheck", "numerical_gradient",
]
