"""PyTorch's batch norm conventions, each one checked: the PyTorch column.

Run it: python snippets/pytorch_conventions.py
"""

import torch

torch.manual_seed(0)
X = 2 * torch.randn(5, 3) + 1  # n = 5 samples, 3 features
n = X.shape[0]
mu_B, var_B = X.mean(dim=0), X.var(dim=0, unbiased=False)
print(f"PyTorch {torch.__version__.split('+')[0]}")

# A new layer is in training mode: it normalizes with the batch's statistics.
bn = torch.nn.BatchNorm1d(3)
assert bn.training
with torch.no_grad():
    assert torch.allclose(bn(X), (X - mu_B) / torch.sqrt(var_B + bn.eps), atol=1e-5)
print("mode: train() / eval(); a new layer trains")

# One step from running mean 0 measures the momentum: the batch's weight.
alpha = (bn.running_mean / mu_B).mean().item()
assert abs(alpha - bn.momentum) < 1e-6
weights = f"{1 - alpha:.2f} running + {alpha:.2f} batch"
print(f"momentum {bn.momentum}: running <- {weights}")
print(f"eps: {bn.eps}")

# The output used the biased variance; which one did running_var record?
biased = torch.allclose(bn.running_var, 1 - alpha + alpha * var_B)
unbiased = torch.allclose(bn.running_var, 1 - alpha + alpha * var_B * n / (n - 1))
assert unbiased and not biased
print("output variance: biased (n); running variance: unbiased (n - 1)")

# Statistics per index of dimension 1: (n, C, L) is normalized over n and L.
seq = torch.randn(4, 3, 7)
mean = seq.mean(dim=(0, 2), keepdim=True)
var = seq.var(dim=(0, 2), keepdim=True, unbiased=False)
with torch.no_grad():
    out = torch.nn.BatchNorm1d(3)(seq)
    assert torch.allclose(out, (seq - mean) / torch.sqrt(var + 1e-5), atol=1e-5)
print("normalized axis: 1 (channels first)")

# requires_grad_(False) freezes gamma and beta, not the statistics.
bn = torch.nn.BatchNorm1d(3).requires_grad_(False)
out = bn(X)
assert not out.requires_grad  # no gradient reaches gamma or beta
assert torch.allclose(out, (X - mu_B) / torch.sqrt(var_B + bn.eps), atol=1e-5)
assert torch.allclose(bn.running_mean, alpha * mu_B)  # the statistics moved
print("requires_grad_(False): batch statistics still used and updated")

# Frozen takes both switches: eval() fixes the statistics.
bn.eval()
before = bn.running_mean.clone()
scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
assert torch.allclose(bn(X), scale * (X - before) + bn.bias)
assert torch.equal(bn.running_mean, before)
print("frozen: eval() and requires_grad_(False)")

# A new Linear draws its bias at random, so a new Linear + BN in eval() has b' != 0.
fc = torch.nn.Linear(3, 1)
fresh = torch.nn.Sequential(fc, torch.nn.BatchNorm1d(1)).eval()
with torch.no_grad():
    assert (fc.bias != 0).all() and (fresh(torch.zeros(1, 3)) != 0).all()
print("a new dense layer's bias: random, so a new dense + BN in eval() is affine")
