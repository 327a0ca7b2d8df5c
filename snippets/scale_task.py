"""The small model of the scale-invariance page, and its loss's invariance.

A batch of n = 32 samples of 6 features goes through a fully connected layer
without bias, W of shape (8, 6), then batch norm in training mode, ReLU and a
fully connected head to 3 classes; the loss is the cross-entropy with labels
from a fixed, noisy linear teacher. `params` holds several independent copies
of the model (a leading dimension); their features sit side by side in one batch
norm call, which normalizes each feature with its own batch statistics, so each
copy's loss and gradients are its own. Everything is float64.

Run it: python snippets/scale_task.py
"""

import torch
import torch.nn.functional as F

FEATURES, HIDDEN, CLASSES = 6, 8, 3  # d; the features batch norm sees; classes
EXACT = 1e-30  # an eps lost in rounding: batch norm computed as with eps = 0
seeded = torch.Generator().manual_seed(0)  # a fixed linear teacher for the labels
TEACHER = torch.randn(CLASSES, FEATURES, dtype=torch.float64, generator=seeded)


def make_params(copies, seed=0):
    """W (copies, HIDDEN, FEATURES), rows of norm about 1, gamma, beta and the
    head's weight and bias."""
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape):
        return torch.randn(copies, *shape, dtype=torch.float64, generator=generator)

    params = {
        "W": draw(HIDDEN, FEATURES) / FEATURES**0.5,
        "gamma": 1 + 0.1 * draw(HIDDEN),
        "beta": 0.1 * draw(HIDDEN),
        "head": draw(CLASSES, HIDDEN) / HIDDEN**0.5,
        "head_bias": torch.zeros(copies, CLASSES, dtype=torch.float64),
    }
    return {name: value.requires_grad_() for name, value in params.items()}


def make_batch(generator, n=32):
    """X (n, FEATURES) from N(0, 1); labels: the teacher's class, with noise."""
    X = torch.randn(n, FEATURES, dtype=torch.float64, generator=generator)
    noise = torch.randn(n, CLASSES, dtype=torch.float64, generator=generator)
    return X, (X @ TEACHER.T + noise).argmax(dim=1)


def features(X, W):
    """The pre-BN features X W^T of all copies, side by side: (n, copies * 8)."""
    return torch.einsum("ni,roi->nro", X, W).flatten(1)


def loss(params, X, labels, eps=EXACT, W=None):
    """The sum over the copies of each copy's mean cross-entropy on the batch.
    W, if given, replaces params["W"]."""
    W = params["W"] if W is None else W
    gamma, beta = params["gamma"].flatten(), params["beta"].flatten()
    Z = F.batch_norm(features(X, W), None, None, gamma, beta, True, eps=eps)
    Z = F.relu(Z).unflatten(1, (len(W), HIDDEN))  # (n, copies, HIDDEN)
    logits = torch.einsum("nro,rko->rnk", Z, params["head"])
    logits = logits + params["head_bias"][:, None]
    targets = labels.repeat(len(W))  # the same labels for every copy
    return F.cross_entropy(logits.flatten(0, 1), targets, reduction="sum") / len(X)


def train_with(optimizer_class, steps, lr, kappa=1.0, scale=1.0, W_options=()):
    """W after each of `steps` steps of a torch.optim optimizer, from kappa times
    the usual start, on the loss times `scale`: (steps + 1, 4, HIDDEN, FEATURES).
    W_options (lr, eps, weight_decay) apply to W alone, which has no weight decay
    unless they give one; the other parameters train at lr without decay."""
    params = make_params(copies=4)
    with torch.no_grad():
        params["W"].mul_(kappa)
    rest = [value for name, value in params.items() if name != "W"]
    groups = [{"params": [params["W"]], **dict(W_options)}, {"params": rest}]
    optimizer = optimizer_class(groups, lr=lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(1)  # the same batches in every run
    trajectory = [params["W"].detach().clone()]
    for _ in range(steps):
        X, labels = make_batch(generator)
        optimizer.zero_grad()
        (scale * loss(params, X, labels)).backward()
        optimizer.step()
        trajectory.append(params["W"].detach().clone())
    return torch.stack(trajectory)


if __name__ == "__main__":
    params = make_params(copies=4)
    X, labels = make_batch(torch.Generator().manual_seed(1))
    W = params["W"].detach()
    H = features(X, W)
    with torch.no_grad():
        bn = torch.nn.BatchNorm1d(H.shape[1], eps=1e-5).double()  # training mode
        bn.weight.copy_(params["gamma"].flatten())
        bn.bias.copy_(params["beta"].flatten())
        F_bn = F.batch_norm(H, None, None, bn.weight, bn.bias, True, eps=1e-5)
        assert torch.equal(F_bn, bn(H))  # what BatchNorm1d computes when training
        try:
            F.batch_norm(H, None, None, training=True, eps=0.0)
        except ValueError as error:
            message = str(error)
        assert message.startswith("batch_norm eps must be positive during training")
        print(f"eps = 0: ValueError: {message}")
        variance = H.var(dim=0, unbiased=False)
        tiny = torch.tensor(1e-13, dtype=torch.float64)
        for small in variance, 1e-4 * variance, tiny:  # W's, 0.01 W's, 1e-13
            assert torch.equal(small + EXACT, small)
        print(f"eps = {EXACT:g} is lost in rounding: sigma_B^2 + eps = sigma_B^2")

        L = loss(params, X, labels)
        generator = torch.Generator().manual_seed(2)  # kappa_o: 0.01 to 100
        per_row = 10 ** (4 * torch.rand(4, HIDDEN, 1, generator=generator) - 2)
        for kappa in [0.01, 3.0, 100.0, per_row]:
            assert abs(loss(params, X, labels, W=kappa * W) - L) < 1e-12
        print("L(kappa W) = L(W) to 1e-12: kappa = 0.01, 3, 100, a kappa_o per row")
        for name in "gamma", "beta", "head":  # not followed by a batch norm
            halved = {**params, name: 0.5 * params[name]}
            assert abs(loss(halved, X, labels) - L) > 1e-3
        print("L changes by more than 1e-3 when gamma, beta or the head is halved")

        eps = 1e-5  # PyTorch's default: L_eps(kappa W) = L_(eps / kappa^2)(W)
        for kappa in [0.01, 3.0, 100.0]:
            scaled = loss(params, X, labels, eps, kappa * W)
            assert abs(scaled - loss(params, X, labels, eps / kappa**2)) < 1e-12
        print(f"eps = {eps:g}: L_eps(kappa W) = L_(eps / kappa^2)(W) to 1e-12")
        L_eps = loss(params, X, labels, eps)
        for kappa in [3.0, 0.01]:  # smallest sigma_B^2 / eps of W and kappa W
            ratio = (min(kappa**2, 1) * variance.min() / eps).item()
            gap = abs(loss(params, X, labels, eps, kappa * W) - L_eps).item()
            assert gap < 1e-5 if ratio > 1e3 else gap > 1e-3
            size = "below 1e-5" if gap < 1e-5 else "above 1e-3"
            print(
                f"eps = {eps:g}, kappa = {kappa:g}: sigma_B^2 / eps down to "
                f"{ratio:.0e}, |L(kappa W) - L(W)| {size}"
            )
