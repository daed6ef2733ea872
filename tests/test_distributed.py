"""zerograd.distributed: sharding, DistributedDataParallel, SyncBatchNorm, failing ranks, the
threads of each process, the CLI.

The MPI tests run ``mpiexec -n 2`` on tests/distributed_worker.py (or on ``zerograd train
--distributed``) in a subprocess with a timeout, and compare with the same training in this
process, a world of one. They skip, saying why, when mpi4py or mpiexec is missing
(``pip install "zerograd[mpi]"`` provides both).
"""

import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import zerograd as zg
from zerograd import distributed, nn
from zerograd.data import DataLoader, TensorDataset
from zerograd.distributed import DistributedDataParallel, DistributedLoader, SyncBatchNorm
from zerograd.distributed import threads as thread_settings
from zerograd.distributed.threads import THREAD_VARS
from zerograd.io import load
from zerograd.train import fit

HERE = Path(__file__).resolve().parent
WORKER = HERE / "distributed_worker.py"
TIMEOUT = 120  # seconds; a run takes about one on an idle machine


def _mpiexec():
    """The mpiexec next to this Python (the mpich wheel puts it there), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _why_no_mpi():
    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed: pip install "zerograd[mpi]" to run the distributed tests'
    if _mpiexec() is None:
        return 'no mpiexec found: pip install "zerograd[mpi]" (the mpich wheel brings one)'
    return None


NEEDS_THREADPOOLCTL = 'needs threadpoolctl: pip install "zerograd[mpi]"'
needs_mpi = pytest.mark.skipif(_why_no_mpi() is not None, reason=str(_why_no_mpi()))


def run(args, cwd=None, ranks=2, threads="1"):
    """(returncode, stdout, stderr, seconds) of ``mpiexec -n ranks ARGS``, or of ``ARGS`` alone
    with ``ranks=None``; fails the test if it hangs past TIMEOUT. ``threads`` is the
    OPENBLAS_NUM_THREADS and OMP_NUM_THREADS of the child, None to remove them (and
    MKL_NUM_THREADS) from its environment."""
    if threads is None:
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    else:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
    cmd = [sys.executable, *args] if ranks is None else [_mpiexec(), "-n", str(ranks)]
    if ranks is not None:
        cmd += [sys.executable, *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a hung job can be ended whole
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} hung for {TIMEOUT} s.\nstdout:\n{out}\nstderr:\n{err}")
    return proc.returncode, out, err, time.perf_counter() - start


@pytest.fixture
def float64():
    zg.set_default_dtype(zg.float64)
    yield
    zg.set_default_dtype(zg.float32)


def reference(case, **kw):
    """The worker's training in this process: a world of one, the same global batches."""
    import distributed_worker as worker

    with contextlib.redirect_stdout(io.StringIO()):
        return worker.train(case, **kw)


# --- without MPI ------------------------------------------------------------------------------


def test_importing_zerograd_does_not_import_mpi4py():
    code = "import sys, zerograd, zerograd.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_init_without_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `from mpi4py import MPI` fail
    with pytest.raises(ImportError, match=r'pip install "zerograd\[mpi\]"'):
        distributed.init()
    assert not distributed.is_initialized()


def test_cli_distributed_without_mpi4py_says_what_to_install(monkeypatch, tmp_path, capsys):
    from zerograd.cli import main

    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "--sample", "--distributed", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(r"^zerograd train: --distributed: .*zerograd\[mpi\]", err[0])
    assert not (tmp_path / "run").exists()


def test_init_threads_must_be_a_positive_int():
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="threads must be None .* or a positive int"):
            distributed.init(threads=bad)
    assert not distributed.is_initialized()


def test_init_threads_without_threadpoolctl_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with pytest.raises(ImportError, match=r"threads=2\) needs threadpoolctl.*zerograd\[mpi\]"):
        distributed.init(threads=2)
    assert not distributed.is_initialized()  # refused before joining MPI


class FakeLimits:
    """Stands in for threadpoolctl.threadpool_limits: records the limits instead of setting
    this process's pools."""

    calls = []

    def __init__(self, limits=None, user_api=None):
        self.calls.append((limits, user_api))


@pytest.fixture
def fake_limits(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl", reason=NEEDS_THREADPOOLCTL)
    FakeLimits.calls = []
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", FakeLimits)
    monkeypatch.setattr(thread_settings, "_limiter", None)
    return FakeLimits.calls


def test_threads_default_to_the_share_of_the_cores_on_the_node(fake_limits):
    cores = thread_settings.available_cores()
    thread_settings.configure(None, ranks_on_node=2, first_on_node=True, environ={})
    thread_settings.configure(None, ranks_on_node=cores + 1, first_on_node=True, environ={})
    thread_settings.configure(3, ranks_on_node=2, first_on_node=True, environ={})
    assert fake_limits == [(max(1, cores // 2), None), (1, None), (3, None)]


@pytest.mark.parametrize("name", THREAD_VARS)
def test_threads_set_in_the_environment_are_left_alone(fake_limits, name):
    environ = {name: "3"}
    thread_settings.configure(None, ranks_on_node=2, first_on_node=True, environ=environ)
    assert fake_limits == []
    thread_settings.configure(2, ranks_on_node=2, first_on_node=True, environ=environ)
    assert fake_limits == [(2, None)]  # an explicit init(threads=2) wins
    assert thread_settings.user_thread_vars({name: " "}) == []  # empty means unset


def test_threads_without_threadpoolctl_warn_once_per_node(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    cores = thread_settings.available_cores()
    for first_on_node, ranks_on_node in [(True, 2), (False, 2), (True, 1)]:
        got = thread_settings.configure(None, ranks_on_node, first_on_node, environ={})
        assert got is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # the node's first rank, and only with company
    assert "threadpoolctl is missing" in err and 'pip install "zerograd[mpi]"' in err
    assert f"OPENBLAS_NUM_THREADS={max(1, cores // 2)}" in err


def test_a_world_of_one_before_init():
    assert (distributed.get_rank(), distributed.get_world_size()) == (0, 1)
    assert distributed.is_main_process()
    a = np.arange(3.0)
    assert distributed.all_reduce(a) is a and a.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="op must be one of"):
        distributed.all_reduce(a, op="mean")


def _ranks_batches(n, batch_size, num_replicas, epoch=1, drop_last=False, seed=3):
    ds = TensorDataset(np.zeros((n, 1), np.float32), np.arange(n))
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=drop_last)
    per_rank = []
    for rank in range(num_replicas):
        shards = DistributedLoader(loader, num_replicas, rank, seed=seed)
        shards.set_epoch(epoch)
        per_rank.append([y.tolist() for _, y in shards])
    return per_rank


@pytest.mark.parametrize(
    "n, batch_size, num_replicas, drop_last",
    [(50, 7, 2, False), (100, 10, 3, False), (23, 4, 4, False), (23, 5, 3, True)],
)
def test_shards_of_each_step_make_up_the_single_process_batch(
    n, batch_size, num_replicas, drop_last
):
    (single,) = _ranks_batches(n, batch_size, 1, drop_last=drop_last)
    per_rank = _ranks_batches(n, batch_size, num_replicas, drop_last=drop_last)
    assert all(len(batches) == len(single) for batches in per_rank)
    for step, batch in enumerate(single):
        shards = [batches[step] for batches in per_rank]
        assert sum(shards, []) == batch  # in order: rank 0's samples first
        sizes = [len(s) for s in shards]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
        assert sizes[0] > 0
    if not drop_last:
        assert sorted(sum(single, [])) == list(range(n))


def test_the_order_depends_on_seed_and_epoch_only():
    a = _ranks_batches(30, 6, 2, epoch=1)
    assert _ranks_batches(30, 6, 2, epoch=1) == a
    assert _ranks_batches(30, 6, 2, epoch=2) != a
    assert _ranks_batches(30, 6, 2, epoch=1, seed=4) != a
    ds = TensorDataset(np.zeros((30, 1), np.float32), np.arange(30))
    shards = DistributedLoader(DataLoader(ds, batch_size=6, shuffle=True), 2, 0, seed=3)
    first, second = ([y.tolist() for _, y in shards] for _ in range(2))
    assert first != second  # without set_epoch each pass counts the epoch up
    shards.set_epoch(0)
    assert [y.tolist() for _, y in shards] == first


def test_an_empty_shard_keeps_the_batch_structure():
    ds = TensorDataset(np.ones((5, 3), np.float32), np.arange(5))
    loader = DataLoader(ds, batch_size=4)
    shards = DistributedLoader(loader, num_replicas=2, rank=1, seed=0)
    assert shards.has_empty_shards and len(shards) == 2
    (x1, y1), (x2, y2) = shards
    assert x1.shape == (2, 3) and y1.tolist() == [2, 3]
    assert x2.shape == (0, 3) and x2.dtype == np.float32 and y2.dtype == np.int64
    assert not DistributedLoader(loader, num_replicas=1, rank=0, seed=0).has_empty_shards


def test_distributed_loader_errors():
    loader = DataLoader(TensorDataset(np.zeros((8, 1), np.float32)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size 2 is smaller than the 3 ranks"):
        DistributedLoader(loader, num_replicas=3, rank=0)
    with pytest.raises(ValueError, match=r"rank must be in \[0, 1\], got 2"):
        DistributedLoader(loader, num_replicas=2, rank=2)
    with pytest.raises(TypeError, match="expected a zerograd DataLoader"):
        DistributedLoader([(1, 2)], num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        DistributedLoader(loader, num_replicas=1, rank=0, seed=-1)


def test_data_parallel_needs_init():
    with pytest.raises(RuntimeError, match=r"call zerograd.distributed.init\(\) first"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_fit_refuses_shards_without_data_parallel():
    ds = TensorDataset(np.zeros((8, 2), np.float32), np.zeros(8, np.int64))
    shards = DistributedLoader(DataLoader(ds, batch_size=4), num_replicas=2, rank=0, seed=0)
    net = nn.Linear(2, 2)
    opt = zg.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="not wrapped in DistributedDataParallel"):
        fit(net, nn.CrossEntropyLoss(), opt, shards, progress=False)


def test_sync_batchnorm_in_a_world_of_one_is_batchnorm():
    zg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, momentum=None), nn.ReLU())
    plain = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4, momentum=None), nn.ReLU())
    plain.load_state_dict(net.state_dict())
    weight = net[1].weight
    synced = SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(synced[1], SyncBatchNorm) and synced[1].weight is weight
    assert list(synced.state_dict()) == list(plain.state_dict())
    x = zg.randn(5, 2, 6, 6)
    a, b = synced(x), plain(x)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6)
    np.testing.assert_allclose(synced[1].running_var.data, plain[1].running_var.data)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4, \*\)"):
        synced[1](zg.randn(5, 3))


# --- under mpiexec -n 2 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The worker's training cases, once, on 2 ranks: (output folder, stdout)."""
    out = tmp_path_factory.mktemp("distributed")
    code, stdout, stderr, _ = run([str(WORKER), "train", str(out)])
    assert code == 0, f"mpiexec -n 2 {WORKER.name} failed:\n{stdout}\n{stderr}"
    return out, stdout


def result(trained, case):
    data = np.load(trained[0] / f"{case}.npz")
    assert int(data["world_size"]) == 2, (
        "mpiexec started worlds of one: it belongs to another MPI library than mpi4py's."
    )
    return data


@needs_mpi
@pytest.mark.parametrize("case", ["mlp-momentum", "mlp-adam", "syncbn-momentum", "cnn-syncbn-adam"])
def test_two_ranks_train_as_one_process_on_the_global_batch(trained, case, float64):
    got = result(trained, case)
    net, _, history, _, evaluation = reference(case)
    assert float(got["rank_gap"]) == 0.0  # the replicas are identical
    for key, value in net.state_dict().items():  # weights and running statistics
        np.testing.assert_allclose(got[f"w.{key}"], value.data, rtol=1e-6, atol=1e-9, err_msg=key)
    np.testing.assert_allclose(got["losses"], history["loss"], rtol=1e-9)
    np.testing.assert_allclose(float(got["eval_loss"]), evaluation["loss"], rtol=1e-9)
    assert float(got["eval_accuracy"]) == evaluation["accuracy"]


@needs_mpi
def test_plain_batchnorm_statistics_are_averaged_at_evaluation(trained):
    got = result(trained, "bn-momentum")
    assert float(got["rank_gap"]) == 0.0
    for key in ("1.running_mean", "1.running_var"):
        before, after = got[f"before.{key}"], got[f"after.{key}"]
        assert np.abs(before[0] - before[1]).max() > 1e-3  # each rank's shard differed
        np.testing.assert_allclose(after[0], before.mean(axis=0), rtol=1e-12)
        np.testing.assert_array_equal(after[0], after[1])


@needs_mpi
def test_only_rank_0_prints_and_writes_checkpoints(trained):
    out, stdout = trained
    import distributed_worker as worker

    for case in worker.CASES:
        assert result(trained, case)["checkpoint_ran"].tolist() == [True, False]
        assert (out / f"{case}-ckpt" / "last.safetensors").exists()
    epoch_lines = [line for line in stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 * len(worker.CASES), stdout


@needs_mpi
def test_a_two_rank_checkpoint_resumes_in_one_process(trained, float64):
    ckpt = trained[0] / "mlp-momentum-ckpt" / "last.safetensors"
    resumed, *_ = reference("mlp-momentum", epochs=3, start_epoch=2, resume=ckpt)
    straight, *_ = reference("mlp-momentum", epochs=3)
    for key, value in straight.state_dict().items():
        np.testing.assert_allclose(resumed.state_dict()[key].data, value.data, rtol=1e-6)


@needs_mpi
@pytest.mark.parametrize(
    "how, message",
    [
        ("fail", "RuntimeError: rank 1 fails on purpose at batch 3"),
        ("exit", "rank 1: exited: rank 1 found no data files"),
    ],
)
def test_a_failing_rank_ends_the_job_with_its_error(how, message):
    code, stdout, stderr, _ = run([str(WORKER), how])
    assert code != 0
    assert message in stderr, stderr
    if how == "fail":
        assert "rank 1 of 2 failed; aborting every rank" in stderr
    # a hang would have failed inside run() at TIMEOUT: reaching here means the job ended


@needs_mpi
def test_cli_distributed_on_the_sample_matches_one_process(tmp_path):
    args = ["-m", "zerograd.cli", "train", "--sample", "--epochs", "1", "--no-progress"]
    args += ["--distributed"]
    code, stdout, stderr, _ = run([*args, "--out", str(tmp_path / "two")], cwd=tmp_path)
    assert code == 0, stdout + stderr
    assert stdout.count("Training mlp") == 1 and "on 2 processes" in stdout
    assert stdout.count("Test accuracy") == 1
    # the same command without mpiexec is a world of one
    code, stdout, stderr, _ = run([*args, "--out", str(tmp_path / "one")], cwd=tmp_path, ranks=None)
    assert code == 0, stdout + stderr
    one, two = tmp_path / "one", tmp_path / "two"
    for name in ("model.safetensors", "last.safetensors", "config.json", "results.json"):
        assert (two / name).exists(), name
    assert json.loads((two / "results.json").read_text())["world_size"] == 2
    assert json.loads((two / "config.json").read_text())["distributed"] is True
    a, b = load(one / "model.safetensors"), load(two / "model.safetensors")
    for key in a:  # float32: the sums over 2 ranks round differently
        np.testing.assert_allclose(b[key].data, a[key].data, atol=1e-5, err_msg=key)
    ra, rb = (json.loads((d / "results.json").read_text()) for d in (one, two))
    assert abs(ra["test_accuracy"] - rb["test_accuracy"]) <= 0.002
    assert abs(ra["test_loss"] - rb["test_loss"]) < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # nothing else written


def _ranks_threads(threads, arg=None):
    """Each rank's report from ``distributed_worker.py threads``: World fields, BLAS pools,
    cores."""
    pytest.importorskip("threadpoolctl", reason=NEEDS_THREADPOOLCTL)
    args = [str(WORKER), "threads", *([arg] if arg else [])]
    code, stdout, stderr, _ = run(args, threads=threads)
    assert code == 0, stdout + stderr
    (reports,) = [json.loads(line) for line in stdout.splitlines() if line.startswith("[")]
    assert sorted(r["rank"] for r in reports) == [0, 1], stdout
    assert all(r["world_size"] == 2 for r in reports), "mpiexec started worlds of one"
    return reports


@needs_mpi
def test_two_ranks_share_the_cores_when_no_thread_variable_is_set():
    for report in _ranks_threads(threads=None):
        share = max(1, report["cores"] // 2)
        assert report["blas"] and all(n == share for n in report["blas"]), report
        assert report["threads"] == share


@needs_mpi
def test_two_ranks_keep_the_users_openblas_num_threads():
    cores = thread_settings.available_cores()
    if cores < 2:
        pytest.skip("one core: the user's 1 thread and the automatic share are the same")
    for report in _ranks_threads(threads=str(cores)):  # more than the share, cores // 2
        assert report["blas"] == [cores] and report["threads"] == cores, report


@needs_mpi
def test_init_threads_sets_the_pool_whatever_the_environment_says():
    for report in _ranks_threads(threads="1", arg="2"):
        assert report["blas"] == [2] and report["threads"] == 2, report
