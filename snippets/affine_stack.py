"""Convolutions, linear layers and eval-mode batch norms: one affine map.

Read the map off the model: its offset is f(0) and column j of its matrix is
f(e_j) - f(0). Then f(x) = x A^T + f(0) for every x. With layer norm in place of
batch norm the same recipe fails: layer norm divides each sample by that
sample's own spread, in evaluation mode too.

Run it: python snippets/affine_stack.py
"""

import torch


def as_affine_map(model, sample_shape):
    """(A, offset) with model(X) = X.flatten(1) @ A.T + offset, read off model."""
    size = torch.Size(sample_shape).numel()
    with torch.no_grad():
        basis = torch.eye(size, dtype=torch.float64).reshape(size, *sample_shape)
        offset = model(torch.zeros(1, *sample_shape, dtype=torch.float64))[0]
        columns = model(basis).flatten(1) - offset.flatten()  # f(e_j) - f(0)
    return columns.T, offset.flatten()


def stack(norm2d, norm1d):
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, kernel_size=3), norm2d(3),
        torch.nn.Conv2d(3, 4, kernel_size=3, padding=1), norm2d(4),
        torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 5), norm1d(5),
    ).double()


torch.manual_seed(0)
shape = (2, 5, 5)  # one sample: 2 channels of 5 x 5
batch_norms = stack(torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)
layer_norms = stack(
    lambda channels: torch.nn.LayerNorm([channels, 3, 3]), torch.nn.LayerNorm
)
X = torch.randn(6, *shape, dtype=torch.float64)
for name, model in [("batch norm", batch_norms), ("layer norm", layer_norms)]:
    with torch.no_grad():
        for _ in range(3):  # training steps: running statistics move
            model(3 * torch.randn(16, *shape, dtype=torch.float64) + 1)
    model.eval()
    A, offset = as_affine_map(model, shape)
    with torch.no_grad():
        gap = (model(X) - (X.flatten(1) @ A.T + offset)).abs().max().item()
    if name == "batch norm":
        assert gap < 1e-10
        print(f"{name}: f(x) = x A^T + f(0) to 1e-10, A of shape {tuple(A.shape)}")
    else:
        assert gap > 0.1
        print(f"{name}: f(x) and x A^T + f(0) differ by up to {gap:.1f}")
