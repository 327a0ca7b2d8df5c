"""The bias of the layer before batch norm: no gradient in training, a fading
trace in evaluation.

Two copies of Linear + BatchNorm1d differ only in the linear layer's bias b.
In training mode batch norm subtracts the batch mean, which carries b away, so
both copies give the same outputs, the same gradients and the same steps, and
plain SGD (no momentum, no weight decay) leaves b where it was. Only the
running mean differs, and in evaluation mode the copies differ by
s * b * (1 - alpha)**k after k training steps.

Run it: python snippets/bias_before_bn.py
"""

import copy

import torch

torch.manual_seed(0)
with_bias = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
with_bias.double()
X = torch.randn(16, 3, dtype=torch.float64)
target = torch.randn(16, 2, dtype=torch.float64)
loss = (with_bias(X) - target).pow(2).mean()
loss.backward()
linear = with_bias[0]
print(f"gradient of the weight: {linear.weight.grad.abs().max().item():.2f}")
assert linear.bias.grad.abs().max() < 1e-12  # zero up to float64 rounding
print("gradient of the bias:    below 1e-12")

without_bias = copy.deepcopy(with_bias)
with torch.no_grad():
    without_bias[0].bias.zero_()
models = [with_bias, without_bias]
start = linear.bias.detach().clone()
k = 20
for _ in range(k):
    X = 2 * torch.randn(16, 3, dtype=torch.float64) + 1
    target = X[:, :2] - X[:, 2:]  # something for the models to learn
    outputs = []
    for model in models:
        model.zero_grad()
        outputs.append(model(X))
        (outputs[-1] - target).pow(2).mean().backward()
        with torch.no_grad():  # one step of plain SGD, learning rate 0.1
            for parameter in model.parameters():
                parameter -= 0.1 * parameter.grad
    assert torch.allclose(outputs[0], outputs[1], rtol=0, atol=1e-12)
assert (linear.bias - start).abs().max() < 1e-12  # plain SGD leaves b where it was

for model in models:
    model.eval()
bn, b = with_bias[1], with_bias[0].bias.detach()
s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
X = torch.randn(5, 3, dtype=torch.float64)  # a batch to evaluate
with torch.no_grad():
    gap = with_bias(X) - without_bias(X)
alpha = bn.momentum
assert torch.allclose(gap, (s * b * (1 - alpha) ** k).expand(5, 2), atol=1e-12)
print(f"training mode, {k} steps: same outputs to 1e-12, b moved less than 1e-12")
print(f"evaluation mode: outputs differ by s * b * (1 - alpha)^{k}, as derived")
