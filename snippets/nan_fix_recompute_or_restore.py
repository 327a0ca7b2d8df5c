"""After the fact: recompute the running statistics, or restore a checkpoint.

Run it: python snippets/nan_fix_recompute_or_restore.py
"""

import copy

import torch
from torch.optim.swa_utils import update_bn

from nan_overflow_setup import (
    BAD_STEP,
    accuracy,
    batch,
    make_model,
    make_training,
    train_step,
)


def finite(model):
    return all(torch.isfinite(buffer).all().item() for buffer in model.buffers())


model = make_model()
optimizer, scaler = make_training(model)
for step in range(BAD_STEP + 50):
    if step == BAD_STEP:  # the last state whose buffers are all finite
        checkpoint = copy.deepcopy(
            [model.state_dict(), optimizer.state_dict(), scaler.state_dict()]
        )
    train_step(model, optimizer, scaler, *batch(step))
assert not finite(model)  # step BAD_STEP left inf and NaN, for good

# 1. Recompute: update_bn resets the statistics, then averages over the batches.
clean = [batch(step) for step in range(100, 120)]  # 20 clean batches
fixed = copy.deepcopy(model)
update_bn(clean, fixed)  # in float32: no autocast around it
with torch.no_grad():
    hidden = [model[0](X) for X, _ in clean]  # what the batch norm receives
means = torch.stack([h.mean(0) for h in hidden]).mean(0)
variances = torch.stack([h.var(0) for h in hidden]).mean(0)  # unbiased
assert finite(fixed)
assert torch.allclose(fixed[1].running_mean, means, rtol=1e-5, atol=1e-6)
assert torch.allclose(fixed[1].running_var, variances, rtol=1e-5)
evaluation, training = accuracy(fixed), accuracy(model, train=True)
assert evaluation > 0.9 and abs(evaluation - training) < 0.02
print("update_bn on 20 clean batches: running statistics finite, each the mean")
print(f"  of the 20 batch statistics; accuracy: evaluation mode {evaluation:.2f},")
print(f"  training mode {training:.2f}")

dirty = copy.deepcopy(model)  # update_bn on the training batches, bad one included
update_bn([batch(step) for step in range(BAD_STEP + 50)], dirty)
ratio = dirty[1].running_var / fixed[1].running_var  # per feature
dirty_accuracy = accuracy(dirty)
assert finite(dirty) and (ratio > 5).all() and ratio.median() > 1e4
assert dirty_accuracy < 0.7
print(f"update_bn on the {BAD_STEP + 50} training batches, batch", end="")
print(f" {BAD_STEP} included: finite, but")
print("  running_var / clean: above 5 in every feature,", end="")
print(f" median {ratio.median():.0e};")
print(f"  evaluation accuracy {dirty_accuracy:.2f}")

reset = copy.deepcopy(model)
reset[1].reset_running_stats()  # alone: finite, but mu_r = 0 and sigma_r^2 = 1
assert finite(reset) and (reset[1].running_var == 1).all()
assert (reset[1].running_mean == 0).all()
assert accuracy(reset) < 0.92 < evaluation  # mu_r, sigma_r^2 not the data's
print("reset_running_stats() alone: finite, evaluation accuracy below 0.92")

# Without GradScaler (bfloat16 autocast here), NaN in the data reaches the weights.
unscaled = make_model()
plain = torch.amp.GradScaler("cpu", enabled=False)  # step never skipped
X, y = batch(0)
X[0, 0] = float("nan")  # one NaN in the data
optimizer = torch.optim.SGD(unscaled.parameters(), lr=0.1)
train_step(unscaled, optimizer, plain, X, y, dtype=torch.bfloat16)
parameters = torch.cat([p.flatten() for p in unscaled.parameters()])
assert not torch.isfinite(parameters).any()  # every weight and bias
update_bn(clean, unscaled)
with torch.no_grad():
    out = unscaled.eval()(torch.randn(1000, 8))
assert not torch.isfinite(out).any()  # update_bn cannot repair the weights
print("no GradScaler, one NaN in the data: every parameter NaN or inf after")
print("  one step; after update_bn, evaluation mode: no finite output")


# 2. Restore the checkpoint taken before step BAD_STEP, then train on.
def restore():
    model = make_model()
    optimizer, scaler = make_training(model)
    states = copy.deepcopy(checkpoint)  # a fresh copy for each restore
    for thing, state in zip([model, optimizer, scaler], states, strict=True):
        thing.load_state_dict(state)
    assert finite(model)
    return model, optimizer, scaler


model, optimizer, scaler = restore()
train_step(model, optimizer, scaler, *batch(BAD_STEP))  # the same data again
assert not finite(model)
print(f"checkpoint before step {BAD_STEP} restored, its batch replayed:", end="")
print(" inf and NaN again")
model, optimizer, scaler = restore()
for step in range(BAD_STEP + 1, BAD_STEP + 50):  # the bad batch left out
    train_step(model, optimizer, scaler, *batch(step))
evaluation, training = accuracy(model), accuracy(model, train=True)
assert finite(model) and evaluation > 0.9 and abs(evaluation - training) < 0.02
print(f"restored, batch {BAD_STEP} skipped, 49 more steps: buffers finite;")
print(f"  accuracy: evaluation mode {evaluation:.2f}, training mode {training:.2f}")
