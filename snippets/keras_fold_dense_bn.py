"""Keras: Dense then batch norm, in inference mode, is one Dense layer.

Its kernel is the Dense kernel with column j scaled by s_j (W' = diag(s) W, since
Keras stores W transposed), its bias b' = s * (b - moving_mean) + beta.

Run it: python snippets/keras_fold_dense_bn.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops

keras.utils.set_random_seed(0)
dense = keras.layers.Dense(1)
bn = keras.layers.BatchNormalization(epsilon=1e-5)  # PyTorch's eps; Keras': 1e-3
model = keras.Sequential([keras.Input((3,)), dense, bn])
dense.bias.assign([0.3])  # Keras starts biases at 0: give b a value
bn.moving_mean.assign([4.2])
bn.moving_variance.assign([1.5])
bn.gamma.assign([2.5])
bn.beta.assign([1.3])

s = bn.gamma / ops.sqrt(bn.moving_variance + bn.epsilon)
kernel_fused = dense.kernel * s  # x @ kernel + b: the kernel is W transposed
b_fused = s * (dense.bias - bn.moving_mean) + bn.beta
fused = keras.layers.Dense(1)
fused.build((None, 3))
fused.kernel.assign(kernel_fused)
fused.bias.assign(b_fused)


def close(got, expected):
    got, expected = ops.convert_to_numpy(got), ops.convert_to_numpy(expected)
    return np.allclose(got, expected, atol=1e-5)


X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
assert close(model(X, training=False), fused(X))  # one layer does the work of two
assert close(model(np.zeros((1, 3)), training=False), b_fused)  # f(0) = b'
assert close(model(np.eye(3), training=False) - b_fused, kernel_fused)  # its slopes
print(f"b' = {ops.convert_to_numpy(b_fused).item():.4f}")
