"""Eval-mode batch norm *before* a Linear or Conv2d folds into that layer too.

BN(x) = s * x + BN(0) with the offset BN(0) = beta - s * mu_r, so
Linear(BN(x)) = x (W diag(s))^T + (BN(0) W^T + b): the columns of W are scaled.
A convolution folds the same way, except where zero padding reaches in.

Run it: python snippets/bn_before_layer_fold.py
"""

import torch

torch.manual_seed(0)


def trained_batchnorm(bn, shape):
    """A batch norm with running statistics and parameters away from 0 and 1."""
    with torch.no_grad():
        for _ in range(5):
            bn(3 * torch.randn(shape, dtype=torch.float64) + 2)
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    return bn.eval()


bn = trained_batchnorm(torch.nn.BatchNorm1d(4).double(), (16, 4))
linear = torch.nn.Linear(4, 3).double()
with torch.no_grad():
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    offset = bn.bias - s * bn.running_mean  # BN(0): BN(x) = s * x + BN(0)
    weight = linear.weight * s  # scales column j of W by s_j: W diag(s)
    bias = linear.bias + linear.weight @ offset
    x = torch.randn(8, 4, dtype=torch.float64)
    assert torch.allclose(linear(bn(x)), x @ weight.T + bias, rtol=0, atol=1e-12)
print("Linear(BN(x)) = x (W diag(s))^T + (BN(0) W^T + b): checked to 1e-12")

bn = trained_batchnorm(torch.nn.BatchNorm2d(2).double(), (16, 2, 5, 5))
with torch.no_grad():
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    offset = bn.bias - s * bn.running_mean
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    for padding in [0, 1]:
        conv = torch.nn.Conv2d(2, 3, kernel_size=3, padding=padding).double()
        folded = torch.nn.Conv2d(2, 3, kernel_size=3, padding=padding).double()
        folded.weight.copy_(conv.weight * s.view(1, -1, 1, 1))  # input channels
        folded.bias.copy_(conv.bias + conv.weight.sum(dim=(2, 3)) @ offset)
        gap = (conv(bn(x)) - folded(x)).abs()
        inside = gap[..., padding:-padding or None, padding:-padding or None]
        assert inside.max() < 1e-12  # away from the border: exact
        if padding == 0:
            assert gap.max() < 1e-12
            print("padding=0: the folded conv equals conv(BN(x)) to 1e-12")
        else:  # the border: zeros where the folded conv assumes BN(0)
            print(
                "padding=1: equal to 1e-12 away from the border, off by up to "
                f"{gap.max().item():.1f} on it"
            )
