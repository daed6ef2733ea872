"""zerograd.onnx: every supported layer, every zoo model and every shipped model exported, checked
by onnx.checker, loaded by onnxruntime and run on a batch size other than the example's, with
outputs equal to zerograd's to 1e-5; plus the errors, the names, the versions and the flags."""

import subprocess
import sys
from collections import OrderedDict

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


def _randn(*shape, scale=1.0):
    return zg.tensor(RNG.standard_normal(shape).astype(np.float32) * scale)


def _ids(vocab, *shape):
    return zg.tensor(RNG.integers(0, vocab, size=shape))


def _leaves(tree):
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def roundtrip(tmp_path, model, example, run_input, **kwargs):
    """Export ``model`` on ``example``, run the file in onnxruntime on ``run_input`` (the
    forward's arguments, a tuple, or one tensor) and compare with zerograd; return the proto."""
    path = tmp_path / "model.onnx"
    proto = zonnx.export(model, example, path, **kwargs)
    onnx.checker.check_model(str(path), full_check=True)  # the file as written
    args = run_input if isinstance(run_input, tuple) else (run_input,)
    model.eval()
    with zg.no_grad():
        expected = _leaves(model(*args))
    session = _session(path)
    feed = {i.name: t.data for i, t in zip(session.get_inputs(), _leaves(args))}
    got = session.run(None, feed)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b.data, rtol=1e-5, atol=1e-5)
    return proto


def _randomize_stats(model):
    """Running statistics other than 0 and 1, so eval-mode batch norm is really tested."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.running_mean is not None:
            C = m.num_features
            m.running_mean.data[...] = RNG.standard_normal(C).astype(np.float32)
            m.running_var.data[...] = RNG.uniform(0.5, 2.0, C).astype(np.float32)
            if m.weight is not None:
                m.weight.data[...] = RNG.uniform(0.5, 1.5, C).astype(np.float32)
            if m.bias is not None:
                m.bias.data[...] = RNG.standard_normal(C).astype(np.float32)
    return model


# (id, model factory, example input shape, the other batch size's shape); inputs N(0, 2^2)
LAYERS = [
    ("linear", lambda: nn.Linear(6, 4), (2, 6), (5, 6)),
    ("linear-3d-nobias", lambda: nn.Linear(6, 4, bias=False), (2, 3, 6), (4, 3, 6)),
    ("linear-3d", lambda: nn.Linear(6, 4), (2, 3, 6), (1, 3, 6)),
    ("conv", lambda: nn.Conv2d(3, 4, 3), (2, 3, 8, 8), (3, 3, 8, 8)),
    (
        "conv-strided-grouped",
        lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=(1, 2), dilation=(2, 1), groups=2),
        (2, 4, 9, 8),
        (3, 4, 9, 8),
    ),
    ("conv-nobias", lambda: nn.Conv2d(2, 3, 3, padding=1, bias=False), (2, 2, 5, 5), (1, 2, 5, 5)),
    ("conv-same-even", lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 2, 6, 6), (3, 2, 6, 6)),
    (
        "conv-same-dilated",
        lambda: nn.Conv2d(2, 3, (3, 2), padding="same", dilation=(1, 3)),
        (2, 2, 7, 7),
        (3, 2, 7, 7),
    ),
    ("conv-valid", lambda: nn.Conv2d(2, 3, 3, padding="valid"), (2, 2, 5, 5), (3, 2, 5, 5)),
    ("maxpool", lambda: nn.MaxPool2d(2), (2, 3, 8, 8), (3, 3, 8, 8)),
    ("maxpool-padded", lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7), (3, 3, 7, 7)),
    (
        "maxpool-rect",
        lambda: nn.MaxPool2d((3, 2), stride=(1, 2), padding=(1, 0)),
        (2, 1, 5, 6),
        (3, 1, 5, 6),
    ),
    ("avgpool", lambda: nn.AvgPool2d(2), (2, 3, 8, 8), (3, 3, 8, 8)),
    ("avgpool-pad-counted", lambda: nn.AvgPool2d(3, 2, 1), (2, 2, 7, 7), (3, 2, 7, 7)),
    (
        "avgpool-pad-not-counted",
        lambda: nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False),
        (2, 2, 7, 6),
        (3, 2, 7, 6),
    ),
    ("maxpool-dilated", lambda: nn.MaxPool2d(3, 1, 1, dilation=(2, 1)), (2, 2, 7, 8), (3, 2, 7, 8)),
    # odd sizes: ceil mode's last, partial windows; in the second, a last window along H would
    # start in the right padding, and is dropped (PyTorch's rule)
    ("maxpool-ceil", lambda: nn.MaxPool2d(3, 2, ceil_mode=True), (2, 2, 8, 7), (3, 2, 8, 7)),
    (
        "maxpool-ceil-dilated-padded",
        lambda: nn.MaxPool2d(2, stride=3, padding=1, dilation=(1, 2), ceil_mode=True),
        (2, 2, 7, 5),
        (1, 2, 7, 5),
    ),
    ("avgpool-ceil", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 7), (3, 2, 6, 7)),
    (
        "avgpool-ceil-pad-not-counted",
        lambda: nn.AvgPool2d((3, 2), stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 2, 6, 7),
        (3, 2, 6, 7),
    ),
    (
        "avgpool-divisor",
        lambda: nn.AvgPool2d(3, 2, 1, divisor_override=4),
        (2, 2, 7, 7),
        (3, 2, 7, 7),
    ),
    (
        "avgpool-divisor-ceil",
        lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=-5),
        (2, 2, 6, 7),
        (3, 2, 6, 7),
    ),
    ("maxpool1d", lambda: nn.MaxPool1d(2), (2, 3, 8), (3, 3, 8)),
    (
        "maxpool1d-ceil-dilated",
        lambda: nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True),
        (2, 3, 12),
        (4, 3, 12),
    ),
    ("avgpool1d", lambda: nn.AvgPool1d(3, 2, 1), (2, 3, 9), (3, 3, 9)),
    (
        "avgpool1d-ceil-pad-not-counted",
        lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        (2, 3, 10),
        (3, 3, 10),
    ),
    ("adaptive-global", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 7), (3, 3, 5, 7)),
    ("adaptive-even", lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 4, 6), (3, 3, 4, 6)),
    ("adaptive-none", lambda: nn.AdaptiveAvgPool2d((None, 2)), (2, 3, 4, 6), (3, 3, 4, 6)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(5), (2, 5), (4, 5)),
    ("batchnorm1d-ncl", lambda: nn.BatchNorm1d(5), (2, 5, 3), (4, 5, 3)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(3), (2, 3, 4, 4), (4, 3, 4, 4)),
    ("batchnorm2d-no-affine", lambda: nn.BatchNorm2d(3, affine=False), (2, 3, 4, 4), (1, 3, 4, 4)),
    ("batchnorm2d-no-bias", lambda: nn.BatchNorm2d(3, bias=False), (2, 3, 4, 4), (3, 3, 4, 4)),
    ("dropout", lambda: nn.Dropout(0.5), (2, 4), (3, 4)),
    ("dropout2d", lambda: nn.Dropout2d(0.3), (2, 3, 4, 4), (3, 3, 4, 4)),
    ("identity", lambda: nn.Identity(), (2, 4), (3, 4)),
    ("flatten", lambda: nn.Flatten(), (2, 3, 4, 5), (3, 3, 4, 5)),
    ("flatten-middle", lambda: nn.Flatten(1, 2), (2, 3, 4, 5), (3, 3, 4, 5)),
    ("flatten-last", lambda: nn.Flatten(-2, -1), (2, 3, 4, 5), (3, 3, 4, 5)),
    ("flatten-batch", lambda: nn.Flatten(0, 1), (2, 3, 4), (3, 3, 4)),
    ("flatten-all", lambda: nn.Flatten(0), (2, 3, 4), (3, 3, 4)),
    ("flatten-one-dim", lambda: nn.Flatten(1, 1), (2, 3, 4), (3, 3, 4)),
    ("step", lambda: nn.Step(), (2, 7), (3, 7)),
    ("sigmoid", lambda: nn.Sigmoid(), (2, 7), (3, 7)),
    ("tanh", lambda: nn.Tanh(), (2, 7), (3, 7)),
    ("relu", lambda: nn.ReLU(), (2, 7), (3, 7)),
    ("leaky-relu", lambda: nn.LeakyReLU(0.2), (2, 7), (3, 7)),
    ("elu", lambda: nn.ELU(0.7), (2, 7), (3, 7)),
    ("gelu", lambda: nn.GELU(), (2, 7), (3, 7)),
    ("gelu-tanh", lambda: nn.GELU("tanh"), (2, 7), (3, 7)),
    ("softplus", lambda: nn.Softplus(), (2, 7), (3, 7)),
    ("softplus-beta-threshold", lambda: nn.Softplus(beta=2.0, threshold=3.0), (2, 7), (3, 7)),
    ("softmax", lambda: nn.Softmax(dim=1), (2, 7), (3, 7)),
    ("softmax-3d", lambda: nn.Softmax(dim=-2), (2, 3, 4), (3, 3, 4)),
    ("log-softmax", lambda: nn.LogSoftmax(dim=1), (2, 7), (3, 7)),
    (
        "sequential-nested",
        lambda: nn.Sequential(nn.Sequential(nn.Linear(4, 5), nn.ReLU()), nn.Linear(5, 2)),
        (2, 4),
        (3, 4),
    ),
]


@pytest.mark.parametrize(
    "make, shape, run_shape", [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS]
)
def test_each_layer_runs_in_onnxruntime_on_another_batch_size(tmp_path, make, shape, run_shape):
    zg.manual_seed(0)
    model = _randomize_stats(make())
    roundtrip(tmp_path, model, _randn(*shape, scale=2.0), _randn(*run_shape, scale=2.0))


@pytest.mark.parametrize("opset", [zonnx.MIN_OPSET, zonnx.OPSET])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool_indices_export_as_torch_s(tmp_path, opset, ceil_mode):
    # PyTorch's indices count within one H x W plane, ONNX's over the whole tensor
    model = nn.MaxPool2d(3, 2, 1, dilation=(1, 2), return_indices=True, ceil_mode=ceil_mode)
    proto = roundtrip(
        tmp_path,
        model,
        _randn(2, 3, 7, 8),
        _randn(4, 3, 7, 8),
        output_names=["output", "indices"],
        opset_version=opset,
    )
    assert proto.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_max_pool1d_indices_export_as_torch_s(tmp_path):
    model = nn.MaxPool1d(3, 2, 1, return_indices=True, ceil_mode=True)
    roundtrip(tmp_path, model, _randn(2, 3, 10), _randn(4, 3, 10), output_names=["y", "indices"])


def test_pooling_export_errors(tmp_path):
    with pytest.raises(ValueError, match=r"model MaxPool2d\(kernel_size=2.* unbatched input of"):
        zonnx.export(nn.MaxPool2d(2), _randn(3, 4, 4), tmp_path / "m.onnx", dynamic_batch=False)
    # MaxUnpool2d's forward takes the indices as a second input, which converters cannot
    with pytest.raises(TypeError, match=r"model is a MaxUnpool2d, which has no ONNX converter"):
        y, idx = nn.MaxPool2d(2, return_indices=True)(_randn(2, 3, 4, 4))
        zonnx.export(nn.MaxUnpool2d(2), (y, idx), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_embedding_gathers_rows_for_any_batch(tmp_path):
    zg.manual_seed(0)
    model = nn.Embedding(10, 4, padding_idx=0)
    proto = roundtrip(tmp_path, model, _ids(10, 2, 3), _ids(10, 5, 3))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


RECURRENT = [
    (cls, kw, layers, bidirectional, batch_first)
    for cls, kw in [(nn.RNN, {}), (nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.GRU, {})]
    for layers in (1, 2)
    for bidirectional in (False, True)
    for batch_first in (False, True)
]


@pytest.mark.parametrize(
    "cls, kw, layers, bidirectional, batch_first",
    RECURRENT,
    ids=[
        f"{c.__name__}{'-relu' if kw else ''}-l{n}{'-bi' if b else ''}{'-bf' if f else ''}"
        for c, kw, n, b, f in RECURRENT
    ],
)
def test_recurrent_layers_run_in_onnxruntime(tmp_path, cls, kw, layers, bidirectional, batch_first):
    zg.manual_seed(0)
    model = cls(4, 5, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **kw)
    example, run = ((2, 3, 4), (4, 6, 4)) if batch_first else ((3, 2, 4), (6, 4, 4))
    proto = roundtrip(tmp_path, model, _randn(*example), _randn(*run))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == (["batch", "time", 4] if batch_first else ["time", "batch", 4])
    op = {nn.RNN: "RNN", nn.LSTM: "LSTM", nn.GRU: "GRU"}[cls]
    assert [n.op_type for n in proto.graph.node].count(op) == layers  # one node per layer


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_recurrent_layers_without_bias_or_batch(tmp_path, cls):
    zg.manual_seed(0)
    roundtrip(tmp_path, cls(3, 4, bias=False), _randn(5, 2, 3), _randn(7, 3, 3))
    unbatched = cls(3, 4, num_layers=2, bidirectional=True)  # one (L, H_in) sequence
    proto = roundtrip(tmp_path, unbatched, _randn(5, 3), _randn(8, 3))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["time", 3]


def test_lstm_and_gru_with_initial_states_as_inputs(tmp_path):
    zg.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    example = (_randn(2, 5, 3), (_randn(4, 2, 4), _randn(4, 2, 4)))
    run = (_randn(3, 6, 3), (_randn(4, 3, 4), _randn(4, 3, 4)))
    proto = roundtrip(tmp_path, lstm, example, run)
    assert [i.name for i in proto.graph.input] == ["input", "h_0", "c_0"]
    assert [o.name for o in proto.graph.output] == ["output", "h_n", "c_n"]
    gru = nn.GRU(3, 4, num_layers=2)
    roundtrip(tmp_path, gru, (_randn(5, 2, 3), _randn(2, 2, 4)), (_randn(4, 3, 3), _randn(2, 3, 4)))


@pytest.mark.parametrize("name", list(models.ZOO))
def test_every_zoo_model_runs_in_onnxruntime(tmp_path, name):
    zg.manual_seed(0)
    model = _randomize_stats(models.create(name))
    if name == "char-lstm":
        proto = roundtrip(tmp_path, model, _ids(65, 2, 7), _ids(65, 3, 11))
        assert [o.name for o in proto.graph.output] == ["output", "h_n", "c_n"]
    elif name == "gpt":
        roundtrip(tmp_path, model, _ids(65, 2, 7), _ids(65, 3, 11))
    else:
        roundtrip(tmp_path, model, _randn(2, 1, 28, 28), _randn(3, 1, 28, 28))


@pytest.mark.parametrize("name", list(models.PRETRAINED))
def test_every_shipped_model_runs_in_onnxruntime(tmp_path, name):
    model = models.pretrained(name)
    assert {p.dtype for p in model.parameters()} == {np.dtype("float32")}  # char-lstm: from f16
    if name.startswith("char-lstm"):
        proto = roundtrip(tmp_path, model, _ids(65, 2, 8), _ids(65, 3, 12))
    else:
        proto = roundtrip(tmp_path, model, _randn(2, 1, 28, 28), _randn(3, 1, 28, 28))
    assert {t.data_type for t in proto.graph.initializer} <= {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.INT64,  # the axes and shapes
    }


def test_row_lstm_takes_images_or_rows_with_any_number_of_rows(tmp_path):
    zg.manual_seed(0)
    model = models.RowLSTM(input_size=6, hidden_size=5)
    proto = roundtrip(tmp_path, model, _randn(2, 1, 4, 6), _randn(3, 1, 7, 6))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "time", 6]
    roundtrip(tmp_path, model, _randn(2, 4, 6), _randn(3, 5, 6))


def test_char_lstm_with_its_state_as_inputs(tmp_path):
    zg.manual_seed(0)
    model = models.CharLSTM(vocab_size=11, embedding_dim=4, hidden_size=6, num_layers=2)
    state = (_randn(2, 2, 6), _randn(2, 2, 6))
    run_state = (_randn(2, 3, 6), _randn(2, 3, 6))
    proto = roundtrip(tmp_path, model, (_ids(11, 2, 5), state), (_ids(11, 3, 1), run_state))
    shapes = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*proto.graph.input, *proto.graph.output]
    }
    assert shapes == {
        "input": ["batch", "time"],
        "h_0": [2, "batch", 6],
        "c_0": [2, "batch", 6],
        "output": ["batch", "time", 11],
        "h_n": [2, "batch", 6],
        "c_n": [2, "batch", 6],
    }


def test_versions_are_the_pinned_ones_and_onnxruntime_loads_them(tmp_path):
    assert (zonnx.IR_VERSION, zonnx.OPSET) == (14, 28)
    path = tmp_path / "mlp.onnx"
    proto = zonnx.export(models.create("mlp-small"), _randn(2, 1, 28, 28), path)
    on_disk = onnx.load(str(path))
    for p in (proto, on_disk):
        assert p.ir_version == 14
        assert [(o.domain, o.version) for o in p.opset_import] == [("", 28)]
    onnx.checker.check_model(on_disk, full_check=True)
    assert [i.name for i in _session(path).get_inputs()] == ["input"]


def test_an_older_opset_for_older_runtimes(tmp_path):
    zg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.GELU(), nn.Flatten(), nn.Linear(18, 5),
        nn.GELU("tanh"), nn.Softplus(beta=2.0), nn.Step(),
    )  # fmt: skip
    proto = roundtrip(
        tmp_path, model, _randn(2, 1, 5, 5), _randn(3, 1, 5, 5), opset_version=zonnx.MIN_OPSET
    )
    assert (proto.ir_version, proto.opset_import[0].version) == (7, 13)
    assert "Gelu" not in {n.op_type for n in proto.graph.node}  # Gelu came in opset 20
    roundtrip(
        tmp_path, nn.LSTM(3, 4, num_layers=2), _randn(4, 2, 3), _randn(5, 3, 3), opset_version=13
    )
    for bad in (12, 29, "28", True):
        with pytest.raises(ValueError, match="opset_version must be an int from 13 to 28"):
            zonnx.export(model, _randn(2, 1, 5, 5), tmp_path / "m.onnx", opset_version=bad)


def test_dynamic_batch_off_fixes_every_size(tmp_path):
    path = tmp_path / "fixed.onnx"
    proto = zonnx.export(nn.LSTM(3, 4), _randn(5, 2, 3), path, dynamic_batch=False)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [5, 2, 3]
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # onnxruntime refuses batch 3
        _session(path).run(None, {"input": _randn(5, 3, 3).data})


def test_flattened_batch_becomes_an_unnamed_symbolic_dim(tmp_path):
    proto = zonnx.export(nn.Flatten(0), _randn(2, 3, 4), tmp_path / "f.onnx")
    (dim,) = proto.graph.output[0].type.tensor_type.shape.dim
    assert not dim.HasField("dim_value") and dim.dim_param == ""


def test_a_model_tied_to_its_batch_size_needs_fixed_sizes(tmp_path):
    model = nn.Sequential(nn.Flatten(0), nn.Linear(6, 2))  # the batch of 2 is part of a sample
    with pytest.raises(ValueError, match="one longer .* pass dynamic_batch=False"):
        zonnx.export(model, _randn(2, 3), tmp_path / "m.onnx")
    roundtrip(tmp_path, model, _randn(2, 3), _randn(2, 3), dynamic_batch=False)


def test_names_of_inputs_outputs_and_weights(tmp_path):
    model = nn.Sequential(
        OrderedDict(fc1=nn.Linear(4, 3), act=nn.ReLU(), fc2=nn.Linear(3, 2), out=nn.Identity())
    )
    proto = roundtrip(
        tmp_path, model, _randn(2, 4), _randn(3, 4), input_names=["x"], output_names=["logits"]
    )
    assert [i.name for i in proto.graph.input] == ["x"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    # the weights keep their state_dict keys
    assert set(model.state_dict()) <= {t.name for t in proto.graph.initializer}
    # a model that returns its input unchanged still gets its output name
    roundtrip(tmp_path, nn.Identity(), _randn(2, 4), _randn(3, 4))
    with pytest.raises(ValueError, match="output_names must be 1 non-empty string"):
        zonnx.export(model, _randn(2, 4), tmp_path / "m.onnx", output_names=["a", "b"])
    with pytest.raises(ValueError, match="must all differ"):
        zonnx.export(model, _randn(2, 4), tmp_path / "m.onnx", input_names="y", output_names="y")


class Custom(nn.Module):
    def forward(self, x):
        return x * 2


def test_an_unsupported_layer_is_named_by_its_path(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), Custom())
    with pytest.raises(TypeError, match=r"model\.3 is a Custom, which has no ONNX converter") as e:
        zonnx.export(model, _randn(2, 4), tmp_path / "m.onnx")
    assert "Supported: AdaptiveAvgPool2d" in str(e.value) and "Sequential" in str(e.value)
    assert "register_converter(Custom)" in str(e.value)
    nested = nn.Sequential(OrderedDict(block=nn.Sequential(nn.Linear(4, 4), Custom())))
    with pytest.raises(TypeError, match=r"model\.block\.1 is a Custom"):
        zonnx.export(nested, _randn(2, 4), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_subclass_with_its_own_forward_is_not_taken_for_its_parent(tmp_path):
    class Doubling(nn.Sequential):
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(TypeError, match="subclasses Sequential but has a forward of its own"):
        zonnx.export(Doubling(nn.Linear(2, 2)), _randn(2, 2), tmp_path / "m.onnx")


def test_register_converter_teaches_the_exporter_a_module(tmp_path):
    class ScaledBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.scale = 0.5

        def forward(self, x):
            return (self.fc(x) * self.scale).relu()

    @zonnx.register_converter(ScaledBlock)
    def convert(g, module, x, example):
        y, y_example = g.convert(module.fc, x, example, name="fc")
        y = g.op("Mul", y, g.constant(module.scale, y_example.dtype))
        return g.op("Relu", y)

    zg.manual_seed(0)
    model = nn.Sequential(ScaledBlock(), nn.Linear(3, 2))
    proto = roundtrip(tmp_path, model, _randn(2, 4), _randn(5, 4))
    assert "0.fc.weight" in {t.name for t in proto.graph.initializer}
    with pytest.raises(TypeError, match="expected a Module subclass"):
        zonnx.register_converter(len)


def test_export_runs_in_eval_without_a_graph_and_restores_the_flags(tmp_path):
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append((self.training, zg.is_grad_enabled()))
            return x

    @zonnx.register_converter(Probe)
    def convert(g, module, x, example):
        return x

    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), Probe(), nn.BatchNorm1d(3))
    model.train()
    model[1].eval()
    before = [m.training for m in model.modules()]
    zonnx.export(model, _randn(2, 3), tmp_path / "m.onnx")
    assert seen and all(s == (False, False) for s in seen)
    assert [m.training for m in model.modules()] == before
    assert int(model[3].num_batches_tracked) == 0  # eval: the statistics were not touched
    assert all(p.grad is None for p in model.parameters())
    model.append(Custom())  # a failed export restores them too
    with pytest.raises(TypeError):
        zonnx.export(model, _randn(2, 3), tmp_path / "m.onnx")
    assert [m.training for m in model.modules()][:-1] == before


def test_the_models_own_errors_reach_the_user_unchanged(tmp_path):
    model = nn.Sequential(nn.Linear(784, 10))
    with pytest.raises(ValueError) as direct:
        model(_randn(2, 5))
    with pytest.raises(ValueError) as exported:
        zonnx.export(model, _randn(2, 5), tmp_path / "m.onnx")
    assert str(exported.value) == str(direct.value)
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d\(output_size=3\) .* uneven windows"):
        zonnx.export(nn.AdaptiveAvgPool2d(3), _randn(1, 1, 4, 4), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"pads in 'reflect' mode.*padding_mode='zeros'"):
        zonnx.export(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), _randn(1, 1, 4, 4),
                     tmp_path / "m.onnx")  # fmt: skip
    assert not (tmp_path / "m.onnx").exists()


def test_unsupported_configurations_and_dtypes(tmp_path):
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    with pytest.raises(ValueError, match="keeps no running statistics"):
        zonnx.export(bn, _randn(2, 3), tmp_path / "m.onnx")
    model = nn.Linear(3, 2).to("float64")
    with pytest.raises(TypeError, match=r"float64 parameters.*model\.to\('float32'\)"):
        zonnx.export(model, zg.randn(2, 3, dtype="float64"), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="example input 0 is float64"):
        zonnx.export(nn.Linear(3, 2), zg.randn(2, 3, dtype="float64"), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="must be a Tensor or NumPy array"):
        zonnx.export(nn.Linear(3, 2), [[1.0, 2.0, 3.0]], tmp_path / "m.onnx")


def test_a_bad_path_is_refused_and_leaves_no_file(tmp_path):
    missing = tmp_path / "no" / "such" / "model.onnx"
    with pytest.raises(FileNotFoundError, match=r"the folder .*such does not exist"):
        zonnx.export(nn.Linear(3, 2), _randn(2, 3), missing)
    assert not (tmp_path / "no").exists()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        zonnx.export(nn.Linear(3, 2), _randn(2, 3), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_with_onnxruntime_finds_a_difference(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "m.onnx"
    zonnx.export(model, _randn(2, 3), path)
    assert zonnx.check_with_onnxruntime(path, model, _randn(4, 3)) < 1e-5
    model.weight.data[0, 0] += 1.0
    with pytest.raises(RuntimeError, match="'output' of .* differs from zerograd's"):
        zonnx.check_with_onnxruntime(path, model, _randn(4, 3))


def test_without_onnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails
    with pytest.raises(ImportError, match=r'pip install "zerograd\[onnx\]"'):
        zonnx.export(nn.Linear(3, 2), _randn(2, 3), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_the_module_imports_without_onnx():
    code = (
        "import sys; sys.modules['onnx'] = sys.modules['onnxruntime'] = None\n"
        "import zerograd.onnx, zerograd.cli\n"
        "print(zerograd.onnx.OPSET)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "28"
