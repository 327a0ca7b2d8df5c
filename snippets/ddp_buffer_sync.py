"""When DistributedDataParallel broadcasts batch norm's running statistics.

Two replicas (started by distributed_bn.py, which must sit next to this file)
train a BatchNorm1d on different halves of one batch; each replica's running
mean starts at its rank, 0 or 1. A forward pre-hook records the running mean
the layer starts from in each pass, and the replicas compare theirs. Every
pass is in training mode:
- grad: forward and backward;
- no_grad: forward under torch.no_grad();
- no_sync: forward and backward inside ddp.no_sync().
One case runs its passes under torch.distributed.algorithms.Join, the
context manager for uneven inputs (here the inputs are even). Every case
builds DDP with init_sync=True, the default, which broadcasts rank 0's
buffers as DDP is built, unless broadcast_buffers=False.

Run it: python snippets/ddp_buffer_sync.py
"""

import contextlib
import inspect
import warnings

import torch
import torch.distributed as dist
from torch.distributed.algorithms.join import Join
from torch.nn.parallel import DistributedDataParallel

from distributed_bn import WORLD, global_batch, run_replicas

GRAD = ["grad", "grad", "grad"]
CASES = {  # the passes, keyword arguments of DistributedDataParallel, Join
    "grad, grad, grad": (GRAD, {}, False),
    "grad, no_grad, no_grad": (["grad", "no_grad", "no_grad"], {}, False),
    "no_sync, grad, no_sync": (["no_sync", "grad", "no_sync"], {}, False),
    "forward_sync_buffers=False": (GRAD, {"forward_sync_buffers": False}, False),
    "broadcast_buffers=False": (GRAD, {"broadcast_buffers": False}, False),
    "grad x 3, under Join": (GRAD, {}, True),
}


def gathered(tensor):
    """Every replica's copy of tensor, by rank."""
    copies = [torch.empty_like(tensor) for _ in range(WORLD)]
    dist.all_gather(copies, tensor)
    return copies


def agree(tensor):
    first, *others = gathered(tensor)
    return all(torch.equal(first, other) for other in others)


def run(rank, kinds, options, join):
    local = global_batch().chunk(WORLD)[rank]
    bn = torch.nn.BatchNorm1d(3).double()
    bn.running_mean.fill_(rank)  # the replicas start apart
    starts = []  # the running mean each pass starts from, after any broadcast
    bn.register_forward_pre_hook(
        lambda module, args: starts.append(module.running_mean.clone())
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ddp = DistributedDataParallel(bn, **options)
    agreed = [agree(bn.running_mean)]  # after construction
    apart = []  # after each pass: do the replicas differ?
    with Join([ddp]) if join else contextlib.nullcontext():
        for kind in kinds:
            if kind == "no_grad":
                with torch.no_grad():
                    ddp(local)
            elif kind == "no_sync":
                with ddp.no_sync():  # gradients accumulate, not all_reduced
                    ddp(local).pow(2).mean().backward()
            else:
                ddp(local).pow(2).mean().backward()
            agreed.append(agree(starts[-1]))
            apart.append(not agree(bn.running_mean))
    alone = torch.nn.BatchNorm1d(3).double()  # its own half alone, same passes
    for _ in kinds:
        alone(local)
    own = gathered(torch.tensor(torch.equal(bn.running_mean, alone.running_mean)))
    owns = [r for r in range(WORLD) if own[r]]  # whose mean is its own half's
    warned = [f"{w.category.__name__}: {w.message}" for w in caught]
    return agreed, all(apart), owns, warned


def checks(rank):
    return {case: run(rank, *CASES[case]) for case in CASES}


if __name__ == "__main__":
    found = run_replicas(checks)
    assert found[0] == found[1], "the replicas disagree"
    agreed = {case: result[0] for case, result in found[0].items()}
    owns = {case: result[2] for case, result in found[0].items()}
    print("do the replicas' running means agree? built: once DDP is built;")
    print("pass k: the running mean pass k starts from, after any broadcast")
    print(f"{'case':27} {'built':6} pass 1 pass 2 pass 3 own half")
    for case, row in agreed.items():
        ranks = ", ".join(map(str, owns[case]))
        print(f"{case:27}", " ".join(f"{value!s:6}" for value in row), ranks)
    apart = all(result[1] for result in found[0].values())
    warned = {case: result[3] for case, result in found[0].items() if result[3]}
    print("running means differ after every pass:", apart)
    (warning,) = warned.pop("broadcast_buffers=False")
    print("broadcast_buffers=False warns:", warning.split(". ")[0])
    assert list(agreed.values()) == [
        [True, True, True, True],
        [True, True, True, False],
        [True, True, False, True],
        [True, True, False, False],
        [False, False, False, False],
        [True, True, True, True],
    ]
    assert list(owns.values()) == [[0], [0], [0], [0, 1], [0], [1]]
    assert apart
    assert not warned  # no other case warned
    assert warning.startswith("FutureWarning: `broadcast_buffers` is deprecated.")
    assert "Use `forward_sync_buffers` instead." in warning
    assert "`forward_sync_buffers=False` still syncs buffers at init" in warning
    documented = DistributedDataParallel.__doc__
    assert "deprecated:: 2.13" in documented
    assert "Use ``forward_sync_buffers`` instead." in documented
    example = DistributedDataParallel.no_sync.__doc__  # accumulation, then:
    assert "ddp(another_input).backward()  # synchronize grads" in example
    # The flag behind the table, in this torch's source: a pass leaves it set
    # only with gradients enabled outside no_sync(), which clears the other.
    after = inspect.getsource(DistributedDataParallel._post_forward)
    cleared = "if torch.is_grad_enabled() and self.require_backward_grad_sync:"
    assert cleared in after
    assert "self.require_forward_param_sync = False" in after
    no_sync = inspect.getsource(DistributedDataParallel.no_sync)
    assert "self.require_backward_grad_sync = False" in no_sync
    before = inspect.getsource(DistributedDataParallel.will_sync_module_buffers)
    assert "self.require_forward_param_sync" in before
    built = inspect.getsource(DistributedDataParallel.__init__)
    assert "self.require_forward_param_sync = True" in built  # for the first pass
    # The broadcast when DDP is built: only with init_sync=True, the default
    init_sync = inspect.signature(DistributedDataParallel).parameters["init_sync"]
    assert init_sync.default is True
    assert built.count("_sync_module_states(") == 1  # inside `if init_sync:`
    gate = built.index("        if init_sync:\n")
    inside = built[gate : built.index("_sync_module_states(")].splitlines()[1:]
    assert inside and all(line.startswith(" " * 12) for line in inside)
    call = built.index("_sync_module_states(")
    assert "src=0," in built[call : built.index(")", call)]  # rank 0's
    # Whose buffers: rank 0's, except under Join, where _sync_buffers takes
    # the highest rank that has not joined (an all_reduce with MAX).
    sync = inspect.getsource(DistributedDataParallel._sync_buffers)
    join_branch = sync.index("if self._join_config.enable:")
    common = sync.index("authoritative_rank = self._find_common_rank(")
    assert join_branch < common < sync.index("authoritative_rank = 0")
    common = inspect.getsource(DistributedDataParallel._find_common_rank)
    assert "input_rank if rank_cond else -1" in common  # -1: a joined rank
    assert "op=ReduceOp.MAX" in common
    # _pre_forward returns before any buffer sync with the Python reducer
    # (torch.compile's DDP optimizer) or when every parameter's all-reduce is
    # delayed (delay_all_reduce_named_params)
    assert 'get_optimize_ddp_mode() == "python_reducer"' in built
    delay = DistributedDataParallel._register_delay_all_reduce_hook
    assert "self._delay_all_reduce_all_params = True" in inspect.getsource(delay)
    forward = inspect.getsource(DistributedDataParallel._pre_forward)
    for flag in "self._use_python_reducer", "self._delay_all_reduce_all_params":
        early = forward.index(f"if {flag}:\n            return inputs, kwargs")
        assert early < forward.index("self._sync_buffers()")
