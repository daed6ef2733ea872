"""Weights both ways between zerograd and PyTorch, through files, for every layer with a PyTorch
twin (and containers of them) and every zoo model:

(a) zerograd -> zerograd.io.save -> safetensors.torch.load_file -> torch load_state_dict (strict)
(b) torch -> safetensors.torch.save_file -> zerograd.io.load -> zerograd load_state_dict
(c) torch -> torch.save (.pt) -> zerograd.io.load_pytorch_into

each followed by the same input through both modules in eval mode: equal outputs (float32).
The layers' numerics against PyTorch (gradients included) live in tests/nn/; these tests are about
the names, layouts and dtypes in the files agreeing, so that a checkpoint moves unchanged.
"""

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import io, models, nn

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
st_torch = pytest.importorskip(
    "safetensors.torch", reason='needs safetensors: pip install "zerograd[test]"'
)

# float32, 1e-5 relative; the absolute part scales with the output, since deep nets (logits in
# the 100s) sum in a different order than PyTorch and differ by ~1e-6 of the largest value
RTOL = 1e-5


class Stack:
    """A custom module built the same way from ``zerograd.nn`` or ``torch.nn`` (``m``): a
    ModuleList of blocks and a named sub-module, so the keys are ``blocks.0.weight``, ``norm.*``."""

    def __new__(cls, m):
        class Stack(m.Module):
            def __init__(self):
                super().__init__()
                self.blocks = m.ModuleList([m.Linear(4, 4) for _ in range(3)])
                self.act = m.Tanh()
                self.norm = m.BatchNorm1d(4)

            def forward(self, x):
                for block in self.blocks:
                    x = self.act(block(x))
                return self.norm(x)

        return Stack()


def rng_array(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def ids(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


# name -> (build from zerograd.nn or torch.nn, inputs: a list of arrays or tuples of arrays)
LAYERS = {
    "Linear": (lambda m: m.Linear(5, 3), [rng_array((4, 5))]),
    "Linear-no-bias": (lambda m: m.Linear(5, 3, bias=False), [rng_array((2, 4, 5))]),
    "Conv2d": (lambda m: m.Conv2d(2, 4, 3, stride=2, padding=1), [rng_array((2, 2, 7, 7))]),
    "Conv2d-groups-dilation": (
        lambda m: m.Conv2d(4, 6, (3, 2), padding=2, dilation=2, groups=2, bias=False),
        [rng_array((2, 4, 6, 6))],
    ),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(5), [rng_array((4, 5))]),
    "BatchNorm1d-NCL": (lambda m: m.BatchNorm1d(5), [rng_array((4, 5, 3))]),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), [rng_array((2, 3, 4, 4))]),
    "BatchNorm2d-no-affine": (lambda m: m.BatchNorm2d(3, affine=False), [rng_array((2, 3, 2, 2))]),
    "Embedding": (lambda m: m.Embedding(10, 4, padding_idx=0), [ids((2, 5), 10)]),
    "RNN": (
        lambda m: m.RNN(4, 5, num_layers=2, nonlinearity="relu", bidirectional=True),
        [rng_array((3, 2, 4))],
    ),
    "LSTM": (
        lambda m: m.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        [rng_array((2, 3, 4))],
    ),
    "GRU": (
        lambda m: m.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True),
        [rng_array((2, 3, 4))],
    ),
    "RNNCell": (lambda m: m.RNNCell(4, 5), [rng_array((3, 4)), rng_array((3, 5), 1)]),
    "LSTMCell": (
        lambda m: m.LSTMCell(4, 5),
        [rng_array((3, 4)), (rng_array((3, 5), 1), rng_array((3, 5), 2))],
    ),
    "GRUCell": (lambda m: m.GRUCell(4, 5, bias=False), [rng_array((3, 4)), rng_array((3, 5), 1)]),
    "Sequential-nested": (
        lambda m: m.Sequential(
            m.Sequential(m.Conv2d(1, 3, 3), m.BatchNorm2d(3), m.ReLU()),
            m.MaxPool2d(2),
            m.Dropout(0.5),
            m.Flatten(),
            m.Linear(27, 4),
            m.Sequential(m.Sigmoid(), m.Linear(4, 2)),
        ),
        [rng_array((2, 1, 8, 8))],
    ),
    "Module-with-ModuleList": (Stack, [rng_array((3, 4))]),
}


# ---------------------------------------------------------------------------------------------
# the zoo's PyTorch twins


class TorchRowLSTM(torch.nn.Module):
    """zerograd.models.RowLSTM in PyTorch: the image's rows are the LSTM's steps."""

    def __init__(self, input_size=28, hidden_size=128, num_layers=1, num_classes=10, dropout=0.0):
        super().__init__()
        self.lstm = torch.nn.LSTM(
            input_size, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.head = torch.nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        out, _ = self.lstm(x.reshape(x.shape[0], x.shape[2], x.shape[3]))
        return self.head(out[:, -1])


class TorchCharLSTM(torch.nn.Module):
    """zerograd.models.CharLSTM in PyTorch: Embedding -> LSTM -> Linear, returning the state."""

    def __init__(self, vocab_size, embedding_dim=64, hidden_size=256, num_layers=1, dropout=0.0):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embedding_dim)
        self.lstm = torch.nn.LSTM(
            embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout
        )
        self.head = torch.nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embedding(x), state)
        return self.head(out), state


class TorchGPT(torch.nn.Module):
    """zerograd.models.GPT in PyTorch: nanoGPT's model.py (eval, no dropout), the head tied."""

    class Block(torch.nn.Module):
        def __init__(self, C, H, bias):
            super().__init__()
            t = torch.nn
            self.H = H
            self.ln_1, self.attn = t.LayerNorm(C, bias=bias), t.Module()
            self.ln_2, self.mlp = t.LayerNorm(C, bias=bias), t.Module()
            self.attn.c_attn, self.attn.c_proj = t.Linear(C, 3 * C, bias), t.Linear(C, C, bias)
            self.mlp.c_fc, self.mlp.c_proj = t.Linear(C, 4 * C, bias), t.Linear(4 * C, C, bias)

        def forward(self, x):
            B, T, C = x.shape
            qkv = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (a.view(B, T, self.H, C // self.H).transpose(1, 2) for a in qkv)
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
            h = torch.nn.functional.gelu(self.mlp.c_fc(self.ln_2(x)))
            return x + self.mlp.c_proj(h)

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True):
        super().__init__()
        t = torch.nn
        self.transformer = t.ModuleDict(
            dict(
                wte=t.Embedding(vocab_size, n_embd),
                wpe=t.Embedding(block_size, n_embd),
                h=t.ModuleList([self.Block(n_embd, n_head, bias) for _ in range(n_layer)]),
                ln_f=t.LayerNorm(n_embd, bias=bias),
            )
        )
        self.lm_head = t.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        tr = self.transformer
        x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
        for block in tr.h:
            x = block(x)
        return self.lm_head(tr.ln_f(x))


def torch_twin(m):
    """The torch.nn module with the same structure, config and state_dict keys as ``m``."""
    t = torch.nn
    if isinstance(m, models.RowLSTM):
        return TorchRowLSTM(**m.config)
    if isinstance(m, models.CharLSTM):
        return TorchCharLSTM(**m.config)
    if isinstance(m, models.GPT):
        return TorchGPT(**m.config)
    if isinstance(m, nn.Sequential):  # the CNNs and MLPs are Sequentials
        return t.Sequential(*[torch_twin(child) for child in m.children()])
    if isinstance(m, nn.Linear):
        return t.Linear(m.in_features, m.out_features, bias=m.bias is not None)
    if isinstance(m, nn.Conv2d):
        return t.Conv2d(
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            m.stride,
            m.padding,
            m.dilation,
            m.groups,
            bias=m.bias is not None,
        )
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        cls = t.BatchNorm1d if isinstance(m, nn.BatchNorm1d) else t.BatchNorm2d
        return cls(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
    if isinstance(m, nn.MaxPool2d):
        return t.MaxPool2d(m.kernel_size, m.stride, m.padding)
    if isinstance(m, nn.AvgPool2d):
        return t.AvgPool2d(
            m.kernel_size, m.stride, m.padding, count_include_pad=m.count_include_pad
        )
    if isinstance(m, nn.Flatten):
        return t.Flatten(m.start_dim, m.end_dim)
    if isinstance(m, nn.Dropout):
        return t.Dropout(m.p)
    for name in ("ReLU", "Tanh", "Sigmoid"):
        if type(m) is getattr(nn, name):
            return getattr(t, name)()
    raise NotImplementedError(f"no PyTorch twin for {m!r}: add it to torch_twin")


def zoo_inputs(name):
    if name in ("char-lstm", "gpt"):
        return [ids((2, 7), models.ZOO[name][1]["vocab_size"])]
    return [rng_array((2, 1, 28, 28))]


# ---------------------------------------------------------------------------------------------
# helpers


def pair(name):
    """(zerograd module, its torch twin, inputs) for a layer case or a zoo model, both in eval
    mode, with the same state_dict keys in the same order and the same shapes."""
    if name in LAYERS:
        make, inputs = LAYERS[name]
        zg.manual_seed(0)
        ours, theirs = make(nn), make(torch.nn)
    else:
        ours = models.create(name)
        theirs, inputs = torch_twin(ours), zoo_inputs(name)
    ours.eval(), theirs.eval()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for k, v in ours_sd.items():
        assert v.shape == tuple(theirs_sd[k].shape), k
    return ours, theirs, inputs


def perturb_ours(module, seed=1):
    """Move every entry off its init (BatchNorm's ones and zeros would hide a swapped key)."""
    rng = np.random.default_rng(seed)
    for k, v in module.state_dict().items():
        if k.endswith("running_var"):
            v.data[...] = rng.uniform(0.5, 1.5, v.shape)
        elif v.dtype.kind == "f":
            v.data[...] += 0.1 * rng.standard_normal(v.shape)
        else:
            v.data[...] = 11


def perturb_theirs(module, seed=2):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in module.state_dict().items():
            if k.endswith("running_var"):
                v.copy_(torch.rand(v.shape, generator=g) + 0.5)
            elif v.is_floating_point():
                v.add_(0.1 * torch.randn(v.shape, generator=g))
            else:
                v.fill_(11)


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return [out]


def outputs(ours, theirs, inputs):
    def convert(a, fn):
        return tuple(convert(b, fn) for b in a) if isinstance(a, tuple) else fn(a)

    with zg.no_grad():
        got = flat(ours(*[convert(a, zg.tensor) for a in inputs]))
    with torch.no_grad():
        want = flat(theirs(*[convert(a, lambda b: torch.from_numpy(b.copy())) for a in inputs]))
    assert len(got) == len(want)
    return [g.data for g in got], [w.numpy() for w in want]


def assert_same_outputs(ours, theirs, inputs):
    got, want = outputs(ours, theirs, inputs)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape and g.dtype == w.dtype == np.float32, i
        atol = RTOL * max(1.0, float(np.abs(w).max(initial=0.0)))
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=atol, err_msg=f"output {i}")


def assert_states_equal(ours, theirs):
    theirs_sd = theirs.state_dict()
    for k, v in ours.state_dict().items():
        assert v.dtype == theirs_sd[k].numpy().dtype, k
        np.testing.assert_array_equal(v.data, theirs_sd[k].numpy(), err_msg=k)


CASES = [*LAYERS, *models.ZOO]


# ---------------------------------------------------------------------------------------------
# the three directions


@pytest.mark.parametrize("name", CASES)
def test_zerograd_safetensors_load_into_torch(tmp_path, name):
    ours, theirs, inputs = pair(name)
    perturb_ours(ours)
    path = tmp_path / "ours.safetensors"
    io.save(ours.state_dict(), path)
    theirs.load_state_dict(st_torch.load_file(str(path)))  # strict: every key, nothing extra
    assert_states_equal(ours, theirs)
    assert_same_outputs(ours, theirs, inputs)


@pytest.mark.parametrize("name", CASES)
def test_torch_safetensors_load_into_zerograd(tmp_path, name):
    ours, theirs, inputs = pair(name)
    perturb_theirs(theirs)
    path = tmp_path / "theirs.safetensors"
    # cloned: safetensors refuses tensors that share memory (GPT's tied head and embedding)
    st_torch.save_file({k: v.clone() for k, v in theirs.state_dict().items()}, str(path))
    assert ours.load_state_dict(io.load(path)) == ([], [])
    assert_states_equal(ours, theirs)
    assert_same_outputs(ours, theirs, inputs)


@pytest.mark.parametrize("name", CASES)
def test_torch_save_pt_loads_into_zerograd(tmp_path, name):
    ours, theirs, inputs = pair(name)
    perturb_theirs(theirs)
    path = tmp_path / "theirs.pt"
    torch.save(theirs.state_dict(), path)
    assert io.load_pytorch_into(ours, path) == ([], [])
    assert_states_equal(ours, theirs)
    assert_same_outputs(ours, theirs, inputs)


def test_every_zoo_model_is_covered():
    """A new zoo model gets a torch twin here (torch_twin raises for a layer it does not know)."""
    for name in models.ZOO:
        ours = models.create(name)
        assert list(torch_twin(ours).state_dict()) == list(ours.state_dict()), name


def test_a_checkpoint_trained_in_torch_continues_in_zerograd(tmp_path):
    """The usual route: train in PyTorch, save {'model', 'epoch', ...}, evaluate in zerograd with
    key='model'; the BatchNorm statistics PyTorch gathered come along."""
    ours, theirs, _ = pair("deep-cnn-bn")
    theirs.train()
    x = torch.from_numpy(rng_array((8, 1, 28, 28), 5))
    with torch.no_grad():
        for _ in range(2):  # training-mode passes update running_mean/var, num_batches_tracked
            theirs(x)
    theirs.eval()
    path = tmp_path / "ckpt.pth"
    torch.save({"model": theirs.state_dict(), "epoch": 2, "lr": [0.1, 0.01]}, path)
    io.load_pytorch_into(ours, path, key="model")
    assert int(ours[1].num_batches_tracked.item()) == 2
    assert_states_equal(ours, theirs)
    assert_same_outputs(ours, theirs, [x.numpy()])
