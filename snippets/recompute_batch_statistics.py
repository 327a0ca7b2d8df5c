"""batch_statistics(model): predict with each batch's own statistics, in place.

Inside the block the model is in evaluation mode (dropout off) except its batch
norms: those are in training mode with track_running_stats off, so they
normalize with each batch's mu_B and sigma_B^2 and neither use nor update their
running statistics. On leaving, every module gets back the mode it had and every
batch norm its track_running_stats. The batch norms are the modules of the
classes in NORMS; SyncBatchNorm is not a subclass of BatchNorm1d, 2d or 3d.

Run it: python snippets/recompute_batch_statistics.py
"""

from contextlib import contextmanager

import torch

nn = torch.nn
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@contextmanager
def batch_statistics(model):
    modes = [(m, m.training) for m in model.modules()]
    norms = [m for m in model.modules() if isinstance(m, NORMS)]
    tracking = [m.track_running_stats for m in norms]
    model.eval()  # dropout and the rest: evaluation mode
    for m in norms:
        m.train()
        m.track_running_stats = False  # in train(): neither used nor updated
    try:
        yield model
    finally:
        for m, tracks in zip(norms, tracking, strict=True):
            m.track_running_stats = tracks
        for m, training in modes:
            m.training = training


if __name__ == "__main__":
    print("batch norms switched:", ", ".join(cls.__name__ for cls in NORMS))
