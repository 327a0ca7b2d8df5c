"""The small task every section of "Worse in eval() than in train()" shares.

Four classes of points in 8 features: each class a Gaussian around its own
mean, with unit variance. The class means are 3 + 1.5 z, z from N(0, 1): the
features are not standardized. The network: Linear, BatchNorm1d, ReLU, Linear,
trained with plain SGD. Every function is seeded; each section trains its own
models, cheaply.

Run it: python snippets/eval_gap_task.py
"""

import copy

import torch

CLASSES, FEATURES, HIDDEN = 4, 8, 32
CENTRES = 1.5 * torch.randn(  # the class means, the same in every data set
    CLASSES, FEATURES, generator=torch.Generator().manual_seed(0)
) + 3.0


def make_data(count, seed):
    """count samples: labels Y, and X = the mean of Y's class + N(0, 1) noise."""
    generator = torch.Generator().manual_seed(seed)
    Y = torch.randint(CLASSES, (count,), generator=generator)
    X = CENTRES[Y] + torch.randn(count, FEATURES, generator=generator)
    return X, Y


def make_model(seed, dropout=0.0):
    """Linear, BatchNorm1d, ReLU, Linear. With dropout > 0: Linear, ReLU,
    Dropout, then a second Linear before the batch norm."""
    torch.manual_seed(seed)
    nn = torch.nn
    head = [nn.Linear(FEATURES, HIDDEN)]
    if dropout:
        head += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(HIDDEN, HIDDEN)]
    tail = [nn.BatchNorm1d(HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES)]
    return nn.Sequential(*head, *tail)


def batches(count, batch_size, seed, shuffle=True):
    """The index batches of one pass over count samples (a last short batch is
    dropped), in a random order or in the order the samples are stored."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator) if shuffle else None
    for start in range(0, count - batch_size + 1, batch_size):
        index = torch.arange(start, start + batch_size)
        yield order[index] if shuffle else index


def train(model, X, Y, steps, batch_size=64, shuffle=True, seed=0, training=True):
    """steps steps of SGD (learning rate 0.3) over the data, pass after pass.
    training=False runs them in evaluation mode, as a loop that forgot to call
    model.train() after an evaluation would."""
    model.train(training)
    step, epoch = 0, 0
    while True:
        for index in batches(len(X), batch_size, seed + 1000 * epoch, shuffle):
            loss = torch.nn.functional.cross_entropy(model(X[index]), Y[index])
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for parameter in model.parameters():
                    parameter -= 0.3 * parameter.grad
            step += 1
            if step == steps:
                return model
        epoch += 1


def accuracy(model, X, Y, training=False, batch_size=256, shuffle=True):
    """Accuracy in % in training or evaluation mode, over batches of batch_size.
    It runs a copy, so the model's running statistics stay as they were."""
    copied = copy.deepcopy(model).train(training)
    correct = total = 0
    with torch.no_grad():
        for index in batches(len(X), batch_size, seed=1, shuffle=shuffle):
            correct += (copied(X[index]).argmax(dim=1) == Y[index]).sum().item()
            total += len(index)
    return 100 * correct / total


if __name__ == "__main__":
    X, Y = make_data(2048, seed=1)  # training data
    X_test, Y_test = make_data(2048, seed=2)  # test data: the same distribution
    results = []  # per seed: training data, test data; training, eval mode
    for seed in range(10):  # seeds of the initial weights and the batch order
        model = train(make_model(seed), X, Y, steps=100, seed=seed)
        results.append([
            accuracy(model, data, labels, training)
            for data, labels in [(X, Y), (X_test, Y_test)]
            for training in (True, False)
        ])
    results = torch.tensor(results)
    assert (results > 90).all()
    gaps = (results[:, [0, 2]] - results[:, [1, 3]]).abs()
    assert gaps.max() < 3
    print("10 seeds, 100 steps each:")
    print("accuracy above 90% in both modes, on training and test data, every seed")
    print("largest gap between the two modes, any seed: below 3 points")
