"""Experiment 1: what BatchNorm1d does to one training batch, and what it records.

Run it: python snippets/bn_output_statistics.py
"""

import torch

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False, linewidth=110)
batch_size, num_features = 4, 10
x = 3 * torch.randn(batch_size, num_features) + 2  # features far from mean 0, variance 1

bn = torch.nn.BatchNorm1d(num_features)  # momentum 0.1, eps 1e-5, gamma 1, beta 0
y = bn(x).detach()

mean, biased_var = x.mean(dim=0), x.var(dim=0, unbiased=False)
unbiased_var = x.var(dim=0, unbiased=True)

# Each output feature has mean 0 and biased variance var / (var + eps), just under 1.
assert torch.allclose(y.mean(dim=0), torch.zeros(num_features), atol=1e-6)
assert torch.allclose(y.var(dim=0, unbiased=False), biased_var / (biased_var + bn.eps))
# One step of momentum 0.1 from the initial statistics (mean 0, variance 1).
assert torch.allclose(bn.running_mean, 0.1 * mean)
assert torch.allclose(bn.running_var, 0.9 * 1 + 0.1 * unbiased_var)
assert torch.equal(bn.weight, torch.ones(num_features)) and torch.equal(bn.bias, torch.zeros(num_features))

print("input mean per feature:     ", mean)
print("output mean per feature:    ", y.mean(dim=0).abs())
print("output variance per feature:", y.var(dim=0, unbiased=False))
print("running_mean = 0.1 * mean:  ", bn.running_mean)
print("running_var:                ", bn.running_var)
print("gamma:", bn.weight.data)
print("beta: ", bn.bias.data)
