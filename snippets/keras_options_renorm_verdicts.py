"""The checker's verdict on Keras BatchNormalization, with and without renorm.

Run it: python snippets/keras_options_renorm_verdicts.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
import torch

from linearity import classify


def layer(**options):
    """A built BatchNormalization with random gamma, beta and statistics."""
    rng = np.random.default_rng(0)
    bn = keras.layers.BatchNormalization(**options)
    bn.build((None, 3))
    bn.gamma.assign(rng.uniform(0.5, 2.0, 3))
    bn.beta.assign(rng.uniform(-1.0, 1.0, 3))
    for name in ["moving_mean", "renorm_mean"]:
        if hasattr(bn, name):
            getattr(bn, name).assign(rng.uniform(-1.0, 1.0, 3))
    for name in ["moving_variance", "moving_stddev", "renorm_stddev"]:
        if hasattr(bn, name):
            getattr(bn, name).assign(rng.uniform(0.5, 2.0, 3))
    return bn


def training_mode(bn):
    """X -> bn(X, training=True) with the variables as they are: no update."""

    def f(t):
        state = bn.trainable_variables, bn.non_trainable_variables
        return bn.stateless_call(*state, t, training=True)[0]

    return f


def inference_mode(bn):
    return lambda t: bn(t, training=False)


torch.manual_seed(0)
example = torch.randn(16, 3)
clipping = {"rmax": 3.0, "rmin": 1 / 3, "dmax": 5.0}
no_correction = {"rmax": 1.0, "rmin": 1.0, "dmax": 0.0}  # r = 1 and d = 0
cases = {
    "no renorm": {},
    "renorm, no clipping (default)": {"renorm": True},
    "renorm, rmax 3, rmin 1/3, dmax 5": {
        "renorm": True,
        "renorm_clipping": clipping,
    },
    "renorm, rmax = rmin = 1, dmax 0": {
        "renorm": True,
        "renorm_clipping": no_correction,
    },
}
print(f"{'':33} {'training':10} inference")
verdicts = {}
for name, options in cases.items():
    bn = layer(**options)
    verdicts[name] = [classify(training_mode(bn), example)]
    verdicts[name].append(classify(inference_mode(bn), example))
    print(f"{name:33} {verdicts[name][0]:10} {verdicts[name][1]}")
trained = [training for training, _ in verdicts.values()]
assert trained == ["nonlinear", "affine", "nonlinear", "nonlinear"]
assert all(inference == "affine" for _, inference in verdicts.values())
