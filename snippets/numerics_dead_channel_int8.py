"""int8 quantization of a folded weight with a dead channel, per tensor or channel.

Run it: python snippets/numerics_dead_channel_int8.py
"""

import torch
from torch.nn.utils.fusion import fuse_linear_bn_eval

from numerics_dead_channel import dead_channel_pair

fc, bn = dead_channel_pair()  # channel 0 dead: its row of W' is 316 gamma_0 W_0
W = fuse_linear_bn_eval(fc, bn).weight.detach()  # W' = diag(s) W
live = W[1:]  # the 15 other rows


def per_tensor(M):
    """Symmetric int8, one scale: the largest |entry| maps to 127."""
    scale = M.abs().max().item() / 127
    return torch.fake_quantize_per_tensor_affine(M, scale, 0, -127, 127), scale


def per_channel(M):
    """Symmetric int8, one scale per output channel (row)."""
    scales = M.abs().amax(dim=1) / 127
    zeros = torch.zeros(len(M), dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(M, scales, zeros, 0, -127, 127)


def live_errors(Q, M):
    """Per live row, |Q - M| / |M| (Frobenius norms of the rows)."""
    return (Q - M).norm(dim=1) / M.norm(dim=1)


alone, alone_scale = per_tensor(live)  # as if the dead channel were not there
shared, shared_scale = per_tensor(W)
assert shared_scale == W[0].abs().max().item() / 127  # set by the dead row
by_channel = per_channel(W)
hand = (W / shared_scale).round().clamp(-127, 127) * shared_scale
assert torch.equal(shared, hand)  # round(W' / scale), clamped, times the scale
cases = {  # each: the live rows after quantization
    "per tensor, live rows alone": alone,
    "per tensor, with the dead row": shared[1:],
    "per channel, with the dead row": by_channel[1:],
}
print(f"per-tensor int8 step: {alone_scale:.1g} for the live rows alone,")
print(f"{shared_scale:.1g} with the dead row, whose largest entry sets it")
print(f"{'':30} {'live rows: median':>17} {'worst':>6} {'entries at 0':>13}")
medians, worst = [], []
for name, Q in cases.items():
    errors = live_errors(Q, live)
    medians.append(errors.median().item())
    worst.append(errors.max().item())
    zero = (Q == 0).float().mean().item()  # the share of live entries now 0
    print(f"{name:30} {medians[-1]:17.1g} {worst[-1]:6.1g} {zero:13.0%}")
assert max(medians[0], medians[2]) < 0.005 and max(worst[0], worst[2]) < 0.02
assert medians[1] > 0.5
