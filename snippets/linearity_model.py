"""The Q&A's linearity model: Linear(3 -> 1) then BatchNorm1d(1). Is it linear?

Run it: python snippets/linearity_model.py
"""

import torch

BATCH_SIZE, IN_FEATURES, OUT_FEATURES = 4, 3, 1


class LinearBN(torch.nn.Module):
    """Linear then batch norm, with statistics and parameters away from identity."""

    def __init__(self, use_bias: bool, use_bn_mean: bool):
        super().__init__()
        self.use_bias, self.use_bn_mean = use_bias, use_bn_mean
        self.fc = torch.nn.Linear(IN_FEATURES, OUT_FEATURES, bias=use_bias)
        self.bn = torch.nn.BatchNorm1d(OUT_FEATURES)
        with torch.no_grad():
            self.bn.running_mean.fill_(4.2 if use_bn_mean else 0.0)
            self.bn.running_var.fill_(1.5)
            # "use_bias" switches on both biases: the linear layer's and this one.
            self.bn.bias.fill_(1.3 if use_bias else 0.0)
            self.bn.weight.fill_(2.5)

    def forward(self, x):
        return self.bn(self.fc(x))


def is_linear(model, x, y, tolerance=1e-5):
    """The Q&A's test: is f(0.5 x + 0.3 y) equal to 0.5 f(x) + 0.3 f(y)?"""
    with torch.no_grad():
        defect = model(0.5 * x + 0.3 * y) - (0.5 * model(x) + 0.3 * model(y))
    return defect.abs().max().item() < tolerance


def verdicts(x, y, training: bool):
    """One line per (use_bias, use_bn_mean) case, in the Q&A's order."""
    lines = []
    for use_bias in (True, False):
        for use_bn_mean in (True, False):
            model = LinearBN(use_bias, use_bn_mean).train(training)
            verdict = "linear" if is_linear(model, x, y) else "not linear"
            lines.append(f"Model is {verdict} for {use_bias=}, {use_bn_mean=}.")
    return lines


if __name__ == "__main__":
    torch.manual_seed(42)
    batch_x = torch.randn(BATCH_SIZE, IN_FEATURES)
    batch_y = torch.randn(BATCH_SIZE, IN_FEATURES)
    print("\n".join(verdicts(batch_x, batch_y, training=False)))
    print("\nIn training mode, batch norm uses each batch's own statistics:")
    print("\n".join(verdicts(batch_x, batch_y, training=True)))
