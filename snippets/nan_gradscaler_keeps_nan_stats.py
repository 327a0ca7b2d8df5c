"""GradScaler skips the step of an overflowing batch; batch norm's buffers stay NaN.

Run it: python snippets/nan_gradscaler_keeps_nan_stats.py
"""

import copy

import torch

from nan_overflow_setup import (
    BAD_STEP,
    batch,
    make_model,
    make_training,
    train_step,
)

model = make_model()
optimizer, scaler = make_training(model)
bn = model[1]
losses, scales = [], []
for step in range(BAD_STEP):
    losses.append(train_step(model, optimizer, scaler, *batch(step)))
before = copy.deepcopy(model.state_dict())
scale = scaler.get_scale()

probe = copy.deepcopy(model)  # the forward pass alone, in training mode
with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
    hidden = probe[0](batch(BAD_STEP)[0])  # the float16 Linear output
    probe[1](hidden)  # no loss, no backward, no step
assert not torch.isfinite(probe[1].running_var).all()  # already not finite
assert not any(buffer.requires_grad for buffer in model.buffers())  # no gradient

loss = train_step(model, optimizer, scaler, *batch(BAD_STEP))  # the overflow
skipped = all(torch.equal(p, before[name]) for name, p in model.named_parameters())
assert not torch.isfinite(torch.tensor(loss)) and skipped
assert scaler.get_scale() == scale / 2
bad = ~torch.isfinite(bn.running_mean) | ~torch.isfinite(bn.running_var)
print(f"step {BAD_STEP}: loss {loss}, optimizer step skipped: {skipped},")
print(f"  scale {scale:.0f} -> {scaler.get_scale():.0f}")
print(f"  feature(s) {bad.nonzero().flatten().tolist()}:", end=" ")
print(f"running_mean {bn.running_mean[bad].tolist()},", end=" ")
print(f"running_var {bn.running_var[bad].tolist()}")
assert bad.sum() == 1 and torch.isnan(bn.running_var[bad]).all()
assert torch.isinf(bn.running_mean[bad]).all()
column = hidden[:, bad].float()  # that feature's Linear output in the batch
assert torch.isinf(column).sum() == 1 and torch.isinf(column.mean())
assert torch.isnan(column - column.mean()).sum() == 1  # inf - inf, once
assert torch.isnan(column.var())
print("  that feature's Linear output: one inf, so its mean is inf and its")
print("  variance NaN (the inf sample's deviation from the mean is inf - inf)")

later = range(BAD_STEP + 1, BAD_STEP + 201)  # 200 more steps, every batch finite
stuck = True
for step in later:
    X, y = batch(step)
    losses.append(train_step(model, optimizer, scaler, X, y))
    stuck &= torch.isinf(bn.running_mean[bad]).all().item()
    stuck &= torch.isnan(bn.running_var[bad]).all().item()
    stuck &= torch.isfinite(bn.running_var[~bad]).all().item()
late = sum(losses[-10:]) / 10  # training goes on: the loss keeps falling
assert stuck and torch.isfinite(torch.tensor(losses)).all()
assert late < 0.2 < losses[0]
print(f"{len(later)} finite steps later: running_mean still inf, running_var")
print("  still NaN in that feature, after every step; training loss finite")
print(f"  at every step but {BAD_STEP}: {losses[0]:.1g} at step 0,", end="")
print(" the mean of the last 10 below 0.2")

test = torch.randn(1000, 8, generator=torch.Generator().manual_seed(7))
with torch.no_grad():
    train_out = model.train()(test)
    eval_out = model.eval()(test)
assert torch.isfinite(train_out).all() and torch.isnan(eval_out).all()
print("1000 test inputs: training mode finite, evaluation mode NaN in every output")
