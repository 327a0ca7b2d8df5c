"""Flax NNX: Linear then batch norm, in evaluation mode, is one Linear layer.

Its kernel is the Linear kernel with column j scaled by s_j (W' = diag(s) W, since
Flax stores W transposed), its bias b' = s * (b - mean) + bias of the batch norm.

Run it: python snippets/flax_fold_dense_bn.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
from flax import nnx

rngs = nnx.Rngs(0)
linear, bn = nnx.Linear(3, 1, rngs=rngs), nnx.BatchNorm(1, rngs=rngs)
model = nnx.Sequential(linear, bn)
linear.bias[...] = jnp.array([0.3])  # Flax starts biases at 0: give b a value
bn.mean[...] = jnp.array([4.2])
bn.var[...] = jnp.array([1.5])
bn.scale[...] = jnp.array([2.5])
bn.bias[...] = jnp.array([1.3])
model.eval()  # use_running_average=True

s = bn.scale[...] / jnp.sqrt(bn.var[...] + bn.epsilon)
kernel_fused = linear.kernel[...] * s  # x @ kernel + b: the kernel is W transposed
b_fused = s * (linear.bias[...] - bn.mean[...]) + bn.bias[...]
fused = nnx.Linear(3, 1, rngs=rngs)
fused.kernel[...], fused.bias[...] = kernel_fused, b_fused

X = jnp.asarray(np.random.default_rng(0).normal(size=(16, 3)), jnp.float32)
assert np.allclose(model(X), fused(X), atol=1e-5)  # one layer does the work of two
assert np.allclose(model(jnp.zeros((1, 3))), b_fused)  # f(0) = b'
assert np.allclose(model(jnp.eye(3)) - b_fused, kernel_fused)  # its slopes
print(f"b' = {b_fused.item():.4f}")
