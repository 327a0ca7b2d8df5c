"""Tests of the checker, snippets/linearity.py: property tests on random layers, then every
case that fooled its first version (issue 10), each with the verdict it must give."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import Measurement, classify, measure

# Same examples every run; few, because each one runs the checker several times.
derandomized = settings(derandomize=True, deadline=None, max_examples=6, database=None)

batches = st.integers(3, 6)
features = st.integers(2, 5)
dtypes = st.sampled_from([torch.float32, torch.float64])
seeds = st.integers(0, 2**16)
modes = st.booleans()


def randomized(module, seed, dtype):
    """The module with random parameters and running statistics, in `dtype`."""
    torch.manual_seed(seed)
    module = module.to(dtype)
    with torch.no_grad():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor))
    return module


def example(seed, dtype, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# Property tests: random shapes, parameters, modes and dtypes.


@derandomized
@given(batches, features, st.integers(1, 4), dtypes, seeds)
def test_linear_layer_without_bias_is_linear_with_bias_affine(batch, n_in, n_out, dtype, seed):
    x = example(seed, dtype, batch, n_in)
    assert classify(randomized(torch.nn.Linear(n_in, n_out, bias=False), seed, dtype), x) == "linear"
    assert classify(randomized(torch.nn.Linear(n_in, n_out), seed, dtype), x) == "affine"


@derandomized
@given(batches, features, dtypes, seeds)
def test_batchnorm_is_nonlinear_in_training_and_affine_in_eval(batch, n, dtype, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, dtype)
    x = example(seed, dtype, batch, n)
    assert classify(bn, x) == "nonlinear"
    assert classify(bn.eval(), x) == "affine"


@derandomized
@given(batches, features, dtypes, seeds)
def test_eval_batchnorm_without_offset_is_linear(batch, n, dtype, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, dtype).eval()
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.bias.zero_()
    assert classify(bn, example(seed, dtype, batch, n)) == "linear"


@derandomized
@given(batches, features, st.integers(1, 4), dtypes, seeds)
def test_linear_then_eval_batchnorm_with_cancelling_shift_is_linear(batch, n_in, n_out, dtype, seed):
    fc = randomized(torch.nn.Linear(n_in, n_out), seed, dtype)
    bn = randomized(torch.nn.BatchNorm1d(n_out), seed + 1, dtype).eval()
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bn.bias.copy_(-scale * (fc.bias - bn.running_mean))
    x = example(seed, dtype, batch, n_in)
    assert classify(torch.nn.Sequential(fc, bn), x) == "linear"
    with torch.no_grad():
        bn.bias.add_(1.0)
    assert classify(torch.nn.Sequential(fc, bn), x) == "affine"


@derandomized
@given(batches, features, dtypes, seeds, modes)
def test_per_sample_normalizations_are_nonlinear_in_both_modes(batch, n, dtype, seed, training):
    x = example(seed, dtype, batch, n)
    for layer in [torch.nn.LayerNorm(n), torch.nn.RMSNorm(n), torch.nn.GroupNorm(1, n)]:
        assert classify(randomized(layer, seed, dtype).train(training), x) == "nonlinear", layer


@derandomized
@given(batches, st.integers(1, 4), st.integers(2, 5), dtypes, seeds, modes)
def test_instance_norm_is_nonlinear_in_both_modes(batch, channels, length, dtype, seed, training):
    layer = randomized(torch.nn.InstanceNorm1d(channels, affine=True), seed, dtype).train(training)
    assert classify(layer, example(seed, dtype, batch, channels, length)) == "nonlinear"


@derandomized
@given(batches, features, dtypes, seeds)
def test_compositions(batch, n, dtype, seed):
    x = example(seed, dtype, batch, n)
    fc1, fc2 = randomized(torch.nn.Linear(n, n), seed, dtype), randomized(torch.nn.Linear(n, 2), seed + 1, dtype)
    bn = randomized(torch.nn.BatchNorm1d(n), seed + 2, dtype)
    assert classify(torch.nn.Sequential(fc1, bn.eval(), fc2), x) == "affine"
    assert classify(torch.nn.Sequential(fc1, bn.train(), fc2), x) == "nonlinear"
    assert classify(torch.nn.Sequential(fc1, torch.nn.ReLU(), fc2), x) == "nonlinear"
    no_bias = torch.nn.Sequential(torch.nn.Linear(n, n, bias=False), torch.nn.Linear(n, 2, bias=False)).to(dtype)
    assert classify(no_bias, x) == "linear"


@derandomized
@given(batches, features, seeds)
def test_checker_leaves_a_training_batchnorm_as_it_was(batch, n, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, torch.float32)
    before = copy.deepcopy(bn.state_dict())
    measure(bn, example(seed, torch.float32, batch, n))
    assert bn.training
    for name, value in bn.state_dict().items():
        assert torch.equal(value, before[name]), name


# The cases that fooled the first version. Every "nonlinear" verdict must come with a
# counterexample that shows the defect again, and every "affine" one with one that shows
# f is not linear.


class OneChannelLarge(torch.nn.Module):
    """Channel 0 times 1e5, channels 1 and 2 through a training-mode batch norm."""

    def __init__(self):
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(2)

    def forward(self, x):
        return torch.cat([1e5 * x[:, :1], self.bn(x[:, 1:])], dim=1)


class Cast(torch.nn.Module):
    """Runs `inner` in `dtype` and returns the example's dtype: lower-precision arithmetic inside."""

    def __init__(self, inner, dtype):
        super().__init__()
        self.inner, self.dtype = inner, dtype

    def forward(self, x):
        return self.inner(x.to(self.dtype)).to(x.dtype)


class RoundedOperands(torch.nn.Module):
    """TF32-like: operands rounded to 10 mantissa bits (float16's), products summed in float32."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return torch.nn.functional.linear(x.half().float(), self.fc.weight.half().float())


class Autocast(torch.nn.Module):
    """A float32 layer run under bfloat16 autocast, its output cast back to float32."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2, bias=False)

    def forward(self, x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.fc(x).float()


def linear(weight, bias, dtype=torch.float32, n_in=3, n_out=2):
    torch.manual_seed(0)
    layer = torch.nn.Linear(n_in, n_out).to(dtype)
    with torch.no_grad():
        if weight is not None:
            layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    return layer


def training_batchnorm_with_large_shift():
    bn = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        bn.bias.fill_(1e5)
    return bn


def convolutions(bias, training):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, bias=bias), torch.nn.BatchNorm2d(6), torch.nn.Conv2d(6, 2, 3, bias=bias)
    )
    if bias:
        model(torch.randn(4, 3, 8, 8))  # a training step moves the running statistics
    return model.train(training)


torch.manual_seed(0)
UNIT = torch.randn(8, 3)
IMAGES = torch.randn(4, 3, 8, 8)
GELU_MLP = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.GELU(), torch.nn.Linear(16, 2))
CONV_1D = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3), torch.nn.BatchNorm1d(4))

NONLINEAR = {
    "training BatchNorm1d with beta 1e5": (training_batchnorm_with_large_shift(), UNIT),
    "1e5 + relu(x)": (lambda x: 1e5 + torch.relu(x), UNIT),
    "one channel times 1e5 beside a training batch norm": (OneChannelLarge(), UNIT),
    "Hardtanh(-1000, 1000) on unit inputs": (torch.nn.Hardtanh(-1000, 1000), UNIT),
    "clamp to 1e4 on unit inputs": (lambda x: x.clamp(-1e4, 1e4), UNIT),
    "tanh on inputs of size 1e-5": (torch.tanh, 1e-5 * UNIT),
    "Linear, GELU, Linear on inputs of size 1e-6": (GELU_MLP, 1e-6 * UNIT),
    "nonlinear only below 1e-6": (lambda x: x + 1e-3 * x.clamp(-1e-6, 1e-6), UNIT),
    "x + 1e-7 |x| in float64": (lambda x: x + 1e-7 * x.abs(), UNIT.double()),
    "Conv2d, training BatchNorm2d, Conv2d on (N, C, H, W)": (convolutions(True, True), IMAGES),
    "Conv1d, training BatchNorm1d on (N, C, L)": (CONV_1D, torch.randn(4, 3, 7)),
}

AFFINE = {
    "Linear with weights 1e4 and bias 0.5": (linear(1e4, 0.5), UNIT),
    "float64 Linear with weights 1e9 and bias 1e-5": (linear(1e9, 1e-5, torch.float64), UNIT.double()),
    "float32 Linear(3, 2) with bias 3e-5": (linear(None, 3e-5), UNIT),
    "bfloat16 Linear inside a float32 model": (Cast(linear(None, 0.5).bfloat16(), torch.bfloat16), UNIT),
    "float16 Linear on a float16 example": (linear(None, 0.5).half(), UNIT.half()),
    "Conv2d, eval BatchNorm2d, Conv2d on (N, C, H, W)": (convolutions(True, False), IMAGES),
}

LINEAR = {
    "bfloat16 Linear without bias inside a float32 model": (
        Cast(torch.nn.Linear(3, 2, bias=False).bfloat16(), torch.bfloat16),
        UNIT,
    ),
    "operands rounded to 10 bits (TF32-like)": (RoundedOperands(), UNIT),
    "bfloat16 autocast inside forward": (Autocast(), UNIT),
    "float32 layer given a float64 example": (Cast(torch.nn.Linear(3, 2, bias=False), torch.float32), UNIT.double()),
    "centering float32 data whose mean is 1e4": (lambda x: x - x.mean(dim=0), 1e4 + UNIT),
    "Conv2d without bias, fresh eval BatchNorm2d, Conv2d": (convolutions(False, False), IMAGES),
}


def shows_defect(f, measurement):
    """The counterexample gives the same residual again, beyond what rounding allows."""
    found = measurement.counterexample
    replayed = found.replay(f)
    assert torch.equal(replayed, found.residual)
    assert (replayed.abs() > found.allowed).any()
    return found


@pytest.mark.parametrize("f, x", NONLINEAR.values(), ids=NONLINEAR.keys())
def test_nonlinear_with_a_counterexample(f, x):
    measurement = measure(f, x)
    assert measurement.verdict == "nonlinear"
    found = shows_defect(f, measurement)
    assert found.kind == "affine_combination" and found.a + found.c == 1
    # By hand, without the checker's code: the same combination, in float64.
    g = copy.deepcopy(f).double() if isinstance(f, torch.nn.Module) else f
    with torch.no_grad():
        X, Y = found.X.double(), found.Y.double()
        by_hand = g(found.a * X + found.c * Y) - found.a * g(X) - found.c * g(Y)
    assert (by_hand.abs() > found.allowed).any()


@pytest.mark.parametrize("f, x", AFFINE.values(), ids=AFFINE.keys())
def test_affine_with_a_counterexample_to_linearity(f, x):
    measurement = measure(f, x)
    assert measurement.verdict == "affine"
    assert measurement.affine_combination <= measurement.tolerance < measurement.at_zero
    found = shows_defect(f, measurement)
    assert found.kind == "at_zero"
    with torch.no_grad():
        offset = f(torch.zeros_like(x)).double()
    assert torch.allclose(found.residual, offset.expand_as(found.residual), rtol=1e-3, atol=0)  # f(0)


@pytest.mark.parametrize("f, x", LINEAR.values(), ids=LINEAR.keys())
def test_linear_up_to_the_precision_of_the_computation(f, x):
    measurement = measure(f, x)
    assert measurement.verdict == "linear", measurement
    assert measurement.counterexample is None


def test_exact_offsets_are_seen_whatever_their_size():
    for dtype, bias in [(torch.float32, 1e-30), (torch.float64, 1e-300)]:
        assert classify(linear(1.0, bias, dtype), UNIT.to(dtype)) == "affine", dtype


def test_float32_biases_that_cancel_up_to_rounding_count_as_linear():
    fc = torch.nn.Linear(3, 2)
    bn = torch.nn.BatchNorm1d(2).eval()
    with torch.no_grad():
        bn.running_mean.fill_(4.2)
        bn.running_var.fill_(1.5)
        bn.weight.fill_(2.5)
        bn.bias.copy_(-bn.weight / torch.sqrt(bn.running_var + bn.eps) * (fc.bias - bn.running_mean))
        assert bn(fc(torch.zeros(1, 3))).ne(0).any()  # rounding is left
    assert classify(torch.nn.Sequential(fc, bn), torch.randn(4, 3)) == "linear"


def test_precision_is_the_coarsest_dtype_the_computation_used():
    for (f, x), precision in [
        (LINEAR["bfloat16 Linear without bias inside a float32 model"], "bfloat16"),
        (LINEAR["operands rounded to 10 bits (TF32-like)"], "float16"),
        (LINEAR["bfloat16 autocast inside forward"], "bfloat16"),
        (LINEAR["float32 layer given a float64 example"], "float32"),
    ]:
        assert measure(f, x).precision == precision, f


def test_precision_follows_the_float32_flags():
    """TF32 or bfloat16 products, where PyTorch's flags allow them, widen the tolerance."""
    matmul = torch.backends.mkldnn.matmul
    before = matmul.fp32_precision
    try:
        matmul.fp32_precision = "bf16"
        measurement = measure(torch.nn.Linear(3, 2, bias=False), UNIT)
    finally:
        matmul.fp32_precision = before
    assert measurement.precision == "float32 (bf16 products)"
    assert measurement.tolerance > 16 * 2**-7
    assert measurement.verdict == "linear"


class Float32Only(torch.nn.Module):
    """Code that refuses float64, or computes something else in it: probed as it is."""

    def __init__(self, refuse):
        super().__init__()
        self.fc, self.refuse = torch.nn.Linear(3, 2), refuse

    def forward(self, x):
        if x.dtype != torch.float32 and self.refuse:
            raise TypeError("float32 only")
        return self.fc(x) if x.dtype == torch.float32 else 2 * self.fc(x)


@pytest.mark.parametrize("refuse", [True, False], ids=["refuses float64", "differs in float64"])
def test_code_that_cannot_run_in_float64_is_probed_as_it_is(refuse):
    result = measure(Float32Only(refuse), UNIT)
    assert result.verdict == "affine" and result.counterexample.dtype is None
    assert result.tolerance == pytest.approx((16 + 128) * 2**-23)


class RefusesFloat64(torch.nn.Module):
    """Runs `inner`, but raises on float64, as some custom kernels do."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        if x.dtype == torch.float64:
            raise TypeError("no float64")
        return self.inner(x)


LAYERS = {"ReLU": torch.nn.ReLU, "x + 1": lambda: lambda x: x + 1, "Linear": lambda: torch.nn.Linear(3, 2)}
LAYERS["BatchNorm1d, training"] = lambda: torch.nn.BatchNorm1d(3)


@pytest.mark.parametrize("layer", LAYERS.values(), ids=LAYERS)
@pytest.mark.parametrize("precision", ["bfloat16", "float32, bf16 products"])
def test_code_that_refuses_float64_where_rounding_explains_any_defect_is_an_error(layer, precision):
    """Probed as it is at 16 + 128 bfloat16 epsilons, 1.125, no defect could count (issue W1)."""
    f, dtype = layer(), torch.bfloat16 if precision == "bfloat16" else torch.float32
    f = RefusesFloat64(f.to(dtype) if isinstance(f, torch.nn.Module) else f)
    matmul = torch.backends.mkldnn.matmul
    before = matmul.fp32_precision
    try:
        matmul.fp32_precision = "ieee" if dtype == torch.bfloat16 else "bf16"
        with pytest.raises(ValueError, match=r"accept float64.*float32") as error:
            measure(f, UNIT.to(dtype))
    finally:
        matmul.fp32_precision = before
    assert "up to 1.125 times" in str(error.value)


def test_code_that_refuses_float64_in_float16_is_judged_at_144_epsilons():
    result = measure(RefusesFloat64(torch.nn.ReLU()), UNIT.half())
    assert result.counterexample.dtype is None  # probed as it is
    assert result.tolerance == (16 + 128) * 2**-10 and result.verdict == "nonlinear"


def test_scales_are_probed_and_the_ones_out_of_range_reported():
    measurement = measure(torch.nn.Linear(3, 2, bias=False).half(), UNIT.half())
    assert measurement.verdict == "linear"
    assert 2.0**30 in measurement.skipped and measurement.skipped[2.0**30] == "overflow"
    assert 1.0 in measurement.scales and 2.0**30 not in measurement.scales
    with pytest.raises(ValueError, match="could not be judged at any scale"):
        measure(torch.nn.Identity(), UNIT.half(), scales=[2.0**40])


def test_an_overflow_in_the_nudged_reruns_at_zero_is_an_error_not_a_crash():
    # log(0) = -inf, which nan_to_num turns into -1.8e308: the nudged reruns at zero overflow
    with pytest.raises(ValueError, match="on a batch of zeros or on example"):
        measure(lambda t: torch.nan_to_num(torch.log(t)), torch.randn(4, 3))


def test_measure_gives_the_same_result_every_time():
    layer = torch.nn.Linear(3, 2)
    first, second = (measure(layer, UNIT) for _ in range(2))
    assert first.additivity == second.additivity and first.at_zero == second.at_zero
    assert torch.equal(first.counterexample.residual, second.counterexample.residual)


def test_defects_are_numbers_that_explain_the_verdict():
    defects = measure(torch.nn.Linear(3, 2), torch.randn(4, 3))
    assert isinstance(defects, Measurement)
    assert defects.affine_combination <= defects.tolerance < defects.at_zero
    assert defects.verdict == "affine"


def test_dropout_in_eval_mode_is_linear():
    assert classify(torch.nn.Dropout(0.5).eval(), torch.randn(4, 3)) == "linear"


# The checker never changes what it checks.


class Stateful(torch.nn.Module):
    """Parameters, a persistent and a non-persistent buffer, an attribute that forward changes."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.bn = torch.nn.BatchNorm1d(3)
        self.register_buffer("scale", torch.tensor(2.0), persistent=False)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        with torch.no_grad():
            self.scale.mul_(1.0)  # a write into a non-persistent buffer
        return self.bn(self.fc(x)) * self.scale


def test_a_module_is_left_exactly_as_it_was():
    model = Stateful()
    model.bn.eval()
    x = torch.randn(8, 3)
    pending = model(x).square().sum()  # a backward pass waits across the check
    tensors = {name: (t.clone(), t._version) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    modes, calls = [m.training for m in model.modules()], model.calls
    assert classify(model, x) == "affine"
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        value, version = tensors[name]
        assert torch.equal(t, value) and t._version == version, name
    assert [m.training for m in model.modules()] == modes and model.calls == calls
    pending.backward()  # fails with "modified by an inplace operation" if a version moved
    assert model.fc.weight.grad is not None


def test_the_global_random_state_is_unchanged_even_on_error():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5)).eval()
    state = torch.get_rng_state()
    classify(model, UNIT)
    with pytest.raises(ValueError, match="two different outputs"):
        classify(torch.nn.Dropout(0.5), UNIT)
    assert torch.equal(torch.get_rng_state(), state)


def test_the_example_is_not_changed_by_an_f_that_writes_into_its_input():
    x = UNIT.clone()
    assert classify(lambda batch: batch.mul_(2), x) == "linear"
    assert torch.equal(x, UNIT)


# Bad input gets an error that says what to do.


class SelectsByValue(torch.nn.Module):
    def forward(self, x):
        return x[x > 0]


BAD = {
    "integer example": (torch.nn.Identity(), torch.ones(4, 3, dtype=torch.int64), TypeError, "floating-point"),
    "complex example": (torch.nn.Identity(), torch.ones(4, 3, dtype=torch.complex64), TypeError, "complex"),
    "not a tensor": (torch.nn.Identity(), [[1.0, 2.0]], TypeError, "must be a torch.Tensor"),
    "no batch dimension": (torch.nn.Identity(), torch.tensor(1.0), ValueError, "its first dimension the batch"),
    "nan in example": (torch.nn.Identity(), torch.tensor([[float("nan")]]), ValueError, "finite numbers"),
    "shape depends on values": (SelectsByValue(), UNIT, ValueError, "output shape depends on its input's values"),
    "returns a tuple": (torch.nn.LSTM(3, 2), UNIT, TypeError, "one tensor.*torch.nn.Module"),
    "returns complex": (lambda x: x * 1j, UNIT, TypeError, "complex tensor"),
    "returns integers": (lambda x: x.argmax(dim=1), UNIT, TypeError, "dtype torch.int64"),
    "dropout in training": (torch.nn.Dropout(0.5), UNIT, ValueError, "two different outputs.*f.eval()"),
    "training batch of one": (torch.nn.BatchNorm1d(3), UNIT[:1], ValueError, "at least 2 samples, or call f.eval()"),
    "eval batch of one without running stats": (
        torch.nn.BatchNorm1d(3, track_running_stats=False).eval(),
        UNIT[:1],
        ValueError,
        "track_running_stats=False uses the batch's own statistics in eval mode too",
    ),
    "nan output": (torch.log, -torch.ones(4, 3), ValueError, "inf or nan on example"),
    "infinite at zero": (lambda x: 1 / x, UNIT.abs() + 1, ValueError, "overflow on a batch of zeros"),
    "wrong shape": (torch.nn.Linear(5, 2), UNIT, ValueError, r"cannot take a batch shaped like example \(8, 3\)"),
}


@pytest.mark.parametrize("f, x, error, message", BAD.values(), ids=BAD.keys())
def test_bad_input_gets_an_error_that_says_what_to_do(f, x, error, message):
    with pytest.raises(error, match=message):
        classify(f, x)


def test_no_message_recommends_a_wrapper_that_escapes_the_protection():
    with pytest.raises(TypeError) as caught:
        classify(torch.nn.LSTM(3, 2), UNIT)
    assert "lambda" not in str(caught.value)
