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
    """Median over the d features of |computed - exact| / exact, both formulas."""
    X = (Z + offset).to(dtype)  # mean about offset, standard deviation about 1
    exact = X.double().var(dim=0, unbiased=False)  # of the stored values
    mu_B = X.mean(dim=0)
    two_pass = ((X - mu_B) ** 2).mean(dim=0)
    one_pass = (X * X).mean(dim=0) - mu_B * mu_B
    errors = [(v.double() - exact).abs() / exact for v in (two_pass, one_pass)]
    return [error.median().item() for error in errors]


def shown(error):
    return "NaN" if math.isnan(error) else f"{error:.1g}"


for dtype, offsets in [
    (torch.float32, [1, 10, 1e2, 1e3, 1e4]),
    (torch.float16, [1, 10, 1e2, 1e3]),  # near 1e4, float16's spacing is 8
]:
    eps = torch.finfo(dtype).eps  # machine epsilon: 2^-23 and 2^-10
    print(f"{str(dtype)[6:]}, machine epsilon {eps:.1e}")
    print(f"  {'mean':>6}  {'two-pass':>9}  {'one-pass':>9}  {'eps mean^2':>10}")
    for offset in offsets:
        two, one = relative_errors(offset, dtype)
        assert two < 0.01  # two-pass keeps two digits or more at every offset here
        if one < 0.5:  # one-pass: about eps (mean / sigma)^2 while digits are left
            assert 1 / 4 < one / (eps * offset**2) < 4
        row = f"{offset:6g}  {shown(two):>9}  {shown(one):>9}"
        print(f"  {row}  {shown(eps * offset**2):>10}")

    # Where one-pass keeps no correct digit: the smallest mean, on a grid of 5%
    # steps from a tenth of 1 / sqrt(eps), at which its typical error reaches 1/2.
    predicted = 1 / math.sqrt(eps)  # where eps * (mean / sigma)^2 reaches 1
    grid = [predicted * 10 ** (k / 50) for k in range(-50, 51)]
    lost = next(m for m in grid if not relative_errors(m, dtype)[1] < 0.5)
    assert predicted / 2 < lost < 2 * predicted
    assert relative_errors(lost, dtype)[0] < 0.01  # two-pass still fine there
    print(f"  one-pass keeps no correct digit from mean / sigma = {lost:.2g} on")
    print(f"  (1 / sqrt(eps) = {predicted:.2g})")

X = (Z + 1e3).half()
assert torch.isinf(X * X).all()  # float16's largest number is 65504: x^2 overflows
spacing = torch.nextafter(torch.tensor(1e4).half(), torch.tensor(2e4).half()) - 1e4
assert spacing.item() == 8  # float16 cannot hold a spread of 1 around 1e4
print("float16, mean 1000: every x^2 overflows to inf, and inf - inf is NaN")
