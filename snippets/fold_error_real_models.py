"""The bound, layer by layer, on torchvision's ResNet-18 and MobileNetV3-Small.

Each model as real_arch_models.trained leaves it (random weights, gamma and
beta moved, running statistics averaged over 4 batches), folded with FX's fuse.

Run it: python snippets/fold_error_real_models.py
"""

import copy
import math
import warnings

import torch

from fold_error_bound import U, compare, size_ratio
from real_arch_models import BUILDERS, trained

with warnings.catch_warnings():  # its import warns from torch.jit, deprecated
    warnings.filterwarnings("ignore", "`torch.jit.script_method` is deprecated")
    from torch.fx.experimental.optimization import fuse


def conv_bn_pairs(model):
    """(conv, batch norm) names where the batch norm reads only that conv."""
    graph = torch.fx.symbolic_trace(model).graph
    pairs = []
    for node in graph.nodes:
        source = node.args[0] if node.args else None
        if node.op == "call_module" and getattr(source, "op", "") == "call_module":
            first = model.get_submodule(source.target)
            second = model.get_submodule(node.target)
            if isinstance(first, torch.nn.Conv2d) and isinstance(
                second, torch.nn.BatchNorm2d
            ):
                pairs.append((source.target, node.target))
    return pairs


def inputs_of(model, names, X):
    """The float32 input of each named module, in one forward pass."""
    seen = {}

    def keep(name):
        def hook(module, args):
            seen[name] = args[0]

        return hook

    hooks = [
        model.get_submodule(name).register_forward_pre_hook(keep(name))
        for name in names
    ]
    with torch.no_grad():
        model(X)
    for hook in hooks:
        hook.remove()
    return seen


LIMIT = {torch.float32: 100, torch.float16: 30, torch.bfloat16: 30}  # times u
torch.manual_seed(0)
X = torch.randn(1, 3, 32, 32)
for model_name in BUILDERS:
    model = trained(model_name)  # as on real-architectures.md
    folded = fuse(model)  # a copy, with each conv + batch norm pair folded
    pairs = conv_bn_pairs(model)
    left = [m for m in folded.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not left  # every batch norm of these models was folded
    seen = inputs_of(model, [conv for conv, _ in pairs], X)
    worst = 0.0  # the largest |folded - original| / bound
    typical = []  # each layer's median T / |z|
    for conv, bn in pairs:
        typical.append(size_ratio(
            model.get_submodule(conv), model.get_submodule(bn), seen[conv]
        ).median().item())
        for dtype in U:
            gap, limit = compare(
                model.get_submodule(conv), model.get_submodule(bn),
                folded.get_submodule(conv), seen[conv], dtype,
            )
            assert (gap <= limit).all(), (conv, dtype)
            worst = max(worst, (gap / limit).max().item())
    K = [  # products per output value, for each folded convolution
        conv.in_channels // conv.groups * math.prod(conv.kernel_size)
        for conv in (model.get_submodule(name) for name, _ in pairs)
    ]
    print(f"{model_name}: {len(pairs)} folded layers, K from {min(K)} to {max(K)}")
    print(f"  float32, float16, bfloat16: bound held, largest ratio {worst:.0e}")
    typical = torch.tensor(typical)
    low, high, middle = typical.min(), typical.max(), typical.median()
    print(f"  T / |z|, median in each layer: {low:.0f} to {high:.0f},", end=" ")
    print(f"median of those {middle:.0f}")
    weights = torch.cat([  # W and W' of the folded layers, in float16
        net.get_submodule(name).weight.detach().flatten().half()
        for name, _ in pairs for net in (model, folded)
    ])
    tiny = torch.finfo(torch.float16).tiny  # 2^-14: the smallest normal number
    below = ((weights != 0) & (weights.abs() < tiny)).double().mean().item()
    assert tiny == 2**-14 and below > 0
    print(f"  in float16, {below:.0e} of W and W' entries are below {tiny:.1e}")
    outputs = {}  # end to end, each model run in each format on the same X
    for name, net in ("original", model), ("folded", folded):
        weights = copy.deepcopy(net.state_dict())  # float32
        for dtype in torch.float64, *U:
            net.to(dtype).load_state_dict(weights)  # float32 values, rounded once
            with torch.no_grad():
                outputs[name, dtype] = net(X.to(dtype)).double()
    reference = outputs["original", torch.float64]
    size = reference.abs().max()  # differences relative to the largest output
    for dtype, u in U.items():
        original, fused = outputs["original", dtype], outputs["folded", dtype]
        end = ((fused - original).abs().max() / size).item()
        off = ((original - reference).abs().max() / size).item()
        assert end < LIMIT[dtype] * u and off < LIMIT[dtype] * u
    print("  end to end: folded vs original and original vs float64, relative")
    print("  to the largest output, both below", ", ".join(
        f"{LIMIT[dtype]}u" for dtype in U
    ), "in float32, float16, bfloat16")
