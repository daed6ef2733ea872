"""zerograd.onnx on the transformer's layers and GPT: exported, checked by onnx.checker, run in
onnxruntime on other batch sizes and sequence lengths than the example's, equal to zerograd to
1e-5; at the newest opset and the oldest (LayerNorm decomposed, Gelu decomposed)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason='needs onnx (the export): pip install "zerograd[onnx]"')
ort = pytest.importorskip(
    "onnxruntime", reason='needs onnxruntime (runs each export): pip install "zerograd[onnx]"'
)

import zerograd as zg  # noqa: E402 (after the skips)
from zerograd import models, nn  # noqa: E402
from zerograd import onnx as zonnx  # noqa: E402

RNG = np.random.default_rng(0)
OPSETS = [zonnx.OPSET, zonnx.MIN_OPSET]


def _randn(*shape):
    return zg.tensor(RNG.standard_normal(shape).astype(np.float32))


def _ids(vocab, *shape):
    return zg.tensor(RNG.integers(0, vocab, size=shape))


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def roundtrip(tmp_path, model, example, run_input, **kwargs):
    """Export on ``example``, run onnxruntime on ``run_input``, compare every output."""
    path = tmp_path / "model.onnx"
    proto = zonnx.export(model, example, path, **kwargs)
    onnx.checker.check_model(str(path), full_check=True)
    args = run_input if isinstance(run_input, tuple) else (run_input,)
    model.eval()
    with zg.no_grad():
        out = model(*args)
    expected = [o for o in (out if isinstance(out, tuple) else (out,)) if o is not None]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {i.name: t.data for i, t in zip(session.get_inputs(), args)})
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b.data, rtol=1e-5, atol=1e-5)
    return proto


def _perturbed(model):
    """LayerNorm weights and biases off 1 and 0, attention biases off 0."""
    for p in model.parameters():
        p.data[...] += (0.2 * RNG.standard_normal(p.shape)).astype(np.float32)
    return model


@pytest.mark.parametrize("opset", OPSETS)
def test_layer_norm(tmp_path, opset):
    zg.manual_seed(0)
    roundtrip(tmp_path, _perturbed(nn.LayerNorm(8)), _randn(2, 5, 8), _randn(3, 5, 8))
    no_affine = nn.LayerNorm((3, 4), elementwise_affine=False)
    roundtrip(tmp_path, no_affine, _randn(2, 3, 4), _randn(5, 3, 4), opset_version=opset)
    no_bias = _perturbed(nn.LayerNorm(6, bias=False))
    roundtrip(tmp_path, no_bias, _randn(2, 6), _randn(4, 6), opset_version=opset)


@pytest.mark.parametrize("opset", OPSETS)
def test_multihead_self_attention_and_its_weights(tmp_path, opset):
    zg.manual_seed(0)
    mha = _perturbed(nn.MultiheadAttention(8, 2))
    proto = roundtrip(tmp_path, mha, _randn(5, 2, 8), _randn(7, 3, 8), opset_version=opset)
    assert _dims(proto.graph.output[0]) == ["time", "batch", 8]
    assert _dims(proto.graph.output[1]) == ["batch", "time", "time"]  # averaged over heads


def test_multihead_cross_attention_batch_first(tmp_path):
    zg.manual_seed(0)
    mha = _perturbed(nn.MultiheadAttention(8, 4, batch_first=True))
    example = (_randn(2, 5, 8), _randn(2, 6, 8), _randn(2, 6, 8))
    run = (_randn(3, 4, 8), _randn(3, 9, 8), _randn(3, 9, 8))
    names = dict(input_names=["query", "key", "value"], output_names=["output", "weights"])
    proto = roundtrip(tmp_path, mha, example, run, **names)
    assert _dims(proto.graph.output[1]) == ["batch", "time", "source"]


def test_multihead_attention_unbatched_and_without_bias(tmp_path):
    zg.manual_seed(0)
    roundtrip(tmp_path, nn.MultiheadAttention(8, 2, bias=False), _randn(5, 8), _randn(3, 8))


def test_multihead_attention_with_extra_keys_is_refused(tmp_path):
    mha = nn.MultiheadAttention(8, 2, add_bias_kv=True)
    with pytest.raises(ValueError, match="add_bias_kv and add_zero_attn have no converter"):
        zonnx.export(mha, _randn(5, 2, 8), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer(tmp_path, norm_first, activation):
    zg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, activation=activation, norm_first=norm_first
    )
    proto = roundtrip(tmp_path, _perturbed(layer), _randn(5, 2, 8), _randn(7, 3, 8))
    assert _dims(proto.graph.output[0]) == ["time", "batch", 8]


@pytest.mark.parametrize("opset", OPSETS)
def test_encoder_stack_batch_first(tmp_path, opset):
    zg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, activation=nn.GELU("tanh"))
    encoder = _perturbed(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8)))
    roundtrip(tmp_path, encoder, _randn(2, 5, 8), _randn(3, 4, 8), opset_version=opset)


@pytest.mark.parametrize("opset", OPSETS)
def test_gpt_any_batch_and_length_up_to_block_size(tmp_path, opset):
    zg.manual_seed(0)
    model = _perturbed(models.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    proto = roundtrip(tmp_path, model, _ids(11, 2, 5), _ids(11, 3, 8), opset_version=opset)
    assert _dims(proto.graph.input[0]) == ["batch", "time"]
    assert _dims(proto.graph.output[0]) == ["batch", "time", 11]
    # the causal mask is built for each run's length: a prefix gives the same logits
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = _ids(11, 2, 6).data
    full, prefix = session.run(None, {"input": ids})[0], session.run(None, {"input": ids[:, :3]})[0]
    np.testing.assert_allclose(full[:, :3], prefix, rtol=1e-5, atol=1e-6)
