"""Flax NNX: Linear then batch norm, in eval mode, is linear exactly when b' = 0.

f(a x + c y) - a f(x) - c f(y) = (1 - a - c) b', with b' = f(0), for the four
settings of the Q&A's experiment (b = 0.3 where there is a bias), in float32.

Run it: python snippets/flax_linear_iff_offset_zero.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
from flax import nnx

rngs = nnx.Rngs(1)
rng = np.random.default_rng(1)
for use_bias in (True, False):
    for use_bn_mean in (True, False):
        linear = nnx.Linear(3, 1, use_bias=use_bias, rngs=rngs)
        if use_bias:
            linear.bias[...] = jnp.array([0.3])  # the same b as the other tabs
        bn = nnx.BatchNorm(1, rngs=rngs)
        model = nnx.Sequential(linear, bn)
        bn.mean[...] = jnp.array([4.2 if use_bn_mean else 0.0])
        bn.var[...] = jnp.array([1.5])
        bn.scale[...] = jnp.array([2.5])
        bn.bias[...] = jnp.array([1.3 if use_bias else 0.0])
        model.eval()  # use_running_average=True

        b_fused = model(jnp.zeros((1, 3)))  # f(0) = b'
        X, Y = jnp.asarray(rng.normal(size=(2, 4, 3)), jnp.float32)
        a, c = rng.normal(size=2)
        defect = model(a * X + c * Y) - a * model(X) - c * model(Y)
        assert np.allclose(defect, (1 - a - c) * b_fused, atol=1e-5)
        print(f"{use_bias=}, {use_bn_mean=}: b' = {b_fused.item():+.4f}")
