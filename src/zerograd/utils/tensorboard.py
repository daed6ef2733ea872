"""``SummaryWriter``: TensorBoard logging with ``torch.utils.tensorboard.SummaryWriter``'s names.

The same constructor, methods and arguments as PyTorch's, taking zerograd Tensors, NumPy arrays and
Python numbers. The event files (records, CRCs, protocol buffers) are written by tensorboardX, a
maintained writer that needs neither TensorFlow nor PyTorch; it is the optional extra
``pip install "zerograd[tensorboard]"``, and importing this module without it raises an
``ImportError`` saying so (as importing ``torch.utils.tensorboard`` without ``tensorboard`` does).
Open the logs with ``tensorboard --logdir runs`` (``pip install tensorboard``).

>>> import tempfile
>>> import numpy as np
>>> import zerograd as zg
>>> from zerograd.utils.tensorboard import SummaryWriter
>>> with SummaryWriter(tempfile.mkdtemp()) as writer:
...     for step in range(1, 4):
...         writer.add_scalar("loss/train", 1.0 / step, global_step=step)
...     writer.add_histogram("weights/fc", zg.randn(100), global_step=3)
...     writer.add_image("digit", np.zeros((1, 28, 28)), global_step=3)

Deliberate differences from PyTorch: ``add_scalar`` has no ``new_style`` or ``double_precision``
(scalars are written as TensorBoard's classic float summaries), and the methods PyTorch builds on
its own modules (``add_graph``, ``add_embedding``, ``add_mesh``, ...) are not here.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sys
import time
from datetime import datetime

import numpy as np

from ..autograd import Tensor

__all__ = ["SummaryWriter"]

INSTALL_HINT = (
    "zerograd.utils.tensorboard needs tensorboardX, which writes the event files: "
    'pip install "zerograd[tensorboard]"'
)


def _import_tensorboardx():
    # tensorboardX imports torch, when it is installed, for one type annotation: seconds of
    # start-up for nothing here (values reach it as NumPy arrays), so that import is turned away
    # while tensorboardX loads. A torch imported before is left as it is.
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None
    try:
        import tensorboardX
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return tensorboardX


try:
    _tbx = _import_tensorboardx()
except ModuleNotFoundError as e:
    if e.name != "tensorboardX":  # installed but broken: its own error says what is wrong
        raise
    raise ImportError(INSTALL_HINT) from None


def _array(value, who: str) -> np.ndarray:
    """``value`` (a Tensor, an array, a number or a nested list) as a NumPy array."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        a = None
    if a is None or a.dtype.kind == "O":
        raise TypeError(
            f"SummaryWriter.{who}: expected a Tensor, a NumPy array or a number, got "
            f"{type(value).__name__}."
        )
    return a


def _number(value, who: str, name: str):
    """A one-element ``value`` as a Python number (bool, int or float)."""
    if isinstance(value, (bool, int, float)):
        return value
    a = _array(value, who)
    if a.size != 1 or a.dtype.kind not in "biuf":
        raise ValueError(
            f"SummaryWriter.{who}: {name} must be one number, got an array of shape "
            f"{a.shape} and dtype {a.dtype}. Log one value (e.g. loss.item()), or use "
            "add_histogram for many."
        )
    return a.reshape(()).item()


def _step(global_step, who: str):
    if global_step is None:
        return None
    step = _number(global_step, who, "global_step")
    if isinstance(step, bool) or not float(step).is_integer():
        raise ValueError(f"SummaryWriter.{who}: global_step must be a whole number, got {step!r}.")
    return int(step)


_files = itertools.count()


def _unique_suffix(suffix: str) -> str:
    """``.PID.N`` + ``suffix``: tensorboardX names a file ``events.out.tfevents.TIME.HOST``, so two
    writers of one folder in one second (a run resumed at once) would write one file, the second
    erasing the first; PyTorch's names carry the process id and a counter, and so do these."""
    return f".{os.getpid()}.{next(_files):06d}{suffix}"  # padded: files sort by name


def _default_log_dir(comment: str) -> str:
    """``runs/Dec03_18-40-12_HOST`` + comment: PyTorch's default, a new folder per writer."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", stamp + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Write scalars, histograms, images, text and hyper-parameters to TensorBoard event files in
    ``log_dir``; ``torch.utils.tensorboard.SummaryWriter``'s twin.

    Parameters
    ----------
    log_dir : str or path, optional
        The folder of the event files (made if missing). Default ``runs/DATETIME_HOSTNAME`` +
        ``comment``, a new one per writer, as PyTorch does; ``tensorboard --logdir runs`` shows
        each as a run.
    comment : str
        Appended to the default ``log_dir``; ignored when ``log_dir`` is given.
    purge_step : int, optional
        A restarted job's first step: TensorBoard hides the events of this ``log_dir`` whose
        global step is ``purge_step`` or more that earlier writers logged, so a run resumed from a
        checkpoint shows each step once (pass the first step the resumed run will log).
    max_queue : int
        Events held in memory before ``add_*`` writes them out.
    flush_secs : float
        Seconds between writes of the held events to disk.
    filename_suffix : str
        Appended to the event file's name (``events.out.tfevents.TIME.HOST.PID.N`` + suffix).

    Every ``add_*`` takes ``global_step`` (the x-axis, a whole number) and ``walltime`` (seconds
    since the epoch; default now). Values may be zerograd Tensors, NumPy arrays or Python numbers.

    Examples
    --------
    >>> import tempfile
    >>> from zerograd.utils.tensorboard import SummaryWriter
    >>> writer = SummaryWriter(tempfile.mkdtemp(), flush_secs=10)
    >>> writer.add_scalars("loss", {"train": 0.31, "val": 0.35}, global_step=1)
    >>> writer.add_text("notes", "lr **0.1**, batch 100", global_step=0)
    >>> writer.close()
    """

    def __init__(
        self,
        log_dir=None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ):
        log_dir = os.fspath(log_dir) if log_dir else _default_log_dir(comment)
        if os.path.exists(log_dir) and not os.path.isdir(log_dir):
            raise ValueError(
                f"SummaryWriter: log_dir {log_dir} is a file, not a folder; pass a folder for "
                "the event files."
            )
        self.log_dir = log_dir
        self.purge_step = _step(purge_step, "__init__")
        self._options = dict(max_queue=max_queue, flush_secs=flush_secs)
        self._suffix = filename_suffix
        self._main = None
        self._file(log_dir, purge_step=self.purge_step)  # the folder and first file, as PyTorch
        self._runs = {}  # add_scalars' runs, one writer each

    def _file(self, run: str, purge_step=None):
        """The tensorboardX writer of the run ``run`` (``log_dir`` or one of add_scalars'),
        opened on first use and again after a flush."""
        if run == self.log_dir:
            if self._main is None:
                self._main = self._open(run, purge_step)
            return self._main
        if run not in self._runs:
            self._runs[run] = self._open(run)
        return self._runs[run]

    def _open(self, run: str, purge_step=None):
        suffix = _unique_suffix(self._suffix)
        return _tbx.SummaryWriter(
            logdir=run, purge_step=purge_step, filename_suffix=suffix, **self._options
        )

    def get_logdir(self) -> str:
        """The folder the event files go to (``log_dir``)."""
        return self.log_dir

    # --- values -------------------------------------------------------------------------------

    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None) -> None:
        """One number (a float, or a one-element Tensor or array) under ``tag`` at
        ``global_step``: one point of a curve in TensorBoard's Scalars tab."""
        value = float(_number(scalar_value, "add_scalar", "scalar_value"))
        self._file(self.log_dir).add_scalar(tag, value, _step(global_step, "add_scalar"), walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None):
        """Several numbers in one chart: each ``{name: value}`` goes to a run of its own,
        ``log_dir/MAIN_name`` (``MAIN`` is ``main_tag`` with ``/`` as ``_``), under the tag
        ``main_tag``, as in PyTorch."""
        values = {
            name: float(_number(v, "add_scalars", f"tag_scalar_dict[{name!r}]"))
            for name, v in tag_scalar_dict.items()
        }
        step = _step(global_step, "add_scalars")
        for name, value in values.items():
            run = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + name)
            self._file(run).add_scalar(main_tag, value, step, walltime)

    def add_histogram(
        self, tag: str, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None
    ) -> None:
        """The distribution of ``values`` (any shape, flattened): TensorBoard's Histograms and
        Distributions tabs. ``bins``: ``'tensorflow'`` (TensorFlow's exponential buckets, the
        default as in PyTorch) or anything ``numpy.histogram`` takes (``'auto'``, ``'fd'``, a
        count, the edges)."""
        a = _array(values, "add_histogram")
        if a.size == 0 or a.dtype.kind not in "biuf":
            raise ValueError(
                f"SummaryWriter.add_histogram(tag={tag!r}): values must be a non-empty array of "
                f"numbers, got shape {a.shape} and dtype {a.dtype}."
            )
        a = a.astype(np.float64).ravel()
        self._file(self.log_dir).add_histogram(
            tag, a, _step(global_step, "add_histogram"), bins, walltime, max_bins
        )

    def add_image(
        self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "CHW"
    ) -> None:
        """One image. ``dataformats`` names the axes: ``'CHW'`` (default), ``'HWC'``, ``'HW'``;
        1 (grey), 3 (RGB) or 4 (RGBA) channels. Floats are taken to lie in [0, 1] and uint8 in
        [0, 255], as in PyTorch (scale other values first)."""
        a = self._image(img_tensor, dataformats, "add_image", 3)
        self._file(self.log_dir).add_image(
            tag, a, _step(global_step, "add_image"), walltime, dataformats
        )

    def add_images(
        self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "NCHW"
    ) -> None:
        """A batch of images shown as one grid image; ``dataformats`` ``'NCHW'`` (default),
        ``'NHWC'``, ``'NHW'``. Values as in ``add_image``."""
        a = self._image(img_tensor, dataformats, "add_images", 4)
        self._file(self.log_dir).add_images(
            tag, a, _step(global_step, "add_images"), walltime, dataformats
        )

    @staticmethod
    def _image(img_tensor, dataformats: str, who: str, most: int) -> np.ndarray:
        a = _array(img_tensor, who)
        fmt = dataformats.upper() if isinstance(dataformats, str) else dataformats
        channels = "C" in fmt if isinstance(fmt, str) else False
        if (
            not isinstance(fmt, str)
            or sorted(fmt) != sorted(set(fmt))
            or not set(fmt) <= set("NCHW")
            or not {"H", "W"} <= set(fmt)
            or len(fmt) > most
            or (who == "add_images" and "N" not in fmt)
        ):
            allowed = "CHW, HWC, HW" if who == "add_image" else "NCHW, NHWC, NHW"
            raise ValueError(
                f"SummaryWriter.{who}: dataformats must name the image's axes, one of "
                f"{allowed}, got {dataformats!r}."
            )
        if a.ndim != len(fmt):
            raise ValueError(
                f"SummaryWriter.{who}: img_tensor has shape {a.shape} ({a.ndim} axes) but "
                f"dataformats {dataformats!r} names {len(fmt)}; pass the dataformats of the "
                "array (e.g. 'HWC' for height, width, channels)."
            )
        if channels and a.shape[fmt.index("C")] not in (1, 3, 4):
            raise ValueError(
                f"SummaryWriter.{who}: images must have 1, 3 or 4 channels, got "
                f"{a.shape[fmt.index('C')]} in shape {a.shape} ({dataformats})."
            )
        if a.dtype.kind == "b":
            a = a.astype(np.uint8) * 255
        elif a.dtype.kind in "iu" and a.dtype != np.uint8:
            a = a.astype(np.uint8) if a.size and 0 <= a.min() and a.max() <= 255 else a
        if a.dtype.kind not in "uf":
            raise ValueError(
                f"SummaryWriter.{who}: img_tensor must hold numbers, uint8 in [0, 255] or floats "
                f"in [0, 1], got dtype {a.dtype}."
            )
        return np.clip(a, 0, 1).astype(np.float32) if a.dtype.kind == "f" else a

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Text under ``tag``, shown as Markdown in TensorBoard's Text tab."""
        if not isinstance(text_string, str):
            raise TypeError(
                f"SummaryWriter.add_text(tag={tag!r}): text_string must be a str, got "
                f"{type(text_string).__name__}."
            )
        summary = _tbx.summary.text(tag, text_string)
        summary.value[0].tag = tag  # tensorboardX appends "/text_summary"; PyTorch keeps the tag
        step = _step(global_step, "add_text")
        self._file(self.log_dir)._get_file_writer().add_summary(summary, step, walltime)

    def add_hparams(
        self,
        hparam_dict: dict,
        metric_dict: dict,
        hparam_domain_discrete: dict | None = None,
        run_name: str | None = None,
        global_step=None,
    ) -> None:
        """One trial's hyper-parameters and the metrics it reached, for TensorBoard's HParams tab.

        As in PyTorch, they go to a run of their own, ``log_dir/run_name`` (default: the time
        now), with each metric also logged there as a scalar. Values of ``hparam_dict`` are bool,
        int, float, str or one-element Tensors; ``metric_dict``'s are numbers.
        ``hparam_domain_discrete`` ``{name: [all values it takes]}`` lists a discrete
        hyper-parameter's choices, so the HParams tab can filter on them.
        """
        who = "add_hparams"
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError(
                f"SummaryWriter.{who}: hparam_dict and metric_dict must be dicts, got "
                f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}."
            )
        hparams = {}
        for name, value in hparam_dict.items():
            if isinstance(value, (bool, int, float, str)):
                hparams[name] = value
            elif isinstance(value, (Tensor, np.ndarray, np.generic)):
                hparams[name] = _number(value, who, f"hparam_dict[{name!r}]")
            else:
                raise TypeError(
                    f"SummaryWriter.{who}: hparam_dict[{name!r}] must be a bool, int, float, "
                    f"str or one-element Tensor, got {type(value).__name__}; log it with "
                    "str(value) if it is a name."
                )
        metrics = {k: float(_number(v, who, f"metric_dict[{k!r}]")) for k, v in metric_dict.items()}
        experiment, start, end = _tbx.summary.hparams(hparams, metrics)
        if hparam_domain_discrete:
            _set_discrete_domains(experiment, hparams, hparam_domain_discrete)
        name = run_name if run_name else str(time.time())
        step = _step(global_step, who)
        run = os.path.join(self.log_dir, name)
        with self._open(run) as w:
            for summary in (experiment, start, end):
                w.file_writer.add_summary(summary)
            for tag, value in metrics.items():
                w.add_scalar(tag, value, step)

    # --- files --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every held event to disk now.

        tensorboardX's own flush leaves the events still queued for its writing thread, so this
        closes the files, which drains the queue; the next value opens a new event file in the
        same folder (TensorBoard reads a folder's files as one run)."""
        for w in (self._main, *self._runs.values()):
            if w is not None:
                w.close()
        self._main, self._runs = None, {}

    def close(self) -> None:
        """Flush and close the event files; a second close does nothing, and a value added after
        it goes to a new file, as in PyTorch."""
        self.flush()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"


def _set_discrete_domains(experiment, hparams: dict, domains: dict) -> None:
    """Add each ``domains[name]`` (the values a discrete hyper-parameter takes) to the HParams
    experiment summary tensorboardX made, as PyTorch's ``hparam_domain_discrete`` does."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    for name, values in domains.items():
        if name not in hparams:
            raise ValueError(
                f"SummaryWriter.add_hparams: hparam_domain_discrete names {name!r}, which is "
                f"not in hparam_dict ({', '.join(map(repr, hparams))})."
            )
        if not isinstance(values, (list, tuple)) or not all(
            isinstance(v, type(hparams[name])) for v in values
        ):
            raise TypeError(
                f"SummaryWriter.add_hparams: hparam_domain_discrete[{name!r}] must be a list of "
                f"values of the type of hparam_dict[{name!r}] "
                f"({type(hparams[name]).__name__}), got {values!r}."
            )
    metadata = experiment.value[0].metadata.plugin_data
    data = HParamsPluginData.FromString(metadata.content)
    for info in data.experiment.hparam_infos:
        if info.name in domains:
            # a JSON list is read by protobuf's ListValue as its values (bool, number, string)
            info.domain_discrete.extend(json.loads(json.dumps(list(domains[info.name]))))
    metadata.content = data.SerializeToString()
