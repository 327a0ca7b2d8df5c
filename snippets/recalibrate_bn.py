"""Re-estimate batch norm's running statistics with one pass over the data.

With momentum=None, PyTorch keeps a cumulative average instead of an
exponential one: after a pass over k batches, mu_r is the mean of the k batch
means and sigma_r^2 the mean of their unbiased variances.
torch.optim.swa_utils.update_bn does exactly this for every batch norm of a
model, then restores each momentum and the model's mode.

Run it: python snippets/recalibrate_bn.py
"""

import copy

import torch
from torch.optim.swa_utils import update_bn

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).double()
batches = [3 * torch.randn(32, 4, dtype=torch.float64) + 1 for _ in range(8)]
for X in batches:  # training: the running statistics follow these activations
    model(X)
with torch.no_grad():
    model[0].weight.mul_(2.0)  # weights change (say, averaged): statistics go stale
model.eval()


def eval_output_mean(model):
    """Per feature, the mean of eval-mode outputs over all the data."""
    with torch.no_grad():
        return torch.cat([model(X) for X in batches]).mean(dim=0)


def recalibrate(model, batches):
    """One pass in training mode with momentum=None: cumulative averages."""
    kinds = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    norms = [m for m in model.modules() if isinstance(m, kinds)]
    momenta = [bn.momentum for bn in norms]
    was_training = model.training
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():  # no gradients needed, only the statistics
        for X in batches:
            model(X)
    for bn, momentum in zip(norms, momenta, strict=True):
        bn.momentum = momentum
    model.train(was_training)


beta = model[1].bias.detach()
stale = (eval_output_mean(model) - beta).abs().max().item()
fixed = copy.deepcopy(model)
recalibrate(fixed, batches)

with torch.no_grad():
    activations = [fixed[0](X) for X in batches]
mean_of_means = torch.stack([a.mean(dim=0) for a in activations]).mean(dim=0)
mean_of_vars = torch.stack([a.var(dim=0) for a in activations]).mean(dim=0)
bn = fixed[1]
assert torch.allclose(bn.running_mean, mean_of_means, rtol=0, atol=1e-12)
assert torch.allclose(bn.running_var, mean_of_vars, rtol=0, atol=1e-12)
assert not fixed.training and bn.momentum == 0.1  # put back as they were
recalibrated = (eval_output_mean(fixed) - beta).abs().max().item()
assert recalibrated < 1e-12
print(f"eval outputs' mean - beta: {stale:.2f} stale, below 1e-12 after the pass")

swa_style = copy.deepcopy(model)
update_bn(batches, swa_style)  # a list of batches works as a loader
for name, buffer in fixed[1].named_buffers():
    assert torch.equal(buffer, swa_style[1].get_buffer(name)), name
assert not swa_style.training and swa_style[1].momentum == 0.1  # restored
print("update_bn gives the same running statistics, bit for bit")
