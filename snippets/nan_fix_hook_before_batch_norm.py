"""A check at every batch norm's input: a forward pre-hook that stops the update.

Run it: python snippets/nan_fix_hook_before_batch_norm.py
"""

import torch

from nan_overflow_setup import (
    BAD_STEP,
    accuracy,
    batch,
    make_model,
    make_training,
    train_step,
)

NORMS = torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d


class NonFinite(Exception):
    """Raised by the hook: a batch norm's input holds inf or NaN."""


def check_input(module, inputs):
    """Forward pre-hook: runs before the module's forward, so before its update."""
    if not torch.isfinite(inputs[0]).all():
        raise NonFinite


model = make_model()
for module in model.modules():  # every batch norm, however deep
    if isinstance(module, NORMS):
        module.register_forward_pre_hook(check_input)
optimizer, scaler = make_training(model)  # float16 autocast, as before
skipped, finite, kept = [], True, True
for step in range(BAD_STEP + 50):
    before = [buffer.clone() for buffer in model.buffers()]
    try:
        train_step(model, optimizer, scaler, *batch(step))
    except NonFinite:  # the Linear output overflowed: skip this batch
        skipped.append(step)
        after = list(model.buffers())
        kept &= all(map(torch.equal, before, after))
    finite &= all(torch.isfinite(b).all().item() for b in model.buffers())
evaluation, training = accuracy(model), accuracy(model, train=True)
assert skipped == [BAD_STEP] and kept and finite
assert evaluation > 0.9 and abs(evaluation - training) < 0.02
print(f"float16 autocast, {BAD_STEP + 50} steps: the hook stopped", end="")
print(f" step(s) {skipped}")
print("  before batch norm's update: its buffers unchanged in that step,")
print("  finite after every step")
print(f"accuracy: evaluation mode {evaluation:.2f}, training mode {training:.2f}")
