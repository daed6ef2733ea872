"""zerograd.utils.tensorboard.SummaryWriter, read back by TensorBoard's own reader
(``EventAccumulator``): scalars, histograms, images, text and hyper-parameters, values checked.
Without the extras these skip, saying what to install; the import error itself is checked always."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import zerograd as zg

NEEDS_WRITER = 'needs tensorboardX (the writer): pip install "zerograd[tensorboard]"'
NEEDS_READER = "needs tensorboard (TensorBoard's reader): pip install tensorboard"
NEEDS_PIL = 'needs Pillow to decode the images: pip install "zerograd[tensorboard]"'


@pytest.fixture
def SummaryWriter():
    pytest.importorskip("tensorboardX", reason=NEEDS_WRITER)
    from zerograd.utils.tensorboard import SummaryWriter

    return SummaryWriter


def read(log_dir):
    """TensorBoard's reader over ``log_dir``, every event kept (no sampling)."""
    ea = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator", reason=NEEDS_READER
    )
    acc = ea.EventAccumulator(
        str(log_dir), size_guidance={k: 0 for k in ("scalars", "histograms", "images", "tensors")}
    )
    return acc.Reload()


def pixels(image_event) -> np.ndarray:
    """An image event's PNG, decoded: (H, W, 3) uint8."""
    Image = pytest.importorskip("PIL.Image", reason=NEEDS_PIL)
    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)).convert("RGB"))


def steps_values(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


# --- without the extra ------------------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_without_tensorboardx_is_one_line_with_the_install_hint():
    code = (
        "import sys\n"
        "sys.modules['tensorboardX'] = None  # as if not installed\n"
        "try:\n"
        "    import zerograd.utils.tensorboard\n"
        "except ImportError as e:\n"
        "    print(repr(e))\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip()
    assert "\n" not in line
    assert "tensorboardX" in line and 'pip install "zerograd[tensorboard]"' in line


def test_zerograd_and_its_training_import_without_the_writer():
    code = (
        "import sys\n"
        "import zerograd, zerograd.cli, zerograd.train, zerograd.utils\n"
        "import zerograd.train.tensorboard\n"
        "print(sorted(m for m in ('tensorboardX', 'tensorboard') if m in sys.modules))\n"
    )
    r = _python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# --- scalars ----------------------------------------------------------------------------------


def test_scalars_from_tensors_arrays_and_numbers(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss/train", zg.tensor(0.5), global_step=1)
        w.add_scalar("loss/train", np.float32(0.25), global_step=2)
        w.add_scalar("loss/train", np.array([0.125]), global_step=zg.tensor(3))
        w.add_scalar("loss/train", 2, global_step=4, walltime=1_700_000_000.5)
        w.add_scalar("lr", zg.tensor([[0.1]], dtype="float64"), global_step=7)
    acc = read(tmp_path)
    assert steps_values(acc, "loss/train") == [(1, 0.5), (2, 0.25), (3, 0.125), (4, 2.0)]
    assert acc.Scalars("loss/train")[3].wall_time == 1_700_000_000.5
    [(step, lr)] = steps_values(acc, "lr")
    assert step == 7 and lr == pytest.approx(0.1, rel=1e-7)  # stored as float32


def test_add_scalars_puts_each_curve_in_a_run_of_its_own(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss", {"train": 1.0 / (step + 1), "val": zg.tensor(2.0 + step)}, step)
        w.add_scalars("a/b", {"c": 1.0}, 0)
    train, val = read(tmp_path / "loss_train"), read(tmp_path / "loss_val")
    assert steps_values(read(tmp_path / "a_b_c"), "a/b") == [(0, 1.0)]
    assert steps_values(train, "loss") == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert steps_values(val, "loss") == [(0, 2.0), (1, 3.0), (2, 4.0)]


def test_a_scalar_must_be_one_number(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(
            ValueError, match=r"add_scalar: scalar_value must be one number.*\(3,\)"
        ):
            w.add_scalar("x", zg.tensor([1.0, 2.0, 3.0]), 0)
        with pytest.raises(ValueError, match="global_step must be a whole number, got 1.5"):
            w.add_scalar("x", 1.0, 1.5)
        with pytest.raises(TypeError, match="expected a Tensor, a NumPy array or a number"):
            w.add_histogram("h", object(), 0)


# --- histograms -------------------------------------------------------------------------------


@pytest.mark.parametrize("bins", ["tensorflow", "auto", 7])
def test_histograms_hold_the_values_statistics_and_counts(SummaryWriter, tmp_path, bins):
    values = np.random.default_rng(0).normal(size=(40, 25)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights/fc1.weight", zg.Tensor(values), global_step=3, bins=bins)
        w.add_histogram("weights/fc1.weight", values * 2, global_step=4, bins=bins)
    events = read(tmp_path).Histograms("weights/fc1.weight")
    assert [e.step for e in events] == [3, 4]
    for e, v in zip(events, [values, values * 2]):
        h, v = e.histogram_value, v.astype(np.float64).ravel()
        np.testing.assert_allclose([h.min, h.max, h.num], [v.min(), v.max(), v.size])
        np.testing.assert_allclose([h.sum, h.sum_squares], [v.sum(), v @ v], rtol=1e-12)
        assert sum(h.bucket) == v.size
        assert h.bucket_limit[-1] >= v.max()
        if bins == 7:  # numpy's own bins: the counts are numpy.histogram's
            counts, edges = np.histogram(v, bins=7)
            # TensorBoard keeps right edges only: an empty bucket ends at the leftmost edge
            np.testing.assert_allclose(h.bucket_limit, edges)
            assert list(h.bucket) == [0, *counts.tolist()]


def test_empty_histogram_is_refused(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match=r"add_histogram\(tag='h'"):
        w.add_histogram("h", np.zeros(0), 0)


# --- images -----------------------------------------------------------------------------------


def test_images_in_every_layout_decode_to_the_same_pixels(SummaryWriter, tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, size=(3, 5, 7), dtype=np.uint8)  # CHW
    grey = np.array([[0.0, 0.5, 1.0], [1.0, 0.25, 0.0]], dtype=np.float32)  # HW, in [0, 1]
    with SummaryWriter(tmp_path) as w:
        w.add_image("rgb/chw", zg.Tensor(rgb), 1)
        w.add_image("rgb/hwc", rgb.transpose(1, 2, 0), 1, dataformats="HWC")
        w.add_image("grey/hw", grey, 2, dataformats="HW")
        w.add_image("grey/chw", zg.Tensor(grey[None] * 3 - 1), 2)  # out of [0, 1]: clipped
    acc = read(tmp_path)
    expected = rgb.transpose(1, 2, 0)
    for tag in ("rgb/chw", "rgb/hwc"):
        [e] = acc.Images(tag)
        assert (e.step, e.width, e.height) == (1, 7, 5)
        np.testing.assert_array_equal(pixels(e), expected)
    [e] = acc.Images("grey/hw")
    got = pixels(e)
    assert got.shape == (2, 3, 3) and (got == got[..., :1]).all()  # grey in all three channels
    np.testing.assert_array_equal(got[..., 0], (grey * 255).astype(np.uint8))
    [e] = acc.Images("grey/chw")
    np.testing.assert_array_equal(pixels(e)[..., 0], [[0, 127, 255], [255, 0, 0]])


def test_add_images_makes_one_grid(SummaryWriter, tmp_path):
    batch = np.zeros((3, 1, 4, 6), dtype=np.float32)
    for i in range(3):
        batch[i, 0, :, i] = 1.0  # image i: column i white
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", zg.Tensor(batch), 5)
        w.add_images("batch_nhwc", batch.transpose(0, 2, 3, 1), 5, dataformats="NHWC")
    acc = read(tmp_path)
    for tag in ("batch", "batch_nhwc"):
        [e] = acc.Images(tag)
        got = pixels(e)[..., 0]
        assert got.shape == (4, 18)  # the three side by side
        np.testing.assert_array_equal(got, np.concatenate(list(batch[:, 0]), axis=1) * 255)


def test_image_arguments_are_checked(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=r"shape \(5, 7\) \(2 axes\).*'CHW'"):
            w.add_image("x", np.zeros((5, 7)), 0)
        with pytest.raises(ValueError, match="1, 3 or 4 channels, got 2"):
            w.add_image("x", np.zeros((2, 5, 7)), 0)
        with pytest.raises(ValueError, match="one of NCHW, NHWC, NHW, got 'CHW'"):
            w.add_images("x", np.zeros((1, 5, 7)), 0, dataformats="CHW")


# --- text and hyper-parameters ----------------------------------------------------------------


def test_text_keeps_its_tag_and_markdown(SummaryWriter, tmp_path):
    notes = "lr **0.1**, batch 100\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", notes, 0)
        w.add_text("notes", "second", 1)
    acc = read(tmp_path)
    assert acc.Tags()["tensors"] == ["notes"]  # PyTorch's tag, no "/text_summary"
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"
    got = [(e.step, e.tensor_proto.string_val[0].decode()) for e in acc.Tensors("notes")]
    assert got == [(0, notes), (1, "second")]


def test_hparams_are_what_the_hparams_tab_reads(SummaryWriter, tmp_path):
    pytest.importorskip("tensorboard", reason=NEEDS_READER)
    from tensorboard.plugins.hparams import plugin_data_pb2

    with SummaryWriter(tmp_path) as w:
        w.add_hparams(
            {"lr": 0.1, "optimizer": "sgd", "batch": zg.tensor(64), "nesterov": True},
            {"hparam/accuracy": zg.tensor(0.93), "hparam/loss": 0.21},
            hparam_domain_discrete={"optimizer": ["sgd", "adam"]},
            run_name="trial-1",
        )
    acc = read(tmp_path / "trial-1")
    content = acc.PluginTagToContent("hparams")
    assert set(content) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["lr"].number_value == 0.1
    assert start.hparams["optimizer"].string_value == "sgd"
    assert start.hparams["batch"].number_value == 64
    assert start.hparams["nesterov"].bool_value is True
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]
    ).experiment
    infos = {h.name: h for h in experiment.hparam_infos}
    assert set(infos) == {"lr", "optimizer", "batch", "nesterov"}
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["sgd", "adam"]
    assert {m.name.tag for m in experiment.metric_infos} == {"hparam/accuracy", "hparam/loss"}
    assert steps_values(acc, "hparam/accuracy") == [(0, pytest.approx(0.93))]
    assert steps_values(acc, "hparam/loss") == [(0, pytest.approx(0.21))]


def test_hparams_values_are_checked(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(TypeError, match=r"hparam_dict\['layers'\] must be a bool, int"):
            w.add_hparams({"layers": [1, 2]}, {"acc": 1.0})
        with pytest.raises(ValueError, match="names 'momentum', which is not in hparam_dict"):
            w.add_hparams({"lr": 0.1}, {"acc": 1.0}, hparam_domain_discrete={"momentum": [0.9]})
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == []  # nothing written


# --- the writer itself ------------------------------------------------------------------------


def test_purge_step_hides_what_a_crashed_run_logged_after_its_checkpoint(SummaryWriter, tmp_path):
    with SummaryWriter(tmp_path) as w:  # logged up to step 10, checkpointed at 5, then crashed
        for step in range(1, 11):
            w.add_scalar("loss", float(step), step)
    with SummaryWriter(tmp_path, purge_step=6) as w:  # resumed from the checkpoint
        for step in range(6, 9):
            w.add_scalar("loss", 100.0 + step, step)
    got = steps_values(read(tmp_path), "loss")
    assert got == [(s, float(s)) for s in range(1, 6)] + [(s, 100.0 + s) for s in (6, 7, 8)]


def test_default_log_dir_is_pytorchs(SummaryWriter, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as w:
        w.add_scalar("x", 1.0, 0)
    parent, name = os.path.split(w.log_dir)
    assert parent == "runs" and name.endswith("_" + socket.gethostname() + "_lr0.1")
    assert w.get_logdir() == w.log_dir and repr(w) == f"SummaryWriter(log_dir={w.log_dir!r})"
    [(step, value)] = steps_values(read(tmp_path / w.log_dir), "x")
    assert (step, value) == (0, 1.0)


def test_flush_writes_before_close_and_close_twice_is_fine(SummaryWriter, tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=3600, max_queue=1000)
    w.add_scalar("x", 3.0, 1)
    w.flush()
    assert steps_values(read(tmp_path), "x") == [(1, 3.0)]
    w.close()
    w.close()


def test_log_dir_that_is_a_file_is_refused(SummaryWriter, tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match=r"log_dir .*f is a file"):
        SummaryWriter(tmp_path / "f")
