"""Keras: batch norm in inference mode is a fixed affine map, s * x + BN(0).

Run it: python snippets/keras_eval_affine.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops

keras.utils.set_random_seed(0)
bn = keras.layers.BatchNormalization(epsilon=1e-5)  # PyTorch's eps; Keras': 1e-3
bn.build((None, 3))
bn.moving_mean.assign([0.5, -1.0, 2.0])
bn.moving_variance.assign([1.5, 0.2, 4.0])
bn.gamma.assign([2.0, 0.5, -1.0])
bn.beta.assign([0.1, -0.3, 4.0])


def evaluate(batch):
    return ops.convert_to_numpy(bn(batch, training=False))  # inference mode


s = ops.convert_to_numpy(bn.gamma / ops.sqrt(bn.moving_variance + bn.epsilon))
mu_r, beta = ops.convert_to_numpy(bn.moving_mean), ops.convert_to_numpy(bn.beta)
offset = beta - s * mu_r
X = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
assert np.allclose(evaluate(X), s * (X - mu_r) + beta, atol=1e-6)
assert np.allclose(evaluate(X), s * X + offset, atol=1e-6)
assert np.allclose(evaluate(np.zeros((1, 3), "float32")), offset)
assert np.allclose(evaluate(X[:1]), evaluate(X)[:1])  # companions do not matter
print("s:          ", [round(value, 4) for value in s.tolist()])
print("offset BN(0):", [round(value, 4) for value in offset.tolist()])
