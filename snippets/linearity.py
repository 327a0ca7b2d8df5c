"""Is f linear, affine or nonlinear? A falsification test to copy next to your code.

    from linearity import classify, measure
    classify(model, torch.randn(8, 3))  # "linear", "affine" or "nonlinear"
    measure(model, torch.randn(8, 3))   # the defects, and a counterexample

`f` maps a batch to a tensor: a torch module or any callable. The first
dimension of `example` is the batch: (n, d), (n, C, L), (n, C, h, w) all work.

What a verdict means. The checker tries to disprove linearity. It compares
f(a X + c Y) with a f(X) + c f(Y) on batches X, Y like `example` (X is
`example` itself, Y random), both multiplied by 13 scales from 2**-30 to 2**30
(about 1e-9 to 1e9), from 1 outwards, and f(0) with 0. It stops at the first
scale where an affine combination fails.
- "nonlinear": an affine combination (a + c = 1) failed;
- "affine": a linear combination or f(0) = 0 failed, and no affine one did. That
  f is not linear is proven; that it is affine means only, as for "linear",
  that no counterexample was found (near the tolerance a nonlinear f can get it);
- "linear": no counterexample was found at the scales and precision probed.
  That is evidence, not a proof.
measure(f, example).counterexample holds the X, Y, a and c behind a "nonlinear"
or "affine" verdict; its .replay(f) computes the defect again.

Precision. f runs once as it is, to learn the precision of its computation: the
coarsest floating dtype among the tensors its operations use, or TF32 or
bfloat16 where PyTorch's flags allow them for float32 matrix products (read as
set, whether or not f multiplies matrices) and, where f runs a convolution, for
convolutions. The probes then run each torch operation of f in float64, so
that the rounding left inside f is float64's. Where f's code refuses float64 or
computes something else in it, they run f as it is, with a tolerance of
TOLERANCE + GROWTH epsilons of f's precision; where that reaches 1 (bfloat16),
which no relative defect exceeds, measure raises a ValueError instead. Each
output element is judged against the size of the terms combined in it, measured
by rerunning f with every operand and every result passed between torch
operations multiplied by 1 + 2**-20 N(0, 1). Terms that cancel inside one
operation are not measured, and its rounding of them can read as a defect. A
defect counts when it exceeds that size times TOLERANCE epsilons of the
computation's precision plus GROWTH epsilons of the probes' precision, so a
smaller nonlinearity passes. A scale is skipped, and listed in
measure(f, example).skipped, where f's input, an intermediate result or its
output overflows or underflows in f's own precision, or the output holds nan.
A nan that f makes and then masks (torch.nan_to_num, torch.where) is not seen:
the scale is judged on f's output as it is.

f is left as it was. A module is checked on deep copies: its parameters,
buffers, attributes, train/eval modes and autograd version counters stay as they
were, and the global random state is restored. A plain function is called as it
is: state it reaches through closures or globals (a model it calls, say) is not
protected, and changes only in part (the float64 probes update converted
copies of floating-point buffers). Put such code in a small torch.nn.Module.

Run it: python snippets/linearity.py
"""

import copy
import math
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode

SCALES = tuple(2.0**k for k in range(-30, 31, 5))  # 2**5 = 32 apart
TOLERANCE = 16  # epsilons of the computation's precision; see the checker page
GROWTH = 128  # epsilons of the probes' own precision: rounding in long sums
DRAWS = 2  # perturbed reruns per batch, to measure the size of its terms
# f(a X + c Y) = a f(X) + c f(Y) for each (a, c), and f(0) = 0: linear.
LINEAR = {
    "additivity": (1, 1),
    "homogeneity": (-2, 0),
    "linear_combination": (0.5, 0.3),
}
# a + c = 1; the last one, with Y = 0, reaches the next scale: affine.
AFFINE = [(0.5, 0.5), (2, -1), (32, -31)]
KINDS = [*LINEAR, "affine_combination", "at_zero"]


@dataclass(frozen=True)
class Counterexample:
    """f(a X + c Y) - a f(X) - c f(Y) is more than rounding explains."""

    kind: str  # the test that failed: "additivity", ..., "at_zero"
    scale: float  # X is this multiple of example (0 for f(0))
    a: float
    X: torch.Tensor  # a batch
    c: float
    Y: torch.Tensor  # a batch
    residual: torch.Tensor  # f(a X + c Y) - a f(X) - c f(Y), as found
    allowed: torch.Tensor  # for each output element, what rounding explains
    dtype: torch.dtype | None  # f's operations ran in it (None: as f says)

    def replay(self, f) -> torch.Tensor:
        """The residual again, computed as the checker did, on a copy of f."""
        with torch.random.fork_rng(devices=cuda_devices(self.X)), torch.no_grad():
            f, a, X, c, Y = private_copy(f), self.a, self.X, self.c, self.Y
            batches = [a * X + c * Y, X, Y]
            outputs = [evaluate(f, batch, Watch(self.dtype)) for batch in batches]
            return outputs[0] - a * outputs[1] - c * outputs[2]


@dataclass(frozen=True)
class Measurement:
    """The largest defects found, each relative to the size of its terms."""

    verdict: str
    additivity: float  # f(X + Y) vs f(X) + f(Y)
    homogeneity: float  # f(-2 X) vs -2 f(X)
    linear_combination: float  # f(0.5 X + 0.3 Y) vs 0.5 f(X) + 0.3 f(Y)
    affine_combination: float  # the same with a + c = 1
    at_zero: float  # f(0), which is 0 for a linear map
    tolerance: float  # defects up to this count as rounding
    precision: str  # the precision of f's computation
    scales: tuple  # the scales probed, as multiples of example
    skipped: dict = field(default_factory=dict)  # scale: why it was skipped
    counterexample: Counterexample | None = None  # None for "linear"


def classify(f, example: torch.Tensor, seed: int = 0, scales=SCALES) -> str:
    """'linear', 'affine' or 'nonlinear': how `f` acts on batches like `example`."""
    return measure(f, example, seed, scales).verdict


def measure(f, example: torch.Tensor, seed: int = 0, scales=SCALES) -> Measurement:
    """Try `f` on batches like `example` and their combinations, scale by scale,
    from the example's own scale outwards; stop at the first failed affine one."""
    scales = tuple(scales)
    check_example(example, scales)
    with torch.random.fork_rng(devices=cuda_devices(example)), torch.no_grad():
        run = Runner(f, example, seed)
        randoms = torch.Generator().manual_seed(seed)
        zero = run.point(torch.zeros_like(example), strict=False)
        # f(0 X + 0 Y) - 0 f(X) - 0 f(Y) is f(0), judged against its own terms
        found = [run.test("at_zero", 0.0, 0, zero, 0, zero, zero.output, zero.size)]
        probed, skipped = [], {}
        for scale in sorted(scales, key=lambda scale: abs(math.log2(scale))):
            X, Y = scale * example, scale * random_like(example, randoms)
            try:
                tests = run.tests(scale, run.point(X), run.point(Y), zero)
            except Skip as trouble:
                skipped[scale] = str(trouble)
                continue
            found += tests
            probed.append(scale)
            if any(not test.linear_only and test.failed for test in tests):
                break  # an affine combination failed: f is nonlinear
    if not probed:
        raise ValueError(
            f"f could not be judged at any scale ({skipped}): it overflows, "
            "underflows or returns nan on multiples of example. Pass an example "
            "on which f's output and intermediate results are normal numbers."
        )
    failed = [test for test in found if test.failed]
    affine = all(test.linear_only for test in failed)
    verdict = "linear" if not failed else "affine" if affine else "nonlinear"
    decisive = [test for test in failed if test.linear_only == affine]
    # The failure nearest the example's own scale shows the defect most plainly.
    nearest = min(decisive, key=lambda t: (t.distance, -t.defect), default=None)
    return Measurement(
        verdict=verdict,
        **{kind: max(t.defect for t in found if t.kind == kind) for kind in KINDS},
        tolerance=run.tolerance,
        precision=run.precision,
        scales=tuple(sorted(probed)),
        skipped=skipped,
        counterexample=nearest and nearest.counterexample,
    )


class Skip(Exception):
    """f overflowed, underflowed or returned nan at this scale."""


@dataclass(frozen=True)
class Point:
    batch: torch.Tensor
    output: torch.Tensor
    size: torch.Tensor  # for each output element, the size of the terms in it


@dataclass(frozen=True)
class Trial:
    kind: str
    defect: float  # the largest |residual| / size of terms, over the elements
    failed: bool
    counterexample: Counterexample

    @property
    def linear_only(self):
        """Affine maps pass the affine combinations, and fail only the others."""
        return self.kind != "affine_combination"

    @property
    def distance(self):
        """How far from the example's own scale; f(0) comes first."""
        scale = self.counterexample.scale
        return abs(math.log2(scale)) if scale else -1


class Runner:
    """Runs f on batches, with clear errors, and tests combinations of them."""

    def __init__(self, f, example, seed):
        self.original, self.f = f, private_copy(f)
        self.native, self.noise = self.f, Noise(seed, example.device)
        watch = Watch()
        try:
            with watch:
                output = self.f(example.clone())
        except (RuntimeError, ValueError, TypeError) as error:
            raise cannot_take(f, example, error) from error
        check_output(output)
        if not output.isfinite().all():
            raise ValueError(
                "f returned inf or nan on example; pass an example on which f's "
                "output is finite"
            )
        watch.note(output)
        self.shape = output.shape
        self.precision, self.eps, self.limits = precision(watch, example.device)
        largest = output.abs().max()
        for _ in range(2):  # a random f may give the same output once by chance
            with Watch():
                again = self.f(example.clone())
            if (again - output).abs().max() > TOLERANCE * self.eps * largest:
                raise ValueError(
                    "f gave two different outputs for the same input, so no "
                    "verdict is possible. Is dropout or another random layer in "
                    "training mode? Call f.eval(), or let f draw from its own "
                    "torch.Generator."
                )
        # Probe in float64 where f's code allows it and still computes the same.
        self.use(torch.float64)
        try:
            first = self.point(example, strict=False)
            wide = (TOLERANCE + GROWTH) * self.eps * first.size
            same = (first.output - output).abs().le(wide).all()
        except Exception:  # any failure in float64: probe f as it is
            same = False
        if not same:
            self.use(None)
        if self.tolerance >= 1:  # no relative defect exceeds 1: none could count
            raise ValueError(
                "f refuses float64 or computes something else in it, so the "
                f"probes run f as it is, in {self.precision}, where rounding "
                f"would explain defects up to {self.tolerance:.4g} times their "
                "terms: none could count. Let f's code accept float64, or run f "
                "in float32 with IEEE float32 products "
                "(torch.set_float32_matmul_precision('highest'), and the "
                "torch.backends.*.conv.fp32_precision flags at 'ieee')."
            )

    def use(self, dtype):
        """Run f's operations in `dtype` (None: as f says) from now on."""
        if isinstance(self.f, torch.nn.Module):  # converted once, not at each call
            self.f = private_copy(self.original).to(dtype) if dtype else self.native
        probes_eps = torch.finfo(dtype).eps if dtype else self.eps
        self.dtype = dtype
        self.tolerance = TOLERANCE * self.eps + GROWTH * probes_eps
        self.nudge = 2**-20 if dtype else min(64 * self.eps, 2**-4)

    def output(self, batch, nudge=0.0, strict=True):
        """f(batch). strict: Skip where f leaves its precision's normal range."""
        limits = self.limits if strict else None
        if trouble(batch, limits):
            raise Skip(trouble(batch, limits))
        watch = Watch(self.dtype, nudge, self.noise, limits)
        output = evaluate(self.f, batch, watch)
        check_output(output, self.shape)
        if watch.trouble or trouble(output, limits):
            raise Skip(watch.trouble or trouble(output, limits))
        return output

    def point(self, batch, strict=True):
        """f(batch), and the size of the terms combined in each element."""
        batch = batch.to(self.dtype) if self.dtype else batch
        try:
            output = self.output(batch, strict=strict)
            size = output.abs()
            for _ in range(DRAWS):
                nudged = self.output(batch, self.nudge, strict=strict)
                size = torch.maximum(size, (nudged - output).abs() / self.nudge)
        except Skip as trouble:
            if strict:
                raise
            raise ValueError(
                f"f gives {trouble} on a batch of zeros or on example: f is "
                "neither linear nor affine there (both are finite everywhere)"
            ) from None
        # A random measurement can come out near 0 by chance: the median over
        # the batch (the same terms in the other samples) is a floor for it.
        if size.dim() > 0 and len(size) > 2:
            size = torch.maximum(size, size.median(dim=0).values)
        return Point(batch, output, size)

    def tests(self, scale, X, Y, zero):
        """Every test at one scale, on the points of batches X and Y."""
        tests = [(kind, a, X, c, Y) for kind, (a, c) in LINEAR.items()]
        tests += [("affine_combination", a, X, c, Y) for a, c in AFFINE[:-1]]
        a, c = AFFINE[-1]
        tests += [("affine_combination", a, X, c, zero)]
        combined = [a * p.batch + c * q.batch for _, a, p, c, q in tests]
        outputs = [self.output(batch) for batch in combined]
        return [
            self.test(kind, scale, a, p, c, q, output)
            for (kind, a, p, c, q), output in zip(tests, outputs, strict=True)
        ]

    def test(self, kind, scale, a, p, c, q, combined, size=None):
        """How far f(a p + c q) is from a f(p) + c f(q), element by element."""
        residual = combined - a * p.output - c * q.output
        if size is None:
            size = abs(a) * p.size + abs(c) * q.size + combined.abs()
        relative = torch.where(residual == 0, 0.0, residual.abs() / size)
        allowed = self.tolerance * size
        found = Counterexample(
            kind, scale, a, p.batch, c, q.batch, residual, allowed, self.dtype
        )
        failed = residual.abs().gt(allowed).any().item()
        return Trial(kind, relative.max().item(), failed, found)


def evaluate(f, batch, watch):
    """f(batch) under `watch`, in the watch's dtype."""
    batch = batch.clone()  # f may write into its input
    with watch:
        output = f(batch)
    check_output(output)
    return output.to(watch.dtype) if watch.dtype else output


class Watch(TorchFunctionMode):
    """Sees each torch operation that f runs. It notes their dtypes, and overflow
    and underflow for the range `limits`; runs them in `dtype` (None: as f
    says); with nudge > 0, multiplies each operand from outside f (input,
    parameters, buffers, captured tensors) and each result by 1 + nudge N(0, 1)."""

    def __init__(self, dtype=None, nudge=0.0, noise=None, limits=None):
        super().__init__()
        self.dtype, self.nudge, self.noise = dtype, nudge, noise
        self.limits, self.trouble = limits, None
        self.dtypes, self.convolution = set(), False
        self.made = {}  # id: a tensor made inside f, or a copy of one from outside

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        self.convolution |= "conv" in name
        # An operation that writes into a tensor gets that very tensor: f reads it.
        writes = name.endswith("_") and not name.startswith("__")
        writes |= name.startswith("__i") or name == "__setitem__" or "out" in kwargs
        target, args = (args[:1], args[1:]) if writes else ((), args)
        out = {"out": kwargs.pop("out")} if "out" in kwargs else {}
        args, kwargs = nested(self.operand, (args, kwargs))
        result = func(*target, *args, **kwargs, **out)
        nudge = self.nudge and not (writes or name == "__get__")
        return nested(lambda tensor: self.result(tensor, nudge), result)

    def operand(self, tensor):
        if id(tensor) not in self.made:  # from outside f: converted, nudged once
            self.note(tensor)
            copy = self.nudged(self.converted(tensor)) if self.nudge else tensor
            self.made[id(tensor)] = self.made[id(copy)] = copy
        return self.converted(self.made[id(tensor)])

    def result(self, tensor, nudge):
        self.note(tensor)
        if self.limits and not self.nudge:  # a nudged rerun repeats a checked run
            self.trouble = self.trouble or trouble(tensor, self.limits, nan=False)
        tensor = self.nudged(tensor) if nudge else tensor
        self.made[id(tensor)] = tensor
        return tensor

    def note(self, tensor):
        if tensor.dtype.is_floating_point or tensor.dtype.is_complex:
            self.dtypes.add(tensor.dtype)

    def converted(self, tensor):
        if self.dtype and tensor.dtype.is_complex:
            return tensor.to(torch.complex128)
        if self.dtype and tensor.dtype.is_floating_point:
            return tensor.to(self.dtype)
        return tensor

    def nudged(self, tensor):
        if not tensor.dtype.is_floating_point:
            return tensor
        return tensor * (1 + self.nudge * self.noise.like(tensor))


class Noise:
    """N(0, 1) numbers cut from one long draw: faster than a draw each time."""

    def __init__(self, seed, device):
        self.generator = torch.Generator().manual_seed(seed)
        draw = torch.randn(2**16, generator=self.generator, dtype=torch.float64)
        self.pool = draw.to(device)

    def like(self, tensor):
        size, pool = tensor.numel(), self.pool
        start = torch.randint(len(pool), (), generator=self.generator).item()
        while start + size > len(pool):  # wrap around
            pool, start = torch.cat([pool[start:], self.pool]), 0
        return pool[start : start + size].view(tensor.shape).to(tensor.dtype)


def nested(function, value):
    """`function` applied to each tensor in value (tuples, lists and dicts too)."""
    if isinstance(value, torch.Tensor):
        return function(value)
    if type(value) in (tuple, list):
        return type(value)(nested(function, item) for item in value)
    if type(value) is dict:
        return {key: nested(function, item) for key, item in value.items()}
    return value


def trouble(tensor, limits, nan=True):
    """'nan', 'overflow', 'underflow' (for the range `limits`) or None."""
    if not tensor.dtype.is_floating_point:
        return None
    magnitude = tensor.abs()
    if nan and magnitude.isnan().any():
        return "nan"
    if magnitude.isinf().any() or limits and magnitude.gt(limits.max).any():
        return "overflow"
    if limits and (magnitude.lt(limits.tiny) & magnitude.gt(0)).any():
        return "underflow"
    return None


def precision(watch, device):
    """The coarsest floating dtype f computed with: name, epsilon and range."""
    coarsest = max(watch.dtypes, key=lambda dtype: torch.finfo(dtype).eps)
    name, limits = str(coarsest).removeprefix("torch."), torch.finfo(coarsest)
    products = float32_products(device, watch.convolution)
    if coarsest in (torch.float32, torch.complex64) and products != "ieee":
        eps = {"tf32": 2**-10, "bf16": 2**-7}[products]
        return f"{name} ({products} products)", eps, limits
    return name, limits.eps, limits


def float32_products(device, convolution):
    """'ieee', 'tf32' or 'bf16': what PyTorch's flags let float32 products use."""
    backends = torch.backends
    if device.type == "cuda":
        chains = [[backends.cuda.matmul, backends]]
        chains += [[backends.cudnn.conv, backends.cudnn, backends]] * convolution
    else:
        chains = [[backends.mkldnn.matmul, backends.mkldnn, backends]]
        chains += [[backends.mkldnn.conv, backends.mkldnn, backends]] * convolution
    modes = set()
    for chain in chains:  # "none" means: as the next level says
        settings = [getattr(level, "fp32_precision", "none") for level in chain]
        modes.add(next((mode for mode in settings if mode != "none"), "ieee"))
    return "bf16" if "bf16" in modes else "tf32" if "tf32" in modes else "ieee"


def random_like(example, generator):
    """A random batch shaped like example, each position about as large."""
    size = example.double().pow(2).mean(0, keepdim=True).sqrt()  # over the batch
    size = torch.where(size > 0, size, size.max().item() or 1.0)
    noise = torch.randn(example.shape, generator=generator, dtype=torch.float64)
    return (noise.to(example.device) * size).to(example.dtype)


def cuda_devices(tensor):
    return [tensor.device] if tensor.device.type == "cuda" else []


def private_copy(f):
    """A deep copy of a module, so that checking it changes nothing in it."""
    if not isinstance(f, torch.nn.Module):
        return f
    try:
        return copy.deepcopy(f)
    except (RuntimeError, TypeError) as error:
        raise TypeError(
            f"f cannot be copied ({error}). The checker runs on a deep copy of a "
            "module so that the module stays as it was. Keep tensors that are part "
            "of an autograd graph out of the module's attributes (store them "
            "detached, or compute them in forward)."
        ) from error


def check_example(example, scales):
    if not isinstance(example, torch.Tensor):
        raise TypeError(
            "example must be a torch.Tensor shaped like one batch, "
            f"e.g. torch.randn(8, 3); got {type(example).__name__}"
        )
    if example.is_complex():
        raise TypeError(
            f"example is complex ({example.dtype}): the checker tests linearity "
            "with real coefficients only. Pass the real and imaginary parts as "
            "real channels (torch.view_as_real) to a real-valued f."
        )
    if not example.is_floating_point():
        raise TypeError(
            f"example has dtype {example.dtype}; pass a floating-point batch "
            "(float16, bfloat16, float32 or float64), e.g. example.float(): "
            "integers cannot be scaled by 0.3"
        )
    if example.dim() == 0 or example.numel() == 0:
        raise ValueError(
            f"example has shape {tuple(example.shape)}; pass one batch with at "
            "least one sample, its first dimension the batch: torch.randn(8, 3)"
        )
    if not example.isfinite().all():
        raise ValueError("example contains inf or nan; pass finite numbers")
    if not scales or min(scales) <= 0:
        raise ValueError(f"scales must be positive numbers, like [1.0]: {scales}")


def check_output(output, shape=None):
    if not isinstance(output, torch.Tensor):
        raise TypeError(
            f"f must return one tensor; it returned {type(output).__name__}. "
            "Check one output at a time: put f in a small torch.nn.Module whose "
            "forward returns that tensor, e.g. return self.model(X)[0]"
        )
    if output.is_complex():
        raise TypeError(
            f"f returned a complex tensor ({output.dtype}); the checker compares "
            "real outputs. Return torch.view_as_real(output) instead."
        )
    if not output.is_floating_point():
        raise TypeError(
            f"f returned a tensor of dtype {output.dtype}; linearity needs "
            "floating-point outputs (integers cannot be scaled by 0.3)"
        )
    if shape is not None and output.shape != shape:
        raise ValueError(
            f"f's output shape depends on its input's values: {tuple(shape)} "
            f"for example, {tuple(output.shape)} for another batch of that "
            "shape. The checker compares outputs element by element; return a "
            "tensor of fixed shape (mask with torch.where instead of indexing)."
        )


def cannot_take(f, batch, error):
    shape = tuple(batch.shape)
    if "more than 1 value per channel" not in str(error):
        message = f"f cannot take a batch shaped like example {shape}: {error}"
        return ValueError(message)
    norms = torch.nn.modules.batchnorm._NormBase
    norms = [m for m in modules(f) if isinstance(m, norms)]
    if any(not m.training and not m.track_running_stats for m in norms):
        advice = (
            "A batch norm with track_running_stats=False uses the batch's own "
            "statistics in eval mode too: pass a batch of at least 2 samples."
        )
    else:
        advice = (
            "Pass a batch of at least 2 samples, or call f.eval() to check "
            "inference with the running statistics."
        )
    return ValueError(
        f"f cannot take a batch shaped like example {shape}: a batch norm that "
        f"uses batch statistics needs at least 2 values per channel. {advice}"
    )


def modules(f):
    return f.modules() if isinstance(f, torch.nn.Module) else []


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
