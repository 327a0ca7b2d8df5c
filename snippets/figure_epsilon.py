"""Figure: eps decides where batch norm in training mode turns nearly linear.

A feature with batch standard deviation sigma comes out with standard deviation
sigma / sqrt(sigma^2 + eps): about 1 when sigma >> sqrt(eps), and about
sigma / sqrt(eps), a fixed scale, when sigma << sqrt(eps).

Run it: python snippets/figure_epsilon.py
"""

import matplotlib.figure
import torch

eps, n = 1e-5, 64  # n: the batch size
torch.manual_seed(0)
spreads = torch.logspace(-5, 1, 25, dtype=torch.float64)
noise = torch.randn(n, 1, dtype=torch.float64)
noise = (noise - noise.mean()) / noise.std(unbiased=False)  # mean 0, std 1 exactly


def output_std(spread):
    batch = spread * noise
    out = torch.nn.functional.batch_norm(batch, None, None, training=True, eps=eps)
    return out.std(unbiased=False)


def formula(spread):
    return spread / (spread**2 + eps) ** 0.5


measured = torch.stack([output_std(spread) for spread in spreads])
predicted = formula(spreads)
assert torch.allclose(measured, predicted)

# Three points the text names, measured: sqrt(eps) itself and below it.
marks = {"sqrt(eps)": eps**0.5, "1e-3": 1e-3, "1e-4": 1e-4}
for spread in marks.values():
    at = torch.tensor(spread, dtype=torch.float64)
    assert torch.isclose(output_std(at), formula(at))
assert abs(formula(eps**0.5) - 0.5**0.5) < 1e-12  # 1 / sqrt(2) at sigma = sqrt(eps)


def draw():
    figure = matplotlib.figure.Figure(figsize=(6, 4.2))
    plot = figure.add_subplot()
    plot.loglog(spreads, predicted, color="tab:blue", linewidth=2,
                label="sigma / sqrt(sigma² + eps)")
    plot.loglog(spreads, measured, "o", color="tab:orange", markersize=4,
                label="BatchNorm1d, measured")
    plot.loglog(spreads, spreads / eps**0.5, color="black", linestyle="--",
                linewidth=1, label="sigma / sqrt(eps): linear")
    plot.axvline(eps**0.5, color="0.6", linewidth=0.8)
    plot.annotate("sigma = sqrt(eps)", (eps**0.5, 2e-3), textcoords="offset points",
                  xytext=(6, 0))
    plot.set_ylim(1e-5, 3)
    plot.set_xlabel("standard deviation of the input batch (sigma)")
    plot.set_ylabel("standard deviation of the output")
    plot.set_title("Where eps = 1e-5 makes batch norm nearly linear")
    plot.legend(frameon=False, loc="lower right")
    return figure


if __name__ == "__main__":
    print(f"{len(spreads)} spreads, 1e-5 to 10: the measured std is the formula's")
    for name, spread in marks.items():
        print(f"at sigma = {name:9} the output std is {formula(spread):.4f}")
