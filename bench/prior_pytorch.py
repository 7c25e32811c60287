#!/usr/bin/env python3
"""The VQ-VAE prior's training step in PyTorch, to compare with auscult's (burn) on the same CPU.

The network is the one `auscult train-prior` builds at its CPU defaults for the default VQ-VAE
grid (`vqvae/src/prior.rs`): a GPT-style decoder, pre-norm blocks with causal multi-head
self-attention and a GELU feed-forward, learned code, class and position embeddings, the class
token in the first position and the codes shifted by one, dropout 0.1 on the embeddings and
residual branches, cross-entropy over the codebook, AdamW. Defaults: 512 codes per example,
codebook 512, d_model 128, 4 heads, 3 layers, d_ff 512, batch 16 (what
`cargo bench -p auscult-vqvae --bench vqvae -- prior_step_batch16` times).

    python3 bench/prior_pytorch.py --threads 2 [--steps 20] [--json]

Prints seconds per training step (median over the timed steps, after warm-up steps).
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, d_ff, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, d_ff)
        self.ff2 = nn.Linear(d_ff, d)
        self.heads = heads
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=2)
        shape = (b, n, self.heads, d // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.drop(self.out(a.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff2(F.gelu(self.ff1(self.norm2(x)))))


class Prior(nn.Module):
    def __init__(self, vocab, classes, seq_len, d, heads, layers, d_ff, dropout):
        super().__init__()
        self.code = nn.Embedding(vocab, d)
        self.cls = nn.Embedding(classes, d)
        self.pos = nn.Embedding(seq_len, d)
        self.blocks = nn.ModuleList(Block(d, heads, d_ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.drop = nn.Dropout(dropout)

    def forward(self, classes, codes):
        # Position 0 holds the class token, positions 1.. the codes before the one predicted.
        x = torch.cat([self.cls(classes)[:, None, :], self.code(codes[:, :-1])], dim=1)
        x = self.drop(x + self.pos.weight[None, : x.shape[1]])
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2, as the CI machine)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=512, help="codes per example (default 512: the 32 x 16 grid)")
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--d-ff", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Prior(a.vocab, 4, a.seq_len, a.d_model, a.heads, a.layers, a.d_ff, 0.1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    # The same synthetic batch as the Rust bench: codes (i * 5 + j * 3) % vocab, classes i % 4.
    codes = torch.tensor([[(i * 5 + j * 3) % a.vocab for j in range(a.seq_len)] for i in range(a.batch)])
    classes = torch.tensor([i % 4 for i in range(a.batch)])
    model.train()
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        logits = model(classes, codes)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), codes.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    out = {
        "framework": f"pytorch {torch.__version__}",
        "threads": a.threads,
        "batch": a.batch,
        "seq_len": a.seq_len,
        "seconds_per_step_median": med,
        "seconds_per_step_min": min(times),
        "steps_per_second": 1.0 / med,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if a.json:
        json.dump(out, sys.stdout)
        print()
    else:
        print(f"{out['framework']}, {a.threads} threads: {med:.3f} s/step median "
              f"(min {min(times):.3f}), {1 / med:.2f} steps/s, {out['parameters']} parameters")


if __name__ == "__main__":
    main()
