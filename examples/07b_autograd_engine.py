# %% [markdown]
# # Lesson 7b: an autograd engine from nothing
#
# Lesson 7 wrote every partial derivative of a 2-2-1 network by hand, nine of them, and then let
# `loss.backward()` do the same work. This lesson opens that box: it builds an autograd engine
# from nothing, in the spirit of Andrej Karpathy's micrograd, small enough to read in one page.
#
# The idea: every number the forward pass computes remembers the numbers it was made from and
# how. Then one walk backwards over that record, from the loss to the inputs, applies the chain
# rule at each step:
#
#     dL/dx = sum over every use of x in y:  dL/dy * dy/dx
#
# We will
#
# 1. write a scalar `Value` with `+ * - / **`, `tanh`, `exp`, `relu` and `backward()`;
# 2. check its gradients against zerograd's on the same expression;
# 3. draw the graph it records;
# 4. train a tiny multi-layer perceptron with it, and check that training step against
#    zerograd too;
# 5. see where the same ideas sit in zerograd's own engine.
#
# Run it as a script with `python examples/07b_autograd_engine.py` or
# `zerograd lesson 07b_autograd_engine` (`--quick` for fewer training steps, `--out DIR` for the
# pictures), or as a notebook: `zerograd lesson 07b_autograd_engine --notebook`.

# %%
from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import numpy as np
from zerograd.lessons._skipped import Skipped
from zerograd.lessons.runner import parse_args, show

import zerograd as zg

parser = argparse.ArgumentParser(description="Lesson 7b: an autograd engine from nothing.")
parser.add_argument("--quick", action="store_true", help="fewer training steps")
parser.add_argument("--out", default="runs/lessons/07b_autograd_engine", help="folder for PNGs")
parser.add_argument("--seed", type=int, default=0, help="seed for the network's first weights")
args = parse_args(parser)
skipped = Skipped()  # what this machine lacks (here matplotlib), one line each at the end
plt = skipped.pyplot()  # None without matplotlib: the numbers still print
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
result = {}

# %% [markdown]
# ## 1. A number that remembers where it came from
#
# A `Value` holds a number (`data`), the derivative of the final output with respect to it
# (`grad`, 0 until `backward()` runs), the values it was made from (`_prev`) and the name of the
# operation (`_op`, for the drawing). Each operation builds its output and a small function
# `_backward` that knows the local derivative of that one operation. For `out = a * b`:
#
#     d out / d a = b,   d out / d b = a
#
# so `_backward` adds `b * out.grad` to `a.grad` and `a * out.grad` to `b.grad`: the chain rule,
# local derivative times the gradient arriving from above. It *adds* (`+=`) because a value used
# twice (`a * a`, or a weight seen by every example) collects a gradient from each use.
#
# Subtraction and division need no backward of their own: `a - b` is `a + (-1 * b)` and `a / b`
# is `a * b**-1`. The local derivatives of the rest:
#
#     (x**k)' = k x**(k-1),   tanh'(x) = 1 - tanh(x)**2,   exp'(x) = exp(x),   relu'(x) = [x > 0]
#
# `backward()` orders the graph so that each value comes after every value made from it
# (a topological order, found by a depth-first search), sets the output's own gradient to
# dL/dL = 1, and calls each `_backward` in that order: when a value's `_backward` runs, every
# contribution to its `grad` has already arrived.


# %%
class Value:
    """A scalar that records the operations made from it, for reverse-mode differentiation."""

    def __init__(self, data, _prev=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev  # the Values this one was computed from
        self._op = _op  # the operation that made it ('' for an input)
        self._backward = lambda: None  # adds this value's gradient into its _prev's
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a + b)/da = 1, d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, (int, float)):  # x ** y with y a Value would need d/dy too
            raise TypeError(f"Value ** k: k must be a number, not {type(k).__name__}")
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():  # d(x^k)/dx = k x^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():  # d tanh(x)/dx = 1 - tanh(x)^2, from the output we already have
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d exp(x)/dx = exp(x)
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():  # d relu(x)/dx = 1 where x > 0, else 0
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        order, seen = [], set()

        def visit(v):  # depth first: a value joins the order after everything it came from
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0  # dL/dL
        for v in reversed(order):  # the output first, the inputs last
            v._backward()

    # everything else is built from the operations above
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other**-1

    def __radd__(self, other):  # 2 + v
        return self + other

    def __rsub__(self, other):  # 2 - v
        return -self + other

    def __rmul__(self, other):  # 2 * v
        return self * other

    def __rtruediv__(self, other):  # 2 / v
        return Value(other) * self**-1

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


# %% [markdown]
# ## 2. Check it against zerograd
#
# One expression that uses every operation, with two inputs `a` and `b` each used several times
# (so the `+=` matters):
#
#     c = a + b,   d = a * b + b**3,   e = c - d,   f = e**2 / 2,
#     g = tanh(f / 10) + relu(a) + exp(b / 4) - 1 / c,   L = g * a
#
# The same lines run twice: on our `Value`s, and on zerograd tensors in float64. The gradients
# dL/da and dL/db must agree to the last few bits; what to look at below is the difference.


# %%
def expression(a, b):
    """The expression above; works on Values and on zerograd tensors alike."""
    c = a + b
    d = a * b + b**3
    e = c - d
    f = e**2 / 2
    g = (f / 10).tanh() + a.relu() + (b / 4).exp() - 1 / c
    return g * a


a, b = Value(-1.5, label="a"), Value(2.0, label="b")
L = expression(a, b)
L.label = "L"
L.backward()

ta = zg.tensor(-1.5, dtype=zg.float64, requires_grad=True)
tb = zg.tensor(2.0, dtype=zg.float64, requires_grad=True)
tL = expression(ta, tb)
zerograd_graph = zg.viz.graph(tL)  # zerograd's own record of the same graph, as Graphviz text
tL.backward()

print("2. The same expression, our Value against zerograd (float64):")
print(f"   L      = {L.data:.12f}   zerograd {tL.item():.12f}")
print(f"   dL/da  = {a.grad:.12f}   zerograd {ta.grad.item():.12f}")
print(f"   dL/db  = {b.grad:.12f}   zerograd {tb.grad.item():.12f}")
expr_diff = max(abs(a.grad - ta.grad.item()), abs(b.grad - tb.grad.item()))
print(f"   largest difference in the gradients: {expr_diff:.1e}")
result.update(
    expr_value=L.data,
    expr_grads=[a.grad, b.grad],
    expr_zerograd_grads=[ta.grad.item(), tb.grad.item()],
    expr_grad_diff=expr_diff,
)

# %% [markdown]
# A third opinion, needing no chain rule at all: nudge one input by h and watch L move,
# `dL/da ~ (L(a + h) - L(a - h)) / 2h` (the central difference of lesson 6).

# %%
h = 1e-6
numeric_a = (expression(Value(-1.5 + h), b).data - expression(Value(-1.5 - h), b).data) / (2 * h)
numeric_b = (expression(a, Value(2.0 + h)).data - expression(a, Value(2.0 - h)).data) / (2 * h)
print(f"   central differences: dL/da ~ {numeric_a:.8f}, dL/db ~ {numeric_b:.8f}")
result["expr_numeric_grads"] = [numeric_a, numeric_b]

# %% [markdown]
# ## 3. The graph it recorded
#
# Every `Value` points at the values it came from, so the whole computation is a graph we can
# walk and draw: inputs on the left, `L` on the right, each box with its `data` and its `grad`.
# Read a gradient off the picture: it is the sum, over the arrows leaving a box, of what the
# chain rule sends back along each. zerograd records the same graph (as `Function` nodes between
# tensors); `zg.viz.graph(tensor)` writes it as Graphviz text, whose size is printed here.


# %%
def graph_of(root):
    """Every Value reachable from ``root``, and the (input, output) pairs between them."""
    nodes, edges, stack = [], [], [root]
    while stack:
        v = stack.pop()
        if v in nodes:
            continue
        nodes.append(v)
        for child in v._prev:
            edges.append((child, v))
            stack.append(child)
    return nodes, edges


def depth(v, memo):
    """How many operations lie between ``v`` and the inputs (0 for an input)."""
    if v not in memo:
        memo[v] = 1 + max((depth(c, memo) for c in v._prev), default=-1)
    return memo[v]


nodes, edges = graph_of(L)
operations = sum(1 for v in nodes if v._op)
print(f"\n3. The graph of L: {len(nodes)} values, {operations} of them made by an operation")
print(f"   zerograd's record of it: {zerograd_graph.count('->')} edges in zg.viz.graph's text")
result.update(graph_values=len(nodes), graph_operations=operations)

if plt is not None:
    memo = {}
    columns = {}
    for v in sorted(nodes, key=lambda v: (depth(v, memo), v.data)):
        columns.setdefault(depth(v, memo), []).append(v)
    where = {}
    for x, column in columns.items():
        for y, v in enumerate(column):
            where[v] = (x, y - (len(column) - 1) / 2)
    fig, ax = plt.subplots(figsize=(15, 6))
    for child, parent in edges:
        (x0, y0), (x1, y1) = where[child], where[parent]
        ax.annotate("", (x1 - 0.33, y1), (x0 + 0.33, y0), arrowprops={"arrowstyle": "->"})
    for v, (x, y) in where.items():
        name = v.label or v._op or "const"
        text = f"{name}\ndata {v.data:.3g}\ngrad {v.grad:.3g}"
        color = "#dde6f5" if not v._op else ("#d8f0d2" if v is L else "white")
        box = {"boxstyle": "round", "facecolor": color, "edgecolor": "#555555"}
        ax.text(x, y, text, ha="center", va="center", fontsize=7, bbox=box)
    tallest = max(len(column) for column in columns.values())
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ax.set_ylim(-tallest / 2 - 0.3, tallest / 2 + 0.3)
    ax.axis("off")
    ax.set_title("The graph of L: inputs (blue) on the left, L (green) on the right")
    fig.tight_layout()
    graph_png = out / "graph.png"
    fig.savefig(graph_png, dpi=90)
    plt.close(fig)
    show(graph_png)

# %% [markdown]
# ## 4. A tiny multi-layer perceptron on Values
#
# A neuron is `tanh(w . x + b)`; a layer is a list of neurons reading the same inputs; a
# network is a list of layers (the last one without tanh, so the output can be any number).
# With 3 inputs, two hidden layers of 4 and one output it has
# `(3*4 + 4) + (4*4 + 4) + (4*1 + 1) = 41` parameters, every one a `Value`.
#
# The data are Karpathy's four examples with targets +1 and -1; the loss is the summed squared
# error, and each step is the loop of every lesson since: zero the gradients, forward, loss,
# backward, step `p -= lr * p.grad`. Look at the loss fall and the four predictions move
# towards their targets.


# %%
class Neuron:
    def __init__(self, n_inputs, rng, nonlin=True):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(n_inputs)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        s = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return s.tanh() if self.nonlin else s

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, n_inputs, n_outputs, rng, nonlin=True):
        self.neurons = [Neuron(n_inputs, rng, nonlin) for _ in range(n_outputs)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, n_inputs, sizes, rng):
        dims = [n_inputs] + sizes
        self.layers = [
            Layer(dims[i], dims[i + 1], rng, nonlin=i < len(sizes) - 1) for i in range(len(sizes))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]
model = MLP(3, [4, 4, 1], random.Random(args.seed))
print(f"\n4. An MLP 3-4-4-1 of Values: {len(model.parameters())} parameters")
result["mlp_parameters"] = len(model.parameters())

# %% [markdown]
# Before training, one more check: the same network in zerograd, float64, with the *same*
# weights (each layer's weights copied into a matrix W of shape (out, in)), the same loss, one
# `backward()`. All 41 gradients must agree with ours.


# %%
def loss_of(model):
    predictions = [model(x) for x in xs]
    return sum((p - y) ** 2 for p, y in zip(predictions, ys)), predictions


def zerograd_twin(model):
    """The network's weights as zerograd tensors: a (W, b) pair per layer, float64."""
    pairs = []
    for layer in model.layers:
        W = [[w.data for w in n.w] for n in layer.neurons]  # (out, in), as nn.Linear keeps it
        b = [n.b.data for n in layer.neurons]
        pairs.append(
            (
                zg.tensor(W, dtype=zg.float64, requires_grad=True),
                zg.tensor(b, dtype=zg.float64, requires_grad=True),
            )
        )
    return pairs


pairs = zerograd_twin(model)
h_zg = zg.tensor(xs, dtype=zg.float64)  # (4, 3): all four examples at once
for i, (W, b_) in enumerate(pairs):
    h_zg = h_zg @ W.T + b_
    if i < len(pairs) - 1:
        h_zg = h_zg.tanh()
loss_zg = ((h_zg[:, 0] - zg.tensor(ys, dtype=zg.float64)) ** 2).sum()
loss_zg.backward()

loss, _ = loss_of(model)
loss.backward()
ours = np.array([p.grad for p in model.parameters()])
theirs = np.concatenate(
    [np.concatenate([W.grad.numpy(), b_.grad.numpy()[:, None]], axis=1).ravel() for W, b_ in pairs]
)  # the same order as model.parameters(): each neuron's weights, then its bias
mlp_diff = float(np.abs(ours - theirs).max())
print(f"   loss {loss.data:.10f}, zerograd {loss_zg.item():.10f}")
print(f"   largest difference over the {len(ours)} gradients: {mlp_diff:.1e}")
result.update(mlp_grad_diff=mlp_diff, mlp_loss_diff=abs(loss.data - loss_zg.item()))

# %% [markdown]
# Now train: plain gradient descent with learning rate 0.05.

# %%
steps = 20 if args.quick else 50
lr = 0.05
losses = []
for step in range(steps):
    for p in model.parameters():
        p.grad = 0.0  # zero the gradients: backward adds into them
    loss, predictions = loss_of(model)  # forward and loss
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    losses.append(loss.data)
    if step % (steps // 5) == 0 or step == steps - 1:
        print(f"   step {step:3d}  loss {loss.data:.2e}")

final_loss, predictions = loss_of(model)
print("   targets     " + "  ".join(f"{y:+.3f}" for y in ys))
print("   predictions " + "  ".join(f"{p.data:+.3f}" for p in predictions))
right = sum((p.data > 0) == (y > 0) for p, y in zip(predictions, ys))
print(f"   {right} of 4 on the right side of 0 after {steps} steps")
result.update(
    losses=losses,
    final_loss=final_loss.data,
    predictions=[p.data for p in predictions],
    right=right,
    steps=steps,
)

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(losses)
    ax.set(xlabel="step", ylabel="summed squared error", yscale="log")
    ax.set_title("The MLP of Values learns its four examples")
    fig.tight_layout()
    loss_png = out / "loss.png"
    fig.savefig(loss_png, dpi=90)
    plt.close(fig)
    show(loss_png)
    print(f"\nPictures: {graph_png}, {loss_png}")
    result["pngs"] = [str(graph_png), str(loss_png)]

# %% [markdown]
# ## 5. The same ideas in zerograd's engine
#
# zerograd's autograd (`src/zerograd/autograd/`) is this lesson's engine grown up: the same
# three ideas, with arrays instead of single numbers and with the care that real training needs.
#
# - `Value` (`data`, `grad`, `_prev`, `_op`) is `Tensor` (`tensor.py`): `data` (a NumPy array),
#   `grad`, `grad_fn` (the `Function` that made it) and `requires_grad`.
# - The `_backward` closure of one operation is a `Function` subclass (`function.py`; e.g. `Mul`
#   in `zerograd/functional/`): `forward(*arrays)` and `backward(gy)` written as the formula,
#   what backward needs kept with `save_for_backward`.
# - `self.grad += ...` is gradient accumulation into the leaves (`_accumulate_leaf`): a tensor
#   used twice gets both contributions.
# - `backward()` (depth-first order, then each `_backward` in reverse) is `Tensor.backward()`:
#   `_run_backward` in `function.py` walks `_topological_order` (`graph.py`).
# - `graph_of` and the drawing above are `zerograd.autograd.graph_nodes` and
#   `zg.viz.graph(tensor)`.
#
# What zerograd adds, each for a reason you meet in practice:
#
# - **Arrays and broadcasting.** `a + b` with shapes (4, 3) and (3,) sends back a gradient of
#   shape (4, 3) for `b`, which `sum_to` adds up to (3,).
# - **An iterative graph walk.** `visit` above is recursive; Python stops at about 1,000 nested
#   calls, so a 20,000-step chain (an RNN unrolled over a long text) would crash it. zerograd's
#   `_topological_order` keeps its own stack.
# - **Freeing the graph.** After `backward()` the saved arrays are released (unless
#   `retain_graph=True`), which is why `zg.viz.graph` above ran before `tL.backward()`.
# - **Safety.** Version counters catch an array changed in place after backward needed it;
#   `zg.no_grad()` records nothing (evaluation, optimizer steps); anomaly mode names the first
#   operation that made a NaN.
#
# Read `src/zerograd/autograd/function.py` next: `Function.__call__` and `_run_backward` are this
# lesson's `Value` operations and `backward()`, about a hundred lines apart.

# %%
skipped.report()
