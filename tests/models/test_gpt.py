"""GPT (nanoGPT's layout): state_dict keys, weight tying through state_dict and files, PyTorch's
outputs and gradients given the same weights, training on a tiny text, generate, the
sinusoidal position encoding, errors."""

import math

import numpy as np
import pytest
from torch_ref import needs_torch, torch

import zerograd as zg
import zerograd.functional as F
from zerograd import io, models, optim

TINY = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _ids(shape, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape)


def test_state_dict_keys_are_nanogpts():
    keys = list(models.GPT(**TINY).state_dict())
    block = [
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
    ]
    assert keys == [
        "transformer.wte.weight",
        "transformer.wpe.weight",
        *[f"transformer.h.{i}.{k}" for i in range(2) for k in block],
        "transformer.ln_f.weight",
        "transformer.ln_f.bias",
        "lm_head.weight",
    ]
    no_bias = list(models.GPT(**TINY, bias=False).state_dict())
    assert not [k for k in no_bias if k.endswith("bias")] and len(no_bias) == len(keys) - 13


def test_init_is_nanogpts():
    zg.manual_seed(0)
    model = models.GPT(vocab_size=50, block_size=32, n_layer=4, n_head=2, n_embd=64)
    sd = model.state_dict()
    assert abs(float(sd["transformer.h.0.attn.c_attn.weight"].data.std()) - 0.02) < 0.002
    proj = sd["transformer.h.3.mlp.c_proj.weight"].data.std()
    assert abs(float(proj) - 0.02 / math.sqrt(8)) < 0.001  # scaled down by sqrt(2 n_layer)
    assert not sd["transformer.h.1.attn.c_attn.bias"].data.any()
    assert model.num_parameters() == sum(p.numel() for p in model.parameters()) - 32 * 64


def test_head_is_tied_to_the_token_embedding_through_every_round_trip(tmp_path):
    zg.manual_seed(0)
    model = models.GPT(**TINY)
    assert model.lm_head.weight is model.transformer.wte.weight
    assert sum(1 for p in model.parameters() if p is model.lm_head.weight) == 1
    x = zg.tensor(_ids((2, 6)))
    want = model(x).data

    other = models.GPT(**model.config)
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other(x).data, want)
    assert other.lm_head.weight is other.transformer.wte.weight

    io.save(model.state_dict(), tmp_path / "gpt.safetensors")
    loaded = models.GPT(**model.config)
    io.load_into(loaded, tmp_path / "gpt.safetensors")
    np.testing.assert_array_equal(loaded(x).data, want)
    assert loaded.lm_head.weight is loaded.transformer.wte.weight
    loaded.double()
    assert loaded.lm_head.weight is loaded.transformer.wte.weight
    assert loaded.lm_head.weight.dtype == np.float64

    # both uses of the one Parameter send it gradient: the head's and the embedding's
    F.cross_entropy(model(x).reshape(-1, 11), zg.tensor(_ids(12, seed=1))).backward()
    g = model.lm_head.weight.grad.data
    assert g.shape == (11, 16) and (g != 0).all()


# ---------------------------------------------------------------------------------------------
# against PyTorch: nanoGPT written in torch, with the same module names


def _torch_gpt(cfg):
    tnn, TF = torch.nn, torch.nn.functional
    C, H = cfg["n_embd"], cfg["n_head"]

    class Attn(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = tnn.Linear(C, 3 * C), tnn.Linear(C, C)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = (
                t.view(B, T, H, C // H).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2)
            )
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, C))

    class Mlp(tnn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc, self.c_proj = tnn.Linear(C, 4 * C), tnn.Linear(4 * C, C)

        def forward(self, x):
            return self.c_proj(TF.gelu(self.c_fc(x)))

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2, self.mlp = (
                tnn.LayerNorm(C),
                Attn(),
                tnn.LayerNorm(C),
                Mlp(),
            )

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class Gpt(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tnn.ModuleDict(
                dict(
                    wte=tnn.Embedding(cfg["vocab_size"], C),
                    wpe=tnn.Embedding(cfg["block_size"], C),
                    h=tnn.ModuleList([Block() for _ in range(cfg["n_layer"])]),
                    ln_f=tnn.LayerNorm(C),
                )
            )
            self.lm_head = tnn.Linear(C, cfg["vocab_size"], bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
            for block in tr.h:
                x = block(x)
            return self.lm_head(tr.ln_f(x))

    return Gpt().double()


@needs_torch
def test_outputs_and_gradients_match_torch_given_its_weights():
    theirs = _torch_gpt(TINY)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    ours = models.GPT(**TINY).double()
    sd = theirs.state_dict()
    assert list(sd) == list(ours.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in sd.items()})
    idx, targets = _ids((3, 8)), _ids((3, 8), seed=1)
    loss = F.cross_entropy(ours(zg.tensor(idx)).reshape(-1, 11), zg.tensor(targets.reshape(-1)))
    tloss = torch.nn.functional.cross_entropy(
        theirs(torch.tensor(idx)).reshape(-1, 11), torch.tensor(targets.reshape(-1))
    )
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    loss.backward()
    tloss.backward()
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.data, theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name
        )


def test_trains_on_a_tiny_text():
    text = "to be or not to be, that is the question. " * 8
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text])
    zg.manual_seed(0)
    model = models.GPT(len(chars), block_size=16, n_layer=2, n_head=2, n_embd=32)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(30):
        starts = rng.integers(0, len(data) - 17, 8)
        x = zg.tensor(np.stack([data[s : s + 16] for s in starts]))
        y = zg.tensor(np.stack([data[s + 1 : s + 17] for s in starts]))
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > math.log(len(chars)) - 0.3  # starts near chance
    assert np.mean(losses[-5:]) < 0.6 * losses[0]


def test_generate_appends_tokens_from_the_seeded_generator():
    zg.manual_seed(0)
    model = models.GPT(**TINY).eval()
    start = zg.tensor(_ids((2, 3)))
    zg.manual_seed(5)
    a = model.generate(start, 12)  # past block_size = 8: the context is cropped
    zg.manual_seed(5)
    b = model.generate(start, 12)
    assert a.shape == (2, 15) and a.dtype == np.int64
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[:, :3], start.data)
    assert a.data.min() >= 0 and a.data.max() < 11
    greedy = model.generate(start, 1, top_k=1).data[:, -1]
    np.testing.assert_array_equal(greedy, model(start).data[:, -1].argmax(-1))
    cold = model.generate(start, 1, temperature=1e-4).data[:, -1]
    np.testing.assert_array_equal(cold, greedy)


def test_dropout_is_active_in_training_only():
    zg.manual_seed(0)
    model = models.GPT(**{**TINY, "dropout": 0.3})
    x = zg.tensor(_ids((2, 8)))
    assert not np.allclose(model(x).data, model(x).data)
    model.eval()
    np.testing.assert_array_equal(model(x).data, model(x).data)


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="n_embd must be divisible by n_head.*16 % 3 = 1"):
        models.GPT(**{**TINY, "n_head": 3})
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        models.GPT(**{**TINY, "vocab_size": 0})
    model = models.GPT(**TINY)
    with pytest.raises(ValueError, match=r"9 tokens is longer than block_size=8.*idx\[:, -8:\]"):
        model(zg.tensor(_ids((1, 9))))
    with pytest.raises(ValueError, match=r"shape \(B, T\) and an integer dtype"):
        model(zg.randn(2, 4))
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate(zg.tensor(_ids((1, 2))), 3, temperature=0.0)
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        model.generate(zg.tensor(_ids((1, 2))), 3, top_k=0)


def test_is_in_the_zoo_as_a_language_model():
    assert models.ZOO["gpt"][0] is models.GPT and "gpt" not in models.IMAGE_MODELS
    model = models.create("gpt", n_layer=1)
    assert model.config["vocab_size"] == 65 and len(model.transformer.h) == 1


def test_sinusoidal_position_encoding_is_the_formula():
    pe = models.SinusoidalPositionalEncoding(6, max_len=20)
    assert list(pe.state_dict()) == []  # a function of the config, not saved
    y = pe(zg.zeros(2, 5, 6)).data
    t, i = np.arange(5)[:, None], np.arange(3)[None, :]
    angle = t / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(y[1, :, 0::2], np.sin(angle), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y[1, :, 1::2], np.cos(angle), rtol=1e-6, atol=1e-7)
    seq_first = models.SinusoidalPositionalEncoding(6, max_len=20, batch_first=False)
    np.testing.assert_allclose(seq_first(zg.zeros(5, 2, 6)).data[:, 1], y[0])
    with pytest.raises(ValueError, match=r"input has shape \(2, 21, 6\).*max_len=20"):
        pe(zg.zeros(2, 21, 6))
