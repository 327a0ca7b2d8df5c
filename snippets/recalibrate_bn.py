"""Re-estimate batch norm's running statistics with one pass over the data.

With momentum=None, PyTorch keeps a cumulative average instead of an
exponential one: after reset_running_stats() and a pass over k batches, mu_r is
the mean of the k batch means and sigma_r^2 the mean of their unbiased
variances. recalibrate() below does this for every BatchNorm1d, 2d, 3d and
SyncBatchNorm of a model; torch.optim.swa_utils.update_bn does it for every
batch norm. Both put each momentum back and call model.train(was_training),
which gives every submodule the model's own mode.

Run it: python snippets/recalibrate_bn.py
"""

import copy

import torch
from torch.optim.swa_utils import update_bn

KINDS = (  # SyncBatchNorm is no subclass of the other three: list it too
    torch.nn.BatchNorm1d,
    torch.nn.BatchNorm2d,
    torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,
)


def recalibrate(model, batches, kinds=KINDS):
    """One pass in training mode with momentum=None: cumulative averages."""
    norms = [m for m in model.modules() if isinstance(m, kinds)]
    momenta = [bn.momentum for bn in norms]
    was_training = model.training
    for bn in norms:
        bn.reset_running_stats()  # num_batches_tracked = 0: a plain mean
        bn.momentum = None
    model.train()
    with torch.no_grad():  # no gradients needed, only the statistics
        for X in batches:
            model(X)
    for bn, momentum in zip(norms, momenta, strict=True):
        bn.momentum = momentum
    model.train(was_training)  # one mode for every submodule


torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(4, 3),
    torch.nn.BatchNorm1d(3),
    torch.nn.Linear(3, 3),
    torch.nn.SyncBatchNorm(3),  # outside a process group: runs on CPU
).double()
batches = [3 * torch.randn(32, 4, dtype=torch.float64) + 1 for _ in range(8)]
assert not isinstance(model[3], KINDS[:3])  # BatchNorm1d, 2d, 3d would skip it
base = torch.nn.modules.batchnorm._BatchNorm  # internal: what update_bn looks for
assert all(issubclass(kind, base) for kind in KINDS)
with torch.no_grad():  # outside a process group it normalizes like BatchNorm1d
    X = batches[0][:, :3]
    sync, plain = copy.deepcopy(model[3]), torch.nn.BatchNorm1d(3).double()
    assert torch.equal(sync(X), plain(X))
for X in batches:  # training: the running statistics follow these activations
    model(X)
with torch.no_grad():
    model[0].weight.mul_(2.0)  # weights change (say, averaged): statistics go stale
model.eval()


def eval_output_mean(model):
    """Per feature, the mean of the first batch norm's eval outputs."""
    with torch.no_grad():
        return torch.cat([model[:2](X) for X in batches]).mean(dim=0)


beta = model[1].bias.detach()
stale = (eval_output_mean(model) - beta).abs().max().item()
fixed = copy.deepcopy(model)
seen = {i: [] for i in (1, 3)}  # what each batch norm receives during the pass
hooks = [
    fixed[i].register_forward_pre_hook(lambda _, args, i=i: seen[i].append(args[0]))
    for i in seen
]
recalibrate(fixed, batches)
for hook in hooks:
    hook.remove()

for i, inputs in seen.items():  # each batch norm: the plain mean over 8 batches
    means = torch.stack([batch.mean(dim=0) for batch in inputs])
    variances = torch.stack([batch.var(dim=0) for batch in inputs])  # unbiased
    assert len(inputs) == 8
    assert torch.allclose(fixed[i].running_mean, means.mean(dim=0), atol=1e-12)
    assert torch.allclose(fixed[i].running_var, variances.mean(dim=0), atol=1e-12)
assert not fixed.training and all(fixed[i].momentum == 0.1 for i in seen)
recalibrated = (eval_output_mean(fixed) - beta).abs().max().item()
assert recalibrated < 1e-12
print(f"BatchNorm1d: eval output mean - beta {stale:.2f} stale, below 1e-12 after")
print("each batch norm, SyncBatchNorm too: the mean of its 8 batch statistics")

skipping = copy.deepcopy(model)  # a pass that looks for BatchNorm1d, 2d, 3d only
average = skipping[3].running_mean.clone()
recalibrate(skipping, batches, kinds=KINDS[:3])
for batch in seen[3]:  # the same inputs as above: training mode uses mu_B, sigma_B
    average = 0.9 * average + 0.1 * batch.mean(dim=0)  # exponential, alpha = 0.1
assert torch.allclose(skipping[3].running_mean, average, rtol=0, atol=1e-12)
print("BatchNorm1d, 2d, 3d alone: SyncBatchNorm keeps its exponential average")

swa_style = copy.deepcopy(model)
update_bn(batches, swa_style)  # a list of batches works as a loader
for i in seen:
    for name, buffer in fixed[i].named_buffers():
        assert torch.equal(buffer, swa_style[i].get_buffer(name)), name
assert not swa_style.training and swa_style[3].momentum == 0.1  # restored
print("update_bn gives the same running statistics, bit for bit")

passes = {
    "recalibrate": lambda net: recalibrate(net, batches),
    "update_bn": lambda net: update_bn(batches, net),
}
for name, one_pass in passes.items():  # a batch norm frozen in a training model
    frozen = copy.deepcopy(model).train()
    frozen[3].eval()  # as when fine-tuning with frozen batch norm
    one_pass(frozen)
    assert frozen[3].training, name  # model.train(True) reached it too
    for buffer in "running_mean", "running_var":  # recomputed with the others
        recomputed = frozen[3].get_buffer(buffer)
        assert torch.equal(recomputed, fixed[3].get_buffer(buffer)), name
print("a batch norm frozen with .eval() in a training model: back in training")
print("mode, its running statistics recomputed (recalibrate and update_bn alike)")
