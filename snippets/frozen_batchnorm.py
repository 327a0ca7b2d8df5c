"""Two ways to keep a pretrained batch norm fixed while fine-tuning.

1. Keep the BatchNorm modules and put them back in eval mode after every
   model.train(), with their parameters excluded from training and their
   gradients dropped.
2. Replace each BatchNorm by a fixed affine map x * scale + shift, computed
   from its running statistics, parameters and epsilon, kept as buffers,
   for any input (n, C, ...).

Run it: python snippets/frozen_batchnorm.py
"""

import torch

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


class FixedAffineBatchNorm(torch.nn.Module):
    """Eval-mode batch norm as a fixed map x * scale + shift, per channel.
    Buffers, not parameters: optimizers and train() cannot change it.
    eps: the epsilon the statistics were trained with, by default bn.eps."""

    def __init__(self, bn, eps=None):
        super().__init__()
        eps = bn.eps if eps is None else eps
        if bn.running_mean is None:
            raise ValueError(
                "this batch norm has no running statistics "
                "(track_running_stats=False): it always normalizes with the "
                "batch's own, so there is no fixed map to freeze. See the page "
                "'Fine-tuning with frozen batch norm'."
            )
        with torch.no_grad():  # gamma = 1 and beta = 0 where bn has none:
            # affine=False has neither, bias=False keeps gamma and has no beta
            gamma = bn.weight if bn.weight is not None else 1.0
            beta = bn.bias if bn.bias is not None else 0.0
            scale = gamma / torch.sqrt(bn.running_var + eps)  # s
            shift = beta - scale * bn.running_mean  # the offset BN(0)
        self.register_buffer("scale", scale.detach().clone())
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)  # channels on dimension 1
        return x * self.scale.view(shape) + self.shift.view(shape)


def replace_batchnorm(model):
    """Swap every batch norm in model for its FixedAffineBatchNorm, in place."""
    for name, child in model.named_children():
        if isinstance(child, NORMS):
            setattr(model, name, FixedAffineBatchNorm(child))
        else:
            replace_batchnorm(child)
    return model


if __name__ == "__main__":
    torch.manual_seed(0)
    for options in ({}, {"bias": False}, {"affine": False}):
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
        assert isinstance(fixed, FixedAffineBatchNorm)
        X = torch.randn(4, 3, 4, 4)
        with torch.no_grad():
            expected = bn.eval()(X)
            for mode in (True, False):  # its mode changes nothing in it
                out = fixed.train(mode)(X)
                assert torch.allclose(out, expected, rtol=1e-6, atol=1e-6)
        assert list(fixed.parameters()) == []
    print("FixedAffineBatchNorm equals the batch norm in eval mode, in any mode:")
    print("  with gamma and beta, with bias=False (no beta), with affine=False")
