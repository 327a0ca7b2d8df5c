"""Batch norm for padded sequences: statistics from the real tokens only.

masked_batch_norm(bn, X, mask) takes a BatchNorm1d(C), a zero-padded batch X
of shape (n, C, L) and a mask (n, L), True at real tokens. It packs the real
tokens into one (tokens, C) batch, runs bn on it (training mode: their batch
statistics, and bn's running statistics updated from them; eval mode: the
running statistics) and puts the outputs back; padding stays 0.

Run it: python snippets/masked_batch_norm.py
"""

import torch


def masked_batch_norm(bn, X, mask):
    """bn over the real tokens of X (n, C, L) only; mask (n, L)."""
    tokens = X.transpose(1, 2)  # (n, L, C): one row per position
    out = torch.zeros_like(tokens)
    out[mask] = bn(tokens[mask])  # (real tokens, C)
    return out.transpose(1, 2)


def padded_batch(n=8, C=4, L=32):
    """n sequences of 4 to 32 tokens, values N(3, 1), zero-padded to L."""
    lengths = torch.randint(4, 33, (n, 1))
    mask = torch.arange(L) < lengths  # (n, L): True at real tokens
    X = torch.zeros(n, C, L)
    X.transpose(1, 2)[mask] = 3 + torch.randn(int(mask.sum()), C)
    return X, mask


if __name__ == "__main__":
    torch.manual_seed(0)
    X, mask = padded_batch()
    X64 = torch.nn.functional.pad(X, (0, 32))  # the same batch, padded to 64
    mask64 = torch.nn.functional.pad(mask, (0, 32))
    bn = torch.nn.BatchNorm1d(4, momentum=1.0)  # running stats := the batch's
    with torch.no_grad():
        out = masked_batch_norm(bn, X, mask)
        real = X.transpose(1, 2)[mask]  # the real tokens, (tokens, 4)
        assert torch.allclose(bn.running_mean, real.mean(0))
        assert torch.allclose(bn.running_var, real.var(0))  # unbiased
        var, mean = torch.var_mean(real, 0, unbiased=False)
        by_hand = (real - mean) / torch.sqrt(var + bn.eps)
        assert torch.allclose(out.transpose(1, 2)[mask], by_hand, atol=1e-5)
        assert (out.transpose(1, 2)[~mask] == 0).all()  # padding stays 0
        assert torch.equal(masked_batch_norm(bn, X64, mask64)[..., :32], out)
    print("one batch: real tokens' statistics, the same output at L = 32 and 64")

    # 200 training batches, then evaluation on unpadded sequences of 32 tokens
    plain, masked = torch.nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        for _ in range(200):
            X, mask = padded_batch()
            plain(X)
            masked_batch_norm(masked, X, mask)
        X = 3 + torch.randn(8, 4, 32)  # no padding: every token real
        print("after 200 steps   running mean  eval output: mean  std")
        for name, bn in {"plain": plain.eval(), "masked": masked.eval()}.items():
            out = bn(X)
            print(f"{name:17} {bn.running_mean.mean():12.1f}", end="  ")
            print(f"{out.mean():17.1f}  {out.std():.1f}")
        assert abs(plain(X).mean()) > 0.5 and abs(masked(X).mean()) < 0.1
        assert abs(masked(X).std() - 1) < 0.1
