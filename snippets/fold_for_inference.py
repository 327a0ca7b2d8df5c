"""Fold every batch norm of a model into the convolution or linear layer before it.

fold_batchnorms(model) returns a folded copy, built with PyTorch's
torch.nn.utils.fusion.fuse_conv_bn_eval and fuse_linear_bn_eval. It checks
their preconditions first and says what to do when one fails.

Run it: python snippets/fold_for_inference.py
"""

import copy

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

NORMS = (
    torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,  # in evaluation mode a plain batch norm
)
FUSERS = {
    torch.nn.Conv1d: fuse_conv_bn_eval,
    torch.nn.Conv2d: fuse_conv_bn_eval,
    torch.nn.Conv3d: fuse_conv_bn_eval,
    torch.nn.Linear: fuse_linear_bn_eval,
}
PAGE = "see the page 'Deployment: folding batch norm for inference'"


def fold_batchnorms(model):
    """A copy of model with each (Conv or Linear, BatchNorm) pair in a
    Sequential replaced by one layer. Only valid in evaluation mode."""
    if model.training:
        raise ValueError(f"call model.eval() before folding: {PAGE}")
    return fold_children(copy.deepcopy(model))


def fold_children(module):
    """module with every Sequential inside it folded, each as a new Sequential."""
    if not isinstance(module, torch.nn.Sequential):
        for name, child in module.named_children():
            setattr(module, name, fold_children(child))
        return module
    layers = [fold_children(child) for child in module]
    for i in range(len(layers) - 1, 0, -1):  # from the end: indices stay valid
        layer, bn = layers[i - 1], layers[i]
        fuse = FUSERS.get(type(layer))
        if isinstance(bn, NORMS) and fuse:
            layers[i - 1 : i + 1] = [fuse(layer, checked(bn, layer))]
    return torch.nn.Sequential(*layers)


def checked(bn, layer):
    """bn, or an equivalent with gamma = 1 and beta = 0 where it has none."""
    out = getattr(layer, "out_channels", getattr(layer, "out_features", None))
    if bn.num_features != out:
        raise ValueError(
            f"{type(bn).__name__}({bn.num_features}) cannot follow a layer with "
            f"{out} outputs: the feature sizes must match ({PAGE})"
        )
    if bn.running_mean is None:
        raise ValueError(
            "a batch norm with track_running_stats=False normalizes with batch "
            f"statistics in eval mode too: it is not a fixed map to fold ({PAGE})"
        )
    if bn.affine:
        return bn
    # fuse_linear_bn_eval needs gamma and beta (a TypeError without them)
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
    x = torch.randn(8, 2, 4, 4)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert not any(isinstance(m, NORMS) for m in folded.modules())
    print(f"{len(model)} layers folded into {len(folded)}; same outputs to 1e-5")
    synced = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.SyncBatchNorm(2))
    assert len(fold_batchnorms(synced.eval())) == 1  # SyncBatchNorm folds too
