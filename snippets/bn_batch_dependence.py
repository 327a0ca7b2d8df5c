"""Experiment 2: in training mode a sample's output depends on its batch.

That makes batch norm a map of whole batches; it does not make it nonlinear:
centering, which is linear, depends on the batch in the same way.

Run it: python snippets/bn_batch_dependence.py
"""

import torch

from linearity import classify

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
features = 3

# The blog's experiment: batches of 2 and 8, each through a fresh layer.
# Both come out with mean 0 per feature: that is what normalizing does, and
# centering, a linear map, does it too.
for batch_size in (2, 8):
    batch = torch.randn(batch_size, features)
    out = torch.nn.BatchNorm1d(features)(batch).detach()
    assert torch.allclose(out.mean(dim=0), torch.zeros(features), atol=1e-6)
    print(f"batch of {batch_size}: output mean per feature below 1e-6")

# The evidence: one layer, one sample, two batches, two different outputs.
bn = torch.nn.BatchNorm1d(features)
sample = torch.randn(1, features)
batch_a = torch.cat([sample, torch.randn(3, features)])
batch_b = torch.cat([sample, torch.randn(3, features) + 5])
out_a, out_b = bn(batch_a)[0].detach(), bn(batch_b)[0].detach()
assert not torch.allclose(out_a, out_b, atol=0.1)
print("same sample, batch A:", out_a)
print("same sample, batch B:", out_b)


def center(batch):
    return batch - batch.mean(dim=0)


# Centering shows the same dependence on the batch, and it is linear.
assert not torch.allclose(center(batch_a)[0], center(batch_b)[0], atol=0.1)
print("centering: same sample, two outputs; it is", classify(center, batch_a))

# In eval mode the running statistics are fixed: companions no longer matter.
bn.eval()
assert torch.equal(bn(batch_a)[0], bn(batch_b)[0])
print("eval, batch A and B:", bn(batch_a)[0].detach())
