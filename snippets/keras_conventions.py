"""Keras' batch norm conventions, each one checked: the Keras column.

Run it: python snippets/keras_conventions.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops

keras.utils.set_random_seed(0)
X = (2 * np.random.default_rng(0).normal(size=(5, 3)) + 1).astype("float32")
n = X.shape[0]
mu_B, var_B = X.mean(axis=0), X.var(axis=0)  # numpy's var divides by n


def close(a, b):
    return np.allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-5)


print(f"Keras {keras.__version__} on {keras.backend.backend()}")

# Called on its own without training=, it runs in inference mode: moving statistics.
bn = keras.layers.BatchNormalization()
assert close(bn(X), X / np.sqrt(1 + bn.epsilon))  # moving mean 0, variance 1
assert close(bn.moving_mean, np.zeros(3))  # and nothing was recorded
print("mode: training= in each call; a plain call on its own is inference")


class Outer(keras.Model):
    """A model whose call() calls batch norm without training=."""

    def __init__(self):
        super().__init__()
        self.bn = keras.layers.BatchNormalization()

    def call(self, inputs):
        return self.bn(inputs)  # no training= here


# Inside a model's call, a plain call takes the training= of the model's call.
outer = Outer()
assert close(outer(X), X / np.sqrt(1 + bn.epsilon))  # inference
assert close(outer(X, training=True), (X - mu_B) / np.sqrt(var_B + bn.epsilon))
assert not close(outer.bn.moving_mean, np.zeros(3))  # a training step: recorded
print("  inside model(X, training=True), a plain call uses batch statistics")

# One training step from moving mean 0 measures the momentum: the old weight.
out = bn(X, training=True)
assert close(out, (X - mu_B) / np.sqrt(var_B + bn.epsilon))
alpha = float(np.mean(ops.convert_to_numpy(bn.moving_mean) / mu_B))
assert abs((1 - alpha) - bn.momentum) < 1e-6
weights = f"{1 - alpha:.2f} running + {alpha:.2f} batch"
print(f"momentum {bn.momentum}: running <- {weights}")
print(f"eps: {bn.epsilon}")

# The output used the biased variance; which one did moving_variance record?
biased = close(bn.moving_variance, 1 - alpha + alpha * var_B)
unbiased = close(bn.moving_variance, 1 - alpha + alpha * var_B * n / (n - 1))
assert biased and not unbiased
print("output variance: biased (n); running variance: biased (n)")

# Statistics per index of the last axis: (n, L, C) is normalized over n and L.
seq = np.random.default_rng(1).normal(size=(4, 7, 3)).astype("float32")
mean, var = seq.mean(axis=(0, 1)), seq.var(axis=(0, 1))
out = keras.layers.BatchNormalization()(seq, training=True)
assert close(out, (seq - mean) / np.sqrt(var + 1e-3))
print(f"normalized axis: {bn.axis} (channels last)")

# trainable = False freezes gamma and beta and switches to inference mode.
bn = keras.layers.BatchNormalization()
bn.build(X.shape)
bn.trainable = False
assert not bn.trainable_weights  # gamma and beta are no longer trained
inference = bn(X, training=False)
assert close(bn(X, training=True), inference)
assert not close(inference, (X - mu_B) / np.sqrt(var_B + bn.epsilon))
assert close(bn.moving_mean, np.zeros(3))  # nothing recorded either
print("trainable = False: inference mode, statistics fixed, even if training=True")
print("frozen: trainable = False, one switch for both")

# A new Dense starts its bias at 0, so a new Dense + BN in inference has b' = 0.
dense = keras.layers.Dense(1)
bn = keras.layers.BatchNormalization()
fresh = keras.Sequential([keras.Input((3,)), dense, bn])
assert close(dense.bias, np.zeros(1))
assert close(fresh(np.zeros((1, 3)), training=False), np.zeros((1, 1)))
print("a new dense layer's bias: 0, so a new dense + BN in inference is linear")
