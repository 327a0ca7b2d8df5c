"""Is a layer linear, affine or nonlinear? A checker you can copy next to your own code.

    from linearity import classify, measure
    classify(model, torch.randn(8, 3))   # "linear", "affine" or "nonlinear"
    measure(model, torch.randn(8, 3))    # the defects behind the verdict

`f` maps a batch to a batch: a torch module or any callable. The checker never changes it: a module's
parameters, buffers (running statistics, num_batches_tracked) and train/eval mode are restored.

Run it: python snippets/linearity.py
"""

import contextlib
import copy
from dataclasses import dataclass

import torch

# f(a x + c y) = a f(x) + c f(y) must hold for all of these (a, c) to call f linear:
# additivity, then homogeneity with negative, large and zero factors, then mixtures.
LINEAR = [(1.0, 1.0), (2.0, 0.0), (-1.0, 0.0), (100.0, 0.0), (0.0, 0.0), (0.5, 0.3), (-3.0, 2.0), (40.0, -25.0)]
# Affine combinations (a + c = 1) must hold to call f affine; y = 0 among the points catches f(2x) = f(x).
AFFINE = [(0.3, 0.7), (-2.0, 3.0), (5.0, -4.0), (60.0, -59.0)]
TRIALS = 3
ROUNDING = 1000  # tolerance in units of the dtype's machine epsilon, relative to the outputs' size


@dataclass(frozen=True)
class Defects:
    """Largest violations found, each relative to the size of the outputs involved."""

    additivity: float  # f(x + y) vs f(x) + f(y)
    homogeneity: float  # f(a x) vs a f(x)
    linear_combination: float  # f(a x + c y) vs a f(x) + c f(y), any a and c
    affine_combination: float  # the same with a + c = 1
    at_zero: float  # f(0), which is 0 for a linear map
    tolerance: float  # below this a defect counts as rounding

    @property
    def verdict(self) -> str:
        if max(self.additivity, self.homogeneity, self.linear_combination, self.at_zero) <= self.tolerance:
            return "linear"
        return "affine" if self.affine_combination <= self.tolerance else "nonlinear"


def classify(f, example: torch.Tensor, seed: int = 0) -> str:
    """'linear', 'affine' or 'nonlinear': how `f` behaves on batches shaped like `example`."""
    return measure(f, example, seed).verdict


def measure(f, example: torch.Tensor, seed: int = 0) -> Defects:
    """Try `f` on random batches shaped like `example` and their combinations; report the worst defects."""
    check_example(example)
    with unchanged(f), torch.no_grad():
        evaluate = checked(f, example)
        generator = torch.Generator(device=example.device).manual_seed(seed)
        spread = example.std().item() if example.numel() > 1 and example.std() > 0 else 1.0
        zero = torch.zeros_like(example)
        worst = {"additivity": 0.0, "homogeneity": 0.0, "linear": 0.0, "affine": 0.0}
        for trial in range(TRIALS):
            x = example if trial == 0 else spread * random_like(example, generator)
            y = spread * random_like(example, generator)
            outputs = {"x": (x, evaluate(x)), "y": (y, evaluate(y)), "0": (zero, evaluate(zero))}
            for a, c in LINEAR:
                defect = combination_defect(evaluate, a, outputs["x"], c, outputs["y"])
                kind = "additivity" if (a, c) == (1.0, 1.0) else "homogeneity" if c == 0 else "linear"
                worst[kind] = max(worst[kind], defect)
            for a, c in AFFINE:
                for u, v in [("x", "y"), ("x", "0"), ("0", "y")]:
                    worst["affine"] = max(worst["affine"], combination_defect(evaluate, a, outputs[u], c, outputs[v]))
        at_zero = outputs["0"][1].abs().max().item() / max(evaluate(example).abs().max().item(), tiny(example))
    return Defects(
        additivity=worst["additivity"],
        homogeneity=worst["homogeneity"],
        linear_combination=worst["linear"],
        affine_combination=worst["affine"],
        at_zero=at_zero,
        tolerance=tolerance(example),
    )


def combination_defect(evaluate, a, x_fx, c, y_fy) -> float:
    """|f(a x + c y) - a f(x) - c f(y)|, relative to the largest output involved."""
    (x, fx), (y, fy) = x_fx, y_fy
    combined, separate = evaluate(a * x + c * y), a * fx + c * fy
    size = max(combined.abs().max(), (a * fx).abs().max(), (c * fy).abs().max(), fx.abs().max(), fy.abs().max())
    return (combined - separate).abs().max().item() / max(size.item(), tiny(x))


def random_like(example, generator):
    return torch.randn(example.shape, generator=generator, dtype=example.dtype, device=example.device)


def tolerance(tensor):
    return ROUNDING * torch.finfo(tensor.dtype).eps


def tiny(tensor):
    return torch.finfo(tensor.dtype).tiny


def check_example(example):
    if not isinstance(example, torch.Tensor):
        raise TypeError(f"example must be a torch.Tensor shaped like one batch, e.g. torch.randn(8, 3); got {type(example).__name__}")
    if example.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"example has dtype {example.dtype}; pass a float32 or float64 batch, e.g. example.double(): "
            "integers cannot be scaled by 0.3, and half precision rounds too coarsely to tell affine from nonlinear"
        )


def checked(f, example):
    """`f` wrapped so that each way it can mislead the checker raises an error that says what to do."""

    def evaluate(batch):
        output = f(batch)
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"f must return a tensor; it returned {type(output).__name__}. Wrap it: lambda x: f(x)[0]")
        if not torch.isfinite(output).all():
            raise ValueError("f returned inf or nan; check it on a batch like example, or pass a smaller example")
        return output

    try:
        first = evaluate(example)
    except (TypeError, ValueError) as error:
        if "more than 1 value per channel" in str(error):
            raise ValueError(
                f"f cannot take a batch shaped like example {tuple(example.shape)}: a training-mode batch norm "
                "needs at least 2 samples per channel. Pass a larger batch, or call f.eval() to check inference."
            ) from error
        raise
    except RuntimeError as error:
        raise ValueError(f"f cannot take a batch shaped like example {tuple(example.shape)}: {error}") from error
    again = evaluate(example)
    if (first - again).abs().max() > tolerance(example) * max(first.abs().max().item(), tiny(example)):
        raise ValueError(
            "f gave two different outputs for the same input, so no verdict is possible. "
            "Is dropout or another random layer in training mode? Call f.eval() or seed it inside f."
        )
    return evaluate


@contextlib.contextmanager
def unchanged(f):
    """Restore a module's parameters, buffers and train/eval modes after the checks."""
    if not isinstance(f, torch.nn.Module):
        yield
        return
    state = copy.deepcopy(f.state_dict())
    modes = [module.training for module in f.modules()]
    try:
        yield
    finally:
        f.load_state_dict(state)
        for module, mode in zip(f.modules(), modes):
            module.training = mode


if __name__ == "__main__":
    torch.manual_seed(0)
    batch = torch.randn(8, 3)
    bn = torch.nn.BatchNorm1d(3)
    for name, layer in [
        ("Linear(3, 2, bias=False)", torch.nn.Linear(3, 2, bias=False)),
        ("Linear(3, 2)", torch.nn.Linear(3, 2)),
        ("BatchNorm1d(3), training", bn),
        ("BatchNorm1d(3), eval, fresh statistics", copy.deepcopy(bn).eval()),
        ("ReLU()", torch.nn.ReLU()),
    ]:
        print(f"{name:40} {classify(layer, batch)}")
