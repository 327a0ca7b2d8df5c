"""How the norm of a weight followed by batch norm moves under Adam's L2 penalty
(Adam's weight_decay) and under AdamW's decoupled weight decay.

Run it: python snippets/scale_adam_vs_adamw.py
"""

import torch

from scale_task import FEATURES, train_with

Adam, AdamW = torch.optim.Adam, torch.optim.AdamW
lr, steps, shown = 0.01, 100, [0, 25, 50, 100]  # eta; the same batches in every run


def run(kind, decay, kappa, scale=1.0, full=False):
    """|W_o| after each step, from kappa W: (steps + 1, 4 copies, 8 rows);
    with full=True, W itself as well."""
    W = train_with(kind, steps, lr, kappa, scale, {"weight_decay": decay})
    return (W.norm(dim=-1), W) if full else W.norm(dim=-1)


def adam_part(W, decay):
    """AdamW's steps apart from the decay: how far each moves a row, in units
    of eta, and what it does to |W_o| as a fraction of the decay's change."""
    shrunk = (1 - lr * decay) * W[:-1]  # the decay, applied first
    step = W[1:] - shrunk  # Adam's step
    change = W[1:].norm(dim=-1) - shrunk.norm(dim=-1)
    return step.norm(dim=-1) / lr, change.abs() / (lr * decay * W[:-1].norm(dim=-1))


def show(name, norm):
    ratio = (norm / norm[0]).mean(dim=(1, 2))
    print(f"{name:31}" + "".join(f"{ratio[k]:7.3f}" for k in shown))


print("from 100 W: |W_o| / its start   " + "".join(f"{k:>7}" for k in shown))
large = {(kind, decay): run(kind, decay, 100.0, full=True)
         for kind in (AdamW, Adam) for decay in (0.1, 1.0)}
moves = {key: adam_part(W, key[1]) for key, (_, W) in large.items()}
large = {key: norm for key, (norm, _) in large.items()}
for (kind, decay), norm in large.items():
    show(f"{kind.__name__}, lambda {decay:g}", norm)
for decay in 0.1, 1.0:
    predicted = (1 - lr * decay) ** torch.tensor(shown, dtype=torch.float64)
    print(f"{f'(1 - eta lambda)^k, lambda {decay:g}':31}"
          + "".join(f"{p:7.3f}" for p in predicted))
for decay in 0.1, 1.0:  # AdamW: the factor 1 - eta lambda at each step
    norm = large[AdamW, decay]
    predicted = (1 - lr * decay) ** steps
    assert ((norm[steps] / norm[0] / predicted - 1).abs() < 0.03).all()
    size, share = moves[AdamW, decay]
    assert share.max() < 0.2  # Adam's step: a small part of the norm's change
most = max(moves[AdamW, decay][0].max() for decay in (0.1, 1.0))
assert FEATURES**0.5 < most < 3.5  # a coordinate can move by more than eta
fall = {decay: large[Adam, decay].diff(dim=0) / -lr for decay in (0.1, 1.0)}
assert ((fall[0.1] / fall[1.0] - 1).abs() < 0.01).all()  # in units of eta
assert 1 <= fall[1.0].min() and fall[1.0].max() <= FEATURES**0.5
print("AdamW: every row within 3% of (1 - eta lambda)^100 times its start;")
print(f"Adam's step moves a row by up to {most:.1f} eta, and changes |W_o| by less "
      "than\n0.2 times the decay's eta lambda |W_o| at every step")
print(f"Adam: every row falls by eta to sqrt({FEATURES}) eta at each step, the "
      "same to 1%\n      at lambda 0.1 and 1")

print("from W: |W_o| / its start       " + "".join(f"{k:>7}" for k in shown))
adamw_small, W_small = run(AdamW, 1.0, 1.0, full=True)
small = {
    "AdamW, lambda 1": adamw_small,
    "Adam, lambda 0.1": run(Adam, 0.1, 1.0),
    "Adam, lambda 0.1, loss x 100": run(Adam, 0.1, 1.0, scale=100.0),
    "Adam, lambda 0.001": run(Adam, 0.001, 1.0),
}
for name, norm in small.items():
    show(name, norm)
scaled_adamw = run(AdamW, 0.1, 100.0, scale=100.0)
ratio = small["AdamW, lambda 1"][steps] / small["AdamW, lambda 1"][0]
assert ratio.mean() > 1.1 * (1 - lr) ** steps  # steps not small beside |W_o|
size, share = adam_part(W_small, 1.0)
assert share.max() > 1  # Adam's step changes |W_o| by more than the decay
print("from W: AdamW at lambda 1 ends more than 10% above (1 - eta lambda)^100;")
print("at some steps Adam's step changes |W_o| by more than the decay")


def close(A, B):
    return ((A - B).abs() < 1e-5 * B).all()


assert close(small["Adam, lambda 0.1, loss x 100"], small["Adam, lambda 0.001"])
assert not close(small["Adam, lambda 0.1, loss x 100"], small["Adam, lambda 0.1"])
assert close(scaled_adamw, large[AdamW, 0.1])
print("loss x 100: Adam at lambda 0.1 moves |W_o| as Adam at lambda 0.001 on the "
      "loss,\nAdamW (from 100 W, lambda 0.1) as on the loss, both to 1e-5")
