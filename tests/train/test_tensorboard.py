"""The TensorBoard callback of ``fit``, read back by TensorBoard's own reader: per-step loss and
lr, per-epoch loss, accuracy and lr, weight and gradient histograms, the misclassified grid; a
resumed fit shows each step once."""

from __future__ import annotations

import io

import numpy as np
import pytest

import zerograd as zg
from zerograd import nn, optim
from zerograd.data import DataLoader, TensorDataset
from zerograd.optim import lr_scheduler
from zerograd.train import Callback, LRSchedulerCallback, fit
from zerograd.train.tensorboard import TensorBoard, image_grid, misclassified

NEEDS_WRITER = 'needs tensorboardX (the writer): pip install "zerograd[tensorboard]"'
NEEDS_READER = "needs tensorboard (TensorBoard's reader): pip install tensorboard"


@pytest.fixture(autouse=True)
def extras():
    pytest.importorskip("tensorboardX", reason=NEEDS_WRITER)
    pytest.importorskip("tensorboard", reason=NEEDS_READER)
    pytest.importorskip("PIL", reason='needs Pillow: pip install "zerograd[tensorboard]"')


def read(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    sizes = {k: 0 for k in ("scalars", "histograms", "images", "tensors")}
    return EventAccumulator(str(log_dir), size_guidance=sizes).Reload()


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


class Recorder(Callback):
    """What fit said at each step: the loss and the lr the step used."""

    order = -20

    def __init__(self):
        self.steps = []

    def on_batch_end(self, trainer, batch, logs):
        self.steps.append((logs["loss"], trainer.optimizer.param_groups[0]["lr"]))


def images(n=60, seed=0):
    """Grey 1x6x6 images with random labels of 3 classes: a model gets many wrong."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 6, 6), dtype=np.float32)
    y = rng.integers(0, 3, size=n)
    return TensorDataset(zg.Tensor(x), zg.Tensor(y))


def small_cnn():
    zg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))


def test_fit_logs_steps_epochs_histograms_and_misclassified_images(tmp_path):
    train, val = DataLoader(images(60), batch_size=20), DataLoader(images(30, 1), batch_size=16)
    model = small_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    schedule = LRSchedulerCallback(lr_scheduler.StepLR(opt, step_size=2, gamma=0.5), "batch")
    record = Recorder()
    board = TensorBoard(tmp_path, val_loader=val, max_images=5)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, val_loader=val,
                  callbacks=[schedule, record, board], progress=False)  # fmt: skip
    acc = read(tmp_path)
    # per step: 3 steps an epoch, numbered 1..6; the lr each step used (halved every 2 steps)
    assert [s for s, _ in scalars(acc, "step/loss")] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([v for _, v in scalars(acc, "step/loss")],
                               [loss for loss, _ in record.steps], rtol=1e-6)  # fmt: skip
    assert [v for _, v in scalars(acc, "step/lr")] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025,
                                                                     0.025])  # fmt: skip
    # per epoch, at the epoch's last step: fit's own numbers
    for tag, key in (("loss/train", "loss"), ("accuracy/train", "accuracy"),
                     ("loss/val", "val_loss"), ("accuracy/val", "val_accuracy"), ("lr", "lr"),
                     ("epoch", "epoch")):  # fmt: skip
        got = scalars(acc, tag)
        assert [s for s, _ in got] == [3, 6], tag
        np.testing.assert_allclose([v for _, v in got], history[key], rtol=1e-6, err_msg=tag)
    # histograms: every parameter's weights and last gradients, these values at the last epoch
    names = [name for name, _ in model.named_parameters()]
    assert sorted(acc.Tags()["histograms"]) == sorted(
        [f"weights/{n}" for n in names] + [f"gradients/{n}" for n in names]
    )
    for name, p in model.named_parameters():
        [_, last] = acc.Histograms(f"weights/{name}")
        h, v = last.histogram_value, p.data.astype(np.float64)
        assert last.step == 6
        np.testing.assert_allclose([h.min, h.max, h.num], [v.min(), v.max(), v.size])
        np.testing.assert_allclose(h.sum, v.sum(), rtol=1e-9, atol=1e-12)
        g = acc.Histograms(f"gradients/{name}")[-1].histogram_value
        np.testing.assert_allclose([g.min, g.max], [p.grad.data.min(), p.grad.data.max()])
    # the misclassified grid: the model as it ended epoch 2, so as it is now
    wrong, targets, predicted = misclassified(model, val, max_images=5)
    assert len(wrong) == 5
    [first, last] = acc.Images("misclassified/val")
    assert (first.step, last.step) == (3, 6)
    from PIL import Image

    got = np.asarray(Image.open(io.BytesIO(last.encoded_image_string)).convert("L"))
    want = (np.clip(image_grid(wrong)[0], 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, want)
    assert got.shape == (6 + 2 * 1 + 2, 5 * 8 + 2)  # one row of five 6x6 images, 2 px apart
    [_, table] = acc.Tensors("misclassified/val_labels")
    rows = table.tensor_proto.string_val[0].decode().splitlines()[2:]
    assert rows == [f"| {i} | {t} | {p} |" for i, (t, p) in enumerate(zip(targets, predicted))]
    assert all(t != p for t, p in zip(targets, predicted))


def test_not_images_means_no_grid_quietly(tmp_path):
    rng = np.random.default_rng(0)
    data = TensorDataset(zg.Tensor(rng.random((40, 5), dtype=np.float32)),
                         zg.Tensor(rng.integers(0, 2, size=40)))  # fmt: skip
    loader = DataLoader(data, batch_size=10)
    model = nn.Linear(5, 2)
    board = TensorBoard(tmp_path, val_loader=loader, histograms=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader,
        val_loader=loader, callbacks=[board], progress=False)  # fmt: skip
    acc = read(tmp_path)
    assert acc.Tags()["images"] == [] and acc.Tags()["histograms"] == []
    assert scalars(acc, "accuracy/val")[0][0] == 4
    assert misclassified(model, loader) is None


def test_a_resumed_fit_shows_each_step_once(tmp_path):
    train = DataLoader(images(40), batch_size=20)

    def run(epochs, start_epoch, lr):
        model = small_cnn()
        opt = optim.SGD(model.parameters(), lr=lr)
        fit(model, nn.CrossEntropyLoss(), opt, train, epochs=epochs, start_epoch=start_epoch,
            callbacks=[TensorBoard(tmp_path, histograms=False)], progress=False)  # fmt: skip

    run(3, 0, 0.1)  # a first run logged 3 epochs but its checkpoint holds epoch 1 ...
    run(4, 1, 0.2)  # ... so it resumes there, with another lr to tell the two apart
    acc = read(tmp_path)
    lrs = scalars(acc, "step/lr")
    assert [s for s, _ in lrs] == list(range(1, 9))
    np.testing.assert_allclose([v for _, v in lrs], [0.1] * 2 + [0.2] * 6, rtol=1e-7)
    assert [s for s, _ in scalars(acc, "epoch")] == [2, 4, 6, 8]
    assert [v for _, v in scalars(acc, "epoch")] == [1, 2, 3, 4]


def test_a_writer_given_is_used_and_left_open(tmp_path):
    from zerograd.utils.tensorboard import SummaryWriter

    train = DataLoader(images(20), batch_size=10)
    model = small_cnn()
    with SummaryWriter(tmp_path) as writer:
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train,
            callbacks=[TensorBoard(writer=writer, log_every=2)], progress=False)  # fmt: skip
        writer.add_scalar("after", 1.0, 3)
    acc = read(tmp_path)
    assert [s for s, _ in scalars(acc, "step/loss")] == [2]
    assert scalars(acc, "after") == [(3, 1.0)]


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="log_every must be an int >= 1, got 0"):
        TensorBoard(log_every=0)
    with pytest.raises(ValueError, match="max_images must be an int >= 0, got -1"):
        TensorBoard(max_images=-1)
