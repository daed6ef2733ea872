"""summary(): rows, output shapes, parameter counts (against the modules and against PyTorch),
freezing, the memory estimate, and that no hook or mode change is left behind."""

from collections import OrderedDict

import numpy as np
import pytest
from torch_ref import NEEDS_TORCH

import zerograd as zg
from zerograd import models, nn
from zerograd.inspect import LayerSummary, ModelSummary, summary
from zerograd.nn import module as module_mod

IMAGE = (1, 1, 28, 28)


def _input_for(name):
    """(input_shape, dtype) that the zoo model ``name`` takes."""
    if name in ("char-lstm", "gpt"):
        return (2, 12), zg.int64
    return IMAGE, None


def _row(s: ModelSummary, name: str) -> LayerSummary:
    return next(row for row in s.rows if row.name == name)


def _flags(model):
    return [(name, m.training) for name, m in model.named_modules()]


def _no_hooks_left():
    return not module_mod._global_forward_hooks and not module_mod._global_forward_pre_hooks


# --- the table ---------------------------------------------------------------------------------


def test_simple_convnet_rows_shapes_and_counts():
    model = models.SimpleConvNet()
    s = summary(model, IMAGE)
    assert [row.name for row in s.rows] == ["", "0", "1", "2", "3", "4", "5", "6"]
    assert [row.output_shape for row in s.rows] == [
        (1, 10),
        (1, 30, 24, 24),
        (1, 30, 24, 24),
        (1, 30, 12, 12),
        (1, 4320),
        (1, 100),
        (1, 100),
        (1, 10),
    ]
    # Conv2d(1, 30, 5): 30*25 + 30; Linear(4320, 100); Linear(100, 10)
    assert [row.params for row in s.rows] == [0, 780, 0, 0, 0, 432_100, 0, 1_010]
    assert s.total_params == 433_890 == sum(p.numel() for p in model.parameters())
    assert (s.trainable_params, s.frozen_params) == (433_890, 0)
    assert [row.depth for row in s.rows] == [0] + [1] * 7
    assert _row(s, "0").label == "(0): Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))"
    assert _row(s, "1").label == "(1): ReLU()"
    assert s.rows[0].label == "SimpleConvNet"
    text = str(s)
    assert text == repr(s)
    assert text.splitlines()[0] == "SimpleConvNet summary, input (1, 1, 28, 28) float32"
    for expected in [
        "  (0): Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))",
        "(1, 30, 24, 24)",
        "432,100",
        "Total params: 433,890",
        "Trainable params: 433,890",
        "Frozen params: 0",
        "Estimated total size (MB):",
    ]:
        assert expected in text


@pytest.mark.parametrize("name", list(models.ZOO))
def test_every_zoo_model(name):
    model = models.create(name)
    shape, dtype = _input_for(name)
    s = summary(model, shape, dtype=dtype)
    total = sum(p.numel() for p in model.parameters())
    assert s.total_params == total
    assert sum(row.params for row in s.rows) == total  # the column adds up
    assert s.rows[0].name == "" and s.rows[0].calls == 1
    assert all(row.calls >= 1 and row.output_shape is not None for row in s.rows)
    assert s.param_bytes == sum(p.data.nbytes for p in model.parameters())
    assert s.activation_bytes > 0

    # freeze the first layer that has parameters: the counts follow requires_grad
    first = next(m for _, m in model.named_modules() if list(m.parameters(recurse=False)))
    first.freeze()
    frozen = sum(p.numel() for p in first.parameters())
    s = summary(model, shape, dtype=dtype)
    assert (s.total_params, s.trainable_params, s.frozen_params) == (total, total - frozen, frozen)
    assert s.grad_bytes == s.param_bytes - sum(p.data.nbytes for p in first.parameters())
    model.freeze()
    s = summary(model, shape, dtype=dtype)
    assert (s.trainable_params, s.frozen_params, s.grad_bytes) == (0, total, 0)


def test_frozen_rows_say_no_or_partly():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model[2].freeze()
    s = summary(model, (1, 4))
    assert [row.trainable_params for row in s.rows] == [0, 15, 0, 0]
    assert [row.frozen_params for row in s.rows] == [0, 0, 0, 8]
    lines = str(s).splitlines()
    assert lines[5].split()[-2:] == ["15", "yes"]
    assert lines[6].split()[-2:] == ["--", "--"]
    assert lines[7].split()[-2:] == ["8", "no"]
    whole = summary(model, (1, 4), depth=0)
    assert len(whole.rows) == 1 and whole.rows[0].params == 23
    assert str(whole).splitlines()[4].split()[-2:] == ["23", "partly"]
    model.unfreeze()
    assert summary(model, (1, 4)).frozen_params == 0


def test_lstm_tuple_outputs_show_each_shape():
    s = summary(models.RowLSTM(), IMAGE)
    lstm = _row(s, "lstm")
    assert lstm.output_shape == [(1, 28, 128), [(1, 1, 128), (1, 1, 128)]]
    assert "[(1, 28, 128), [(1, 1, 128), (1, 1, 128)]]" in str(s)
    assert _row(s, "head").output_shape == (1, 10)


def test_char_lstm_takes_int64_ids():
    model = models.CharLSTM(vocab_size=65, embedding_dim=16, hidden_size=32)
    s = summary(model, (3, 7), dtype=zg.int64)
    assert s.input_dtypes == ["int64"] and s.input_shapes == [(3, 7)]
    assert _row(s, "embedding").output_shape == (3, 7, 16)
    assert s.rows[0].output_shape == [(3, 7, 65), [(1, 3, 32), (1, 3, 32)]]
    assert s.input_bytes == 3 * 7 * 8
    # float ids are the usual mistake: the error says what to pass
    with pytest.raises(Exception, match=r"input_shape \(3, 7\) float32.*dtype=zerograd\.int64"):
        summary(model, (3, 7))


def test_depth_folds_deeper_parameters_into_the_shown_row():
    model = nn.Sequential(
        nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Sequential(nn.Linear(5, 5))), nn.Linear(5, 2)
    )
    full = summary(model, (2, 4))
    assert [(row.name, row.depth) for row in full.rows] == [
        ("", 0),
        ("0", 1),
        ("0.0", 2),
        ("0.1", 2),
        ("0.2", 2),
        ("0.2.0", 3),
        ("1", 1),
    ]
    assert _row(full, "0.2.0").label == "(0): Linear(in_features=5, out_features=5, bias=True)"
    assert "      (0): Linear(in_features=5" in str(full)  # indented by depth
    shallow = summary(model, (2, 4), depth=1)
    assert [row.name for row in shallow.rows] == ["", "0", "1"]
    assert _row(shallow, "0").params == 25 + 30
    assert _row(shallow, "1").params == 12
    for s in (full, shallow, summary(model, (2, 4), depth=0)):
        assert sum(row.params for row in s.rows) == s.total_params == 67


def test_shared_parameter_counts_once():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    s = summary(model, (1, 3))
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 9 + 3 + 3
    assert [row.params for row in s.rows] == [0, 12, 3]


def test_a_module_called_twice_and_one_never_called():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.unused = nn.Linear(3, 1)

        def forward(self, x):
            return self.fc(self.fc(x))

    s = summary(Twice(), (2, 3))
    assert _row(s, "fc").calls == 2 and _row(s, "fc").output_shape == (2, 3)
    assert _row(s, "unused").calls == 0 and _row(s, "unused").output_shape is None
    assert "(2, 3) [2 calls]" in str(s)


def test_memory_estimate_by_hand():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    s = summary(model, (2, 4))
    assert s.input_bytes == 2 * 4 * 4
    # Linear's and ReLU's outputs, 2 x 3 float32 each (the Sequential returns ReLU's, counted once)
    assert s.activation_bytes == 2 * (2 * 3 * 4)
    assert s.forward_backward_bytes == 2 * s.activation_bytes
    assert s.param_bytes == s.grad_bytes == 15 * 4
    assert s.buffer_bytes == 0
    assert s.total_bytes == 32 + 96 + 60 + 60
    assert "Estimated total size (MB): 0.000248" in str(s)
    bn = summary(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), (2, 4))
    # running_mean, running_var (float32) and num_batches_tracked (int64)
    assert bn.buffer_bytes == 3 * 4 + 3 * 4 + 8


def test_identity_output_is_not_counted_as_memory():
    s = summary(nn.Sequential(nn.Dropout(0.5)), (2, 4))  # eval-mode dropout returns its input
    assert s.activation_bytes == 0
    assert s.rows[1].output_shape == (2, 4)
    s = summary(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), (2, 4))
    assert s.activation_bytes == 2 * 4 * 4  # the Linear's output, which Dropout hands on


def test_float64_model_gets_float64_zeros():
    s = summary(nn.Linear(2, 2).double(), (1, 2))
    assert s.input_dtypes == ["float64"] and s.param_bytes == 6 * 8


# --- inputs ------------------------------------------------------------------------------------


def test_input_data_is_used_as_given():
    model = nn.Sequential(nn.Linear(4, 3))
    x = zg.ones(5, 4)
    s = summary(model, input_data=x)
    assert s.input_shapes == [(5, 4)] and s.rows[0].output_shape == (5, 3)
    s = summary(model, input_data=np.ones((2, 4), dtype=np.float32))
    assert s.rows[0].output_shape == (2, 3)


def test_several_inputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, ids, weights):
            return self.emb(ids) * weights

    s = summary(Pair(), [(2, 3), (2, 3, 1)], dtype=[zg.int64, zg.float32])
    assert s.input_dtypes == ["int64", "float32"]
    assert s.rows[0].output_shape == (2, 3, 4)
    assert "input (2, 3) int64, (2, 3, 1) float32" in str(s)
    s = summary(Pair(), input_data=(zg.tensor([[1, 2]]), zg.ones(1, 2, 1)))
    assert s.rows[0].output_shape == (1, 2, 4)
    with pytest.raises(ValueError, match="2 dtypes for 1 input"):
        summary(Pair(), [(2, 3)], dtype=[zg.int64, zg.float32])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "got neither"),
        ({"input_shape": (1, 4), "input_data": zg.ones(1, 4)}, ValueError, "got both"),
        ({"input_data": zg.ones(1, 4), "dtype": zg.float64}, ValueError, "input_data keeps"),
        ({"input_data": [[1.0, 2.0, 3.0, 4.0]]}, TypeError, r"zerograd.tensor\(\.\.\.\)"),
        ({"input_shape": (0, 4)}, ValueError, r"\(0, 4\).*every size >= 1"),
        ({"input_shape": ()}, ValueError, "at least one dimension"),
        ({"input_shape": (1, 4.0)}, TypeError, r"tuple of ints.*\(1, 4\.0\)"),
        ({"input_shape": 4}, TypeError, "batch dimension"),
        ({"input_shape": (1, 4), "dtype": "nonsense"}, TypeError, "unknown dtype"),
        ({"input_shape": (1, 4), "depth": -1}, ValueError, "depth must be"),
        ({"input_shape": (1, 4), "layer_width": 3}, ValueError, "layer_width"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        summary(nn.Linear(4, 2), **kwargs)


def test_not_a_module():
    with pytest.raises(TypeError, match="must be a zerograd nn.Module, got function"):
        summary(lambda x: x, (1, 4))


# --- leaving the model as it was ----------------------------------------------------------------


def test_eval_mode_during_and_flags_restored_after():
    model = models.create("deep-cnn-bn")
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    before, state = _flags(model), {k: v.data.copy() for k, v in model.state_dict().items()}
    seen = []
    model[0].register_forward_hook(lambda m, args, out: seen.append(m.training))
    summary(model, (2, 1, 28, 28))
    assert seen == [False]
    assert _flags(model) == before
    assert _no_hooks_left()
    for k, v in model.state_dict().items():  # batch norm statistics untouched (eval mode)
        np.testing.assert_array_equal(v.data, state[k])


def test_forward_failure_names_the_shape_and_the_layer_and_cleans_up():
    model = models.SimpleConvNet().train()
    before = _flags(model)
    with pytest.raises(ValueError) as info:
        summary(model, (1, 28, 28))  # the batch dimension forgotten
    message = str(info.value)
    assert "input_shape (1, 28, 28) float32" in message
    # as in PyTorch, the convolution takes one unbatched image; the flattened features then do
    # not fit the first Linear layer
    assert "in (4): Linear" in message
    assert "includes the batch dimension" in message
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) in message  # the original message, whole
    assert _flags(model) == before and _no_hooks_left()
    assert zg.is_grad_enabled()


def test_failure_of_another_type_becomes_runtime_error():
    class Broken(nn.Module):
        def forward(self, x):
            raise KeyError("boom")

    with pytest.raises(RuntimeError, match=r"Broken's forward pass failed on input_shape .*boom"):
        summary(Broken(), (1, 2))
    assert _no_hooks_left()


# --- against PyTorch -----------------------------------------------------------------------------


def test_counts_and_shapes_match_the_torch_twin():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    tnn = torch.nn
    ours = nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, 8, 3, padding=1, bias=False)),
                ("bn1", nn.BatchNorm2d(8)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(8, 16, 3)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.AvgPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(16 * 6 * 6, 32)),
                ("bn3", nn.BatchNorm1d(32)),
                ("drop", nn.Dropout(0.5)),
                ("fc2", nn.Linear(32, 10)),
            ]
        )
    )
    twin = tnn.Sequential(
        OrderedDict(
            [
                ("conv1", tnn.Conv2d(1, 8, 3, padding=1, bias=False)),
                ("bn1", tnn.BatchNorm2d(8)),
                ("relu1", tnn.ReLU()),
                ("pool1", tnn.MaxPool2d(2)),
                ("conv2", tnn.Conv2d(8, 16, 3)),
                ("relu2", tnn.ReLU()),
                ("pool2", tnn.AvgPool2d(2)),
                ("flatten", tnn.Flatten()),
                ("fc1", tnn.Linear(16 * 6 * 6, 32)),
                ("bn3", tnn.BatchNorm1d(32)),
                ("drop", tnn.Dropout(0.5)),
                ("fc2", tnn.Linear(32, 10)),
            ]
        )
    )
    ours.conv2.freeze()
    for p in twin.conv2.parameters():
        p.requires_grad_(False)

    s = summary(ours, (2, 1, 28, 28))
    assert s.total_params == sum(p.numel() for p in twin.parameters())
    assert s.trainable_params == sum(p.numel() for p in twin.parameters() if p.requires_grad)
    assert s.frozen_params == sum(p.numel() for p in twin.parameters() if not p.requires_grad)

    shapes = {}
    handles = [
        m.register_forward_hook(lambda m, a, out, name=name: shapes.__setitem__(name, out.shape))
        for name, m in twin.named_modules()
    ]
    twin.eval()
    with torch.no_grad():
        twin(torch.zeros(2, 1, 28, 28))
    for h in handles:
        h.remove()
    twin_modules = dict(twin.named_modules())
    for row in s.rows:
        assert row.params == sum(
            p.numel() for p in twin_modules[row.name].parameters(recurse=False)
        )
        assert row.output_shape == tuple(shapes[row.name]), row.name


def test_lstm_counts_match_torch():
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    model = models.RowLSTM(hidden_size=32, num_layers=2)
    twin_lstm = torch.nn.LSTM(28, 32, num_layers=2, batch_first=True)
    twin_head = torch.nn.Linear(32, 10)
    s = summary(model, IMAGE)
    assert _row(s, "lstm").params == sum(p.numel() for p in twin_lstm.parameters())
    assert s.total_params == _row(s, "lstm").params + sum(p.numel() for p in twin_head.parameters())
    out, (h, c) = twin_lstm(torch.zeros(1, 28, 28))
    assert _row(s, "lstm").output_shape == [tuple(out.shape), [tuple(h.shape), tuple(c.shape)]]


def test_blame_goes_to_the_layer_that_failed_not_one_whose_error_was_caught():
    class Fallback(nn.Module):
        def __init__(self):
            super().__init__()
            self.strict = nn.Linear(5, 2)
            self.loose = nn.Linear(4, 2)
            self.last = nn.Linear(3, 1)

        def forward(self, x):
            try:
                y = self.strict(x)
            except ValueError:
                y = self.loose(x)
            return self.last(y)  # (N, 2) into Linear(3, 1): fails here

    with pytest.raises(ValueError, match=r"in \(last\): Linear: "):
        summary(Fallback(), (1, 4))
