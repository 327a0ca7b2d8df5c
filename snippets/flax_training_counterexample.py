"""Flax: training-mode batch norm is nonlinear: BN_B(X + X) != BN_B(X) + BN_B(X).

Run it: python snippets/flax_training_counterexample.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
from flax import nnx

X = jnp.array([[1.0], [2.0], [3.0]])
layer = nnx.BatchNorm(1, rngs=nnx.Rngs(0))  # a new layer is in training mode


def bn(batch):
    return layer(batch)  # normalized with the batch's statistics


def show(label, values):
    print(f"{label:18}", [round(value, 4) for value in values.flatten().tolist()])


show("BN_B(X)", bn(X))
show("BN_B(X + X)", bn(X + X))
show("BN_B(X) + BN_B(X)", bn(X) + bn(X))
assert not np.allclose(bn(X + X), bn(X) + bn(X), atol=0.5)
