"""How far a folded convolution may be from convolution then batch norm, per output.

bound() is the page's (20u + 2(K + 1) u_a) T; compare() runs both in a format.
Checked on random layers.

Run it: python snippets/fold_error_bound.py
"""

import math

import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

U = {torch.float32: 2.0**-24, torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8}
U_SUM = 2.0**-24  # u_a: the convolutions sum in float32 (checked on the page)


def sizes(conv, bn, x):
    """T for each output value, in float64; conv and bn in float32."""
    assert conv.padding_mode == "zeros" and not bn.training
    W, x = conv.weight.double(), x.double()
    abs_sum = F.conv2d(  # sum over i of |W_i x_i|, for every output value
        x.abs(), W.abs(), None,
        conv.stride, conv.padding, conv.dilation, conv.groups,
    )
    bias = conv.bias.double() if conv.bias is not None else 0 * bn.running_mean
    var, gamma = bn.running_var.double(), bn.weight.double()
    s = gamma / torch.sqrt(var + bn.eps)
    per_channel = (-1, 1, 1)  # broadcast over the output's height and width
    return s.abs().view(per_channel) * (
        abs_sum + (bias.abs() + bn.running_mean.double().abs()).view(per_channel)
    ) + bn.bias.double().abs().view(per_channel)


def bound(conv, bn, x, dtype):
    """c u T for each output value; conv and bn in float32, x holds dtype values."""
    K = conv.in_channels // conv.groups * math.prod(conv.kernel_size)
    u = U[dtype]
    c = 20 + 2 * (K + 1) * U_SUM / u  # the bound is c u T
    return c * u * sizes(conv, bn, x)


def size_ratio(conv, bn, x):
    """T / |z| for each output value, z the exact output (float64) on float32 x."""
    with torch.no_grad():
        z = run(conv, bn, x.double(), torch.float64)
        T = sizes(conv, bn, x)
    assert (T >= z.abs() * (1 - 1e-12)).all()  # T is at least |z|
    return T / z.abs()


def run(conv, bn, x, dtype):
    """conv, then bn if given, with their parameters converted to dtype."""
    bias = None if conv.bias is None else conv.bias.to(dtype)
    y = F.conv2d(
        x, conv.weight.to(dtype), bias,
        conv.stride, conv.padding, conv.dilation, conv.groups,
    )
    if bn is None:
        return y
    stats = bn.running_mean.to(dtype), bn.running_var.to(dtype)
    affine = bn.weight.to(dtype), bn.bias.to(dtype)  # gamma, beta
    return F.batch_norm(y, *stats, *affine, eps=bn.eps)


def compare(conv, bn, fused, x, dtype):
    """|folded - original| and the bound, both run in dtype on the same input."""
    x = x.to(dtype)
    with torch.no_grad():
        original, folded = run(conv, bn, x, dtype), run(fused, None, x, dtype)
    assert torch.isfinite(original).all() and torch.isfinite(folded).all()
    return (folded.double() - original.double()).abs(), bound(conv, bn, x, dtype)


def random_pair(c_in, c_out, kernel, groups=1):
    """Conv2d and BatchNorm2d in evaluation mode, with random running statistics."""
    conv = torch.nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups)
    bn = torch.nn.BatchNorm2d(c_out)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)  # gamma
        bn.bias.uniform_(-1.0, 1.0)  # beta
        bn.running_mean.uniform_(-1.0, 1.0)  # mu_r
        bn.running_var.uniform_(0.01, 4.0)  # sigma_r^2
    return conv.eval(), bn.eval()


if __name__ == "__main__":
    torch.manual_seed(0)
    shapes = [(3, 16, 7, 1), (32, 32, 3, 1), (64, 64, 3, 1), (96, 96, 3, 96)]
    worst = 0.0  # the largest |folded - original| / bound
    ratios = []  # T / |z|, every output value of every layer
    for c_in, c_out, kernel, groups in shapes:  # K = 147, 288, 576, 9
        for _ in range(3):
            conv, bn = random_pair(c_in, c_out, kernel, groups)
            fused = fuse_conv_bn_eval(conv, bn)  # folded in float32
            X = 3 * torch.randn(2, c_in, 10, 10) + 1
            ratios.append(size_ratio(conv, bn, X).flatten())
            for dtype in U:
                gap, limit = compare(conv, bn, fused, X, dtype)
                assert (gap <= limit).all(), dtype  # the bound holds everywhere
                worst = max(worst, (gap / limit).max().item())
    print("12 random layers, every output value, float32, float16, bfloat16:")
    print(f"bound held; largest |folded - original| / bound: {worst:.0e}")
    typical = torch.cat(ratios).median().item()
    print(f"T / |z|: at least 1 everywhere, median {typical:.0f}")
