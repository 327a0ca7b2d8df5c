"""Autocast vs model.half(): where batch norm's statistics overflow float16.

Run it: python snippets/mixed_precision_what_autocast_protects.py
"""

import copy

import torch

torch.manual_seed(0)
layer = torch.nn.Linear(4, 3)
X = 600 * torch.randn(64, 4)  # Linear outputs of a few hundred
print(f"{'':9} {'dtype of:':45} value of:")
print(f"{'autocast':9} {'hidden':9} {'out':9}", end=" ")
print(f"{'bn.running_var':15} {'loss':9} hidden.var(dim=0)")
for dtype in torch.float16, torch.bfloat16:
    bn = torch.nn.BatchNorm1d(3, momentum=1.0)  # running_var <- this batch's
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        hidden = layer(X)  # on autocast's CPU list: runs in dtype
        out = bn(hidden)  # on no list: runs in its input's dtype
        by_hand = hidden.var(dim=0)  # var is on no list either
        loss = torch.nn.functional.mse_loss(hidden, torch.zeros_like(hidden))
    exact = hidden.float().var(dim=0)  # the 16-bit values' variance, in float32
    assert hidden.dtype == out.dtype == by_hand.dtype == dtype
    assert bn.running_var.dtype == torch.float32 == loss.dtype  # mse_loss: listed
    assert bn.weight.dtype == layer.weight.dtype == torch.float32  # unconverted
    assert torch.allclose(bn.running_var, exact, rtol=1e-5)  # float32 statistics
    assert torch.isfinite(out).all()
    half_max = torch.finfo(torch.float16).max
    assert (exact.max() > half_max) and (hidden.abs().max() < half_max)
    overflow = "inf" if torch.isinf(by_hand).any() else "finite"
    assert (overflow == "inf") == (dtype == torch.float16)
    name = str(dtype)[6:]
    print(f"{name:9} {name:9} {name:9} {'float32':15} {'float32':9} {overflow}")
print(f"largest variance {exact.max():.2g}, above float16's {half_max:.0f}")

bn = torch.nn.BatchNorm1d(3, momentum=1.0)
half = torch.nn.Sequential(copy.deepcopy(layer), bn)
half.half()  # model.half(): parameters and buffers become float16, no autocast
with torch.no_grad():
    hidden = half[0](X.half())
    half[1](hidden)
var = half[1].running_var
assert torch.isfinite(hidden).all() and hidden.abs().max() < half_max
assert var.dtype == torch.float16 and torch.isinf(var).any()
print(f"model.half(): Linear outputs finite, below {half_max:.0f}; running_var")
print(f"  float16, inf in {torch.isinf(var).sum()} of 3 features")

for bad in float("inf"), float("nan"):  # in the data, float32 throughout
    bn = torch.nn.BatchNorm1d(3)
    X_bad = X.clone()
    X_bad[0, 0] = bad  # one entry of one sample
    with torch.no_grad():
        bn(layer(X_bad))
    mean, var = bn.running_mean, bn.running_var
    same = torch.isinf if bad == float("inf") else torch.isnan  # +-inf, or NaN
    assert same(mean).all() and torch.isnan(var).all()  # every feature
    print(f"float32, one {bad} in the input: running_mean {mean.tolist()},")
    print(f"  running_var {var.tolist()}")
