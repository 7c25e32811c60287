#!/usr/bin/env python3
"""PyTorch reference for auscult's classifier benchmark (run by hand, never by CI).

Times the same training step as `cargo bench -p auscult-classifier` (`train_step/<preset>_b32`):
the classifier CNN (blocks of 3x3 conv without bias -> BatchNorm -> ReLU -> 2x2 average pool;
`small` = 8-16-32-64 channels, `medium` = 16-32-64-128; mean over Mel bins, mean + max over time;
dropout; linear head; projection head C -> P -> P with L2 normalisation), batch 32 of
1 x 64 x 126 log-Mel inputs,
soft-label cross-entropy + 0.5 x SupCon (temperature 0.07), backward, AdamW (lr 1e-3, weight
decay 1e-3) with per-parameter gradient-norm clipping at 5. Also times a forward pass of 32 items.

    pip install torch numpy
    python3 bench/pytorch_cnn.py --threads 2            # this project's 2-core CPU
    python3 bench/pytorch_cnn.py --device cuda          # a GPU
    python3 bench/pytorch_cnn.py --preset cnn10 --device cuda

Prints one JSON line per measurement: {"what", "device", "preset", "threads", "steps_per_s" or
"seconds"; "cpu_seconds" for the training step}. Compare with the criterion numbers on the same
machine in the same sitting.
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "small": dict(channels=[8, 16, 32, 64], convs=1, kernel=3, proj=32),
    "medium": dict(channels=[16, 32, 64, 128], convs=1, kernel=3, proj=64),
    "cnn6": dict(channels=[64, 128, 256, 512], convs=1, kernel=5, proj=128),
    "cnn10": dict(channels=[64, 128, 256, 512], convs=2, kernel=3, proj=128),
}


class Block(nn.Module):
    def __init__(self, c_in, c_out, convs, k):
        super().__init__()
        layers = []
        for j in range(convs):
            layers += [
                nn.Conv2d(c_in if j == 0 else c_out, c_out, k, padding=k // 2, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        x = self.body(x)
        kh, kw = min(2, x.shape[2]), min(2, x.shape[3])
        return F.avg_pool2d(x, (kh, kw)) if (kh, kw) != (1, 1) else x


class Cnn(nn.Module):
    def __init__(self, channels, convs, kernel, proj, n_classes=4, dropout=0.2):
        super().__init__()
        blocks, c_in = [], 1
        for c in channels:
            blocks.append(Block(c_in, c, convs, kernel))
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, n_classes)
        self.proj = nn.Sequential(nn.Linear(c_in, proj), nn.ReLU(inplace=True), nn.Linear(proj, proj))

    def forward(self, x):
        x = self.blocks(x).mean(dim=2)  # [B, C, T]
        emb = x.mean(dim=2) + x.amax(dim=2)
        return self.head(self.dropout(emb)), F.normalize(self.proj(emb), dim=1)


def supcon(features, labels, t=0.07, base_t=0.07):
    """SupContrast's SupConLoss, one view, contrast_mode='all'."""
    b = features.shape[0]
    mask = torch.eq(labels[:, None], labels[None, :]).float()
    logits = features @ features.T / t
    logits = logits - logits.max(dim=1, keepdim=True)[0].detach()
    logits_mask = 1 - torch.eye(b, device=features.device)
    mask = mask * logits_mask
    log_prob = logits - torch.log((torch.exp(logits) * logits_mask).sum(1, keepdim=True))
    pos = mask.sum(1)
    pos = torch.where(pos < 1e-6, torch.ones_like(pos), pos)
    return (-(t / base_t) * (mask * log_prob).sum(1) / pos).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--preset", default="small", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    model = Cnn(**PRESETS[args.preset]).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-3)
    x = torch.randn(args.batch, 1, 64, 126, device=dev)
    labels = torch.arange(args.batch, device=dev) % 4
    y = F.one_hot(labels, 4).float()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step():
        logits, proj = model(x)
        loss = -(y * F.log_softmax(logits, 1)).sum(1).mean() + 0.5 * supcon(proj, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for p in model.parameters():  # burn's GradientClipping::Norm is per parameter
            torch.nn.utils.clip_grad_norm_([p], 5.0)
        opt.step()
        return loss.item()

    model.train()
    for _ in range(args.warmup):
        step()
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    sync()
    dt = (time.perf_counter() - t0) / args.steps
    cpu = (time.process_time() - c0) / args.steps
    common = dict(device=args.device, preset=args.preset, threads=args.threads, batch=args.batch)
    # cpu_seconds: CPU time of the whole process per step (all threads); with one thread it is
    # what the step costs regardless of how loaded the machine is.
    print(json.dumps(dict(what="train_step", steps_per_s=1 / dt, seconds=dt, cpu_seconds=cpu, **common)))

    model.eval()
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            model(x)[0].cpu()
        sync()
    dt = (time.perf_counter() - t0) / args.steps
    print(json.dumps(dict(what="inference", seconds=dt, **common)))


if __name__ == "__main__":
    main()
