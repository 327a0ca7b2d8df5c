"""Figure: in eval mode, Linear(1 -> 1) + BatchNorm1d(1) is one line, offset by b'.

The merged map x -> W' x + b' misses the origin unless b' = 0. Choosing beta to
cancel the other biases moves it onto the line through the origin.

Run it: python snippets/figure_inference_lines.py
"""

import matplotlib.figure
import torch


def linear_bn(cancel: bool):
    fc, bn = torch.nn.Linear(1, 1), torch.nn.BatchNorm1d(1).eval()
    with torch.no_grad():
        fc.weight.fill_(0.8)
        fc.bias.fill_(0.5)
        bn.running_mean.fill_(4.2)
        bn.running_var.fill_(1.5)
        bn.weight.fill_(2.5)
        bn.bias.fill_(1.3)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        if cancel:
            bn.bias.copy_(-scale * (fc.bias - bn.running_mean))
    return torch.nn.Sequential(fc, bn), (scale * fc.weight).item()


inputs = torch.linspace(-3, 3, 61)[:, None]  # 61 samples of one feature
with torch.no_grad():
    model, slope = linear_bn(cancel=False)
    offset = model(torch.zeros(1, 1)).item()  # b' = f(0)
    affine = model(inputs).flatten()
    cancelled = linear_bn(cancel=True)[0](inputs).flatten()
through_origin = slope * inputs.flatten()

assert torch.allclose(affine, through_origin + offset, atol=1e-5)
on_origin_line = torch.allclose(cancelled, through_origin, atol=1e-5)
assert on_origin_line


def draw():
    figure = matplotlib.figure.Figure(figsize=(6, 4.2))
    plot = figure.add_subplot()
    plot.axhline(0, color="0.8", linewidth=0.8)
    plot.axvline(0, color="0.8", linewidth=0.8)
    label = f"as set: b' = {offset:.2f}"
    plot.plot(inputs, affine, color="tab:blue", linewidth=2, label=label)
    plot.plot(inputs, through_origin, color="black", linestyle="--", label="W' x")
    plot.plot(
        inputs[::6], cancelled[::6], "o", color="tab:orange", label="beta cancels"
    )
    plot.scatter([0], [offset], color="tab:blue", zorder=3)
    where = dict(xytext=(8, -4), textcoords="offset points")
    plot.annotate("f(0) = b'", (0, offset), **where)
    plot.set_xlabel("input x")
    plot.set_ylabel("output f(x)")
    plot.set_title("Linear + batch norm in eval mode: one line")
    plot.legend(frameon=False, loc="upper left")
    return figure


if __name__ == "__main__":
    print(f"slope W' = {slope:.4f}, offset b' = {offset:.4f}")
    print("cancelling beta: line through the origin:", on_origin_line)
