"""The bias of the layer before batch norm: no gradient in training, a trace
in evaluation.

Two copies of Linear + BatchNorm1d differ only in the linear layer's bias b
(the other has bias=False). In training mode batch norm subtracts the batch
mean, which carries b away, so both copies give the same outputs and take the
same steps on W, gamma and beta, whatever the optimizer does to b. Only the
running mean differs: it also averages the values b had, and in evaluation
mode the copies differ by s * (b_k - b_bar), b_k the bias after k steps and
b_bar the running average of its values. Plain SGD leaves b where it was, and
the gap is s * b * (1 - alpha)**k, which fades; Adam in float32 moves b, and
the gap need not fade.

Run it: python snippets/bias_before_bn.py
"""

import torch

torch.manual_seed(0)
layers = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
layers.double()
X = torch.randn(16, 3, dtype=torch.float64)
target = torch.randn(16, 2, dtype=torch.float64)
(layers(X) - target).pow(2).mean().backward()
linear = layers[0]
print(f"gradient of the weight: {linear.weight.grad.abs().max().item():.2f}")
assert linear.bias.grad.abs().max() < 1e-12  # zero up to float64 rounding
print("gradient of the bias:    below 1e-12")


def train_pair(optimizer_class, dtype, k, lr, tolerance):
    """Train copies with and without b on the same batches; return the gap
    between their evaluation outputs, s * (b_k - b_bar), and how far b moved."""
    torch.manual_seed(0)
    with_bias = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    without_bias = torch.nn.Sequential(
        torch.nn.Linear(3, 2, bias=False), torch.nn.BatchNorm1d(2)
    )
    without_bias.load_state_dict(with_bias.state_dict(), strict=False)  # not b
    models = [with_bias.to(dtype), without_bias.to(dtype)]
    optimizers = [optimizer_class(model.parameters(), lr=lr) for model in models]
    b = with_bias[0].bias
    start, b_bar = b.detach().clone(), torch.zeros(2, dtype=dtype)
    alpha = with_bias[1].momentum
    for _ in range(k):
        X = 2 * torch.randn(16, 3, dtype=dtype) + 1
        target = X[:, :2] - X[:, 2:]  # something for the models to learn
        b_bar = (1 - alpha) * b_bar + alpha * b.detach()  # as mu_r averages b
        outputs = []
        for model, optimizer in zip(models, optimizers, strict=True):
            optimizer.zero_grad()
            outputs.append(model(X))
            (outputs[-1] - target).pow(2).mean().backward()
            optimizer.step()
        assert torch.allclose(outputs[0], outputs[1], rtol=0, atol=tolerance)
    bn = with_bias[1].eval()
    without_bias.eval()
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    X = torch.randn(5, 3, dtype=dtype)  # a batch to evaluate
    with torch.no_grad():
        gap = with_bias(X) - without_bias(X)
    expected = (s * (b.detach() - b_bar)).expand(5, 2)
    assert torch.allclose(gap, expected, rtol=0, atol=tolerance)
    return gap, s * start * (1 - alpha) ** k, (b.detach() - start).abs().max()


k = 20  # plain SGD in float64: b stays, the gap is s * b * (1 - alpha)^k
gap, trace, moved = train_pair(torch.optim.SGD, torch.float64, k, 0.1, 1e-12)
assert moved < 1e-12 and torch.allclose(gap, trace.expand(5, 2), atol=1e-12)
print(f"SGD, float64, {k} steps: same training outputs to 1e-12, b moves < 1e-12")
print(f"  evaluation: they differ by s * (b_k - b_bar) = s * b * (1 - alpha)^{k}")

k = 200  # Adam in float32: b moves, and the gap does not fade like (1 - alpha)^k
gap, trace, moved = train_pair(torch.optim.Adam, torch.float32, k, 0.01, 1e-5)
assert moved > 1e-3 and gap.abs().max() > 1e-3 and trace.abs().max() < 1e-9
print(f"Adam, float32, {k} steps: same training outputs to 1e-5, b moves > 1e-3")
print("  evaluation: they differ by s * (b_k - b_bar), by more than 1e-3,")
print(f"  where a b that stayed put would leave s * b * (1 - alpha)^{k} < 1e-9")
