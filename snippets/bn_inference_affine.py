"""Experiment 3: in eval mode batch norm is a fixed affine map, not a linear one.

Run it: python snippets/bn_inference_affine.py
"""

import torch

from linearity import classify

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
features = 3

bn = torch.nn.BatchNorm1d(features)
bn(3 * torch.randn(4, features) + 1)  # a training step moves the running statistics
bn.eval()

# What eval-mode batch norm does to every sample: scale, then add an offset.
scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
offset = (bn.bias - scale * bn.running_mean).detach()

X, Y = torch.randn(2, 4, features)  # two batches of 4 samples
with torch.no_grad():
    assert torch.allclose(bn(X), scale * X + offset)  # affine
    assert torch.allclose(bn(torch.zeros(1, features)), offset)  # f(0) is not 0
    defect = bn(0.5 * X + 0.3 * Y) - (0.5 * bn(X) + 0.3 * bn(Y))
    assert torch.allclose(defect, (1 - 0.5 - 0.3) * offset.expand(4, -1), atol=1e-6)

print("running_mean:", bn.running_mean)
print("running_var: ", bn.running_var)
print("offset:      ", offset)
print("eval batch norm is", classify(bn, X))

with torch.no_grad():
    bn.bias.copy_(scale * bn.running_mean)  # the beta that cancels the offset
print("with beta = s * running_mean it is", classify(bn, X))
