"""Flax NNX's batch norm conventions, each one checked: the JAX (Flax) column.

Run it: python snippets/flax_conventions.py
"""

import inspect
import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import flax
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

X = jnp.asarray(2 * np.random.default_rng(0).normal(size=(5, 3)) + 1, jnp.float32)
n = X.shape[0]
mu_B, var_B = X.mean(axis=0), X.var(axis=0)  # var divides by n


def close(a, b):
    return np.allclose(a, b, atol=1e-5)


print(f"Flax {flax.__version__} (NNX) on JAX {jax.__version__}")

# A new layer is in training mode: it normalizes with the batch's statistics.
bn = nnx.BatchNorm(3, rngs=nnx.Rngs(0))
assert bn.use_running_average is False
assert close(bn(X), (X - mu_B) / jnp.sqrt(var_B + bn.epsilon))
fixed = X / jnp.sqrt(1 + bn.epsilon)  # running mean 0, variance 1, as made
assert close(nnx.BatchNorm(3, use_running_average=True, rngs=nnx.Rngs(0))(X), fixed)
assert close(nnx.BatchNorm(3, rngs=nnx.Rngs(0))(X, use_running_average=True), fixed)
print("mode: train() / eval() or use_running_average=; a new layer trains")

# That call was a training step from mean 0: it measures the momentum.
alpha = float(jnp.mean(bn.mean[...] / mu_B))
assert abs((1 - alpha) - bn.momentum) < 1e-6
weights = f"{1 - alpha:.2f} running + {alpha:.2f} batch"
print(f"momentum {bn.momentum}: running <- {weights}")
print(f"eps: {bn.epsilon}")

# The output used the biased variance; which one did the running var record?
biased = close(bn.var[...], 1 - alpha + alpha * var_B)
unbiased = close(bn.var[...], 1 - alpha + alpha * var_B * n / (n - 1))
assert biased and not unbiased
print("output variance: biased (n); running variance: biased (n)")

# Statistics per index of the last axis: (n, L, C) is normalized over n and L.
seq = jnp.asarray(np.random.default_rng(1).normal(size=(4, 7, 3)), jnp.float32)
mean, var = seq.mean(axis=(0, 1)), seq.var(axis=(0, 1))
out = nnx.BatchNorm(3, rngs=nnx.Rngs(0))(seq)
assert close(out, (seq - mean) / jnp.sqrt(var + 1e-5))
print(f"normalized axis: {bn.axis} (features last)")

# eval() fixes the statistics; gradients still reach gamma and beta, only them.
bn.eval()
before = bn.mean[...]
scale = bn.scale[...] / jnp.sqrt(bn.var[...] + bn.epsilon)
assert close(bn(X), scale * (X - before) + bn.bias[...])
assert close(bn.mean[...], before)


def loss(layer):
    return jnp.sum(layer(X) * jnp.arange(3.0))


grads = nnx.grad(loss)(bn)  # by default with respect to the nnx.Param variables
assert set(grads.keys()) == {"scale", "bias"}  # the statistics are nnx.BatchStat
assert jnp.abs(grads["scale"][...]).max() > 0
print("nnx.grad's default filter, nnx.Param: gradients reach gamma, beta only")
stats = nnx.DiffState(0, nnx.BatchStat)  # a filter that names the statistics
grads = nnx.grad(loss, argnums=stats)(bn)
assert set(grads.keys()) == {"mean", "var"}
assert jnp.abs(grads["mean"][...]).max() > 0
print("a filter naming nnx.BatchStat: gradients reach the statistics too")

# No constructor flag freezes the layer: its flags choose the mode and the parts.
parameters = inspect.signature(nnx.BatchNorm.__init__).parameters
flags = [name for name, p in parameters.items() if isinstance(p.default, bool)]
assert flags == [
    "use_running_average",
    "use_bias",
    "use_scale",
    "use_fast_variance",
]
print("frozen: no flag; eval() for the statistics, gamma, beta still get gradients")

# A new Linear starts its bias at 0, so a new Linear + BN in eval() has b' = 0.
linear = nnx.Linear(3, 1, rngs=nnx.Rngs(0))
fresh = nnx.Sequential(linear, nnx.BatchNorm(1, rngs=nnx.Rngs(0)))
fresh.eval()
assert close(linear.bias[...], jnp.zeros(1))
assert close(fresh(jnp.zeros((1, 3))), jnp.zeros((1, 1)))
print("a new dense layer's bias: 0, so a new dense + BN in eval() is linear")
