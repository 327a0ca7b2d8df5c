"""Lets torchvision 0.28.0 import beside the CPU build of torch 2.13.0, the only pair this project's registry has.

The registry's torchvision wheel is built against CUDA torch: its operator library (`torchvision/_C.so`) links
`libtorch_cuda.so`, which the CPU build lacks, so it does not load. torchvision then skips registering its
operators, except two fake kernels (`torchvision::nms`, `torchvision::qnms`) it registers unguarded, and
`import torchvision` fails with "operator torchvision::nms does not exist". Declaring those two operators
(schemas as torchvision's C++ declares them) lets the import go on; the models and `FrozenBatchNorm2d` the
pages use are plain Python and never call them. Where `_C.so` loads (a matching install), this does nothing.

The doc-test imports this module first in every interpreter that runs a fence or a snippet (`fence_preload`
in pyproject.toml). Listed in CONTRIBUTING.md's couplings; tests/test_torchvision_on_cpu_torch.py says when
it is no longer needed.
"""

import importlib.util
from pathlib import Path

import torch

SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


def operator_library_loads() -> bool:
    spec = importlib.util.find_spec("torchvision")
    try:
        torch.ops.load_library(Path(spec.origin).parent / "_C.so")
    except OSError:
        return False
    return True


if importlib.util.find_spec("torchvision") and not operator_library_loads():
    for name in ("nms", "qnms"):
        torch.library.define(f"torchvision::{name}", SCHEMA)
