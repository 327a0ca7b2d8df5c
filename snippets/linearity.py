"""Is a layer linear, affine or nonlinear? A checker to copy next to your code.

    from linearity import classify, measure
    classify(model, torch.randn(8, 3))  # "linear", "affine" or "nonlinear"
    measure(model, torch.randn(8, 3))   # the defects behind the verdict

`f` maps a batch to a batch: a torch module or any callable. The checker never
changes it: a module's parameters, buffers (running statistics,
num_batches_tracked) and train/eval modes are restored afterwards.

Run it: python snippets/linearity.py
"""

import contextlib
import copy
from dataclasses import dataclass

import torch

# f(a x + c y) = a f(x) + c f(y) must hold for all these (a, c) to call f linear:
# additivity, homogeneity with negative, large and zero factors, mixtures.
LINEAR = [(1, 1), (2, 0), (-1, 0), (100, 0), (0, 0), (0.5, 0.3), (-3, 2), (40, -25)]
# Affine combinations (a + c = 1) must hold to call f affine.
AFFINE = [(0.3, 0.7), (-2, 3), (5, -4), (60, -59)]
TRIALS = 3
ROUNDING = 1000  # tolerance in machine epsilons of the dtype, relative to outputs


@dataclass(frozen=True)
class Defects:
    """Largest violations found, each relative to the outputs involved."""

    additivity: float  # f(x + y) vs f(x) + f(y)
    homogeneity: float  # f(a x) vs a f(x)
    linear_combination: float  # f(a x + c y) vs a f(x) + c f(y)
    affine_combination: float  # the same with a + c = 1
    at_zero: float  # f(0), which is 0 for a linear map
    tolerance: float  # below this a defect counts as rounding

    @property
    def verdict(self) -> str:
        linear = self.additivity, self.homogeneity, self.linear_combination
        if max(*linear, self.at_zero) <= self.tolerance:
            return "linear"
        affine = self.affine_combination <= self.tolerance
        return "affine" if affine else "nonlinear"


def classify(f, example: torch.Tensor, seed: int = 0) -> str:
    """'linear', 'affine' or 'nonlinear': how `f` acts on batches like `example`."""
    return measure(f, example, seed).verdict


def measure(f, example: torch.Tensor, seed: int = 0) -> Defects:
    """Try `f` on random batches like `example` and on their combinations."""
    check_example(example)
    with unchanged(f), torch.no_grad():
        evaluate = checked(f, example)
        generator = torch.Generator(device=example.device).manual_seed(seed)
        spread = example.std().item() if example.numel() > 1 else 0.0
        zero = torch.zeros_like(example)
        # y = 0 among the points makes the affine test catch f(2x) = f(x).
        points = {"0": (zero, evaluate(zero))}
        worst = dict.fromkeys(["additivity", "homogeneity", "linear", "affine"], 0)
        for trial in range(TRIALS):
            x = example if trial == 0 else random_like(example, generator, spread)
            y = random_like(example, generator, spread)
            points |= {"x": (x, evaluate(x)), "y": (y, evaluate(y))}
            for a, c in LINEAR:
                kind = "homogeneity" if c == 0 else "linear"
                kind = "additivity" if a == c == 1 else kind
                found = defect(evaluate, a, points["x"], c, points["y"])
                worst[kind] = max(worst[kind], found)
            for a, c in AFFINE:
                for u, v in [("x", "y"), ("x", "0"), ("0", "y")]:
                    found = defect(evaluate, a, points[u], c, points[v])
                    worst["affine"] = max(worst["affine"], found)
        size = max(evaluate(example).abs().max().item(), tiny(example))
    return Defects(
        additivity=worst["additivity"],
        homogeneity=worst["homogeneity"],
        linear_combination=worst["linear"],
        affine_combination=worst["affine"],
        at_zero=points["0"][1].abs().max().item() / size,
        tolerance=tolerance(example),
    )


def defect(evaluate, a, point_u, c, point_v) -> float:
    """|f(a u + c v) - a f(u) - c f(v)|, relative to the largest output involved."""
    (u, f_u), (v, f_v) = point_u, point_v
    combined = evaluate(a * u + c * v)
    parts = [combined, a * f_u, c * f_v, f_u, f_v]
    size = max(max(part.abs().max().item() for part in parts), tiny(u))
    return (combined - a * f_u - c * f_v).abs().max().item() / size


def random_like(example, generator, spread):
    like = dict(dtype=example.dtype, device=example.device)
    return (spread or 1.0) * torch.randn(example.shape, generator=generator, **like)


def tolerance(tensor):
    return ROUNDING * torch.finfo(tensor.dtype).eps


def tiny(tensor):
    return torch.finfo(tensor.dtype).tiny


def check_example(example):
    if not isinstance(example, torch.Tensor):
        raise TypeError(
            "example must be a torch.Tensor shaped like one batch, "
            f"e.g. torch.randn(8, 3); got {type(example).__name__}"
        )
    if example.dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"example has dtype {example.dtype}; pass a float32 or float64 batch, "
            "e.g. example.double(): integers cannot be scaled by 0.3, and half "
            "precision rounds too coarsely to tell affine from nonlinear"
        )


def checked(f, example):
    """`f`, raising an error that says what to do wherever it would mislead."""

    def evaluate(batch):
        output = f(batch)
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"f must return a tensor; it returned {type(output).__name__}. "
                "Wrap it: lambda x: f(x)[0]"
            )
        if not torch.isfinite(output).all():
            raise ValueError(
                "f returned inf or nan; check it on a batch like example, "
                "or pass a smaller example"
            )
        return output

    shape = tuple(example.shape)
    try:
        first = evaluate(example)
    except (TypeError, ValueError) as error:
        if "more than 1 value per channel" not in str(error):
            raise
        raise ValueError(
            f"f cannot take a batch shaped like example {shape}: a training-mode "
            "batch norm needs at least 2 samples per channel. Pass a larger "
            "batch, or call f.eval() to check inference."
        ) from error
    except RuntimeError as error:
        message = f"f cannot take a batch shaped like example {shape}: {error}"
        raise ValueError(message) from error
    size = max(first.abs().max().item(), tiny(example))
    if (first - evaluate(example)).abs().max() > tolerance(example) * size:
        raise ValueError(
            "f gave two different outputs for the same input, so no verdict is "
            "possible. Is dropout or another random layer in training mode? "
            "Call f.eval(), or seed it inside f."
        )
    return evaluate


@contextlib.contextmanager
def unchanged(f):
    """Restore a module's parameters, buffers and train/eval modes afterwards."""
    if not isinstance(f, torch.nn.Module):
        yield
        return
    state = copy.deepcopy(f.state_dict())
    modes = [module.training for module in f.modules()]
    try:
        yield
    finally:
        f.load_state_dict(state)
        for module, mode in zip(f.modules(), modes, strict=True):
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
