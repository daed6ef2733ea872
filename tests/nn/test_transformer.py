"""MultiheadAttention and the transformer encoder / decoder layers against PyTorch: the same
state_dict keys, and given PyTorch's weights, PyTorch's outputs, input gradients and parameter
gradients (float64 to 1e-10, float32 to the suite's tolerance); dropout; errors."""

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH, TOLERANCES, needs_torch, torch

import zerograd as zg
from zerograd import nn

RNG_SEED = 0


def _randn(shape, dtype="float64", seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _twins(make, dtype, seed=1):
    """(zerograd module, torch module) of one config, ours loaded with torch's (perturbed)
    weights, both in train mode (dropout 0): torch's inference fast path stays out of it."""
    ours, theirs = make(nn).to(dtype), make(torch.nn).to(getattr(torch, dtype))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in theirs.parameters():  # off the init: zero biases would hide a swapped key
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    theirs_sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_sd)
    ours.load_state_dict({k: v.numpy() for k, v in theirs_sd.items()})
    return ours.train(), theirs.train()


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [] if out is None else [out]


def check_against_torch(make, inputs, dtype, call=None, masks=()):
    """Forward both on ``inputs`` (arrays; differentiable) plus ``masks`` (constants), backward a
    random upstream gradient of every output, compare outputs, input and parameter gradients."""
    tol = TOLERANCES[dtype]
    call = call or (lambda m, *a: m(*a))
    ours, theirs = _twins(make, dtype)
    zin = [zg.tensor(a.astype(dtype), requires_grad=True) for a in inputs]
    tin = [torch.tensor(a.astype(dtype), requires_grad=True) for a in inputs]
    zm = [None if m is None else zg.tensor(m) for m in masks]
    tm = [None if m is None else torch.tensor(m) for m in masks]
    zout, tout = _flat(call(ours, *zin, *zm)), _flat(call(theirs, *tin, *tm))
    assert len(zout) == len(tout)
    rng = np.random.default_rng(99)
    zloss = tloss = 0
    for z, t in zip(zout, tout):
        assert z.shape == tuple(t.shape) and z.dtype == np.dtype(dtype)
        np.testing.assert_allclose(z.data, t.detach().numpy(), **tol, err_msg="forward")
        g = rng.standard_normal(z.shape).astype(dtype)
        zloss = zloss + (z * zg.tensor(g)).sum()
        tloss = tloss + (t * torch.from_numpy(g)).sum()
    zloss.backward()
    tloss.backward()
    for i, (z, t) in enumerate(zip(zin, tin)):
        np.testing.assert_allclose(z.grad.data, t.grad.numpy(), **tol, err_msg=f"input {i}")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        want = theirs_params[name].grad
        np.testing.assert_allclose(p.grad.data, want.numpy(), **tol, err_msg=name)
    return ours, theirs


def _bool_mask(shape, seed=7, p=0.3):
    m = np.random.default_rng(seed).random(shape) < p  # True: NOT attended (MHA's convention)
    m[..., 0] = False  # every query keeps one key: no NaN rows in the weights
    return m


def _causal(L):
    return np.triu(np.ones((L, L), dtype=bool), 1)


# ---------------------------------------------------------------------------------------------
# MultiheadAttention

MHA_CASES = {  # name -> (constructor kwargs, forward kwargs, shapes, masks)
    "self": ({}, {}, "self", ()),
    "cross_batch_first": ({"batch_first": True}, {}, "cross", ()),
    "no_weights": ({}, {"need_weights": False}, "cross", ()),
    "per_head_weights": ({}, {"average_attn_weights": False}, "cross", ()),
    "no_bias": ({"bias": False}, {}, "cross", ()),
    "kdim_vdim": ({"kdim": 3, "vdim": 5, "batch_first": True}, {}, "kv", ()),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, {}, "cross", ()),
    "unbatched": ({}, {}, "unbatched", ()),
}


def _mha_inputs(kind, batch_first):
    L, S, N, E = 4, 6, 2, 8
    if kind == "unbatched":
        return [_randn((L, E), seed=1), _randn((S, E), seed=2), _randn((S, E), seed=3)]
    q_shape = (N, L, E) if batch_first else (L, N, E)
    kv = (N, S) if batch_first else (S, N)
    if kind == "self":
        x = _randn((N, L, E) if batch_first else (L, N, E), seed=1)
        return [x]
    kdim, vdim = (3, 5) if kind == "kv" else (E, E)
    return [_randn(q_shape, seed=1), _randn((*kv, kdim), seed=2), _randn((*kv, vdim), seed=3)]


def _mha_make(kwargs):
    def make(lib):
        return lib.MultiheadAttention(8, 2, **kwargs)

    return make


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(MHA_CASES))
def test_mha_against_torch(name, dtype):
    kwargs, fkw, kind, _ = MHA_CASES[name]
    inputs = _mha_inputs(kind, kwargs.get("batch_first", False))
    if kind == "self":  # the same tensor as query, key and value: its gradient adds up
        check_against_torch(_mha_make(kwargs), inputs, dtype, lambda m, x: m(x, x, x, **fkw))
    else:
        check_against_torch(_mha_make(kwargs), inputs, dtype, lambda m, *a: m(*a, **fkw))


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_mha_masks_against_torch(batch_first, need_weights, mask_kind):
    L, S, N = 4, 6, 2
    kpm, am = _bool_mask((N, S), seed=3), _bool_mask((L, S), seed=4)
    if mask_kind == "float":
        kpm, am = np.where(kpm, -np.inf, 0.0), _randn((N * 2, L, S), seed=5)
    check_against_torch(
        _mha_make({"batch_first": batch_first}),
        _mha_inputs("cross", batch_first),
        "float64",
        lambda m, q, k, v, kpm, am: m(
            q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights
        ),
        masks=(kpm, am),
    )


@needs_torch
def test_mha_causal_hint_uses_the_mask():
    L = 5
    check_against_torch(
        _mha_make({"batch_first": True}),
        [_randn((2, L, 8))],
        "float64",
        lambda m, x, am: m(x, x, x, attn_mask=am, is_causal=True, need_weights=False),
        masks=(_causal(L),),
    )


@needs_torch
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_fully_masked_sample_as_torch(need_weights):
    """Every key of sample 1 padded: NaN with the weights (PyTorch's plain softmax), 0 attention
    (the output projection's bias) without them (PyTorch's scaled_dot_product_attention)."""
    ours, theirs = _twins(_mha_make({"batch_first": True}), "float64")
    x = _randn((2, 3, 8))
    kpm = np.array([[False] * 3, [True] * 3])
    zo, zw = ours(zg.tensor(x), zg.tensor(x), zg.tensor(x), zg.tensor(kpm), need_weights)
    to, tw = theirs(*[torch.tensor(x)] * 3, torch.tensor(kpm), need_weights)
    np.testing.assert_allclose(zo.data, to.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert np.isnan(zo.data[1]).all() == need_weights
    if need_weights:
        np.testing.assert_allclose(zw.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_mha_init_and_keys_as_pytorch():
    zg.manual_seed(0)
    mha = nn.MultiheadAttention(16, 4, add_bias_kv=True, kdim=6)
    assert list(mha.state_dict()) == [
        "q_proj_weight",
        "k_proj_weight",
        "v_proj_weight",
        "in_proj_bias",
        "bias_k",
        "bias_v",
        "out_proj.weight",
        "out_proj.bias",
    ]
    assert mha.k_proj_weight.shape == (16, 6) and mha.in_proj_weight is None
    np.testing.assert_array_equal(mha.in_proj_bias.data, 0.0)
    np.testing.assert_array_equal(mha.out_proj.bias.data, 0.0)
    w = nn.MultiheadAttention(16, 4).in_proj_weight.data
    bound = np.sqrt(6 / (16 + 48))  # Xavier-uniform over (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_mha_dropout_on_the_weights_in_training_only():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = zg.randn(2, 20, 8)
    zg.manual_seed(1)
    _, w = mha(x, x, x, average_attn_weights=False)
    zeros = (w.data == 0).mean()
    assert 0.4 < zeros < 0.6  # 1,600 weights, each dropped with p = 0.5
    np.testing.assert_allclose(w.data.sum(-1).mean(), 1.0, atol=0.1)  # rescaled by 1/(1-p)
    mha.eval()
    _, w = mha(x, x, x, average_attn_weights=False)
    assert (w.data > 0).all()
    np.testing.assert_allclose(w.data.sum(-1), 1.0, rtol=1e-5)


def test_mha_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"num_heads=3\): embed_dim must be divisible .* 10 % 3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads must be a positive int"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        nn.MultiheadAttention(8, 2, dropout=1.5)
    mha = nn.MultiheadAttention(8, 2)
    x = zg.randn(4, 2, 8)
    with pytest.raises(ValueError, match=r"query has shape \(4, 2, 7\) but its last dim must be 8"):
        mha(zg.randn(4, 2, 7), x, x)
    with pytest.raises(ValueError, match=r"key \(4, 2, 8\) and value \(5, 2, 8\)"):
        mha(x, x, zg.randn(5, 2, 8))
    with pytest.raises(ValueError, match="different batch sizes"):
        mha(zg.randn(4, 3, 8), x, x)
    with pytest.raises(ValueError, match="must all be 3-D .* or all 2-D"):
        mha(zg.randn(4, 8), x, x)
    with pytest.raises(
        ValueError, match=r"key_padding_mask has shape \(4, 2\) but must be \(2, 4\)"
    ):
        mha(x, x, x, key_padding_mask=zg.tensor(np.zeros((4, 2), bool)))
    with pytest.raises(ValueError, match=r"attn_mask has shape \(3, 4\) but must be \(4, 4\)"):
        mha(x, x, x, attn_mask=zg.tensor(np.zeros((3, 4), bool)))
    with pytest.raises(TypeError, match="attn_mask must be bool .* got int64"):
        mha(x, x, x, attn_mask=zg.tensor(np.zeros((4, 4), "int64")))
    with pytest.raises(ValueError, match="is_causal=True is a hint and needs the causal attn_mask"):
        mha(x, x, x, is_causal=True)


# ---------------------------------------------------------------------------------------------
# encoder and decoder layers


def _enc_make(**kw):
    def make(lib):
        return lib.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, **kw)

    return make


def _dec_make(**kw):
    def make(lib):
        return lib.TransformerDecoderLayer(8, 2, dim_feedforward=12, dropout=0.0, **kw)

    return make


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_against_torch(dtype, batch_first, norm_first):
    make = _enc_make(batch_first=batch_first, norm_first=norm_first)
    x = _randn((2, 5, 8) if batch_first else (5, 2, 8))
    kpm = _bool_mask((2, 5), seed=11)
    check_against_torch(
        make,
        [x],
        dtype,
        lambda m, x, mask, kpm: m(x, src_mask=mask, src_key_padding_mask=kpm),
        masks=(_causal(5), kpm),
    )


@needs_torch
@pytest.mark.parametrize("kw", [{"activation": "gelu"}, {"bias": False}, {"layer_norm_eps": 1e-3}])
def test_encoder_layer_options_against_torch(kw):
    check_against_torch(_enc_make(**kw), [_randn((5, 2, 8))], "float64")


@needs_torch
def test_encoder_layer_with_an_activation_module():
    def make(lib):
        return lib.TransformerEncoderLayer(8, 2, 12, dropout=0.0, activation=lib.GELU("tanh"))

    check_against_torch(make, [_randn((5, 8))], "float64")  # unbatched (S, E) too


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_against_torch(dtype, batch_first, norm_first):
    make = _dec_make(batch_first=batch_first, norm_first=norm_first)
    tgt = _randn((2, 4, 8) if batch_first else (4, 2, 8), seed=1)
    mem = _randn((2, 6, 8) if batch_first else (6, 2, 8), seed=2)
    masks = (_causal(4), _bool_mask((4, 6), seed=3), None, _bool_mask((2, 6), seed=4))
    check_against_torch(make, [tgt, mem], dtype, masks=masks)


@needs_torch
@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack_against_torch(norm):
    def make(lib):
        layer = lib.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True)
        return lib.TransformerEncoder(
            layer, 2, norm=lib.LayerNorm(8) if norm else None, enable_nested_tensor=False
        )

    ours, _ = check_against_torch(
        make,
        [_randn((2, 5, 8))],
        "float64",
        lambda m, x, mask: m(x, mask=mask, is_causal=True),
        masks=(_causal(5),),
    )
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight  # deep copies


@needs_torch
def test_decoder_stack_against_torch():
    def make(lib):
        layer = lib.TransformerDecoderLayer(8, 2, 12, dropout=0.0, norm_first=True)
        return lib.TransformerDecoder(layer, 2, norm=lib.LayerNorm(8))

    masks = (_causal(4), None, None, _bool_mask((2, 6), seed=4))
    check_against_torch(
        make, [_randn((4, 2, 8)), _randn((6, 2, 8), seed=2)], "float64", masks=masks
    )


def test_encoder_layer_dropout_acts_in_training_only():
    zg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = zg.randn(5, 2, 8)
    zg.manual_seed(1)
    a = layer(x).data
    zg.manual_seed(2)
    b = layer(x).data
    assert not np.allclose(a, b)  # a different draw of every dropout
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


def test_layer_errors_name_the_layer():
    with pytest.raises(
        ValueError, match=r"TransformerEncoderLayer\(d_model=10, nhead=4\): d_model"
    ):
        nn.TransformerEncoderLayer(10, 4)
    with pytest.raises(ValueError, match="activation should be 'relu' or 'gelu'"):
        nn.TransformerDecoderLayer(8, 2, activation="swish")
    with pytest.raises(ValueError, match="TransformerEncoder: num_layers must be a positive int"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 0)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"nhead=2\): src has shape \(5, 2, 6\) but must be"):
        layer(zg.randn(5, 2, 6))
    with pytest.raises(TypeError, match=r"nhead=2\): input is float64 but the parameters"):
        layer(zg.randn(5, 2, 8, dtype="float64"))
    decoder = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    with pytest.raises(ValueError, match=r"memory has shape \(2, 6, 4\) but must be \(N, L, E\)"):
        decoder(zg.randn(2, 5, 8), zg.randn(2, 6, 4))
    with pytest.raises(ValueError, match="both be batched"):
        decoder(zg.randn(2, 5, 8), zg.randn(6, 8))


def test_torch_skip_reason_names_the_extra():
    assert "zerograd[test]" in NEEDS_TORCH


def test_mha_gradcheck_query_key_value():
    # (gradcheck copies its inputs, so the parameters' gradients are checked against PyTorch's
    # above, not here)
    from zerograd.testing import gradcheck

    zg.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True).double()
    kpm = zg.tensor(_bool_mask((2, 5), seed=3))
    shapes = [(3, 2, 4), (5, 2, 4), (5, 2, 4)]
    q, k, v = (zg.tensor(_randn(s, seed=i), requires_grad=True) for i, s in enumerate(shapes))
    # both outputs: the returned weights' gradient is checked too
    gradcheck(lambda q, k, v: mha(q, k, v, key_padding_mask=kpm), [q, k, v])
