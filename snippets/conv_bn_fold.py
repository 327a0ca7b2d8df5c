"""Conv2d followed by eval-mode BatchNorm2d is one Conv2d: its weight and bias.

Run it: python snippets/conv_bn_fold.py
"""

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval

from linearity import classify

torch.manual_seed(0)
conv = torch.nn.Conv2d(2, 3, kernel_size=3, padding=1)
bn = torch.nn.BatchNorm2d(3)
model = torch.nn.Sequential(conv, bn)
for _ in range(5):  # training steps move the running statistics off 0 and 1
    model(2 * torch.randn(8, 2, 6, 6) + 1)
model.eval()

with torch.no_grad():
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # one scale per channel
    folded_weight = s.view(-1, 1, 1, 1) * conv.weight  # W' = diag(s) W
    folded_bias = s * (conv.bias - bn.running_mean) + bn.bias  # b'
    fused = fuse_conv_bn_eval(conv, bn)  # PyTorch's own folding
    assert torch.allclose(fused.weight, folded_weight, rtol=1e-6, atol=1e-7)
    assert torch.allclose(fused.bias, folded_bias, rtol=1e-6, atol=1e-7)
    X = torch.randn(4, 2, 6, 6)
    error = (fused(X) - model(X)).abs().max() / model(X).abs().max()
    assert error < 1e-6
print("fuse_conv_bn_eval: W' = diag(s) W and b' = s (b - mu_r) + beta")
print("fused conv vs conv + batch norm: relative difference below 1e-6")

example = torch.randn(2, 2, 5, 5)
print("conv + batch norm, eval:  ", classify(model, example))
with torch.no_grad():  # no conv bias, beta = 0 and mu_r = 0: b' is exactly 0
    for offset in [conv.bias, bn.bias, bn.running_mean]:
        offset.zero_()
    assert (fuse_conv_bn_eval(conv, bn).bias == 0).all()
print("the same with b' = 0:     ", classify(model, example))
print("the same, training mode:  ", classify(model.train(), example))
