"""Fold every batch norm of a model into the convolution or linear layer before it.

fold_batchnorms(model) returns a folded copy, built with PyTorch's
torch.nn.utils.fusion.fuse_conv_bn_eval and fuse_linear_bn_eval. A batch norm
is folded when it comes right after one of the layers in FUSERS, or after a
subclass of one that keeps its forward, in a Sequential that keeps
Sequential's forward; the layer becomes the fused layer and the batch norm
an Identity. Every other batch norm stays, including those a module's own
forward calls (a ResNet-style block's self.bn1). The preconditions are
checked first, for every pair (evaluation mode, a batch norm that keeps its
class's forward, matching sizes, running statistics, no forward hooks or
parametrizations), and a failure says what to do.

Run it: python snippets/fold_for_inference.py
"""

import copy
from functools import partial
from itertools import pairwise

import torch
from torch.nn.utils import parametrize
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

NORMS = (
    torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,  # in evaluation mode a plain batch norm
)
TRANSPOSED = partial(fuse_conv_bn_eval, transpose=True)
FUSERS = {  # a layer class: PyTorch's fold of it and the batch norm after it
    torch.nn.Linear: fuse_linear_bn_eval,
    torch.nn.Conv1d: fuse_conv_bn_eval,
    torch.nn.Conv2d: fuse_conv_bn_eval,
    torch.nn.Conv3d: fuse_conv_bn_eval,
    torch.nn.ConvTranspose1d: TRANSPOSED,
    torch.nn.ConvTranspose2d: TRANSPOSED,
    torch.nn.ConvTranspose3d: TRANSPOSED,
}
PAGE = "see the page 'Deployment: folding batch norm for inference'"


def fold_batchnorms(model):
    """A copy of model with each (layer, batch norm) pair folded into one
    layer. Only valid in evaluation mode."""
    if model.training:
        raise ValueError(f"call model.eval() before folding: {PAGE}")
    model = copy.deepcopy(model)
    fold_children(model)
    return model


def keeps_forward(module, base):
    """module is a base, or a subclass computing with base's forward."""
    return all(
        getattr(type(module), name, None) is getattr(base, name, None)
        for name in ("forward", "_conv_forward")
    )


def fuser(layer):
    """PyTorch's fold for layer, or None where there is none."""
    for base, fuse in FUSERS.items():
        if isinstance(layer, base):
            return fuse if keeps_forward(layer, base) else None
    return None


def fold_children(module):
    """Fold, in place, the pairs in every Sequential inside module."""
    for child in module.children():
        fold_children(child)
    if not keeps_forward(module, torch.nn.Sequential):
        return  # not a Sequential, or one with a forward of its own
    names = [name for name, _ in module.named_children()]
    for first, second in pairwise(names):
        layer, bn = getattr(module, first), getattr(module, second)
        fuse = fuser(layer)
        if isinstance(bn, NORMS) and fuse:
            setattr(module, first, fuse(layer, checked(bn, layer)))
            setattr(module, second, torch.nn.Identity())


def has_forward_hooks(module):
    """Whether hooks run before or after module's forward, and may change
    what it computes. torch has no public way to list a module's hooks: this
    reads two private dicts of torch.nn.Module, here and nowhere else."""
    return bool(module._forward_pre_hooks or module._forward_hooks)


def checked(bn, layer):
    """bn, or an equivalent with gamma = 1 and beta = 0 where it has none."""
    for module in (layer, bn):
        name = type(module).__name__
        if module.training:
            raise ValueError(
                f"a {name} is in training mode inside a model in evaluation "
                f"mode: call model.eval() after the last .train() ({PAGE})"
            )
        if parametrize.is_parametrized(module):
            raise ValueError(
                f"a {name} has a parametrization, which computes its weight at "
                "every forward pass: fix the weight it computes now with "
                f"parametrize.remove_parametrizations, then fold ({PAGE})"
            )
        if has_forward_hooks(module):
            raise ValueError(
                f"a {name} has forward hooks, which can change what it computes "
                "and which folding would drop or move onto the fused layer: "
                f"remove them if they only observe, or fold by hand ({PAGE})"
            )
    base = next(norm for norm in NORMS if isinstance(bn, norm))
    if not keeps_forward(bn, base):
        raise ValueError(
            f"a {type(bn).__name__} has a forward of its own, which may compute "
            f"something other than the {base.__name__} the fold assumes: fold by "
            f"hand ({PAGE})"
        )
    out = getattr(layer, "out_channels", getattr(layer, "out_features", None))
    one = isinstance(layer, torch.nn.Linear) and bn.num_features == 1
    if bn.num_features != out and not one:  # fuse_linear_bn_eval takes 1
        raise ValueError(
            f"{type(bn).__name__}({bn.num_features}) cannot follow a layer with "
            f"{out} outputs: the feature sizes must match ({PAGE})"
        )
    if bn.running_mean is None:
        raise ValueError(
            "a batch norm with track_running_stats=False normalizes with batch "
            f"statistics in eval mode too: it is not a fixed map to fold ({PAGE})"
        )
    if getattr(layer, "transposed", False) and layer.groups != 1:
        raise ValueError(
            "fuse_conv_bn_eval scales a transposed convolution's kernel "
            f"right only with groups=1, not {layer.groups}: fold this pair by "
            f"hand ({PAGE})"
        )
    if bn.weight is not None and bn.bias is not None:
        return bn
    # fuse_linear_bn_eval needs gamma and beta (a TypeError without one):
    # affine=False has neither, bias=False no beta. A fresh batch norm has
    # gamma = 1 and beta = 0; bn's state overwrites what bn has.
    full = type(bn)(bn.num_features, eps=bn.eps).to(bn.running_mean).eval()
    full.load_state_dict(bn.state_dict(), strict=False)
    return full


if __name__ == "__main__":
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, kernel_size=3), torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(3 * 2 * 2, 4), torch.nn.BatchNorm1d(4, affine=False),
    )
    for _ in range(5):
        model(torch.randn(8, 2, 4, 4) + 1)
    folded = fold_batchnorms(model.eval())
    X = torch.randn(8, 2, 4, 4)
    with torch.no_grad():
        assert torch.allclose(folded(X), model(X), rtol=1e-5, atol=1e-5)
    assert not any(isinstance(m, NORMS) for m in folded.modules())
    print("2 batch norms folded away; same outputs to 1e-5")
    synced = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.SyncBatchNorm(2))
    synced = fold_batchnorms(synced.eval())  # SyncBatchNorm folds too
    assert not any(isinstance(m, NORMS) for m in synced.modules())
