"""Linen batch norm trained with its statistics kept in a TrainState.

Run it: python snippets/flax_stats_linen_recipe.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state


class MLP(nn.Module):
    @nn.compact
    def __call__(self, X, train: bool):
        X = nn.Dense(16)(X)
        X = nn.BatchNorm(use_running_average=not train)(X)  # the mode, per call
        return nn.Dense(1)(nn.relu(X))[:, 0]


class TrainState(train_state.TrainState):
    batch_stats: Any  # TrainState has no such field: the subclass adds it


def data(rng, n):
    """n samples of 4 features of mean 5, standard deviation 2; a linear target."""
    X = 5 + 2 * rng.normal(size=(n, 4))
    targets = (X - 5) @ np.array([1.0, -2.0, 0.5, 1.0])
    return jnp.asarray(X, jnp.float32), jnp.asarray(targets, jnp.float32)


model, tx = MLP(), optax.adam(1e-2)  # shared by every state below


@jax.jit  # one compilation, not one per operation of init
def new_state(seed):
    variables = model.init(jax.random.key(seed), jnp.ones((1, 4)), train=False)
    return TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        batch_stats=variables["batch_stats"],  # mean 0, var 1 in a new model
        tx=tx,
    )


@jax.jit
def train_step(state, batch):
    X, targets = batch

    def loss_fn(params):
        variables = {"params": params, "batch_stats": state.batch_stats}
        preds, updates = state.apply_fn(
            variables, X, train=True, mutable=["batch_stats"]
        )
        return ((preds - targets) ** 2).mean(), updates

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (loss, updates), grads = grad_fn(state.params)
    state = state.apply_gradients(grads=grads)
    return state.replace(batch_stats=updates["batch_stats"]), loss  # store them


@jax.jit
def eval_loss(state, X, targets):
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    preds = state.apply_fn(variables, X, train=False)  # running statistics
    return ((preds - targets) ** 2).mean()


@partial(jax.jit, static_argnames="step")
def run(state, batches, step):
    return jax.lax.scan(step, state, batches)[0]  # step(state, batch) per batch


def train(seed, step=train_step, steps=200, n=64):
    X, targets = data(np.random.default_rng(seed), steps * n)
    batches = X.reshape(steps, n, 4), targets.reshape(steps, n)
    return run(new_state(seed), batches, step)


test = data(np.random.default_rng(100), 4096)  # held-out samples

if __name__ == "__main__":
    state = train(seed=0)
    mean = state.batch_stats["BatchNorm_0"]["mean"]
    assert not np.allclose(mean, 0)  # the stored statistics moved
    loss, spread = eval_loss(state, *test), test[1].var()
    assert loss < 0.05 * spread  # predicting their mean would give 100%
    print("evaluation loss below 5% of the variance of the targets")
    one = state.apply_fn(
        {"params": state.params, "batch_stats": state.batch_stats},
        test[0][:1], train=False,
    )
    whole = state.apply_fn(
        {"params": state.params, "batch_stats": state.batch_stats},
        test[0], train=False,
    )
    assert np.allclose(one, whole[:1], atol=1e-5)
    print("train=False: a sample's prediction does not depend on its batch")
