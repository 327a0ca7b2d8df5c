"""Experiment 3: in eval mode batch norm is a fixed affine map, linear only if its offset vanishes.

Run it: python snippets/bn_inference_affine.py
"""

import torch

from linearity import classify

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
num_features = 3

bn = torch.nn.BatchNorm1d(num_features)
bn(3 * torch.randn(4, num_features) + 1)  # one training step moves the running statistics
bn.eval()

scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
offset = bn.bias - scale * bn.running_mean  # what eval-mode batch norm adds to every sample

x = torch.randn(4, num_features)
with torch.no_grad():
    assert torch.allclose(bn(x), scale * x + offset)  # y = s * x + offset: affine
    assert torch.allclose(bn(torch.zeros(1, num_features)), offset)  # f(0) is the offset, not 0
    defect = bn(0.5 * x + 0.3 * x.flip(0)) - (0.5 * bn(x) + 0.3 * bn(x.flip(0)))
    assert torch.allclose(defect, 0.2 * offset.expand_as(defect), atol=1e-6)  # (1 - 0.5 - 0.3) * offset

print("running_mean:", bn.running_mean)
print("running_var: ", bn.running_var)
print("offset:      ", offset.detach())
print("eval batch norm is", classify(bn, x))

with torch.no_grad():
    bn.bias.copy_(scale * bn.running_mean)  # choose beta so that the offset vanishes
print("with beta = s * running_mean it is", classify(bn, x))
