"""Flax NNX: batch norm in evaluation mode is a fixed affine map, s * x + BN(0).

Run it: python snippets/flax_eval_affine.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
from flax import nnx

bn = nnx.BatchNorm(3, rngs=nnx.Rngs(0))
bn.mean[...] = jnp.array([0.5, -1.0, 2.0])
bn.var[...] = jnp.array([1.5, 0.2, 4.0])
bn.scale[...] = jnp.array([2.0, 0.5, -1.0])
bn.bias[...] = jnp.array([0.1, -0.3, 4.0])
bn.eval()  # use_running_average=True

s = bn.scale[...] / jnp.sqrt(bn.var[...] + bn.epsilon)
offset = bn.bias[...] - s * bn.mean[...]
X = jnp.asarray(np.random.default_rng(0).normal(size=(6, 3)), jnp.float32)
assert np.allclose(bn(X), s * (X - bn.mean[...]) + bn.bias[...], atol=1e-6)
assert np.allclose(bn(X), s * X + offset, atol=1e-6)
assert np.allclose(bn(jnp.zeros((1, 3))), offset)
assert np.allclose(bn(X[:1]), bn(X)[:1])  # companions do not matter
print("s:          ", [round(value, 4) for value in s.tolist()])
print("offset BN(0):", [round(value, 4) for value in offset.tolist()])
