"""zerograd.onnx's converter table: the zoo registers its converters through the public
register_converter (the exporter's package names no zoo class), and input_axes says which dims
of a model's inputs are symbolic."""

import ast
from pathlib import Path

import numpy as np
import pytest

import zerograd as zg
from zerograd import models, nn
from zerograd import onnx as zonnx
from zerograd.onnx import graph as onnx_graph

ONNX_DIR = Path(__file__).resolve().parents[2] / "src" / "zerograd" / "onnx"


def test_the_exporter_imports_no_zoo_and_names_no_zoo_class():
    for path in sorted(ONNX_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                names = [a.name for a in node.names]
                assert "models" not in target.split(".") and "models" not in names, path.name
            name = getattr(node, "id", None) or getattr(node, "attr", None)
            assert name not in ("RowLSTM", "CharLSTM"), path.name  # (docstrings may name them)


def test_the_zoo_registers_its_converters_and_input_axes():
    for cls in (models.RowLSTM, models.CharLSTM):
        assert cls in onnx_graph._CONVERTERS and cls in onnx_graph._INPUT_AXES
        assert onnx_graph._CONVERTERS[cls].__module__ == "zerograd.models.onnx_converters"
    assert onnx_graph._input_axes_for(models.MLP()) is None  # a Sequential: batch first


def test_input_axes_must_be_a_function():
    with pytest.raises(TypeError, match="input_axes must be a function"):
        zonnx.register_converter(nn.Linear, input_axes="batch")


def test_input_axes_name_the_symbolic_dims_of_a_users_sequence_model(tmp_path):
    pytest.importorskip("onnx", reason='needs onnx (the export): pip install "zerograd[onnx]"')
    ort = pytest.importorskip(
        "onnxruntime", reason='needs onnxruntime (runs each export): pip install "zerograd[onnx]"'
    )

    class TimeMean(nn.Module):  # (N, L, C) -> mean over time -> Linear
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x.mean(dim=1))

    def axes(module, inputs):
        return [{0: "batch", 1: "time"}]

    @zonnx.register_converter(TimeMean, input_axes=axes)
    def convert(g, module, x, example):
        m = g.op("ReduceMean", x, g.constant([1]), keepdims=0)
        y, _ = g.convert(module.fc, m, example.mean(dim=1), name="fc")
        return y

    zg.manual_seed(0)
    model = TimeMean()
    path = tmp_path / "time_mean.onnx"
    proto = zonnx.export(model, zg.randn(2, 5, 3), path)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", "time", 3]
    x = np.random.default_rng(0).standard_normal((4, 7, 3)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    with zg.no_grad():
        np.testing.assert_allclose(got, model(zg.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)
