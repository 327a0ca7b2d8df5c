"""ResNet-18 and MobileNetV3-Small from torchvision, as training leaves them:
random weights (nothing is downloaded), gamma and beta moved away from 1 and
0, running statistics estimated on seeded 32 x 32 batches, evaluation mode.

Run it: python snippets/real_arch_models.py
"""

import torch
import torchvision
from torch.optim.swa_utils import update_bn

BUILDERS = {
    "ResNet-18": torchvision.models.resnet18,
    "MobileNetV3-Small": torchvision.models.mobilenet_v3_small,
}


def trained(name, seed=0):
    """The model called name, its batch norms holding non-default state."""
    torch.manual_seed(seed)
    model = BUILDERS[name](weights=None)  # random weights: no download
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
        # running statistics: the average over 4 training-mode passes
        update_bn([torch.randn(8, 3, 32, 32) for _ in range(4)], model)
    return model.eval()


def layer_kinds(model):
    """How many batch norms, convolutions, grouped and transposed ones."""
    modules = list(model.modules())
    convs = [m for m in modules if isinstance(m, torch.nn.Conv2d)]
    transposed = (
        torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d,
        torch.nn.ConvTranspose3d,
    )
    return {
        "batch norms": sum(isinstance(m, torch.nn.BatchNorm2d) for m in modules),
        "convolutions": len(convs),
        "grouped": sum(conv.groups > 1 for conv in convs),
        "transposed": sum(isinstance(m, transposed) for m in modules),
    }


if __name__ == "__main__":
    EXPECTED = {  # batch norms, convolutions, grouped, transposed
        "ResNet-18": (20, 20, 0, 0),
        "MobileNetV3-Small": (34, 52, 11, 0),
    }
    for name, counts in EXPECTED.items():
        model = trained(name)
        kinds = layer_kinds(model)
        assert tuple(kinds.values()) == counts, name
        for bn in model.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                assert not bn.training  # evaluation mode
                ones = torch.ones_like(bn.running_var)  # the initial variance
                assert not torch.equal(bn.running_var, ones)  # moved
        print(f"{name}:", ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
