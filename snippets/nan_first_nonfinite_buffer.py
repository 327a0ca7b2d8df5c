"""Find which buffer turned inf or NaN, and at which training step.

Run it: python snippets/nan_first_nonfinite_buffer.py
"""

import torch

from nan_overflow_setup import (
    BAD_STEP,
    HALF_INF,
    batch,
    make_model,
    make_training,
    train_step,
)


def nonfinite_buffers(model):
    """{buffer name: indices of its inf or NaN entries}, for every such buffer."""
    found = {}
    for name, buffer in model.named_buffers():
        if buffer.is_floating_point() and not torch.isfinite(buffer).all():
            found[name] = (~torch.isfinite(buffer)).nonzero().flatten().tolist()
    return found


model = make_model()
optimizer, scaler = make_training(model)
for step in range(20):
    before = model[1].running_var.clone()
    train_step(model, optimizer, scaler, *batch(step))
    found = nonfinite_buffers(model)  # after every step
    if found:
        break
for name, where in found.items():
    print(f"step {step}: {name} not finite at feature(s) {where}")

X = batch(BAD_STEP)[0]  # the step was skipped: model[0] is as it was in the step
with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
    inf = torch.isinf(model[0](X)).any(0)  # the float16 output's inf features
with torch.no_grad():
    assert torch.equal(inf, (model[0](X).abs() >= HALF_INF).any(0))  # float32
expected = inf.nonzero().flatten().tolist()
assert step == BAD_STEP
assert found == {"1.running_mean": expected, "1.running_var": expected}
print("= the step of the corrupted batch, and the feature that is inf in the")
print(f"  first layer's float16 output ({HALF_INF:.0f} or more in float32)")
growth = (model[1].running_var / before)[~inf]  # the other features
assert torch.isfinite(growth).all() and (growth > 1000).all()
print(f"the other {len(growth)} features: finite, but running_var grew more than")
print("  1000-fold in that step")
