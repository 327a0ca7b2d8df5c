"""Two ways to keep a pretrained batch norm fixed while fine-tuning.

1. Keep the BatchNorm modules and put them back in eval mode after every
   model.train(), with their parameters excluded from training and their
   gradients dropped.
2. Replace each BatchNorm2d by torchvision.ops.FrozenBatchNorm2d, which holds
   gamma, beta and the running statistics as buffers and computes the
   evaluation-mode map in any mode, with the batch norm's own epsilon.

Run it: python snippets/frozen_batchnorm.py
"""

import inspect

import torch
from torchvision.ops import FrozenBatchNorm2d

NORMS = (
    torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d,
    torch.nn.SyncBatchNorm,  # in evaluation mode a plain batch norm
)


def freeze_batchnorm(model):
    """Batch norms in eval mode, their gamma and beta out of training.
    Call it after every model.train(), which puts them back in training mode.
    Their gradients are dropped (set to None): torch.optim.SGD and Adam skip
    a parameter whose .grad is None, but step one whose gradient was zeroed in
    place, and momentum, Adam's moments or weight decay then move it."""
    for module in model.modules():
        if isinstance(module, NORMS):
            module.eval()
            module.requires_grad_(False)
            for parameter in module.parameters():
                parameter.grad = None
    return model


def frozen(bn):
    """A FrozenBatchNorm2d computing what bn computes in evaluation mode."""
    if bn.running_mean is None:
        raise ValueError(
            "this batch norm has no running statistics "
            "(track_running_stats=False): it always normalizes with the "
            "batch's own, so there is no fixed map to freeze"
        )
    fixed = FrozenBatchNorm2d(bn.num_features, eps=bn.eps)  # bn's own eps
    fixed = fixed.to(bn.running_mean)  # bn's dtype and device
    # FrozenBatchNorm2d drops num_batches_tracked from a state dict; where bn
    # has no gamma or beta (affine=False; bias=False has no beta), it keeps
    # its initial gamma = 1, beta = 0
    loaded = fixed.load_state_dict(bn.state_dict(), strict=False)
    assert not loaded.unexpected_keys
    assert set(loaded.missing_keys) <= {"weight", "bias"}
    return fixed


def replace_batchnorm(model):
    """Swap every BatchNorm2d in model for its FrozenBatchNorm2d, in place.
    FrozenBatchNorm2d takes (n, C, h, w) inputs only: other batch norms stay
    (freeze them with freeze_batchnorm)."""
    for name, child in model.named_children():
        if type(child) is torch.nn.BatchNorm2d:
            setattr(model, name, frozen(child))
        else:
            replace_batchnorm(child)
    return model


if __name__ == "__main__":
    def default_eps(layer):
        return inspect.signature(layer).parameters["eps"].default

    assert default_eps(FrozenBatchNorm2d) == default_eps(torch.nn.BatchNorm2d)
    torch.manual_seed(0)
    for options in ({}, {"bias": False}, {"affine": False}, {"eps": 1e-3}):
        bn = torch.nn.BatchNorm2d(3, **options)
        if options == {"bias": False}:  # torch 2.13: gamma kept, no beta
            assert bn.affine and bn.weight is not None and bn.bias is None
        for _ in range(5):
            bn(2 * torch.randn(8, 3, 4, 4) + 1)
        with torch.no_grad():
            if bn.weight is not None:
                bn.weight.uniform_(0.5, 2.0)
            if bn.bias is not None:
                bn.bias.uniform_(-1.0, 1.0)
        model = replace_batchnorm(torch.nn.Sequential(bn))
        fixed = model[0]
        assert isinstance(fixed, FrozenBatchNorm2d) and fixed.eps == bn.eps
        X = torch.randn(4, 3, 4, 4)
        with torch.no_grad():
            expected = bn.eval()(X)
            for mode in (True, False):  # its mode changes nothing in it
                out = fixed.train(mode)(X)
                assert torch.allclose(out, expected, rtol=1e-6, atol=1e-6)
        assert list(fixed.parameters()) == []  # buffers only
    synced = torch.nn.SyncBatchNorm(3)  # not the exact class BatchNorm2d: stays
    assert replace_batchnorm(torch.nn.Sequential(synced))[0] is synced
    names = [name for name, _ in fixed.named_buffers()]
    assert names == ["weight", "bias", "running_mean", "running_var"]
    print("FrozenBatchNorm2d equals the batch norm in eval mode, in any mode:")
    print("  with gamma and beta, bias=False, affine=False, eps=1e-3")
    print("its default eps equals BatchNorm2d's:", default_eps(FrozenBatchNorm2d))
