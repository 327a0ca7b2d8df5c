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


def qa_experiment(training: bool = False):
    """The Q&A's run: seed 42, two batches, then its four models in its order."""
    torch.manual_seed(42)
    X = torch.randn(BATCH_SIZE, IN_FEATURES)
    Y = torch.randn(BATCH_SIZE, IN_FEATURES)
    models = {}
    for use_bias in (True, False):
        for use_bn_mean in (True, False):
            model = LinearBN(use_bias, use_bn_mean).train(training)
            models[use_bias, use_bn_mean] = model
    return X, Y, models


def is_linear(model, X, Y, tolerance=1e-5):
    """The Q&A's test: is f(0.5 X + 0.3 Y) equal to 0.5 f(X) + 0.3 f(Y)?"""
    with torch.no_grad():
        defect = model(0.5 * X + 0.3 * Y) - (0.5 * model(X) + 0.3 * model(Y))
    return defect.abs().max().item() < tolerance


def fused_bias(model):
    """b' = f(0), the fused layer's bias; it exists in evaluation mode only."""
    assert not model.training, "b' is the bias of the evaluation-mode model"
    with torch.no_grad():
        return model(torch.zeros(1, IN_FEATURES)).item()


def report(training: bool):
    """A header, then one line per (use_bias, use_bn_mean), in the Q&A's order."""
    X, Y, models = qa_experiment(training)
    lines = ["use_bias  use_bn_mean  verdict" + ("" if training else "     b'")]
    for (use_bias, use_bn_mean), model in models.items():
        verdict = "linear" if is_linear(model, X, Y) else "not linear"
        line = f"{use_bias!s:9} {use_bn_mean!s:12} {verdict:10}"
        if not training:  # b' = f(0) exists in evaluation mode only
            line += f"  {fused_bias(model):+.4f}"
        lines.append(line.rstrip())
    return lines


if __name__ == "__main__":
    print("Evaluation mode, as in the Q&A:")
    print("\n".join(report(training=False)))
    print("\nTraining mode, the same four models:")
    print("\n".join(report(training=True)))
