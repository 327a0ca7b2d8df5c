"""Keras' BatchNormalization in training mode, float32, as the features' mean grows.

Run it: python snippets/numerics_keras_large_mean.py
"""

import math
import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
import torch
from keras import ops

n, d, eps = 256, 64, 1e-5
Z = np.random.default_rng(0).normal(size=(n, d))  # N(0, 1) samples


def exact_batch_norm(X):
    """Training-mode batch norm of the same float32 values, in float64."""
    X = X.astype("float64")
    return (X - X.mean(0)) / np.sqrt(X.var(0) + eps)


def shown(error):
    if math.isnan(error):
        return "NaN"
    for bound in (1e-3, 1e-2):
        if error < bound:
            return f"below {bound:g}"
    return f"{error:.1g}"


print(f"Keras {keras.__version__} on {keras.backend.backend()}")
print("mean   largest error of the n d outputs")
for offset in [1, 10, 1e2, 1e3, 1e4]:
    X = (Z + offset).astype("float32")  # the same offset added to every feature
    bn = keras.layers.BatchNormalization(epsilon=eps)  # Keras' default is 1e-3
    out = ops.convert_to_numpy(bn(X, training=True))
    print(f"{offset:5g}  {shown(np.abs(out - exact_batch_norm(X)).max())}")

# The variance it used: exactly mean(x^2) - mu_B^2 in float32, not clipped.
mu_B, var_B = ops.moments(X, axes=[0])  # what the layer calls, offset 1e4
X = torch.from_numpy(X)
assert torch.equal(var_B, (X * X).mean(0) - X.mean(0) ** 2)
negative = var_B + eps < 0
assert negative.any()
assert np.array_equal(np.isnan(out).any(axis=0), negative.numpy())
count = f"{negative.sum()} of {d} features"
print(f"mean 1e4: var_B + BN eps < 0 in {count}, NaN there")

# With a mask, the layer takes another path: mean first, then the deviations.
masked = bn(X.numpy(), training=True, mask=np.ones(n, dtype=bool))
error = np.abs(ops.convert_to_numpy(masked) - exact_batch_norm(X.numpy())).max()
assert error < 0.01
print(f"mean 1e4, called with an all-True mask: {shown(error)}")

# A float16 layer computes its statistics in float32: at mean 100, where the
# one-pass formula in float16 keeps no correct digit, its error stays small.
X = (Z + 100).astype("float16")
half = keras.layers.BatchNormalization(epsilon=eps, dtype="float16")
out = ops.convert_to_numpy(half(X, training=True))
assert out.dtype == np.float16
error = np.abs(out.astype("float64") - exact_batch_norm(X)).max()
assert error < 0.01
print(f"float16 layer and input, mean 100: {shown(error)}")
