"""NNX batch norm: the statistics live in the model and update in place.

Run it: python snippets/flax_stats_nnx_recipe.py
"""

import os

os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


class MLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(4, 16, rngs=rngs)
        self.bn = nnx.BatchNorm(16, rngs=rngs)  # no mode: train() or eval() sets it
        self.out = nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, X):
        return self.out(nnx.relu(self.bn(self.hidden(X))))[:, 0]


def data(rng, n):
    """n samples of 4 features of mean 5, standard deviation 2; a linear target."""
    X = 5 + 2 * rng.normal(size=(n, 4))
    targets = (X - 5) @ np.array([1.0, -2.0, 0.5, 1.0])
    return jnp.asarray(X, jnp.float32), jnp.asarray(targets, jnp.float32)


@nnx.jit
def train_step(model, optimizer, X, targets):
    def loss_fn(model):
        return ((model(X) - targets) ** 2).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)  # grads of nnx.Param only
    optimizer.update(model, grads)
    return loss  # the statistics were updated in model, in place


@nnx.jit
def eval_loss(model, X, targets):
    return ((model(X) - targets) ** 2).mean()


def train(seed, steps=200):
    rng = np.random.default_rng(seed)
    model = MLP(nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    model.train()  # batch statistics, running ones updated
    for _ in range(steps):
        train_step(model, optimizer, *data(rng, 64))
    return model


test = data(np.random.default_rng(100), 4096)  # held-out samples

if __name__ == "__main__":
    try:
        nnx.Optimizer(MLP(nnx.Rngs(0)), optax.adam(1e-2))
    except TypeError as error:
        assert str(error).startswith("Missing required argument `wrt`.")
        print(f"nnx.Optimizer without wrt=: {error}")
    else:
        raise AssertionError("nnx.Optimizer took no wrt=")
    model = train(seed=0)
    stats = nnx.to_pure_dict(nnx.state(model, nnx.BatchStat))
    assert stats["bn"].keys() == {"mean", "var"}
    assert not np.allclose(stats["bn"]["mean"], 0)  # moved by the steps above
    model.eval()  # running statistics, nothing updated
    loss, spread = eval_loss(model, *test), test[1].var()
    assert loss < 0.05 * spread  # predicting their mean would give 100%
    print("evaluation loss below 5% of the variance of the targets")
    after = nnx.to_pure_dict(nnx.state(model, nnx.BatchStat))
    assert all((after["bn"][k] == stats["bn"][k]).all() for k in stats["bn"])
    print("statistics unchanged by the evaluation")
