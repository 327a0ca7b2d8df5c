"""The torchvision stand-in for its operator library (project/torchvision_on_cpu_torch.py) is needed, and enough."""

import subprocess
import sys

from project import ROOT


def fresh_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_stand_in_acts_exactly_where_torchvision_cannot_import_alone():
    alone = fresh_python("import torchvision")
    loads = fresh_python("import sys, project.torchvision_on_cpu_torch as m; sys.exit(m.operator_library_loads())")
    if loads.returncode:
        assert alone.returncode == 0, f"torchvision's operators load here, yet it fails to import:\n{alone.stderr}"
        return  # a torchvision built for this torch (the workflow's CPU index): the stand-in does nothing
    assert alone.returncode != 0, (
        "torchvision now imports although its operator library does not load: delete "
        "project/torchvision_on_cpu_torch.py, its entry in fence_preload (pyproject.toml), its row in "
        "CONTRIBUTING.md and this test"
    )
    assert "operator torchvision::nms does not exist" in alone.stderr, alone.stderr


def test_with_the_declared_operators_the_models_run():
    run = fresh_python(
        "import project.torchvision_on_cpu_torch, torch\n"
        "from torchvision.models import mobilenet_v3_small, resnet18\n"
        "from torchvision.ops import FrozenBatchNorm2d\n"
        "x = torch.randn(2, 3, 32, 32)\n"
        "for build in (resnet18, mobilenet_v3_small):\n"
        "    assert build(weights=None).eval()(x).shape == (2, 1000)\n"
        "assert FrozenBatchNorm2d(3)(x).shape == x.shape\n"
    )
    assert run.returncode == 0, (
        "torchvision does not import even with its two operators declared: read the error, then "
        f"project/torchvision_on_cpu_torch.py's docstring\n{run.stderr}"
    )
