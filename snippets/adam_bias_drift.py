"""Adam moves a bias that batch norm cancels while the rounding noise in its zero
gradient is well above Adam's eps; plain SGD leaves it in place.

Run it: python snippets/adam_bias_drift.py
"""

import torch


def bias_drift(optimizer_class, dtype, scale, seed):
    """How far b moves in 100 steps at lr 0.01, and the median of max |grad b|.

    The loss, summed over a batch of 8 and times `scale`, sees b only through BN.
    """
    torch.manual_seed(seed)
    fc = torch.nn.Linear(4, 3).to(dtype)
    bn = torch.nn.BatchNorm1d(3).to(dtype)  # training mode: batch statistics
    start = fc.bias.detach().clone()
    optimizer = optimizer_class(fc.parameters(), lr=0.01)  # no weight decay
    sizes = []
    for _ in range(100):
        X = torch.randn(8, 4, dtype=dtype)
        loss = scale * (bn(fc(X)) * torch.randn(8, 3, dtype=dtype)).sum()
        optimizer.zero_grad()
        loss.backward()
        sizes.append(fc.bias.grad.abs().max())
        optimizer.step()
    drift = (fc.bias - start).abs().max().item()
    return drift, torch.stack(sizes).median().item()


eps = torch.optim.Adam([torch.zeros(1)]).defaults["eps"]
assert eps == 1e-8
print(f"Adam's eps = {eps:g}; 3 seeds each, 100 steps at learning rate 0.01")
SGD, Adam = torch.optim.SGD, torch.optim.Adam
f32, f64 = torch.float32, torch.float64
cases = [  # optimizer, dtype, loss scale, what b's drift must be
    ("SGD,  float32, summed loss", SGD, f32, 1.0, "below 1e-6"),
    ("Adam, float32, summed loss", Adam, f32, 1.0, "above 0.01"),
    ("Adam, float32, loss x 1e-4", Adam, f32, 1e-4, "1e-4 to 0.01"),
    ("Adam, float64, summed loss", Adam, f64, 1.0, "below 1e-6"),
]
bounds = {  # low <= drift < high
    "below 1e-6": (0, 1e-6),
    "above 0.01": (0.01, 1),
    "1e-4 to 0.01": (1e-4, 0.01),
}
for name, optimizer, dtype, scale, moves in cases:
    runs = [bias_drift(optimizer, dtype, scale, seed) for seed in range(3)]
    low, high = bounds[moves]
    assert all(low <= drift < high for drift, _ in runs), (name, runs)
    if all(size > 10 * eps for _, size in runs):
        noise = "above 10 eps"
    else:
        assert all(size < eps / 10 for _, size in runs), (name, runs)
        noise = "below eps/10"
    print(f"{name}: |grad b| {noise}, b moves {moves}")
