"""Dead channels: sigma_r^2 = 0, so s = gamma / sqrt(eps), 316 gamma at eps = 1e-5.

The same layer with sigma_r^2 = 1 (live) and 0 (dead) in every channel: the bound
and the measured |folded - original| in each format.

Run it: python snippets/fold_error_dead_channel.py
"""

import math

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

from fold_error_bound import U, compare, random_pair

torch.manual_seed(0)
conv, bn = random_pair(64, 16, 3)  # K = 576
X = 3 * torch.randn(4, 64, 10, 10) + 1
growth = math.sqrt((1 + bn.eps) / bn.eps)  # s(dead) / s(live), every channel
print(f"s(dead) / s(live) = {growth:.1f}")
for dtype in U:
    per_channel = {}
    for variance in 1.0, 0.0:
        with torch.no_grad():
            bn.running_var.fill_(variance)
        fused = fuse_conv_bn_eval(conv, bn)  # W' = diag(s) W, in float32
        gap, limit = compare(conv, bn, fused, X, dtype)
        assert (gap <= limit).all()  # the bound holds, live or dead
        per_channel[variance] = gap.amax(dim=(0, 2, 3)), limit.amax(dim=(0, 2, 3))
        largest = fused.weight.abs().max().item()
        assert largest < torch.finfo(dtype).max / 1000  # W' itself is far from it
    (live_gap, live_limit), (dead_gap, dead_limit) = per_channel.values()
    bound_growth = (dead_limit / live_limit).median().item()
    error_growth = dead_gap / live_gap  # per channel: its largest error, dead/live
    assert 0.9 * growth < bound_growth < 1.01 * growth
    assert ((error_growth > growth / 3) & (error_growth < growth * 3)).all()
    name = str(dtype).removeprefix("torch.")
    print(
        f"{name:8} bound held; dead/live: bound x{bound_growth:.0f},"
        f" error between x{growth / 3:.0f} and x{3 * growth:.0f} in all 16 channels"
    )
print(f"largest |W'| with dead channels: {largest:.0f}")
