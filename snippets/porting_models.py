"""One small CNN in PyTorch, Keras and Flax NNX; the PyTorch one trained.

Run it: python snippets/porting_models.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed
os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import keras
import torch
from flax import nnx


def torch_cnn():
    """Conv-BN-ReLU twice, global average pool, Linear; NCHW input (n, 3, 8, 8)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )  # fmt: skip


def trained_torch_cnn(steps=30):
    """torch_cnn() after a few SGD steps on seeded random data, in eval() mode."""
    torch.manual_seed(0)
    model = torch_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(steps):  # training mode: gamma, beta, mu_r, sigma_r^2 move
        X = 2 * torch.randn(16, 3, 8, 8) + 1
        labels = torch.randint(0, 4, (16,))
        loss = torch.nn.functional.cross_entropy(model(X), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


# epsilon 1e-5 and momentum 0.9 = 1 - alpha: PyTorch's defaults, translated
def keras_cnn(epsilon=1e-5, momentum=0.9, axis=-1):
    """The same CNN in Keras, channels last: NHWC input (n, 8, 8, 3)."""
    layers = keras.layers

    def bn():
        options = dict(axis=axis, epsilon=epsilon, momentum=momentum)
        return layers.BatchNormalization(**options)

    return keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(8, 3, padding="same"), bn(), layers.ReLU(),
        layers.Conv2D(8, 3, padding="same"), bn(), layers.ReLU(),
        layers.GlobalAveragePooling2D(), layers.Dense(4),
    ])  # fmt: skip


def flax_cnn(epsilon=1e-5, momentum=0.9):
    """The same CNN in Flax NNX, channels last: NHWC input (n, 8, 8, 3)."""
    rngs = nnx.Rngs(0)
    zeros = nnx.initializers.zeros  # every number is overwritten by the port

    def conv(channels_in):
        options = dict(padding="SAME", kernel_init=zeros, rngs=rngs)
        return nnx.Conv(channels_in, 8, (3, 3), **options)

    def bn():
        return nnx.BatchNorm(8, epsilon=epsilon, momentum=momentum, rngs=rngs)

    def pool(X):
        return X.mean(axis=(1, 2))  # global average pool over height and width

    return nnx.Sequential(
        conv(3), bn(), nnx.relu,
        conv(8), bn(), nnx.relu,
        pool, nnx.Linear(8, 4, kernel_init=zeros, rngs=rngs),
    )  # fmt: skip


if __name__ == "__main__":
    model = trained_torch_cnn()
    bn = model[1]  # the first batch norm: trained numbers, not a new layer's
    assert not torch.allclose(bn.running_var, torch.ones(8), atol=0.1)
    assert not torch.allclose(bn.weight, torch.ones(8), atol=0.01)
    print("trained: gamma, beta, running mean and variance moved from their start")
