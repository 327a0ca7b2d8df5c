"""Keras: training-mode batch norm is nonlinear: BN_B(X + X) != BN_B(X) + BN_B(X).

Run it: python snippets/keras_training_counterexample.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops

X = np.array([[1.0], [2.0], [3.0]], dtype="float32")
layer = keras.layers.BatchNormalization(epsilon=1e-5)  # PyTorch's eps; Keras': 1e-3


def bn(batch):
    return ops.convert_to_numpy(layer(batch, training=True))  # batch statistics


def show(label, values):
    print(f"{label:18}", [round(value, 4) for value in values.flatten().tolist()])


show("BN_B(X)", bn(X))
show("BN_B(X + X)", bn(X + X))
show("BN_B(X) + BN_B(X)", bn(X) + bn(X))
assert not np.allclose(bn(X + X), bn(X) + bn(X), atol=0.5)
