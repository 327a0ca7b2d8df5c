"""BatchNorm1d on float16 and bfloat16 input, on CPU: float32 layer or 16-bit layer.

Run it: python snippets/numerics_half_batch_stats.py
"""

import torch

torch.manual_seed(0)
n, d, eps = 4096, 64, 1e-5
means = 50 + 100 * torch.rand(d)  # feature means between 50 and 150, sigma 1
Z = torch.randn(n, d)


def largest_error(dtype, layer_dtype):
    """The layer's output against exact batch norm of the same 16-bit values."""
    X = (Z + means).to(dtype)
    bn = torch.nn.BatchNorm1d(d, eps=eps, momentum=1.0).to(layer_dtype)
    with torch.no_grad():
        out = bn(X)  # training mode; momentum 1: running <- this batch
    X64 = X.double()
    mu_B, var_B = X64.mean(0), X64.var(0, unbiased=False)
    exact = (X64 - mu_B) / torch.sqrt(var_B + eps)
    assert out.dtype == dtype and bn.running_mean.dtype == layer_dtype
    assert bn.weight.dtype == bn.running_var.dtype == layer_dtype
    return (out.double() - exact).abs().max().item(), bn, X64, out.double()


def off(recorded, var):
    """The largest relative distance between two variances."""
    return ((recorded - var).abs() / var).max()


print(f"{'input':9} {'layer':9} {'output':9} {'running stats':14} largest error")
for dtype in [torch.float16, torch.bfloat16]:
    machine_eps = torch.finfo(dtype).eps  # 2^-10 for float16, 2^-7 for bfloat16
    name = str(dtype)[6:]

    # A float32 layer: statistics far finer than 16 bits, output within
    # 3 machine eps.
    error, bn, X64, _ = largest_error(dtype, torch.float32)
    mu_B, var_B = X64.mean(0), X64.var(0)  # var_B unbiased, as recorded
    assert ((bn.running_mean - mu_B).abs() / mu_B).max() < 1e-6
    assert ((bn.running_var - var_B).abs() / var_B).max() < 1e-4
    assert X64.sum(0).min() > torch.finfo(torch.float16).max  # a float16 sum: inf
    assert error < 3 * machine_eps
    print(f"{name:9} {'float32':9} {name:9} {'float32':14} below 3 machine eps")

    # A 16-bit layer: the batch mean it subtracts is rounded to 16 bits.
    error, bn, X64, out = largest_error(dtype, dtype)
    mu_B = X64.mean(0)
    rounded = mu_B.to(dtype).double()
    assert torch.equal(bn.running_mean.double(), rounded)
    var_around = ((X64 - rounded) ** 2).mean(0)  # around the rounded mean
    recorded = bn.running_var.double() * (n - 1) / n  # biased again
    var_B = X64.var(0, unbiased=False)  # around the exact mean
    if dtype == torch.bfloat16:  # torch 2.13 measures the variance around it
        assert off(recorded, var_around) <= machine_eps < off(recorded, var_B) / 10
    else:  # and for float16 around the exact mean
        var_around = var_B
        assert off(recorded, var_B) <= machine_eps
    model = (X64 - rounded) / torch.sqrt(var_around + eps)
    assert (out - model).abs().max() < 5 * machine_eps < error / 5
    print(f"{name:9} {name:9} {name:9} {name:14} {error:.1g}")
    shift = (mu_B - rounded).abs().max().item()
    print(f"  {name} layer: mu_B rounded to {name}, off by up to {shift:.1g}")
