"""Flax's nnx.BatchNorm in training mode, float32, as the features' mean grows.

Run it: python snippets/numerics_flax_large_mean.py
"""

import math
import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import flax
import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax import nnx

n, d, eps = 256, 64, 1e-5
Z = np.random.default_rng(0).normal(size=(n, d))  # N(0, 1) samples


def exact_batch_norm(X):
    """Training-mode batch norm of the same float32 values, in float64."""
    X = X.astype("float64")
    return (X - X.mean(0)) / np.sqrt(X.var(0) + eps)


def shown(error):
    if math.isnan(error):
        return "NaN"
    for bound in (1e-3, 1e-2):
        if error < bound:
            return f"below {bound:g}"
    return f"{error:.1g}"


assert nnx.BatchNorm(d, rngs=nnx.Rngs(0)).use_fast_variance  # the default
assert nn.BatchNorm().use_fast_variance  # Linen's too
print(f"Flax {flax.__version__}")
print("mean   use_fast_variance=True   use_fast_variance=False")
for offset in [1, 10, 1e2, 1e3, 1e4]:
    X = (Z + offset).astype("float32")  # the same offset added to every feature
    errors = []
    for fast in [True, False]:
        bn = nnx.BatchNorm(d, use_fast_variance=fast, rngs=nnx.Rngs(0))  # eps 1e-5
        out = np.asarray(bn(jnp.asarray(X)), dtype="float64")
        errors.append(np.abs(out - exact_batch_norm(X)).max())
    assert errors[1] < 0.01
    print(f"{offset:5g}  {shown(errors[0]):>22}   {shown(errors[1]):>23}")

# At 1e4 the fast variance, mean(x^2) - mu_B^2, is negative in some features;
# the layer clips it to 0 there: no NaN, but those features are divided by
# sqrt(eps) instead of by about 1.
X = jnp.asarray(X)
fast_variance = np.asarray((X * X).mean(0) - X.mean(0) ** 2)
bn = nnx.BatchNorm(d, rngs=nnx.Rngs(0))
out = np.asarray(bn(X), dtype="float64")
gain = out.std(axis=0) / np.asarray(X, dtype="float64").std(axis=0)  # per feature
scaled = np.isclose(gain, 1 / math.sqrt(eps), rtol=1e-3)
assert (fast_variance < 0).any() and not np.isnan(out).any()
assert np.array_equal(scaled, fast_variance <= 0)
negative, zero = (fast_variance < 0).sum(), (fast_variance == 0).sum()
print(f"mean 1e4: mean(x^2) - mu_B^2 < 0 in {negative} features, = 0 in {zero};")
gained = f"1 / sqrt(BN eps) = {gain.max():.0f}"
print(f"no NaN; it scales those {scaled.sum()} by {gained}")

# A float16 layer computes its statistics in float32: at mean 100, where the
# one-pass formula in float16 keeps no correct digit, its error stays small.
X = jnp.asarray(Z + 100, dtype=jnp.float16)
f16 = jnp.float16
out = nnx.BatchNorm(d, dtype=f16, param_dtype=f16, rngs=nnx.Rngs(0))(X)
assert out.dtype == jnp.float16
error = np.abs(np.asarray(out, "float64") - exact_batch_norm(np.asarray(X))).max()
assert error < 0.01
print(f"float16 layer and input, mean 100: {shown(error)}")
