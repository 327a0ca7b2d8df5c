"""Gradient accumulation against one large batch, with and without batch norm.

A batch X of n samples is split into m micro-batches of n / m samples; each
micro-batch's loss is divided by m and backpropagated, and the gradients add up
in .grad. Without batch norm that sum is the gradient of the mean loss over
all n samples. The model: Linear, a normalization layer, ReLU, Linear, in
float64, with a mean squared error loss. Run as a script, it measures the
relative difference between the accumulated and the full-batch gradient for
each normalization layer, over 20 seeds.

Run it: python snippets/accumulation_gradient.py
"""

import torch

FEATURES, HIDDEN = 8, 16
NORMS = {  # the layer between the two Linear layers
    "no normalization": lambda: torch.nn.Identity(),
    "BatchNorm1d": lambda: torch.nn.BatchNorm1d(HIDDEN),
    "LayerNorm": lambda: torch.nn.LayerNorm(HIDDEN),
    "GroupNorm(4, 16)": lambda: torch.nn.GroupNorm(4, HIDDEN),
}


def make_model(norm, seed):
    """Linear(8, 16), the normalization layer, ReLU, Linear(16, 1); float64."""
    torch.manual_seed(seed)
    nn = torch.nn
    layers = [nn.Linear(FEATURES, HIDDEN), NORMS[norm](), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(HIDDEN, 1)).double()


def make_batch(n, seed):
    """n samples X of 8 features (mean 1, standard deviation 2) and targets Y."""
    generator = torch.Generator().manual_seed(1000 + seed)
    X = 2 * torch.randn(n, FEATURES, generator=generator, dtype=torch.float64) + 1
    Y = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    return X, Y


def accumulated_gradient(model, X, Y, m):
    """The gradient one optimizer step would use, as one flat vector: m forward
    and backward passes over micro-batches of n / m samples, each loss divided
    by m. With m = 1 it is the gradient of the whole batch."""
    model.zero_grad()
    for X_j, Y_j in zip(X.chunk(m), Y.chunk(m), strict=True):
        loss = torch.nn.functional.mse_loss(model(X_j), Y_j) / m
        loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def relative_difference(norm, seed, n, m):
    """|accumulated - full| / |full| for one seed: the same model and batch."""
    X, Y = make_batch(n, seed)
    full = accumulated_gradient(make_model(norm, seed), X, Y, 1)
    accumulated = accumulated_gradient(make_model(norm, seed), X, Y, m)
    return ((accumulated - full).norm() / full.norm()).item()


if __name__ == "__main__":
    n, seeds, splits = 64, 20, [2, 4, 8, 16]
    print(f"n = {n}, {seeds} seeds: |accumulated - full| / |full|,")
    print("mean (standard error) over the seeds")
    print(f"{'m micro-batches of n / m:':26}" + "".join(f"{m:>14}" for m in splits))
    for norm in NORMS:
        row = []
        for m in splits:
            D = torch.tensor(
                [relative_difference(norm, seed, n, m) for seed in range(seeds)]
            )
            if norm == "BatchNorm1d":
                assert D.min() > 0.01  # every seed, far above rounding
                row.append(f"{D.mean():.2f} ({D.std() / seeds**0.5:.2f})")
            else:
                assert D.max() < 1e-13  # rounding in float64
                row.append("below 1e-13")
        print(f"{norm:26}" + "".join(f"{cell:>14}" for cell in row))
