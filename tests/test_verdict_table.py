"""The verdict table on the home page is what the checker says about each configuration."""

import pytest
import torch

from linearity import measure
from project import DOCS

HOME = DOCS / "index.md"
WORDS = {"linear": "linear", "affine (not linear)": "affine", "nonlinear": "nonlinear"}


def table_rows():
    lines = [line for line in HOME.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header, rows = lines[0], lines[1:]
    assert "Mode" in header, "the verdict table is missing from docs/index.md"
    return [tuple(cell.strip().strip("*") for cell in row.strip("|").split("|")) for row in rows if "---" not in row]


def model(mode, bias, statistics):
    torch.manual_seed(0)
    fc = torch.nn.Linear(3, 2, bias=bias == "nonzero")
    bn = torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        bn.running_var.fill_(1.5)
        bn.weight.fill_(2.5)
        bn.running_mean.fill_(0.0 if statistics == "zero" else 4.2)
        bn.bias.fill_(0.0 if statistics == "zero" else 1.3)
        if statistics == "cancelling":
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bn.bias.copy_(-scale * (fc.bias - bn.running_mean))
    return torch.nn.Sequential(fc, bn).train(mode == "training")


def test_table_covers_every_combination():
    cells = {(mode, bias, statistics) for mode, bias, statistics, _ in table_rows()}
    for mode in ("training", "evaluation"):
        for bias in ("none", "nonzero"):
            for statistics in ("zero", "nonzero"):
                assert (mode, bias, statistics) in cells, f"row missing: {mode}, {bias}, {statistics}"


@pytest.mark.parametrize("mode, bias, statistics, shown", table_rows(), ids=lambda cell: cell.replace(" ", "-"))
def test_verdict_matches_checker(mode, bias, statistics, shown):
    assert shown in WORDS, f"a verdict must be one of {sorted(WORDS)}; the table says {shown!r}"
    fused = model(mode, bias, statistics)
    result = measure(fused, torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
    assert result.verdict == WORDS[shown]
    if result.verdict == "affine":  # what disproves linearity is f(0) = b', the fused offset
        fc, bn = fused
        s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        b_fused = s * ((fc.bias if fc.bias is not None else 0) - bn.running_mean) + bn.bias
        assert result.counterexample.kind == "at_zero"
        assert torch.allclose(result.counterexample.residual.float(), b_fused.expand(8, -1), rtol=1e-5)
