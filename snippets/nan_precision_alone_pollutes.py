"""Bfloat16, or the overflowing layer in float32: finite statistics, still wrong.

Run it: python snippets/nan_precision_alone_pollutes.py
"""

import torch

from nan_overflow_setup import (
    BAD_STEP,
    accuracy,
    batch,
    make_model,
    make_training,
    recomputed,
    train_step,
)


class Float32(torch.nn.Module):
    """Runs a layer in float32 inside an autocast region, on any device."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, X):
        # autocast is on or off per device type: "cpu" would leave "cuda" on
        with torch.autocast(X.device.type, enabled=False):
            return self.layer(X.float())


def train(model, dtype):
    """BAD_STEP + 50 steps: whether every buffer stayed finite after every step,
    the loss of step BAD_STEP and the largest change it made to a parameter."""
    optimizer, scaler = make_training(model)
    finite = True
    for step in range(BAD_STEP + 50):
        before = [p.detach().clone() for p in model.parameters()]
        loss = train_step(model, optimizer, scaler, *batch(step), dtype=dtype)
        if step == BAD_STEP:
            bad_loss = loss
            change = max((p - q).abs().max().item()
                         for p, q in zip(model.parameters(), before, strict=True))
        finite &= all(torch.isfinite(b).all().item() for b in model.buffers())
    return finite, bad_loss, change


X, _ = batch(BAD_STEP)
layer = make_model()[0]
with torch.no_grad():
    outputs = {}
    for dtype in torch.float16, torch.bfloat16:
        with torch.autocast("cpu", dtype=dtype):
            outputs[dtype] = layer(X)
assert not torch.isfinite(outputs[torch.float16]).all()
assert torch.isfinite(outputs[torch.bfloat16]).all()
float32_max = torch.finfo(torch.float32).max
assert torch.finfo(torch.bfloat16).max > 0.99 * float32_max  # float32's range
print("the corrupted batch's Linear output under autocast:")
print("  float16 has inf; bfloat16 (float32's range, coarser steps) does not")
torch.set_autocast_enabled("cuda", True)  # as inside a CUDA autocast region
with torch.autocast("cpu", enabled=False):
    cuda_on = torch.is_autocast_enabled("cuda")
torch.set_autocast_enabled("cuda", False)
assert cuda_on  # so Float32 disables autocast for the device type of its input
print(f'inside autocast("cpu", enabled=False), CUDA autocast still on: {cuda_on}')

kept = make_model()
kept[0] = Float32(kept[0])  # the same weights, run in float32
runs = {
    "bfloat16 autocast": (make_model(), torch.bfloat16),
    "float16, first Linear in float32": (kept, torch.float16),
}
print(f"{BAD_STEP + 50} steps, corrupted batch at step {BAD_STEP}:")
for name, (model, dtype) in runs.items():
    finite, bad_loss, change = train(model, dtype)
    assert finite  # every buffer finite after every step
    assert torch.isfinite(torch.tensor(bad_loss)) and change > 0.001  # not skipped
    fresh = recomputed(model)  # the statistics of clean data, same weights
    ratio = model[1].running_var / fresh[1].running_var  # per feature
    evaluation, training = accuracy(model), accuracy(model, train=True)
    assert (ratio > 100).all()  # every feature, not only the one that overflowed
    assert evaluation < 0.55 < 0.9 < min(training, accuracy(fresh))
    print(f"{name}:")
    print(f"  step {BAD_STEP}: loss {bad_loss:.2f}, not skipped", end="")
    print(f" (largest parameter change {change:.2g});")
    print("  buffers finite after every step, but")
    print(f"  running_var / recomputed: above 100 in all {len(ratio)}", end="")
    print(f" features, median {ratio.median():.0e}")
    print(f"  accuracy: evaluation mode {evaluation:.2f}, training mode", end="")
    print(f" {training:.2f}, recomputed statistics {accuracy(fresh):.2f}")
alpha = model[1].momentum  # each later update keeps 1 - alpha of what was there
left = (1 - alpha) ** 49  # of what the corrupted batch added, 49 steps later
assert alpha == 0.1 and 0.005 < left < 0.006
print(f"left of what step {BAD_STEP} added to running_var:", end="")
print(f" (1 - {alpha})^49 = {left:.2g}")
