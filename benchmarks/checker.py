"""How long the checker (snippets/linearity.py) takes on CPU, in seconds and in forward passes.

    python benchmarks/checker.py

Times `measure` on a 10-layer MLP of width 256 and on a small convolutional network, each in a
nonlinear form (with ReLU, where the checker stops at the first failing scale) and in an affine form
(no activation, where it probes every scale). Prints figures; it asserts only the verdicts.
On a machine shared with other work, set OMP_NUM_THREADS=1: torch's threads then do not wait
on each other, and small models run several times faster.
"""

import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent.parent / "snippets"))
from linearity import measure  # noqa: E402

REPEATS = 5


def mlp(activation):
    layers = []
    for _ in range(10):
        layers += [torch.nn.Linear(256, 256), torch.nn.BatchNorm1d(256)]
        layers += [torch.nn.ReLU()] if activation else []
    return torch.nn.Sequential(*layers).eval()


def conv_net(activation):
    act = [torch.nn.ReLU()] if activation else []
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), *act,
        torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.BatchNorm2d(32), *act,
        torch.nn.Conv2d(32, 32, 3, stride=2, padding=1), torch.nn.BatchNorm2d(32), *act,
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10),
    ).eval()  # fmt: skip


def count_forwards(model):
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))  # deep copies keep the hook
    return calls


def main():
    torch.manual_seed(0)
    cases = [
        ("MLP 10 x 256, ReLU", mlp(True), torch.randn(16, 256), "nonlinear"),
        ("MLP 10 x 256, no activation", mlp(False), torch.randn(16, 256), "affine"),
        ("conv net, ReLU", conv_net(True), torch.randn(8, 3, 32, 32), "nonlinear"),
        ("conv net, no activation", conv_net(False), torch.randn(8, 3, 32, 32), "affine"),
    ]
    print(f"torch {torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads")
    print(f"{'model':30} {'verdict':10} {'median s':>9} {'min s':>7} {'cpu s':>6} {'forwards':>9} {'1 forward ms':>13}")
    for name, model, example, expected in cases:
        calls = count_forwards(model)
        times, cpu = [], []
        for _ in range(REPEATS):
            calls.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            result = measure(model, example)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)  # all threads; the machine's load aside
        assert result.verdict == expected, (name, result.verdict)
        forwards = len(calls)
        with torch.no_grad():
            start = time.perf_counter()
            for _ in range(20):
                model(example)
            forward = (time.perf_counter() - start) / 20
        print(
            f"{name:30} {result.verdict:10} {statistics.median(times):9.2f} {min(times):7.2f} "
            f"{statistics.median(cpu):6.2f} "
            f"{forwards:9d} {forward * 1000:13.2f}"
        )


if __name__ == "__main__":
    main()
