"""zerograd.autograd is a package (tensor, function + engine, grad modes, anomaly mode, the graph
walk) that hands on the same names the single module did, under the same public path."""

import pickle

import numpy as np

import zerograd as zg
import zerograd.autograd as autograd

PUBLIC = [
    "Tensor",
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "graph_nodes",
]


def test_all_is_what_the_module_exported():
    assert autograd.__all__ == PUBLIC
    for name in PUBLIC + ["anomaly_context", "anomaly_listeners", "numpy_repr", "index_key"]:
        assert getattr(autograd, name) is not None
    assert zg.Tensor is autograd.Tensor and zg.no_grad is autograd.no_grad


def test_classes_name_the_public_path():
    for name in ("Tensor", "Function", "AnomalyError", "no_grad", "detect_anomaly"):
        assert getattr(autograd, name).__module__ == "zerograd.autograd"
    assert repr(zg.ones(1, requires_grad=True) * 2).endswith("grad_fn=<MulBackward>)")
    t = pickle.loads(pickle.dumps(zg.tensor([1.0, 2.0])))
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_backward_is_bound_on_tensor_by_the_engine():
    assert zg.Tensor.backward.__name__ == "backward"
    assert "retain_graph" in zg.Tensor.backward.__doc__
    x = zg.ones(3, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_anomaly_mode_still_names_the_callers_line():
    x = zg.tensor([-1.0])
    try:
        with autograd.detect_anomaly(), np.errstate(invalid="ignore"):
            x.log()
    except autograd.AnomalyError as e:
        assert f"called from {__file__}" in str(e)
    else:
        raise AssertionError("no AnomalyError")
