"""Experiment 1: what BatchNorm1d does to one training batch, and what it records.

Run it: python snippets/bn_output_statistics.py
"""

import torch

torch.manual_seed(0)
n, features = 4, 10
X = 3 * torch.randn(n, features) + 2  # drawn with mean 2 and variance 9

bn = torch.nn.BatchNorm1d(features)  # momentum 0.1, eps 1e-5, gamma 1, beta 0
out = bn(X).detach()

mean = X.mean(dim=0)
biased_var, unbiased_var = X.var(dim=0, unbiased=False), X.var(dim=0)

# Each output feature: mean 0, biased variance var / (var + eps), just under 1.
assert torch.allclose(out.mean(dim=0), torch.zeros(features), atol=1e-6)
expected_var = biased_var / (biased_var + bn.eps)
assert torch.allclose(out.var(dim=0, unbiased=False), expected_var)
# One momentum-0.1 step from the initial running mean 0 and running variance 1.
assert torch.allclose(bn.running_mean, 0.1 * mean)
assert torch.allclose(bn.running_var, 0.9 * 1 + 0.1 * unbiased_var)
assert (bn.weight == 1).all() and (bn.bias == 0).all()

# One row per feature: the batch's statistics, then what the layer recorded.
columns = {
    "mean": mean,
    "var_B": biased_var,  # divided by n, used for the output
    "unbiased": unbiased_var,  # divided by n - 1, recorded
    "mu_r": bn.running_mean,
    "sigma_r^2": bn.running_var,
}
print(" j" + "".join(f" {name:>8}" for name in columns))
for j, row in enumerate(torch.stack(list(columns.values()), dim=1).tolist()):
    print(f"{j:2}" + "".join(f" {value:8.2f}" for value in row))
output_means = out.mean(dim=0).abs()
print("output means all below 1e-6:", bool((output_means < 1e-6).all()))
output_vars = sorted({f"{v:.2f}" for v in out.var(dim=0, unbiased=False).tolist()})
print("output biased variances, rounded:", ", ".join(output_vars))
print("gamma = 1, beta = 0:", bool((bn.weight == 1).all() and (bn.bias == 0).all()))
