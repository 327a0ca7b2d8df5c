"""Does a layer couple the samples of a batch? Two checks.

cross_talk(f, X): the largest |d f(X)[i] / d X[j]| over samples i != j, from
the Jacobian of the whole batch's output with respect to the whole batch.
It is exactly 0 when no output of a sample is computed from another sample.

same_alone_as_in_batch(f, X): whether sample 0's output is identical, bit for
bit, alone (a batch of one) and in the batches X[:n] for every n.

Run it: python snippets/sample_coupling.py
"""

import torch


def cross_talk(f, X):
    """The largest |d f(X)[i] / d X[j]| for i != j: 0 for no coupling."""
    n = X.shape[0]
    J = torch.autograd.functional.jacobian(f, X, vectorize=True)  # out + X shape
    J = J.reshape(n, -1, n, X[0].numel()).transpose(1, 2)  # (i, j, ., .)
    others = ~torch.eye(n, dtype=torch.bool)  # the pairs i != j
    return J[others].abs().max().item()


def same_alone_as_in_batch(f, X):
    """Sample 0's output alone equals, bit for bit, its output in X[:n]."""
    with torch.no_grad():
        alone = f(X[:1])[0]
        return all(torch.equal(f(X[:n])[0], alone) for n in range(2, len(X) + 1))


if __name__ == "__main__":
    torch.manual_seed(0)
    X = torch.randn(8, 6)  # n = 8 samples, d = 6 features
    layers = {
        "BatchNorm1d(6), train()": torch.nn.BatchNorm1d(6),
        "BatchNorm1d(6), eval()": torch.nn.BatchNorm1d(6).eval(),
        "LayerNorm(6)": torch.nn.LayerNorm(6),
        "GroupNorm(2, 6)": torch.nn.GroupNorm(2, 6),
        "RMSNorm(6)": torch.nn.RMSNorm(6),
    }
    print(f"{'layer':24} {'cross-talk':>10}  alone = in a batch")
    for name, layer in layers.items():
        with torch.no_grad():
            for parameter in layer.parameters():  # not the initial 1 and 0
                parameter.copy_(torch.randn_like(parameter))
        talk = cross_talk(layer, X)
        try:
            same = same_alone_as_in_batch(layer, X)
        except ValueError:  # training mode refuses one value per channel
            with torch.no_grad():  # and sample 0's output moves with n
                assert not torch.equal(layer(X[:2])[0], layer(X)[0])
            same = "no; n = 1 raises"
        if name.endswith("train()"):
            assert talk > 0.01 and same is not True
        else:
            assert talk == 0 and same is True, name  # exactly 0, bit for bit
        print(f"{name:24} {talk:10.2g}  {same}")
