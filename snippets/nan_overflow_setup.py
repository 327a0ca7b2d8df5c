"""A model trained under float16 autocast with GradScaler; a batch that overflows.

The module the sections on NaN running statistics import. Run as a script, it
checks the premise: where float16 rounds to inf, that the corrupted sample is a
float16 number and the first layer's output on it is not, that in float32 the
same batch gives finite statistics, and how batch norm updates its buffers.

Run it: python snippets/nan_overflow_setup.py
"""

import copy

import torch
from torch.optim.swa_utils import update_bn

BAD_STEP = 5  # the step whose batch holds the corrupted sample
HALF_MAX = torch.finfo(torch.float16).max  # 65504, float16's largest finite number
HALF_INF = 65520.0  # from here up, a number rounds to inf in float16


def make_model():
    """Linear(8, 32), BatchNorm1d(32), ReLU, Linear(32, 2), seeded."""
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 32),
        torch.nn.BatchNorm1d(32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 2),
    )


def batch(step):
    """Batch number `step`: 32 samples of 8 features, labels from feature 0."""
    generator = torch.Generator().manual_seed(1000 + step)
    X = torch.randn(32, 8, generator=generator)
    y = (X[:, 0] > 0).long()
    if step == BAD_STEP:
        X[0] = 5e4  # one corrupted sample: 50000 in every feature
    return X, y


def train_step(model, optimizer, scaler, X, y, dtype=torch.float16):
    """One step of mixed-precision training on the CPU, as PyTorch's recipe does."""
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=dtype):
        loss = torch.nn.functional.cross_entropy(model(X), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)  # skipped if a gradient is inf or NaN
    scaler.update()  # and then the scale is halved
    return loss.item()


def make_training(model):
    """SGD and a GradScaler for the CPU."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return optimizer, torch.amp.GradScaler("cpu")


def accuracy(model, train=False):
    """Accuracy on 1000 test samples, evaluation (or training) mode, no update."""
    X = torch.randn(1000, 8, generator=torch.Generator().manual_seed(7))
    model = copy.deepcopy(model).train(train)  # the copy's buffers may change
    with torch.no_grad():
        return (model(X).argmax(1) == (X[:, 0] > 0)).float().mean().item()


def recomputed(model):
    """A copy whose running statistics update_bn recomputes on 20 clean batches."""
    model = copy.deepcopy(model)
    update_bn([batch(step) for step in range(100, 120)], model)  # float32
    return model


if __name__ == "__main__":
    below, at = torch.tensor([HALF_INF - 0.01, HALF_INF]).half()
    assert below == HALF_MAX and torch.isinf(at)  # the rounding threshold
    model = make_model()
    X, _ = batch(BAD_STEP)
    assert torch.isfinite(X.half()).all()  # 50000 < 65504: float16 holds it
    with torch.no_grad():
        hidden = model[0](X)  # float32
    too_big = hidden.abs() >= HALF_INF
    assert too_big.any() and torch.isfinite(hidden).all()
    bn = model[1]  # fresh: mu_r = 0, sigma_r^2 = 1, alpha = 0.1
    bn(hidden)  # float32 throughout: finite statistics
    assert torch.isfinite(bn.running_mean).all()
    assert torch.isfinite(bn.running_var).all()
    alpha, n = bn.momentum, len(X)
    unbiased = n / (n - 1) * hidden.var(0, unbiased=False)
    assert torch.allclose(bn.running_mean, alpha * hidden.mean(0))
    assert torch.allclose(bn.running_var, (1 - alpha) * 1 + alpha * unbiased)
    print(f"float16: {HALF_INF - 0.01} -> {below:.0f}, {HALF_INF:.0f} -> {at}")
    print(f"corrupted sample: 50000 in each feature, below {HALF_MAX:.0f}")
    largest, count = hidden.abs().max(), too_big.sum()
    print(f"Linear output {HALF_INF:.0f} or more in float32: {count} value(s),")
    print(f"  largest {largest:.2g}; batch norm in float32: finite statistics,")
    print("  running_var updated with the unbiased batch variance: True")
