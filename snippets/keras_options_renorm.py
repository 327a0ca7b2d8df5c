"""Keras renorm=True in training mode from scratch: r, d, clipping, the updates.

Run it: python snippets/keras_options_renorm.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed

import keras
import numpy as np
from keras import ops

rng = np.random.default_rng(0)
clipping = {"rmax": 1.5, "rmin": 0.5, "dmax": 0.5}
bn = keras.layers.BatchNormalization(
    renorm=True, renorm_clipping=clipping, renorm_momentum=0.9
)
bn.build((None, 3))
bn.gamma.assign(rng.uniform(0.5, 2.0, 3))
bn.beta.assign(rng.uniform(-1.0, 1.0, 3))
bn.renorm_mean.assign([0.1, -0.2, 0.3])  # mu_renorm
bn.renorm_stddev.assign([1.1, 0.9, 1.0])  # sigma_renorm


def numpy(variable):
    return ops.convert_to_numpy(variable).astype("float64")


# feature 0 near the renorm statistics; 1 spread 3 times wider; 2 shifted by 2
X = rng.normal([0.2, 0.0, 2.3], [1.2, 3.0, 1.0], size=(64, 3)).astype("float32")
old = {v.name: numpy(v) for v in bn.weights}  # every variable before the step
gamma, beta, eps = old["gamma"], old["beta"], bn.epsilon
mu_renorm = old["renorm_mean"]
sigma_renorm = np.maximum(old["renorm_stddev"], np.sqrt(eps))

# From scratch, in float64: batch statistics, then r and d, then clipping.
mu_B, var_B = X.mean(axis=0, dtype="float64"), X.var(axis=0, dtype="float64")
sigma_B = np.sqrt(var_B + eps)
r_raw, d_raw = sigma_B / sigma_renorm, (mu_B - mu_renorm) / sigma_renorm
r = np.clip(r_raw, clipping["rmin"], clipping["rmax"])
d = np.clip(d_raw, -clipping["dmax"], clipping["dmax"])
expected = gamma * ((X - mu_B) / sigma_B * r + d) + beta

out = ops.convert_to_numpy(bn(X, training=True))  # one training step
assert np.allclose(out, expected, rtol=1e-5, atol=1e-5)
new = {v.name: numpy(v) for v in bn.weights}
m, m_R = bn.momentum, bn.renorm_momentum  # 0.99 and 0.9: weights of the old value
updates = {  # renorm_* steer training; moving_* are for inference
    "renorm_mean": m_R * old["renorm_mean"] + (1 - m_R) * mu_B,
    "renorm_stddev": m_R * old["renorm_stddev"] + (1 - m_R) * sigma_B,
    "moving_mean": m * old["moving_mean"] + (1 - m) * mu_B,
    "moving_stddev": m * old["moving_stddev"] + (1 - m) * sigma_B,
}
updates["moving_variance"] = np.maximum(updates["moving_stddev"] ** 2 - eps, 0)
for name, value in updates.items():
    assert np.allclose(new[name], value, rtol=1e-5, atol=1e-6), name
assert np.array_equal(new["gamma"], gamma) and np.array_equal(new["beta"], beta)
# Inference reads moving_mean and moving_variance only, as without renorm.
x = X[:4]
s = gamma / np.sqrt(new["moving_variance"] + eps)
inference = ops.convert_to_numpy(bn(x, training=False))
assert np.allclose(inference, s * (x - new["moving_mean"]) + beta, atol=1e-5)

print("training output = the formula, and all 5 updates: True")
for j in range(3):
    r_note = f" clipped to {r[j]:.2f}" if r[j] != r_raw[j] else ""
    d_note = f" clipped to {d[j]:+.2f}" if d[j] != d_raw[j] else ""
    print(f"feature {j}: r = {r_raw[j]:.2f}{r_note}, d = {d_raw[j]:+.2f}{d_note}")
assert list(r != r_raw) == [False, True, False]
assert list(d != d_raw) == [False, False, True]
