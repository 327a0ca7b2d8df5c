"""A dead channel: running variance ~0, so s = gamma / sqrt(eps), 316 gamma at 1e-5.

What that does to the folded weight W' = diag(s) W, and to it in float16.

Run it: python snippets/numerics_dead_channel.py
"""

import copy
import math

import torch
from torch.nn.utils.fusion import fuse_linear_bn_eval


def dead_channel_pair(d_in=64, d=16):
    """Linear(d_in, d) and BatchNorm1d(d) in evaluation mode; channel 0 is dead."""
    torch.manual_seed(0)
    fc, bn = torch.nn.Linear(d_in, d), torch.nn.BatchNorm1d(d)  # eps 1e-5
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)  # gamma and beta, as training might leave them
        bn.bias.uniform_(-0.5, 0.5)
        for _ in range(300):  # training batches in which channel 0 is constant
            H = torch.randn(32, d) + 0.5
            H[:, 0] = 0.7
            bn(H)
    return fc.eval(), bn.eval()


if __name__ == "__main__":
    fc, bn = dead_channel_pair()
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    gain = (s / bn.weight).detach()  # s / gamma = 1 / sqrt(sigma_r^2 + eps)
    assert bn.running_var[0] < 1e-12 and bn.running_var[1:].min() > 0.5
    assert math.isclose(gain[0], 1 / math.sqrt(bn.eps), rel_tol=1e-6)
    low, high = gain[1:].min(), gain[1:].max()
    dead = bn.running_var[0]
    print(f"dead channel: sigma_r^2 = {dead:.0e}, s = {gain[0]:.1f} gamma")
    print(f"live channels: s between {low:.2f} and {high:.2f} gamma")
    keras_gain = f"1 / sqrt(BN eps) = {1 / math.sqrt(1e-3):.1f}"
    print(f"(Keras' default BN eps = 1e-3: {keras_gain})")

    folded = fuse_linear_bn_eval(fc, bn)  # W' = diag(s) W, b' = s (b - mu_r) + beta
    rows = folded.weight.detach().abs().amax(dim=1)  # largest |W'| in each row
    assert torch.allclose(folded.weight, s[:, None] * fc.weight)
    others = rows[1:].max()
    print(f"largest |W'|: {rows[0]:.2g} in the dead row, {others:.2g} in the rest")

    # float16: the folded layer against Linear then batch norm, both in float16.
    def in_dtype(dtype, *layers):  # copies: .to() converts a layer in place
        copies = (copy.deepcopy(layer) for layer in layers)
        return torch.nn.Sequential(*copies).to(dtype)

    unfolded, fused = in_dtype(torch.half, fc, bn), in_dtype(torch.half, folded)
    X = torch.randn(1000, fc.in_features)
    with torch.no_grad():
        exact = in_dtype(torch.double, fc, bn)(X.double())
        outputs = {"Linear, then BN": unfolded(X.half()), "folded": fused(X.half())}
    size = exact.abs().mean(dim=0)  # each channel's typical output
    machine_eps = torch.finfo(torch.float16).eps
    print("float16, largest error / channel's mean |output|,")
    print(f"in machine eps = {machine_eps:.1e}:")
    for name, out in outputs.items():
        relative = (out.double() - exact).abs().amax(dim=0) / size
        assert relative.max() < 8 * machine_eps
        print(f"  {name:16} dead channel and live ones alike: below 8 machine eps")

    # Overflow: float16 holds up to 65504, so the dead channel's output overflows
    # once |x W_0^T + b_0 - mu_r,0| exceeds 65504 / s_0, folded or not (channel
    # o = 0: W_0 its row of W, b_0 its bias, s_0 = gamma_0 / sqrt(var_r,0 + eps)).
    limit = torch.finfo(torch.float16).max / s[0].item()
    with torch.no_grad():
        pre = (fc(X)[:, 0] - bn.running_mean[0]).abs()
        big = X * (1.5 * limit / pre.max().item())  # one sample now crosses it
        for out in (unfolded(big.half()), fused(big.half())):
            assert torch.isinf(out[:, 0]).any()
            assert not torch.isinf(out[:, 1:]).any()
    gamma_0 = bn.weight[0].item()
    print("folded or not, the dead channel o = 0 overflows float16 once")
    print(f"|x W_0^T + b_0 - mu_r,0| > 65504 / s_0 = {limit:.0f},")
    print(f"with s_0 = {gain[0]:.1f} gamma_0 and gamma_0 = {gamma_0:.2f}")
