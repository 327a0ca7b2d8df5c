"""Property tests of the checker in snippets/linearity.py: random shapes, parameters and modes."""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import Defects, classify, measure

settings.register_profile("docs", derandomize=True, deadline=None, max_examples=25)  # same examples every run
settings.load_profile("docs")

batches = st.integers(2, 6)
features = st.integers(2, 5)
dtypes = st.sampled_from([torch.float32, torch.float64])
seeds = st.integers(0, 2**16)
modes = st.booleans()


def randomized(module, seed, dtype):
    """The module with random parameters and running statistics, in `dtype`."""
    torch.manual_seed(seed)
    module = module.to(dtype)
    with torch.no_grad():
        for tensor in [*module.parameters(), *(b for n, b in module.named_buffers() if n.endswith("running_mean"))]:
            tensor.copy_(torch.randn_like(tensor))
        for name, buffer in module.named_buffers():
            if name.endswith("running_var"):
                buffer.copy_(torch.rand_like(buffer) + 0.5)
    return module


def example(seed, dtype, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@given(batches, features, st.integers(1, 4), dtypes, seeds)
def test_linear_layer_without_bias_is_linear_with_bias_affine(batch, n_in, n_out, dtype, seed):
    x = example(seed, dtype, batch, n_in)
    assert classify(randomized(torch.nn.Linear(n_in, n_out, bias=False), seed, dtype), x) == "linear"
    assert classify(randomized(torch.nn.Linear(n_in, n_out), seed, dtype), x) == "affine"


@given(batches, features, dtypes, seeds)
def test_batchnorm_is_nonlinear_in_training_and_affine_in_eval(batch, n, dtype, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, dtype)
    x = example(seed, dtype, batch, n)
    assert classify(bn, x) == "nonlinear"
    assert classify(bn.eval(), x) == "affine"


@given(batches, features, dtypes, seeds)
def test_eval_batchnorm_without_offset_is_linear(batch, n, dtype, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, dtype).eval()
    with torch.no_grad():
        bn.running_mean.zero_()
        bn.bias.zero_()
    assert classify(bn, example(seed, dtype, batch, n)) == "linear"


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


@given(batches, features, dtypes, seeds, modes)
def test_per_sample_normalizations_are_nonlinear_in_both_modes(batch, n, dtype, seed, training):
    x = example(seed, dtype, batch, n)
    for layer in [torch.nn.LayerNorm(n), torch.nn.RMSNorm(n), torch.nn.GroupNorm(1, n)]:
        assert classify(randomized(layer, seed, dtype).train(training), x) == "nonlinear", layer


@given(batches, st.integers(1, 4), st.integers(2, 5), dtypes, seeds, modes)
def test_instance_norm_is_nonlinear_in_both_modes(batch, channels, length, dtype, seed, training):
    layer = randomized(torch.nn.InstanceNorm1d(channels, affine=True), seed, dtype).train(training)
    assert classify(layer, example(seed, dtype, batch, channels, length)) == "nonlinear"


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


@given(batches, features, seeds)
def test_checker_leaves_a_training_batchnorm_as_it_was(batch, n, seed):
    bn = randomized(torch.nn.BatchNorm1d(n), seed, torch.float32)
    before = copy.deepcopy(bn.state_dict())
    measure(bn, example(seed, torch.float32, batch, n))
    assert bn.training
    for name, value in bn.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_checker_leaves_modes_of_submodules_as_they_were():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3).eval(), torch.nn.ReLU())
    classify(model, torch.randn(4, 3))
    assert [module.training for module in model.modules()] == [True, True, False, True]


def test_defects_are_numbers_that_explain_the_verdict():
    defects = measure(torch.nn.Linear(3, 2), torch.randn(4, 3))
    assert isinstance(defects, Defects)
    assert defects.affine_combination <= defects.tolerance < defects.at_zero
    assert defects.verdict == "affine"


def test_float32_biases_that_cancel_up_to_rounding_count_as_linear():
    fc = torch.nn.Linear(3, 2)
    bn = torch.nn.BatchNorm1d(2).eval()
    with torch.no_grad():
        bn.running_mean.fill_(4.2)
        bn.running_var.fill_(1.5)
        bn.weight.fill_(2.5)
        bn.bias.copy_(-bn.weight / torch.sqrt(bn.running_var + bn.eps) * (fc.bias - bn.running_mean))
        assert fc(torch.zeros(1, 3)).ne(0).all() and bn(fc(torch.zeros(1, 3))).ne(0).any()  # rounding is left
    assert classify(torch.nn.Sequential(fc, bn), torch.randn(4, 3)) == "linear"


@pytest.mark.parametrize(
    "f, example, error, message",
    [
        (torch.nn.Identity(), torch.ones(4, 3, dtype=torch.int64), TypeError, "pass a float32 or float64 batch"),
        (torch.nn.Identity(), [[1.0, 2.0]], TypeError, "must be a torch.Tensor"),
        (torch.nn.BatchNorm1d(3), torch.randn(1, 3), ValueError, "needs at least 2 samples per channel"),
        (torch.nn.Dropout(0.5), torch.randn(4, 3), ValueError, "Is dropout or another random layer in training mode?"),
        (torch.log, torch.randn(4, 3), ValueError, "f returned inf or nan"),
        (lambda x: x.tolist(), torch.randn(4, 3), TypeError, "f must return a tensor"),
        (torch.nn.Linear(5, 2), torch.randn(4, 3), ValueError, "f cannot take a batch shaped like example (4, 3)"),
    ],
    ids=["integer example", "not a tensor", "batch of one", "dropout", "nan", "returns a list", "wrong shape"],
)
def test_bad_input_gets_an_error_that_says_what_to_do(f, example, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        classify(f, example)


def test_dropout_in_eval_mode_is_linear():
    assert classify(torch.nn.Dropout(0.5).eval(), torch.randn(4, 3)) == "linear"
