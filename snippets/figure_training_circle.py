"""Figure: in training mode, batch norm puts every batch of three on one circle.

A batch of three values of one feature is a point in 3-D space. Centering
projects it onto the plane orthogonal to (1, 1, 1); dividing by the standard
deviation moves it to the circle of radius sqrt(3) in that plane.

Run it: python snippets/figure_training_circle.py
"""

import matplotlib.figure
import torch

torch.manual_seed(0)
count = 40
spreads = torch.logspace(-0.5, 0.5, count, dtype=torch.float64)[:, None]
batches = torch.randn(count, 3, dtype=torch.float64) * spreads
batches += 5 * torch.randn(count, 1, dtype=torch.float64)  # vanishes in the plane
# batch_norm normalizes over dim 0: one batch per column.
outputs = torch.nn.functional.batch_norm(batches.T, None, None, training=True).T

# Orthonormal axes of the plane orthogonal to (1, 1, 1).
axes = torch.tensor([[1, -1, 0], [1, 1, -2]], dtype=torch.float64)
axes = axes / axes.norm(dim=1, keepdim=True)
radius = 3**0.5

variance = batches.var(dim=1, unbiased=False)
lengths = outputs.norm(dim=1)
assert torch.allclose(outputs.sum(dim=1), torch.zeros(count, dtype=torch.float64))
assert torch.allclose(lengths**2, 3 * variance / (variance + 1e-5))  # exact
assert ((lengths - radius).abs() < 1e-3).all()  # on the circle, up to eps
# On the ray from the centre through the centred input: parallel, same direction.
centred = batches - batches.mean(dim=1, keepdim=True)
cross = torch.linalg.cross(outputs, centred, dim=1)
same_direction = (outputs * centred).sum(dim=1) > 0
on_ray = bool((cross.abs() < 1e-12).all() and same_direction.all())
assert on_ray


def draw():
    figure = matplotlib.figure.Figure(figsize=(5.5, 5.5))
    plot = figure.add_subplot()
    inputs, normalized = batches @ axes.T, outputs @ axes.T
    for start, end in zip(inputs, normalized, strict=True):
        segment = torch.stack([start, end]).T  # x values, then y values
        plot.plot(*segment, color="0.75", linewidth=0.8, zorder=1)
    angle = torch.linspace(0, 2 * torch.pi, 200)
    circle = radius * angle.cos(), radius * angle.sin()
    plot.plot(*circle, color="black", linewidth=1)
    plot.scatter(*inputs.T, s=14, color="tab:blue", label="input batch", zorder=2)
    plot.scatter(*normalized.T, s=14, color="tab:orange", label="output", zorder=3)
    plot.set_aspect("equal")
    plot.set_xlabel("along (1, -1, 0)")
    plot.set_ylabel("along (1, 1, -2)")
    plot.set_title("Batches of 3 seen in the plane orthogonal to (1, 1, 1)")
    plot.legend(loc="upper right", frameon=False)
    return figure


if __name__ == "__main__":
    deviation = (lengths - radius).abs().max().item()
    print(f"{count} batches of 3: all outputs on the circle of radius {radius:.4f}")
    print(f"largest distance from it: {deviation:.1e} (from eps = 1e-5)")
    print("each output on the ray through its centred input:", on_ray)
