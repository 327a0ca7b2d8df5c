"""The task the page "Recomputing batch norm's statistics" shares.

The data of "Worse in eval() than in train()" (eval_gap_task.py): four classes
of points in 8 features, in float64 here. The network has two batch norms:
Linear, BatchNorm1d, ReLU, Linear, BatchNorm1d, ReLU, Linear, trained with
plain SGD on shuffled batches of 64 at the learning rate asked for. The test
domain: the test inputs with each feature scaled by its own factor in
[0.5, 2] and offset by its own amount in [-2, 2], as another sensor would give.

Run it: python snippets/recompute_task.py
"""

import copy

import torch
from torch.optim.swa_utils import update_bn

from eval_gap_task import batches, make_data

nn = torch.nn


GENERATOR = torch.Generator().manual_seed(5)
SCALE = torch.empty(8, dtype=torch.float64).uniform_(0.5, 2, generator=GENERATOR)
OFFSET = torch.empty(8, dtype=torch.float64).uniform_(-2, 2, generator=GENERATOR)


def move(X):
    """Inputs of the new domain: each feature scaled and offset by its own."""
    return X * SCALE + OFFSET


def task_data():
    """Training data, test data, and the test inputs moved to the new domain."""
    (X, Y), (X_test, Y_test) = make_data(2048, seed=1), make_data(2048, seed=2)
    X, X_test = X.double(), X_test.double()
    return X, Y, X_test, Y_test, move(X_test)


def make_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(),
        nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4),
    ).double()


def train(model, X, Y, steps, lr=0.3, seed=0):
    """steps steps of SGD in training mode, batches of 64, pass after pass."""
    model.train()
    for step, index in enumerate(endless(len(X), seed)):
        if step == steps:
            return model
        loss = nn.functional.cross_entropy(model(X[index]), Y[index])
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter -= lr * parameter.grad


def endless(count, seed):
    epoch = 0
    while True:
        yield from batches(count, 64, seed + 1000 * epoch)
        epoch += 1


def precise(model, X):
    """A copy with the population statistics of its final weights: update_bn,
    one pass over X in batches of 256 (X is in random order)."""
    copied = copy.deepcopy(model)
    update_bn([X[start : start + 256] for start in range(0, len(X), 256)], copied)
    return copied


def evaluate(model, X, Y, training=False, batch_size=256, order=None):
    """Test loss and accuracy in % of a copy, in the mode asked for, over
    batches of batch_size in a shuffled order (or the order given)."""
    copied = copy.deepcopy(model).train(training)
    if order is None:
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))
    loss = correct = 0.0
    with torch.no_grad():
        for start in range(0, len(X) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            output = copied(X[index])
            loss += nn.functional.cross_entropy(output, Y[index], reduction="sum")
            correct += (output.argmax(dim=1) == Y[index]).sum().item()
    count = len(X) // batch_size * batch_size
    return loss.item() / count, 100 * correct / count


if __name__ == "__main__":
    X, Y, X_test, Y_test, X_moved = task_data()
    accuracies = torch.tensor([
        evaluate(train(make_model(seed), X, Y, steps=100), X_test, Y_test)[1]
        for seed in range(5)
    ])
    assert (accuracies > 90).all()
    print("5 seeds, 100 steps: test accuracy above 90% in evaluation mode, each")
