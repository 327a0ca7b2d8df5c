"""Experiment 1: what BatchNorm1d does to one training batch, and what it records.

Run it: python snippets/bn_output_statistics.py
"""

import torch

torch.manual_seed(0)
batch_size, features = 4, 10
x = 3 * torch.randn(batch_size, features) + 2  # far from mean 0 and variance 1

bn = torch.nn.BatchNorm1d(features)  # momentum 0.1, eps 1e-5, gamma 1, beta 0
y = bn(x).detach()

mean = x.mean(dim=0)
biased_var, unbiased_var = x.var(dim=0, unbiased=False), x.var(dim=0)

# Each output feature: mean 0, biased variance var / (var + eps), just under 1.
assert torch.allclose(y.mean(dim=0), torch.zeros(features), atol=1e-6)
expected_var = biased_var / (biased_var + bn.eps)
assert torch.allclose(y.var(dim=0, unbiased=False), expected_var)
# One momentum-0.1 step from the initial running mean 0 and running variance 1.
assert torch.allclose(bn.running_mean, 0.1 * mean)
assert torch.allclose(bn.running_var, 0.9 * 1 + 0.1 * unbiased_var)
assert (bn.weight == 1).all() and (bn.bias == 0).all()


def show(label, values):
    print(f"{label:14}", " ".join(f"{value:5.2f}" for value in values.tolist()))


show("input mean", mean)
show("input var", biased_var)
show("output mean", y.mean(dim=0).abs())
show("output var", y.var(dim=0, unbiased=False))
show("running_mean", bn.running_mean)
show("running_var", bn.running_var)
show("gamma", bn.weight)
show("beta", bn.bias)
