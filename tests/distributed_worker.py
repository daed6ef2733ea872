"""What tests/test_distributed.py runs under ``mpiexec -n 2`` (and, for the references, in its
own process as a world of one).

    mpiexec -n 2 python tests/distributed_worker.py train OUT    # the training cases -> OUT/*.npz
    mpiexec -n 2 python tests/distributed_worker.py fail         # rank 1 raises inside fit
    mpiexec -n 2 python tests/distributed_worker.py exit         # rank 1 calls sys.exit
    mpiexec -n 2 python tests/distributed_worker.py threads [N]  # init(threads=N); JSON: each
                                                                 # rank's World and BLAS pools

Every case trains a small float64 model on one fixed data set with global batches of 7 samples,
so the two ranks' shards differ in size (4 and 3) and the last batch of 50 samples (1 sample)
leaves rank 1 without data.
"""

from __future__ import annotations

import io
import json
import os
import sys

import numpy as np

import zerograd as zg
from zerograd import distributed, nn, optim
from zerograd.data import DataLoader, TensorDataset
from zerograd.io import load_checkpoint
from zerograd.train import Callback, ModelCheckpoint, ProgressBar, evaluate, fit

SEED, BATCH, FEATURES, CLASSES = 7, 7, 6, 3
CASES = {  # name -> (model, optimizer, number of samples)
    "mlp-momentum": ("mlp", "momentum", 50),
    "mlp-adam": ("mlp", "adam", 50),
    "syncbn-momentum": ("syncbn", "momentum", 51),  # SyncBatchNorm needs data on every rank
    "cnn-syncbn-adam": ("cnn-syncbn", "adam", 51),  # BatchNorm2d over (N, C, H, W)
    "bn-momentum": ("bn", "momentum", 56),  # plain batch norm: 8 batches of 7, no lone sample
}


def data(n: int, seed: int = 0, images: bool = False):
    """Features (n, 6), or images (n, 1, 4, 4) whose first pixels are those features."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 16 if images else FEATURES))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return (x.reshape(n, 1, 4, 4) if images else x), y


def model(kind: str):
    """The same initial weights in every process (seeded); ``syncbn`` kinds have their batch
    norm converted to SyncBatchNorm (the single-process references keep plain BatchNorm)."""
    zg.manual_seed(0)
    if kind.startswith("cnn"):
        layers = [nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten()]
        layers.append(nn.Linear(3 * 2 * 2, CLASSES))
    else:
        layers = [nn.Linear(FEATURES, 16)]
        if kind in ("bn", "syncbn"):
            layers.append(nn.BatchNorm1d(16))
        layers += [nn.ReLU(), nn.Linear(16, CLASSES)]
    net = nn.Sequential(*layers)
    if kind.endswith("syncbn"):
        net = distributed.SyncBatchNorm.convert_sync_batchnorm(net)
    return net


def optimizer(name: str, net):
    if name == "momentum":
        return optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    return optim.Adam(net.parameters(), lr=0.01)


def loaders(n: int, images: bool = False):
    x, y = data(n, images=images)
    xv, yv = data(23, seed=1, images=images)
    train = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    val = DataLoader(TensorDataset(xv, yv), batch_size=BATCH)
    return (
        distributed.DistributedLoader(train, seed=SEED),
        distributed.DistributedLoader(val, seed=SEED),
    )


def train(case: str, epochs: int = 2, checkpoint_dir=None, start_epoch: int = 0, resume=None):
    """Train ``case``; distributed when ``init()`` ran in a world of more than one. Returns
    (inner model, history, callbacks, evaluation of the validation set)."""
    kind, opt_name, n = CASES[case]
    net = model(kind if distributed.get_world_size() > 1 else kind.replace("syncbn", "bn"))
    opt = optimizer(opt_name, net)
    if resume is not None:
        load_checkpoint(resume, net, opt)
    train_loader, val_loader = loaders(n, images=kind.startswith("cnn"))
    wrapped = net
    if distributed.get_world_size() > 1:
        wrapped = distributed.DistributedDataParallel(net)
    callbacks = [ProgressBar(file=sys.stdout, force_plain=True)]
    if checkpoint_dir is not None:
        callbacks.append(ModelCheckpoint(checkpoint_dir, monitor="loss", mode="min"))
    loss_fn = nn.CrossEntropyLoss()
    history = fit(
        wrapped,
        loss_fn,
        opt,
        train_loader,
        epochs=epochs,
        val_loader=val_loader,
        callbacks=callbacks,
        start_epoch=start_epoch,
    )
    return net, wrapped, history, callbacks, evaluate(wrapped, val_loader, loss_fn)


def weights(net) -> dict:
    return {k: v.data.copy() for k, v in net.state_dict().items()}


def run_training_cases(out: str) -> None:
    rank = distributed.get_rank()
    for case in CASES:
        ckpt = os.path.join(out, f"{case}-ckpt")
        net, wrapped, history, callbacks, result = train(case, checkpoint_dir=ckpt)
        ran_checkpoint = callbacks[1].best is not None  # its on_epoch_end ran on this rank
        everyone = distributed.all_gather_object((weights(net), ran_checkpoint))
        extra = {}
        if case == "bn-momentum":
            # each rank's running statistics follow its own shard: make them differ, then
            # check that evaluate() averages them
            zg.manual_seed(rank)
            net.train()
            net(zg.randn(5, FEATURES, dtype=zg.float64) * (rank + 1))
            before = distributed.all_gather_object(weights(net))
            result = evaluate(wrapped, loaders(56)[1], nn.CrossEntropyLoss())
            after = distributed.all_gather_object(weights(net))
            for key in ("1.running_mean", "1.running_var"):
                extra[f"before.{key}"] = np.stack([w[key] for w in before])
                extra[f"after.{key}"] = np.stack([w[key] for w in after])
        if rank == 0:
            rank_gap = max(
                float(np.abs(w[k] - everyone[0][0][k]).max()) for w, _ in everyone for k in w
            )
            np.savez(
                os.path.join(out, f"{case}.npz"),
                **{f"w.{k}": v for k, v in everyone[0][0].items()},
                **extra,
                rank_gap=rank_gap,
                world_size=distributed.get_world_size(),
                checkpoint_ran=np.array([c for _, c in everyone]),
                losses=np.array(history["loss"]),
                eval_loss=result["loss"],
                eval_accuracy=result["accuracy"],
            )


class FailOnRank1(Callback):
    def on_batch_end(self, trainer, batch, logs):
        if distributed.get_rank() == 1 and batch == 2:
            raise RuntimeError("rank 1 fails on purpose at batch 3")


def report_threads(argv) -> int:
    """``init(threads=argv[0] or None)``; rank 0 prints every rank's World and BLAS pools as a
    JSON list."""
    from threadpoolctl import threadpool_info

    world = distributed.init(threads=int(argv[0]) if argv else None)
    pools = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    reports = distributed.all_gather_object({**world._asdict(), "blas": pools, "cores": cores})
    if world.rank == 0:  # one writer: lines from two ranks may interleave
        print(json.dumps(reports), flush=True)
    return 0


def main(argv) -> int:
    if argv[0] == "threads":
        return report_threads(argv[1:])
    distributed.init()
    zg.set_default_dtype(zg.float64)
    if argv[0] == "train":
        run_training_cases(argv[1])
    elif argv[0] == "fail":
        kind, opt_name, n = CASES["mlp-momentum"]
        net = distributed.DistributedDataParallel(model(kind))
        fit(
            net,
            nn.CrossEntropyLoss(),
            optimizer(opt_name, net),
            loaders(n)[0],
            epochs=2,
            callbacks=[FailOnRank1(), ProgressBar(file=io.StringIO(), force_plain=True)],
        )
    elif argv[0] == "exit":
        with distributed.abort_on_error():
            if distributed.get_rank() == 1:
                sys.exit("rank 1 found no data files")
            distributed.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
