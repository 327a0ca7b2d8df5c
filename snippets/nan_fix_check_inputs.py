"""The fix at the source: check each batch before the forward pass, skip a bad one.

Run it: python snippets/nan_fix_check_inputs.py
"""

import torch

from nan_overflow_setup import (
    BAD_STEP,
    HALF_INF,
    accuracy,
    batch,
    make_model,
    make_training,
    recomputed,
    train_step,
)

LIMIT = 100.0  # the bound on |value|; the clean data reach about 4.5


def usable(X, limit=LIMIT):
    """False if X holds inf or NaN, or a value beyond the bound."""
    return bool(torch.isfinite(X).all() and X.abs().max() <= limit)


def worst_output(layer, limit=LIMIT):
    """The largest |output| of a Linear or convolution `layer` on any input whose
    |values| are <= limit, with its weights rounded to float16 as autocast does."""
    with torch.no_grad():
        W = layer.weight.half().float().flatten(1)  # one row per output feature
        worst = W.abs().sum(1) * limit  # a kernel's rows: its L1 norm
        if layer.bias is not None:
            worst += layer.bias.half().float().abs()
        return worst.max().item()


def reached(layer, limit=LIMIT):
    """The largest |float16 output| on the inputs of sign(row o of W) * limit."""
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
        sign = layer.weight.sign()  # with the sign of the bias: both add up
        if layer.bias is not None:
            sign = sign * layer.bias.sign().view(-1, *[1] * (sign.dim() - 1))
        return layer(limit * sign).abs().amax().item()  # a conv: one position


torch.manual_seed(0)  # the bound is reached, biased or not, Linear or Conv2d
for layer in torch.nn.Linear(8, 4, bias=False), torch.nn.Conv2d(3, 4, 3):
    assert abs(reached(layer) / worst_output(layer) - 1) < 0.01


assert not usable(torch.full((2, 8), float("nan")))  # NaN and inf are caught
assert not usable(torch.full((2, 8), float("inf")))
model = make_model()
optimizer, scaler = make_training(model)  # float16 autocast, as before
skipped, finite, worst, clean = [], True, 0.0, 0.0
for step in range(BAD_STEP + 50):
    X, y = batch(step)
    worst = max(worst, worst_output(model[0]))  # the weights of this step
    assert abs(reached(model[0]) / worst_output(model[0]) - 1) < 0.01
    if not usable(X):  # before the forward pass: batch norm never sees it
        skipped.append(step)
        continue
    clean = max(clean, X.abs().max().item())
    train_step(model, optimizer, scaler, X, y)
    finite &= all(torch.isfinite(b).all().item() for b in model.buffers())
assert skipped == [BAD_STEP] and finite
assert clean < 10 and worst < HALF_INF / 100  # no batch within it can overflow
fresh = recomputed(model)
ratio = model[1].running_var / fresh[1].running_var
evaluation, training = accuracy(model), accuracy(model, train=True)
assert ((0.5 < ratio) & (ratio < 2)).all()
assert evaluation > 0.9
assert abs(evaluation - training) < 0.02
assert abs(evaluation - accuracy(fresh)) < 0.02
print(f"float16 autocast, {BAD_STEP + 50} steps: skipped step(s) {skipped},")
print("  buffers finite after every step")
print(f"clean batches: largest |value| {clean:.1f}; bound {LIMIT:.0f}: the first")
print(f"  layer's largest possible output within it, at any step: {worst:.2g},")
print("  reached within 1% in float16, below 1% of 65520")
print(f"running_var / recomputed: between 0.5 and 2 in all {len(ratio)} features")
print(f"accuracy: evaluation mode {evaluation:.2f}, training mode", end="")
print(f" {training:.2f}, recomputed statistics {accuracy(fresh):.2f}")
