"""Eval-mode batch norm *before* a Linear or Conv2d folds into that layer too.

BN(x) = s * x + BN(0) with the offset BN(0) = beta - s * mu_r, so
Linear(BN(x)) = x (W diag(s))^T + (BN(0) W^T + b): the columns of W are scaled.
A convolution folds the same way. Padding by reflecting, replicating or
wrapping commutes with BN; zero padding does not, unless the folded layer pads
its input with BN^-1(0) = mu_r - beta / s, the value that BN maps to 0.

Run it: python snippets/bn_before_layer_fold.py
"""

import copy

import torch
import torch.nn.functional as F

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
    X = torch.randn(8, 4, dtype=torch.float64)
    assert torch.allclose(linear(bn(X)), X @ weight.T + bias, rtol=0, atol=1e-12)
print("Linear(BN(x)) = x (W diag(s))^T + (BN(0) W^T + b): checked to 1e-12")


def fold_before(conv, s, offset):
    """conv with BN(x) = s * x + offset folded in: same padding, same mode."""
    folded = copy.deepcopy(conv)
    folded.weight.mul_(s.view(1, -1, 1, 1))  # input channel i times s_i
    folded.bias.add_(conv.weight.sum(dim=(2, 3)) @ offset)
    return folded


bn = trained_batchnorm(torch.nn.BatchNorm2d(2).double(), (16, 2, 5, 5))
with torch.no_grad():
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    offset = bn.bias - s * bn.running_mean
    assert (offset.abs() > 0.1).all()  # BN(0) is not 0 on any channel
    X = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    for padding, mode in [(0, "zeros"), (1, "reflect"), (1, "replicate"),
                          (1, "circular"), (1, "zeros")]:
        conv = torch.nn.Conv2d(2, 3, 3, padding=padding, padding_mode=mode)
        conv = conv.double()
        gap = (conv(bn(X)) - fold_before(conv, s, offset)(X)).abs()
        inside = gap[..., 1:-1, 1:-1] if padding else gap  # away from the border
        assert inside.max() < 1e-12
        label = f"padding={padding}, {mode}:".ljust(22)
        if (padding, mode) != (1, "zeros"):
            assert gap.max() < 1e-12
            print(label, "folded conv = conv(BN(x)) to 1e-12")
        else:  # zeros around BN(x), but around x: the folded conv sees BN(0)
            assert gap.max() > 0.1
            print(label, "equal to 1e-12 inside, off by over 0.1 on the border")

    # The fix for the last conv (zeros): pad x with BN^-1(0), which BN maps to 0
    pad_value = (bn.running_mean - bn.bias / s).view(1, -1, 1, 1)  # needs s != 0
    assert bn(pad_value).abs().max() < 1e-12
    padded = F.pad(X - pad_value, (1, 1, 1, 1)) + pad_value  # per channel
    folded = fold_before(conv, s, offset)
    fixed = F.conv2d(padded, folded.weight, folded.bias)  # padding done above
    assert (conv(bn(X)) - fixed).abs().max() < 1e-12
    print("zeros, x padded with BN^-1(0):", "folded conv = conv(BN(x)) to 1e-12")
