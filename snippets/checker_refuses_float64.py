"""Code that refuses float64 is probed as it is, at 144 epsilons of its precision.

Run it: python snippets/checker_refuses_float64.py
"""

import torch

from linearity import GROWTH, TOLERANCE, measure


class RefusesFloat64(torch.nn.Module):
    """Runs `inner`, but raises on float64 inputs, as some custom kernels do."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, X):
        if X.dtype == torch.float64:
            raise TypeError("float64 is not supported")
        return self.inner(X)


torch.manual_seed(0)
example = torch.randn(8, 3)
print(f"{'ReLU in':9} {'probed in float64':21} as it is (refuses float64)")
for dtype in [torch.float32, torch.float16, torch.bfloat16]:
    X, eps = example.to(dtype), torch.finfo(dtype).eps
    in_float64 = measure(torch.nn.ReLU(), X)
    assert in_float64.tolerance == TOLERANCE * eps + GROWTH * 2**-52
    cells = [f"{in_float64.verdict}, {in_float64.tolerance:.2g}"]
    try:
        as_it_is = measure(RefusesFloat64(torch.nn.ReLU()), X)
    except ValueError as error:
        assert (TOLERANCE + GROWTH) * eps >= 1  # 1.125 in bfloat16
        cells.append(f"ValueError:\n  {error}")
    else:
        assert as_it_is.counterexample.dtype is None  # not probed in float64
        assert as_it_is.tolerance == (TOLERANCE + GROWTH) * eps  # 144 epsilons
        cells.append(f"{as_it_is.verdict}, {as_it_is.tolerance:.2g}")
    print(f"{str(dtype).removeprefix('torch.'):9} {cells[0]:21} {cells[1]}")
