"""Batch norm's statistics in data-parallel training, with two real processes.

Two replicas on this machine (torch.distributed, gloo backend, CPU, 127.0.0.1)
each get half of one global batch of 8 samples. The checks:
- under DistributedDataParallel each replica normalizes with its own half,
  and DDP averages the gradients;
- without a process group SyncBatchNorm runs as a plain batch norm; with one,
  on CPU, DDP refuses to wrap it and its training forward pass raises;
- in evaluation mode it synchronizes nothing: with running statistics it uses
  them, without them (track_running_stats=False) each replica normalizes with
  its own half's statistics;
- the computation it stands for, statistics of the whole global batch, done
  with all_reduce, equals batch norm over the concatenated batch in the
  forward pass; dist.all_reduce has no autograd formula, so this version's
  gradients are not those of batch norm over the whole batch;
- in torch's source, SyncBatchNorm's backward pass calls all_reduce only
  when its input needs a gradient.

Run it: python snippets/distributed_bn.py
"""

import datetime
import inspect
import os
import re
import socket
import traceback
import warnings

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

WORLD = 2  # processes, one replica each
TIMEOUT = 30  # seconds: a stuck collective fails instead of hanging


def global_batch():
    """The same 8 samples in every process; replica 1's half is shifted by 3."""
    X = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    return (X + torch.tensor([0.0] * 4 + [3.0] * 4)[:, None]).double()


def global_statistics(local):
    """Mean and biased variance per feature over every replica's batch."""
    count = torch.tensor([float(local.shape[0])], dtype=local.dtype)
    total = local.sum(dim=0)
    dist.all_reduce(count)  # sums over the processes, in place
    dist.all_reduce(total)
    mean = total / count
    squares = (local - mean).pow(2).sum(dim=0)  # centred: no cancellation
    dist.all_reduce(squares)
    return mean, squares / count, count


def error(call):
    """What call() raises, as 'ValueError: message', or 'ran'."""
    try:
        call()
    except ValueError as raised:
        return f"ValueError: {raised}"
    return "ran"


def without_process_group():
    """SyncBatchNorm before torch.distributed is initialised (in the parent)."""
    assert not dist.is_initialized()
    X = global_batch()
    sync = torch.nn.SyncBatchNorm(3).double()  # training mode
    plain = torch.nn.BatchNorm1d(3).double()
    same = torch.equal(sync(X), plain(X))  # sync(X) ran: no error
    return same and torch.equal(sync.running_var, plain.running_var)


def checks(rank):
    X = global_batch()
    local = X.chunk(WORLD)[rank]
    found = {}
    ddp = DistributedDataParallel(torch.nn.BatchNorm1d(3).double())
    out = ddp(local)
    alone = torch.nn.BatchNorm1d(3).double()  # a plain copy, on this half only
    found["ddp: local statistics"] = torch.allclose(out, alone(local))
    whole = torch.nn.BatchNorm1d(3).double()(X).chunk(WORLD)[rank]
    found["ddp: global statistics"] = torch.allclose(out, whole)
    weights = torch.linspace(-1, 1, 12, dtype=X.dtype).view(4, 3)
    (out * weights).sum().backward()  # DDP averages the gradients
    (alone(local) * weights).sum().backward()
    grads = [torch.empty(3, dtype=X.dtype) for _ in range(WORLD)]
    dist.all_gather(grads, alone.weight.grad)  # each replica's own gradient
    found["ddp: gradients averaged"] = not torch.equal(
        grads[0], grads[1]
    ) and torch.allclose(ddp.module.weight.grad, sum(grads) / WORLD)

    nn = torch.nn
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(
        nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm2d(3), nn.BatchNorm3d(3))
    )
    found["sync: BatchNorm1d/2d/3d converted to"] = ", ".join(
        sorted({type(layer).__name__ for layer in converted})
    )
    sync = converted[:1].double()  # the converted BatchNorm1d(3)
    found["sync: DDP on CPU"] = error(lambda: DistributedDataParallel(sync))
    found["sync: training forward on CPU"] = error(lambda: sync(local))
    with torch.no_grad():  # evaluation mode: running statistics, no collective
        plain = torch.nn.BatchNorm1d(3).double().eval()
        found["sync: eval forward = batch norm"] = torch.equal(
            sync.eval()(local), plain(local)
        )
        # without running statistics: the batch's, this replica's half only
        untracked = nn.SyncBatchNorm(3, track_running_stats=False).double()
        out = untracked.eval()(local)  # on CPU: no collective was tried
        own = nn.BatchNorm1d(3, track_running_stats=False).double()(local)
        found["sync: eval, no running stats = own half"] = torch.equal(out, own)

    mean, var, count = global_statistics(local)
    bn = torch.nn.BatchNorm1d(3).double()
    synced = bn.weight * (local - mean) / torch.sqrt(var + bn.eps) + bn.bias
    pieces = [torch.empty_like(synced) for _ in range(WORLD)]
    dist.all_gather(pieces, synced.detach())
    found["all_reduce: equals batch norm of all 8"] = torch.allclose(
        torch.cat(pieces), bn(X), rtol=0, atol=1e-12
    )  # bn(X), in training mode, also moved bn's running statistics:
    unbiased = var * count / (count - 1)
    found["all_reduce: same running statistics"] = torch.allclose(
        bn.running_mean, 0.1 * mean
    ) and torch.allclose(bn.running_var, 0.9 + 0.1 * unbiased)

    # Its backward pass: no autograd formula for all_reduce, torch warns
    leaf = local.clone().requires_grad_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean, var, _ = global_statistics(leaf)
        ((leaf - mean) / torch.sqrt(var + bn.eps) * weights).sum().backward()
    found["all_reduce: backward warns"] = any(
        "an autograd kernel was not registered" in str(w.message) for w in caught
    )
    whole = X.clone().requires_grad_()  # batch norm over all 8, gamma 1, beta 0
    normalized = torch.nn.functional.batch_norm(
        whole, None, None, training=True, eps=bn.eps
    )
    (normalized * weights.repeat(WORLD, 1)).sum().backward()
    found["all_reduce: gradient = whole batch's"] = torch.allclose(
        leaf.grad, whole.grad.chunk(WORLD)[rank]
    )
    return found


def worker(rank, port, results, task):
    os.environ["GLOO_SOCKET_IFNAME"] = "lo"  # talk over loopback only
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=WORLD,
            timeout=datetime.timedelta(seconds=TIMEOUT),
        )
        results.put((rank, task(rank)))
    except Exception:  # noqa: BLE001 - the parent reports it
        results.put((rank, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # the OS picks a free port
        return probe.getsockname()[1]


def run_replicas(task):
    """Run task(rank) in WORLD processes; what each returned, by rank."""
    import torch._dynamo  # noqa: F401 - DDP imports it: once here, not once per child

    context = mp.get_context("fork")  # children inherit torch: fast to start
    results = context.Queue()
    port = free_port()
    processes = [
        context.Process(target=worker, args=(rank, port, results, task))
        for rank in range(WORLD)
    ]
    for process in processes:
        process.start()
    try:
        found = dict(results.get(timeout=2 * TIMEOUT) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT)
            if process.is_alive():
                process.kill()
    for rank, report in found.items():
        if isinstance(report, str):
            raise RuntimeError(f"replica {rank} failed:\n{report}")
    return found


if __name__ == "__main__":
    # What the page quotes from this torch's own documentation:
    documented = " ".join(torch.nn.SyncBatchNorm.__doc__.split())
    assert "only supports :class:`~torch.nn.DistributedDataParallel`" in documented
    assert "(DDP) with single GPU per process" in documented
    # SyncBatchNorm synchronizes only in training mode: all_gather forward,
    # and all_reduce backward only when its input needs a gradient (source)
    forward = inspect.getsource(torch.nn.SyncBatchNorm.forward)
    assert "bn_training\n            and self.training\n" in forward
    function = torch.nn.modules._functions.SyncBatchNorm
    assert "dist.all_gather(" in inspect.getsource(function.forward)
    assert list(inspect.signature(function.forward).parameters)[1] == "input"
    backward = inspect.getsource(function.backward)
    used = set(re.findall(r"torch\.distributed\.(\w+)", backward))
    assert used == {"all_reduce", "ReduceOp"} and "dist." not in backward
    lines = backward.splitlines()
    calls = [i for i, line in enumerate(lines) if "all_reduce(" in line]
    assert calls  # each all_reduce sits in an `if needs_input_grad[0]:` block
    for i in calls:
        depth = len(lines[i]) - len(lines[i].lstrip())
        block = next(
            line for line in reversed(lines[:i])
            if line.strip() and len(line) - len(line.lstrip()) < depth
        )
        assert block.strip() == "if self.needs_input_grad[0]:", block
    found = run_replicas(checks)  # before this process runs torch ops
    assert found[0] == found[1], "the replicas disagree"
    for check, result in found[0].items():
        print(f"{check + ':':40} {result}")
    alone = without_process_group()
    print(f"{'sync, no process group = batch norm:':40} {alone}")
    assert alone
    assert found[0]["ddp: local statistics"]
    assert not found[0]["ddp: global statistics"]
    assert found[0]["ddp: gradients averaged"]
    assert found[0]["sync: BatchNorm1d/2d/3d converted to"] == "SyncBatchNorm"
    assert found[0]["sync: DDP on CPU"] == (
        "ValueError: SyncBatchNorm layers only work with GPU modules"
    )
    assert found[0]["sync: training forward on CPU"].startswith(
        "ValueError: SyncBatchNorm expected input tensor to be on GPU"
    )
    assert found[0]["sync: eval forward = batch norm"]
    assert found[0]["sync: eval, no running stats = own half"]
    assert found[0]["all_reduce: backward warns"]
    assert not found[0]["all_reduce: gradient = whole batch's"]
    assert found[0]["all_reduce: equals batch norm of all 8"]
    assert found[0]["all_reduce: same running statistics"]
