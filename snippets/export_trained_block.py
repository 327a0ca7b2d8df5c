"""The model the deployment tools are tried on: a ResNet basic block, trained.

conv1, bn1, relu, conv2, bn2, the skip connection, then relu again: the block's
forward calls one ReLU module twice, as torchvision's BasicBlock does. Five
training-mode passes move the running statistics off 0 and 1, and gamma and
beta get random values, so that a fold that used the wrong numbers would show.

Run it: python snippets/export_trained_block.py
"""

import torch


class Block(torch.nn.Module):
    def __init__(self, channels=4):
        super().__init__()
        conv = torch.nn.Conv2d
        self.conv1 = conv(channels, channels, kernel_size=3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.relu = torch.nn.ReLU()
        self.conv2 = conv(channels, channels, kernel_size=3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(channels)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)  # the same ReLU module, a second time


def trained_block():
    """A Block in evaluation mode, with running statistics and gamma, beta
    away from their defaults."""
    torch.manual_seed(0)
    block = Block()
    for _ in range(5):  # training mode: the running statistics move
        block(2 * torch.randn(16, 4, 8, 8) + 1)
    with torch.no_grad():
        for bn in block.bn1, block.bn2:
            bn.weight.uniform_(0.5, 2.0)
            bn.bias.uniform_(-1.0, 1.0)
    return block.eval()


def gap(model, reference, X):
    """The largest difference on X, relative to the largest output."""
    with torch.no_grad():
        out = reference(X)
        return ((model(X) - out).abs().max() / out.abs().max()).item()


if __name__ == "__main__":
    block = trained_block()
    for bn in block.bn1, block.bn2:
        assert (bn.running_mean != 0).all() and (bn.running_var != 1).all()
    print(", ".join(f"{n} {type(m).__name__}" for n, m in block.named_children()))
    print("running statistics off 0 and 1; gamma, beta random; eval mode")
