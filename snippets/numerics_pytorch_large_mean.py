"""PyTorch's BatchNorm1d in training mode, float32, as the features' mean grows.

Run it: python snippets/numerics_pytorch_large_mean.py
"""

import math

import torch

torch.manual_seed(0)
n, d, eps = 256, 64, 1e-5
Z = torch.randn(n, d, dtype=torch.float64)  # N(0, 1) samples


def exact_batch_norm(X):
    """Training-mode batch norm of the same float32 values, in float64."""
    X = X.double()
    return (X - X.mean(0)) / torch.sqrt(X.var(0, unbiased=False) + eps)


def shown(error):
    if math.isnan(error):
        return "NaN"
    for bound in (1e-3, 1e-2):
        if error < bound:
            return f"below {bound:g}"
    return f"{error:.1g}"


print("mean   largest error of the n d outputs")
for offset in [1, 10, 1e2, 1e3, 1e4]:
    X = (Z + offset).float()  # the same offset added to every feature
    bn = torch.nn.BatchNorm1d(d, eps=eps, momentum=1.0)  # running <- this batch
    with torch.no_grad():
        error = (bn(X).double() - exact_batch_norm(X)).abs().max().item()
    assert error < 0.01
    print(f"{offset:5g}  {shown(error)}")

# The variance it recorded at 1e4 (momentum 1: this batch's, unbiased) is
# accurate, where one-pass float32 keeps no digit (relative errors near 9 above).
exact = X.double().var(0)  # unbiased, in float64
relative = ((bn.running_var.double() - exact).abs() / exact).max().item()
mu_B = X.mean(0)
one_pass = n / (n - 1) * ((X * X).mean(0) - mu_B * mu_B)
assert relative < 1e-4 and ((one_pass.double() - exact).abs() / exact).min() > 0.01
print("mean 1e4: its batch variance is within 1e-4 of exact; one-pass's is not")
