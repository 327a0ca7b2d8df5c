"""A base model with batch norm, pretrained in code, and a new task for it.

Run it: python snippets/keras_options_transfer_setup.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import layers, ops

rng = np.random.default_rng(0)
teacher = rng.normal(size=(4, 8))  # hidden features both tasks are built on
old_task, new_task = rng.normal(size=(8, 1)), rng.normal(size=(8, 1))


def make_data(n, shift, readout):
    """n samples, features centred at `shift`; targets read from the teacher."""
    X = rng.normal(shift, 1.0, size=(n, 4))
    y = np.maximum(X @ teacher, 0) @ readout / 4
    return X.astype("float32"), y.astype("float32")


def make_base():
    """Dense, BatchNormalization, ReLU: the model to transfer."""
    return keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(16),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]
    )


def values(model):
    """A copy of each variable, named like "BatchNormalization/moving_mean"."""
    return {
        f"{type(layer).__name__}/{v.name}": ops.convert_to_numpy(v).copy()
        for layer in model.layers
        for v in layer.weights
    }


def unchanged(model, before):
    """The variables of `model` that are bit for bit what `before` holds."""
    now = values(model)
    return {name for name in now if np.array_equal(now[name], before[name])}


keras.utils.set_random_seed(0)
X_old, y_old = make_data(512, 0.0, old_task)  # the data it was trained on
X_new, y_new = make_data(256, 1.0, new_task)  # the new task: other statistics
pretrained = make_base()
model = keras.Sequential([pretrained, layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(X_old, y_old, epochs=8, batch_size=64, verbose=0)
old_loss = model.evaluate(X_old, y_old, verbose=0)
PRETRAINED = pretrained.get_weights()  # make_base() then set_weights(PRETRAINED)

if __name__ == "__main__":
    assert old_loss < y_old.var() / 10
    print("pretrained: mean squared error below a tenth of the targets' variance")
    print("its variables:", ", ".join(values(pretrained)))
