"""Keras: Dense then batch norm, in inference mode, is linear exactly when b' = 0.

f(a x + c y) - a f(x) - c f(y) = (1 - a - c) b', with b' = f(0), for the four
settings of the Q&A's experiment (b = 0.3 where there is a bias), in float32.

Run it: python snippets/keras_linear_iff_offset_zero.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops


def dense_bn(use_bias, use_bn_mean):
    dense = keras.layers.Dense(1, use_bias=use_bias)
    bn = keras.layers.BatchNormalization(epsilon=1e-5)  # PyTorch's eps
    model = keras.Sequential([keras.Input((3,)), dense, bn])
    if use_bias:
        dense.bias.assign([0.3])  # the same b as the PyTorch and Flax tabs
    bn.moving_mean.assign([4.2 if use_bn_mean else 0.0])
    bn.moving_variance.assign([1.5])
    bn.gamma.assign([2.5])
    bn.beta.assign([1.3 if use_bias else 0.0])
    return lambda x: ops.convert_to_numpy(model(x, training=False))  # inference


keras.utils.set_random_seed(1)
rng = np.random.default_rng(1)
for use_bias in (True, False):
    for use_bn_mean in (True, False):
        f = dense_bn(use_bias, use_bn_mean)
        b_fused = f(np.zeros((1, 3), "float32"))  # f(0) = b'
        X, Y = rng.normal(size=(2, 4, 3)).astype("float32")
        a, c = rng.normal(size=2)
        defect = f(a * X + c * Y) - a * f(X) - c * f(Y)
        assert np.allclose(defect, (1 - a - c) * b_fused, atol=1e-5)
        print(f"{use_bias=}, {use_bn_mean=}: b' = {b_fused.item():+.4f}")
