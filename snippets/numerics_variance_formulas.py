"""Two formulas for the batch variance, equal in exact arithmetic: float32, float16.

Two-pass: the mean of (x - mu_B)^2. One-pass: the mean of x^2 minus mu_B^2.
The code measures the relative error of each as the features' mean grows.

Run it: python snippets/numerics_variance_formulas.py
"""

import math

import torch

torch.manual_seed(0)
n, d = 256, 500  # n samples of d features; each feature is one trial
Z = torch.randn(n, d, dtype=torch.float64)  # N(0, 1): sigma_B is about 1


def relative_errors(offset, dtype):
    """Per feature, |computed - exact| / exact: two-pass, one-pass."""
    X = (Z + offset).to(dtype)  # mean about offset, standard deviation about 1
    exact = X.double().var(dim=0, unbiased=False)  # of the stored values
    mu_B = X.mean(dim=0)  # rounded to dtype
    two_pass = ((X - mu_B) ** 2).mean(dim=0)
    one_pass = (X * X).mean(dim=0) - mu_B * mu_B
    return [(v.double() - exact).abs() / exact for v in (two_pass, one_pass)]


def two_pass_is_around_rounded_mean(offset, dtype):
    """Two-pass measures the spread around mu_B as rounded to dtype."""
    X = (Z + offset).to(dtype)
    mu_B = X.mean(dim=0)
    two_pass = ((X - mu_B) ** 2).mean(dim=0).double()
    around = ((X.double() - mu_B.double()) ** 2).mean(dim=0)  # in float64
    machine_eps = torch.finfo(dtype).eps
    return ((two_pass - around).abs() / around).max() < 4 * machine_eps


def shown(error):
    return "NaN" if math.isnan(error) else f"{error:.1g}"


for dtype, offsets in [
    (torch.float32, [1, 10, 1e2, 1e3, 1e4]),
    (torch.float16, [1, 10, 1e2, 1e3]),  # near 1e4, float16's spacing is 8
]:
    machine_eps = torch.finfo(dtype).eps  # 2^-23 and 2^-10
    print(f"{str(dtype)[6:]}, machine eps {machine_eps:.1e}")
    print(f"  {'':6}  {'two-pass':^19}  {'one-pass':>8}")
    header = f"{'median':>9} {'worst':>9}  {'median':>8}"
    header += "  predicted machine_eps*mean^2"
    print(f"  {'mean':>6}  {header}")
    for offset in offsets:
        two, one = relative_errors(offset, dtype)
        two, worst, one = two.median().item(), two.max().item(), one.median().item()
        assert two < 0.01  # the median two-pass keeps two digits at every offset
        assert two_pass_is_around_rounded_mean(offset, dtype)  # explains its worst
        assert worst < 0.01 or (dtype, offset) == (torch.float16, 1e3)
        if one < 0.5:  # one-pass: about machine_eps (mean / sigma)^2, while it
            # keeps a digit (with sums as accurate as torch's reductions)
            assert 1 / 4 < one / (machine_eps * offset**2) < 4
        row = f"{offset:6g}  {shown(two):>9} {shown(worst):>9}  {shown(one):>8}"
        print(f"  {row}  {shown(machine_eps * offset**2):>28}")

    # Where one-pass keeps no correct digit: the smallest mean, on a grid of 5%
    # steps from a tenth of 1 / sqrt(machine_eps), where its median error hits 1/2.
    predicted = 1 / math.sqrt(machine_eps)  # machine_eps (mean / sigma)^2 = 1
    grid = [predicted * 10 ** (k / 50) for k in range(-50, 51)]
    lost = next(m for m in grid if not relative_errors(m, dtype)[1].median() < 0.5)
    assert predicted / 2 < lost < 2 * predicted
    assert relative_errors(lost, dtype)[0].median() < 0.01  # two-pass still fine
    print(f"  one-pass keeps no correct digit from mean / sigma = {lost:.2g} on")
    print(f"  (1 / sqrt(machine eps) = {predicted:.2g})")

spacing = torch.nextafter(torch.tensor(1e4).half(), torch.tensor(2e4).half()) - 1e4
assert spacing.item() == 8  # float16 cannot hold a spread of 1 around 1e4

# float16's largest number is 65504: x^2 overflows to inf from |x| = 256 on.
below = torch.nextafter(torch.tensor(256.0).half(), torch.tensor(0.0).half())
assert below == 255.875 and below**2 == 65472  # the last number below 256
assert torch.isinf(torch.tensor(256.0).half() ** 2)
print("float16: x^2 = inf for |x| >= 256; one-pass, of the 500 features:")
for offset in 254, 256, 1e3:
    X = (Z + offset).half()
    mu_B = X.mean(dim=0)
    one_pass = (X * X).mean(dim=0) - mu_B * mu_B
    square_inf = (X.abs() >= 256).any(dim=0)  # then the mean of x^2 is inf
    mean_inf = mu_B.abs() >= 256  # then mu_B^2 is inf too, and inf - inf is NaN
    assert torch.equal(torch.isnan(one_pass), square_inf & mean_inf)
    assert torch.equal(torch.isposinf(one_pass), square_inf & ~mean_inf)
    nan, inf = torch.isnan(one_pass).sum(), torch.isposinf(one_pass).sum()
    print(f"  mean {offset:4g}: inf in {inf:3}, NaN in {nan:3}")
