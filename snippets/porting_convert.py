"""Copy a trained CNN's weights: PyTorch to Keras and Flax, Keras to PyTorch.

Each target is built beforehand with the same layers in the same order, channels
last, and the source's epsilon. Run it: python snippets/porting_convert.py
"""

import os

os.environ["KERAS_BACKEND"] = "torch"  # Keras 3 on PyTorch: no TensorFlow needed
os.environ["JAX_PLATFORMS"] = "cpu"  # else jax[cpu] warns on a machine with a GPU

import jax.numpy as jnp
import numpy as np
import torch
from flax import nnx


def torch_arrays(model):
    """A PyTorch model's numbers, in Keras' order and layouts, as NumPy arrays.

    Per batch norm: weight, bias, running_mean, running_var, which are Keras'
    gamma, beta, moving_mean, moving_variance and Flax's scale, bias, mean, var.
    """
    arrays = []
    for key, tensor in model.state_dict().items():
        if key.endswith("num_batches_tracked"):  # a step count: Keras has none
            continue
        array = tensor.cpu().numpy()  # .cpu(): a model on a GPU too
        if array.ndim == 4:  # Conv2d kernel (out, in, kh, kw) -> (kh, kw, in, out)
            array = array.transpose(2, 3, 1, 0)
        elif array.ndim == 2:  # Linear weight (out, in) -> Dense kernel (in, out)
            array = array.T
        arrays.append(array)
    return arrays


def torch_to_keras(source, target):
    """PyTorch model -> Keras model: set_weights checks the count and shapes."""
    target.set_weights(torch_arrays(source))


def torch_to_flax(source, target):
    """PyTorch model -> Flax NNX Sequential of Conv, BatchNorm, Linear layers."""
    arrays = iter(torch_arrays(source))
    for layer in target.layers:
        if isinstance(layer, nnx.BatchNorm):
            names = ["scale", "bias", "mean", "var"]  # mean, var: nnx.BatchStat
        elif isinstance(layer, (nnx.Conv, nnx.Linear)):
            names = ["kernel", "bias"]
        else:  # relu, pooling: nothing to copy
            continue
        for name in names:
            variable, array = getattr(layer, name), next(arrays)
            if variable.shape != array.shape:
                raise ValueError(f"{name}: {array.shape} for {variable.shape}")
            variable[...] = jnp.asarray(array)
    if next(arrays, None) is not None:
        raise ValueError("the PyTorch model has more weights than the Flax one")


def keras_to_torch(source, target):
    """Keras model -> PyTorch model: load_state_dict checks names and shapes."""
    state = target.state_dict()
    keys = [key for key in state if not key.endswith("num_batches_tracked")]
    arrays = source.get_weights()  # layer by layer; batch norm: gamma, beta, ...
    if len(arrays) != len(keys):
        raise ValueError(f"{len(arrays)} Keras arrays for {len(keys)} tensors")
    for key, array in zip(keys, arrays, strict=True):
        if array.ndim == 4:  # Conv2D kernel (kh, kw, in, out) -> (out, in, kh, kw)
            array = array.transpose(3, 2, 0, 1)
        elif array.ndim == 2:  # Dense kernel (in, out) -> Linear weight (out, in)
            array = array.T
        state[key] = torch.from_numpy(array.copy())
    target.load_state_dict(state)


if __name__ == "__main__":
    from porting_models import keras_cnn, torch_cnn

    model, keras_model, back = torch_cnn(), keras_cnn(), torch_cnn()
    torch_to_keras(model, keras_model)
    keras_to_torch(keras_model, back)
    for key, tensor in model.state_dict().items():
        assert np.array_equal(tensor, back.state_dict()[key]), key
    print("PyTorch -> Keras -> PyTorch: every array the same")
