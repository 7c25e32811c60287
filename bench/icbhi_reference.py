#!/usr/bin/env python3
"""PyTorch reference recipe for ICBHI 2017 4-class cycle classification (run by hand, never by CI).

This is the standard recipe a clinical-audio researcher would otherwise run, following the
conventions of Patch-Mix CL (Bae et al., Interspeech 2023) and its AST/SCL front end, with a
PANNs CNN6 trained from scratch. It reads the same data and the same official split as
auscult, so the two can be compared cycle for cycle.

Data: an ICBHI 2017 root in the official layout:
    ROOT/ICBHI_final_database/<name>.wav + <name>.txt   (start, end, crackles, wheezes; tab-separated)
    ROOT/ICBHI_challenge_train_test.txt                 (<name> TAB train|test)
Recordings listed in the split file but absent from the folder are skipped (for subsets such
as this project's 114-recording development set, /work/shared/data/icbhi-dev).

Recipe:
  * classes: normal (0,0), crackle (1,0), wheeze (0,1), both (1,1);
  * front end: resample each recording to 16 kHz (torchaudio.functional.resample), cut each
    cycle to samples [floor(start*sr), floor(end*sr)), linear fade in/out of sr/16 samples on
    the cycle, repeat-pad to 8 s (cycles longer than 8 s are truncated), 128-bin Kaldi fbank
    (25 ms window, 10 ms shift, Hanning, htk_compat, no dither, no energy) -> 798 x 128,
    normalised as (fbank - mean) / (2 * std) with the scalar mean/std of the fitting set;
    `--fade patchmix` instead reproduces Patch-Mix's code exactly (fade in/out on the whole
    recording, then a fade-out of sr/16 samples at the end of repeat-padded 8 s clips);
  * network: PANNs CNN6 (4 x [5x5 conv without bias, BatchNorm, ReLU, 2x2 average pool],
    64-128-256-512 channels times `--width`; mean over frequency, then max + mean over time;
    dropout 0.2; linear 4-way head), PANNs initialisation, trained from scratch;
  * training: Adam (lr 1e-3), batch 32, cross-entropy, SpecAugment (2 time masks up to 20 %
    of the frames, 2 frequency masks up to 20 bins, drawn per example), `--epochs` epochs or
    until `--time-budget-s` of training wall time;
  * model selection: the checkpoint with the best ICBHI Score on a validation set of ~20 % of
    the TRAINING patients (patient-disjoint from the fitting set, chosen by seed among many
    draws to match the training class mix as well as possible; patients who also have test
    recordings are never used for validation). The test split is only used once, at the end;
  * evaluation on the official test split: specificity (normal recall), sensitivity (abnormal
    cycles predicted as their exact class / all abnormal cycles), Score = (Sp + Se) / 2,
    per-class recall, confusion matrix, macro-F1, Sp/Se/Score per device and per source
    sample rate, and a 95 % percentile bootstrap interval of the Score over test PATIENTS
    (1000 resamples of patients with replacement, their cycles pooled).

Install and run (CPU by default, `--threads` sets torch's intra-op threads; `--device cuda`
trains and predicts on a GPU, where one full-width epoch takes about 2.6 s on an H200):
    pip install torch torchaudio numpy
    python3 bench/icbhi_reference.py --data ../shared/data/icbhi-dev --seed 0 --out ref-seed0.json
    python3 bench/icbhi_reference.py --self-test          # checks of the metrics, no data needed
    python3 bench/icbhi_reference.py --data ../shared/data/icbhi-dev --epochs 1 --width 0.125 \\
        --threads 1 --limit 6 --out /tmp/smoke.json       # a smoke test of the whole path
    python3 bench/icbhi_reference.py --data ../shared/data/icbhi-dev --time-batches 3 --limit 15
                                                          # time a few batches, estimate one epoch

Cost: at the default width 0.5 one training batch of 32 takes about 17 CPU-seconds (so about
9 s on an idle 2-core machine), one epoch of the development set's ~670 fitting cycles 3-4
minutes with validation, and 50 epochs about 3 hours; use `--time-budget-s` to cap it.

Prints a human-readable summary and writes one JSON file (`--out`) with the configuration,
seed, wall time, epochs run, best epoch, training history and all the metrics; `--json` also
prints that JSON to stdout (the human-readable log then goes to stderr).
"""

import argparse
import copy
import json
import math
import os
import platform
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchaudio
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as AF
import torchaudio.transforms as AT

CLASSES = ["normal", "crackle", "wheeze", "both"]
SAMPLE_RATE = 16000
DESIRED_SECONDS = 8
FADE_RATIO = 16  # fade length = SAMPLE_RATE / FADE_RATIO samples (Patch-Mix)
N_MELS = 128

# Expected cycle counts (normal, crackle, wheeze, both) under the official split, keyed by the
# number of (train, test) recordings found: the 114-recording development set and the full database.
KNOWN_COUNTS = {
    (68, 46): {"train": [561, 123, 110, 41], "test": [237, 43, 91, 37]},
    (539, 381): {"train": [2063, 1215, 501, 363], "test": [1579, 649, 385, 143]},
}

LOG = sys.stdout


def log(*args):
    print(*args, file=LOG, flush=True)


# ----------------------------------------------------------------------------- data


def read_wav(path):
    """Reads a RIFF/WAVE file (integer PCM 8/16/24/32-bit or float 32/64-bit, plain or
    WAVE_FORMAT_EXTENSIBLE). Returns (mono float32 samples scaled to [-1, 1), sample rate, bits)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
            if fmt[0] == 0xFFFE and len(body) >= 26:  # extensible: the real format is in the GUID
                fmt = (struct.unpack("<H", body[24:26])[0],) + fmt[1:]
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise ValueError(f"{path}: missing fmt or data chunk")
    tag, channels, sr, _, block, bits = fmt
    width = bits // 8
    n = len(data) // block
    data = data[: n * block]
    if tag == 1 and width == 1:
        x = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == 1 and width == 2:
        x = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    elif tag == 1 and width == 3:
        b = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif tag == 1 and width == 4:
        x = (np.frombuffer(data, "<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    elif tag == 3 and width in (4, 8):
        x = np.frombuffer(data, "<f4" if width == 4 else "<f8").astype(np.float32)
    else:
        raise ValueError(f"{path}: unsupported WAV format tag {tag} with {bits} bits")
    x = x.reshape(n, channels).mean(axis=1) if channels > 1 else x
    return np.ascontiguousarray(x, dtype=np.float32), sr, bits


def read_cycles(path):
    """ICBHI annotation file -> [(start_s, end_s, class index)]; tolerates CRLF and blank lines."""
    cycles = []
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            start, end, crackles, wheezes = float(fields[0]), float(fields[1]), int(fields[2]), int(fields[3])
            cycles.append((start, end, crackles + 2 * wheezes))  # (0,0)->0, (1,0)->1, (0,1)->2, (1,1)->3
    return cycles


def read_split(root):
    split = {}
    with open(os.path.join(root, "ICBHI_challenge_train_test.txt"), "r", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2:
                split[fields[0]] = fields[1].lower()
    return split


def list_recordings(root, limit=0):
    """The recordings present under ROOT/ICBHI_final_database (wav + txt) with their official split.
    With `limit` > 0, keeps the first `limit` recordings (by name) of each split."""
    db = os.path.join(root, "ICBHI_final_database")
    split = read_split(root)
    names = sorted(f[:-4] for f in os.listdir(db) if f.endswith(".wav") and os.path.exists(os.path.join(db, f[:-4] + ".txt")))
    missing = [n for n in names if n not in split]
    if missing:
        raise SystemExit(f"recordings absent from the official split file: {missing[:5]}")
    recs = {"train": [], "test": []}
    for name in names:
        recs[split[name]].append(name)
    if limit > 0:
        recs = {k: v[:limit] for k, v in recs.items()}
    log(f"data: {root}: {len(recs['train'])} train + {len(recs['test'])} test recordings "
        f"(of {len(split)} in the official split file)")
    return recs, len(split)


def linear_fade(x, n, fade_in=True, fade_out=True):
    """Linear fade in/out of n samples on the last axis (torchaudio.transforms.Fade's 'linear' ramps)."""
    n = min(n, x.shape[-1] // 2)
    if n <= 0:
        return x
    x = x.clone()
    ramp = torch.linspace(0.0, 1.0, n)
    if fade_in:
        x[..., :n] *= ramp
    if fade_out:
        x[..., -n:] *= ramp.flip(0)
    return x


def repeat_pad(x, target):
    """Truncates to `target` samples, or repeats the clip until it reaches `target` samples."""
    if x.shape[-1] >= target:
        return x[..., :target], False
    reps = math.ceil(target / x.shape[-1])
    return x.repeat(1, reps)[..., :target], True


def cycle_fbank(clip):
    return kaldi.fbank(clip, htk_compat=True, sample_frequency=SAMPLE_RATE, use_energy=False,
                       window_type="hanning", num_mel_bins=N_MELS, dither=0.0,
                       frame_length=25.0, frame_shift=10.0)


def extract(root, names, fade_mode):
    """Log-Mel fbanks (N x frames x 128, un-normalised), labels and per-cycle metadata."""
    db = os.path.join(root, "ICBHI_final_database")
    target = DESIRED_SECONDS * SAMPLE_RATE
    fade_n = SAMPLE_RATE // FADE_RATIO
    feats, labels, meta = [], [], []
    for name in names:
        wav, sr, bits = read_wav(os.path.join(db, name + ".wav"))
        x = torch.from_numpy(wav).unsqueeze(0)
        if sr != SAMPLE_RATE:
            x = AF.resample(x, sr, SAMPLE_RATE)
        if fade_mode == "patchmix":
            x = linear_fade(x, fade_n)
        fields = name.split("_")
        for start, end, label in read_cycles(os.path.join(db, name + ".txt")):
            a = min(int(math.floor(start * SAMPLE_RATE)), x.shape[-1])
            b = min(int(math.floor(end * SAMPLE_RATE)), x.shape[-1])
            clip = x[:, a:b]
            if clip.shape[-1] == 0:
                log(f"warning: {name}: empty cycle [{start}, {end}) s -> silence")
                clip = torch.zeros(1, 1)
            if fade_mode == "cycle":
                clip = linear_fade(clip, fade_n)
            clip, padded = repeat_pad(clip, target)
            if fade_mode == "patchmix" and padded:
                clip = linear_fade(clip, fade_n, fade_in=False)
            feats.append(cycle_fbank(clip))
            labels.append(label)
            meta.append({"recording": name, "patient": fields[0], "device": fields[-1], "sr": sr, "bits": bits})
    return torch.stack(feats), torch.tensor(labels, dtype=torch.long), meta


def class_counts(labels):
    return np.bincount(np.asarray(labels), minlength=4).tolist()


def choose_validation(train_meta, train_labels, test_patients, frac, seed, draws=5000):
    """Patient-disjoint validation set: round(frac * training patients) patients, chosen among
    `draws` seeded random subsets as the one whose per-class cycle fractions are closest to `frac`
    (and that holds normal and abnormal cycles). Patients with test recordings are not eligible."""
    labels = np.asarray(train_labels)
    patients = np.array([m["patient"] for m in train_meta])
    all_p = sorted(set(patients.tolist()))
    eligible = [p for p in all_p if p not in test_patients]
    k = max(1, min(len(eligible) - 1, round(frac * len(all_p))))
    per_patient = {p: np.bincount(labels[patients == p], minlength=4) for p in eligible}
    total = np.bincount(labels, minlength=4).astype(float)
    rng = np.random.default_rng(seed)
    best, best_cost = None, float("inf")
    for _ in range(draws):
        pick = sorted(rng.choice(len(eligible), size=k, replace=False).tolist())
        counts = sum(per_patient[eligible[i]] for i in pick)
        if counts[0] == 0 or counts[1:].sum() == 0:
            continue
        cost = float(np.abs(counts[total > 0] / total[total > 0] - frac).sum())
        if cost < best_cost:
            best, best_cost = pick, cost
    if best is None:
        raise SystemExit("no validation split with both normal and abnormal cycles")
    val_patients = {eligible[i] for i in best}
    is_val = np.array([p in val_patients for p in patients])
    return sorted(val_patients), is_val


# ----------------------------------------------------------------------------- model


class ConvBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 5, padding=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        nn.init.xavier_uniform_(self.conv.weight)

    def forward(self, x):
        return F.avg_pool2d(F.relu(self.bn(self.conv(x))), 2)


class Cnn6(nn.Module):
    """PANNs CNN6 on (batch, 1, time, mel) inputs."""

    def __init__(self, width=1.0, n_classes=4, dropout=0.2):
        super().__init__()
        chans = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.channels = chans
        self.blocks = nn.Sequential(*[ConvBlock(a, b) for a, b in zip([1] + chans[:-1], chans)])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(chans[-1], n_classes)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = self.blocks(x).mean(dim=3)  # mean over frequency -> (batch, C, time)
        x = x.max(dim=2).values + x.mean(dim=2)  # max + mean over time
        return self.head(self.dropout(x))


class SpecAugment(nn.Module):
    """2 time masks (up to 20 % of frames) + 2 frequency masks (up to 20 bins), per example."""

    def __init__(self, n_frames, time_frac=0.2, freq_bins=20, n_masks=2):
        super().__init__()
        self.masks = nn.ModuleList(
            [AT.TimeMasking(int(time_frac * n_frames), iid_masks=True) for _ in range(n_masks)]
            + [AT.FrequencyMasking(freq_bins, iid_masks=True) for _ in range(n_masks)])

    def forward(self, x):  # x: (batch, 1, time, mel); torchaudio masks want (..., freq, time)
        x = x.transpose(2, 3)
        for m in self.masks:
            x = m(x)
        return x.transpose(2, 3).contiguous()


# ----------------------------------------------------------------------------- metrics


def confusion(y_true, y_pred, n=4):
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def icbhi_score(cm):
    """(Sp, Se, Score) from a 4x4 confusion matrix (rows true, columns predicted; class 0 normal).
    Sp = normal recall; Se = abnormal cycles predicted as their exact class / abnormal cycles.
    Undefined parts (no normal / no abnormal cycle) are NaN."""
    cm = np.asarray(cm)
    n_norm, n_abn = cm[0].sum(), cm[1:].sum()
    sp = cm[0, 0] / n_norm if n_norm else float("nan")
    se = (cm[1, 1] + cm[2, 2] + cm[3, 3]) / n_abn if n_abn else float("nan")
    return float(sp), float(se), float((sp + se) / 2)


def macro_f1(cm):
    """Mean over the 4 classes of F1 = 2TP / (2TP + FP + FN); a class never present nor predicted counts 0."""
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    denom = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
    return float(f1.mean()), f1.tolist()


def recalls(cm):
    cm = np.asarray(cm)
    return [float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None for i in range(len(cm))]


def nan_to_none(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def group_scores(y_true, y_pred, keys):
    out = {}
    for key in sorted(set(keys), key=str):
        idx = [i for i, k in enumerate(keys) if k == key]
        cm = confusion(y_true[idx], y_pred[idx])
        sp, se, score = icbhi_score(cm)
        out[str(key)] = {"n": len(idx), "counts": cm.sum(1).tolist(),
                         "sp": nan_to_none(sp), "se": nan_to_none(se), "score": nan_to_none(score)}
    return out


def patient_bootstrap(y_true, y_pred, patients, n_boot, seed):
    """95 % percentile interval of the Score, resampling patients with replacement and pooling
    their cycles. Resamples where Sp or Se is undefined are skipped (and counted)."""
    rng = np.random.default_rng(seed)
    ids = sorted(set(patients))
    cms = {p: confusion(y_true[[i for i, q in enumerate(patients) if q == p]],
                        y_pred[[i for i, q in enumerate(patients) if q == p]]) for p in ids}
    stack = np.stack([cms[p] for p in ids])
    scores, skipped = [], 0
    for _ in range(n_boot):
        draw = rng.integers(0, len(ids), size=len(ids))
        s = icbhi_score(stack[draw].sum(0))[2]
        if math.isnan(s):
            skipped += 1
        else:
            scores.append(s)
    lo, hi = (np.percentile(scores, [2.5, 97.5]).tolist() if scores else (None, None))
    return {"resamples": n_boot, "skipped_undefined": skipped, "patients": len(ids),
            "score_ci95": [lo, hi], "score_mean": float(np.mean(scores)) if scores else None}


def evaluate(y_true, y_pred):
    cm = confusion(y_true, y_pred)
    sp, se, score = icbhi_score(cm)
    f1, per_f1 = macro_f1(cm)
    return {"n": int(len(y_true)), "sp": nan_to_none(sp), "se": nan_to_none(se), "score": nan_to_none(score),
            "macro_f1": f1, "f1": dict(zip(CLASSES, per_f1)), "recall": dict(zip(CLASSES, recalls(cm))),
            "confusion": cm.tolist()}


def self_test():
    """Checks of the metric code on hand-made cases; raises AssertionError on failure."""
    cm = np.array([[50, 10, 5, 5],    # normal: 50 of 70 right
                   [4, 12, 2, 2],     # crackle: 12 of 20
                   [3, 1, 6, 0],      # wheeze: 6 of 10
                   [1, 2, 1, 6]])     # both: 6 of 10
    sp, se, score = icbhi_score(cm)
    assert abs(sp - 50 / 70) < 1e-12 and abs(se - 24 / 40) < 1e-12 and abs(score - (50 / 70 + 0.6) / 2) < 1e-12
    assert recalls(cm) == [50 / 70, 0.6, 0.6, 0.6]
    # F1 per class: 2TP / (row + column sums)
    want = [2 * 50 / (70 + 58), 2 * 12 / (20 + 25), 2 * 6 / (10 + 14), 2 * 6 / (10 + 13)]
    f1, per = macro_f1(cm)
    assert np.allclose(per, want) and abs(f1 - np.mean(want)) < 1e-12
    assert math.isnan(icbhi_score(np.diag([0, 1, 1, 1]))[0])
    # a predicted "both" for a true crackle is a miss (exact class), not a hit
    assert icbhi_score(confusion([0, 1, 2, 3], [0, 3, 2, 3]))[1] == 2 / 3
    # confusion() agrees with the hand-made matrix
    yt = np.repeat(np.arange(4), cm.sum(1))
    yp = np.concatenate([np.repeat(np.arange(4), row) for row in cm])
    assert (confusion(yt, yp) == cm).all()
    # the bootstrap of a perfect classifier is [1, 1]; of one patient, a point
    pats = ["a"] * 3 + ["b"] * 3
    boot = patient_bootstrap(np.array([0, 1, 2, 0, 3, 0]), np.array([0, 1, 2, 0, 3, 0]), pats, 200, 0)
    assert boot["score_ci95"] == [1.0, 1.0]
    boot = patient_bootstrap(np.array([0, 1, 0, 2]), np.array([0, 0, 0, 2]), ["a"] * 4, 50, 0)
    assert np.allclose(boot["score_ci95"], [0.75, 0.75])
    # per-group scores
    g = group_scores(np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1]), ["x", "x", "y", "y"])
    assert g["x"]["score"] == 1.0 and g["y"]["sp"] == 0.0 and g["y"]["se"] == 1.0
    # padding and fades
    x = torch.arange(1, 4, dtype=torch.float32).unsqueeze(0)
    assert repeat_pad(x, 7)[0].tolist() == [[1, 2, 3, 1, 2, 3, 1]] and repeat_pad(x, 2)[0].tolist() == [[1, 2]]
    f = linear_fade(torch.ones(1, 10), 3)
    assert f.tolist() == [[0, 0.5, 1, 1, 1, 1, 1, 1, 0.5, 0]]
    # the WAV reader: 24-bit and 16-bit round trips
    import tempfile
    vals = np.array([0, 1, -1, 8388607, -8388608, 12345], dtype=np.int64)
    for bits, scale in ((24, 1 << 23), (16, 1 << 15)):
        v = vals if bits == 24 else np.clip(vals, -32768, 32767)
        if bits == 24:
            payload = b"".join(int(s).to_bytes(3, "little", signed=True) for s in v)
        else:
            payload = v.astype("<i2").tobytes()
        blk = bits // 8
        hdr = b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE" + b"fmt " + struct.pack(
            "<IHHIIHH", 16, 1, 1, 4000, 4000 * blk, blk, bits) + b"data" + struct.pack("<I", len(payload))
        with tempfile.NamedTemporaryFile(suffix=".wav", delete=False) as tmp:
            tmp.write(hdr + payload)
        try:
            y, sr, b = read_wav(tmp.name)
        finally:
            os.unlink(tmp.name)
        assert sr == 4000 and b == bits and np.allclose(y, v / scale)
    # the front end's shape
    assert cycle_fbank(torch.zeros(1, DESIRED_SECONDS * SAMPLE_RATE)).shape == (798, N_MELS)
    log("self-test: all checks passed")


# ----------------------------------------------------------------------------- training


def predict(model, x, batch=64):
    model.eval()
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i : i + batch].unsqueeze(1).to(dev)).argmax(1).cpu())
    return torch.cat(out).numpy()


def fmt_pct(v):
    return "  n/a" if v is None else f"{100 * v:5.1f}"


def main():
    global LOG
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="ICBHI 2017 root (holds ICBHI_final_database/ and ICBHI_challenge_train_test.txt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--time-budget-s", type=float, default=0.0,
                   help="wall-clock limit on training (epochs + validation), 0 = none; checked after every batch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=float, default=0.5, help="CNN6 channel multiplier (1.0 = 64-128-256-512)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="torch device for training and inference: cpu or cuda")
    p.add_argument("--val-frac", type=float, default=0.2, help="fraction of training patients used for validation")
    p.add_argument("--fade", choices=["cycle", "patchmix"], default="cycle",
                   help="cycle: fade in/out on each cycle before repeating; patchmix: Patch-Mix's code exactly")
    p.add_argument("--bootstrap", type=int, default=1000, help="patient-bootstrap resamples")
    p.add_argument("--limit", type=int, default=0, help="use only the first N recordings of each split (smoke tests)")
    p.add_argument("--time-batches", type=int, default=0,
                   help="only time this many training batches, print the per-epoch estimate and exit")
    p.add_argument("--out", help="write the JSON report here")
    p.add_argument("--json", action="store_true", help="print the JSON report to stdout (log to stderr)")
    p.add_argument("--self-test", action="store_true", help="run the metric checks and exit")
    args = p.parse_args()
    if args.json:
        LOG = sys.stderr
    if args.self_test:
        self_test()
        return
    if not args.data:
        p.error("--data is required")

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    # ---- data
    recs, n_listed = list_recordings(args.data, args.limit)
    t0 = time.time()
    x_tr, y_tr, m_tr = extract(args.data, recs["train"], args.fade)
    x_te, y_te, m_te = extract(args.data, recs["test"], args.fade)
    t_features = time.time() - t0
    counts = {"train": class_counts(y_tr), "test": class_counts(y_te)}
    for split in ("train", "test"):
        c = counts[split]
        log(f"{split}: {sum(c)} cycles ({' / '.join(f'{n} {k}' for n, k in zip(c, CLASSES))})")
    known = KNOWN_COUNTS.get((len(recs["train"]), len(recs["test"])))
    if known and not args.limit:
        assert counts == known, f"cycle counts {counts} differ from the expected {known}"
        log("cycle counts match the expected official-split counts")
    log(f"features: {len(y_tr) + len(y_te)} cycles -> {tuple(x_tr.shape[1:])} fbanks in {t_features:.1f} s")

    test_patients = {m["patient"] for m in m_te}
    val_patients, is_val = choose_validation(m_tr, y_tr.numpy(), test_patients, args.val_frac, args.seed)
    fit_idx = torch.from_numpy(np.flatnonzero(~is_val))
    val_idx = torch.from_numpy(np.flatnonzero(is_val))
    fit_patients = sorted({m_tr[i]["patient"] for i in fit_idx.tolist()})
    counts["fit"] = class_counts(y_tr[fit_idx])
    counts["val"] = class_counts(y_tr[val_idx])
    log(f"validation: patients {' '.join(val_patients)} -> {len(val_idx)} cycles {counts['val']}; "
        f"fitting: {len(fit_patients)} patients, {len(fit_idx)} cycles {counts['fit']}")

    mean, std = x_tr[fit_idx].mean().item(), x_tr[fit_idx].std().item()
    x_tr = (x_tr - mean) / (2 * std)
    x_te = (x_te - mean) / (2 * std)
    dev = torch.device(args.device)
    x_fit, y_fit = x_tr[fit_idx].to(dev), y_tr[fit_idx].to(dev)
    x_val, y_val = x_tr[val_idx], y_tr[val_idx].numpy()
    del x_tr
    log(f"normalisation (fitting set): mean {mean:.4f}, std {std:.4f}")

    # ---- model
    model = Cnn6(args.width).to(dev)
    n_params = sum(q.numel() for q in model.parameters())
    specaug = SpecAugment(x_fit.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    log(f"model: CNN6 width {args.width} -> channels {model.channels}, {n_params} parameters; "
        f"{args.threads} threads, device {args.device}")

    def batches():
        perm = torch.randperm(len(y_fit), generator=gen)
        chunks = [perm[i : i + args.batch] for i in range(0, len(perm), args.batch)]
        return [idx for idx in chunks if len(idx) > 1]  # BatchNorm needs more than one example

    def train_step(idx):
        model.train()
        xb = specaug(x_fit[idx].unsqueeze(1))
        loss = F.cross_entropy(model(xb), y_fit[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    n_batches = math.ceil(len(y_fit) / args.batch)
    if args.time_batches:
        it = iter(batches())
        train_step(next(it))  # warm-up
        t0, c0 = time.time(), time.process_time()
        k = 0
        for idx in it:
            train_step(idx)
            k += 1
            if k == args.time_batches:
                break
        per, cpu = (time.time() - t0) / max(k, 1), (time.process_time() - c0) / max(k, 1)
        t0 = time.time()
        predict(model, x_val)
        t_val = time.time() - t0
        log(f"timing: {per:.2f} s wall ({cpu:.2f} s CPU) per training batch of {args.batch} over {k} batches "
            f"-> {per * n_batches:.0f} s per epoch of {n_batches} batches + {t_val:.0f} s validation "
            f"({len(y_val)} cycles)")
        return

    # ---- training with model selection on the validation patients
    history, best = [], {"score": -1.0, "epoch": None, "state": None, "val": None}
    t_train = time.time()
    stopped_by_budget = False
    epochs_run = 0
    over_budget = lambda: args.time_budget_s and time.time() - t_train > args.time_budget_s
    for epoch in range(1, args.epochs + 1):
        if over_budget():
            stopped_by_budget = True
            break
        t0 = time.time()
        losses, epoch_batches = [], batches()
        for idx in epoch_batches:
            losses.append(train_step(idx))
            if over_budget():
                stopped_by_budget = True
                break
        complete = len(losses) == len(epoch_batches)
        epochs_run += 1
        val = evaluate(y_val, predict(model, x_val))
        rec = {"epoch": epoch, "complete": complete, "batches": len(losses),
               "train_loss": float(np.mean(losses)) if losses else None,
               "val_sp": val["sp"], "val_se": val["se"], "val_score": val["score"],
               "seconds": round(time.time() - t0, 2)}
        history.append(rec)
        improved = val["score"] is not None and val["score"] > best["score"]
        if improved:
            best = {"score": val["score"], "epoch": epoch, "state": copy.deepcopy(model.state_dict()), "val": val}
        loss = float("nan") if rec["train_loss"] is None else rec["train_loss"]
        log(f"epoch {epoch:3d}{'' if complete else ' (partial)'}: loss {loss:.4f}  "
            f"val Sp {fmt_pct(val['sp'])} Se {fmt_pct(val['se'])} Score {fmt_pct(val['score'])}"
            f"{'  *' if improved else ''}  ({rec['seconds']:.1f} s)")
        if stopped_by_budget:
            break
    if stopped_by_budget:
        log(f"time budget of {args.time_budget_s:.0f} s reached")
    train_seconds = time.time() - t_train
    if best["state"] is not None:
        model.load_state_dict(best["state"])

    # ---- test
    pred = predict(model, x_te)
    y_true = y_te.numpy()
    test = evaluate(y_true, pred)
    test["per_device"] = group_scores(y_true, pred, [m["device"] for m in m_te])
    test["per_sample_rate"] = group_scores(y_true, pred, [m["sr"] for m in m_te])
    test["bootstrap"] = patient_bootstrap(y_true, pred, [m["patient"] for m in m_te], args.bootstrap, args.seed)
    wall = time.time() - t_start

    report = {
        "what": "ICBHI 2017 reference: PANNs CNN6 from scratch, Patch-Mix CL front end, official split",
        "seed": args.seed,
        "config": {**{k: v for k, v in vars(args).items() if k not in ("json", "self_test")},
                   "channels": model.channels, "parameters": n_params, "sample_rate": SAMPLE_RATE,
                   "desired_seconds": DESIRED_SECONDS, "fade_samples": SAMPLE_RATE // FADE_RATIO,
                   "n_mels": N_MELS, "n_frames": int(x_fit.shape[1]), "specaugment":
                   {"time_masks": 2, "time_mask_max_frames": int(0.2 * x_fit.shape[1]), "freq_masks": 2,
                    "freq_mask_max_bins": 20}, "optimizer": "Adam", "loss": "cross-entropy",
                   "normalisation": {"mean": mean, "std": std, "formula": "(fbank - mean) / (2 * std)",
                                     "fitted_on": "fitting set (training patients minus validation)"}},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "torchaudio": torchaudio.__version__, "numpy": np.__version__},
        "data": {"root": os.path.abspath(args.data), "recordings": {k: len(v) for k, v in recs.items()},
                 "recordings_in_split_file": n_listed, "cycles": counts,
                 "validation_patients": val_patients, "fitting_patients": fit_patients,
                 "test_patients": sorted(test_patients)},
        "wall_seconds": round(wall, 1), "feature_seconds": round(t_features, 1),
        "train_seconds": round(train_seconds, 1), "epochs_run": epochs_run,
        "stopped_by_budget": stopped_by_budget, "best_epoch": best["epoch"],
        "best_val": best["val"], "history": history, "test": test,
    }

    # ---- summary
    log("")
    log(f"== test (official split, {test['n']} cycles), checkpoint of epoch {best['epoch']} "
        f"(best validation Score {fmt_pct(best['val']['score'] if best['val'] else None)} %) ==")
    b = test["bootstrap"]["score_ci95"]
    ci = "n/a" if b[0] is None else f"[{100 * b[0]:.1f}, {100 * b[1]:.1f}]"
    log(f"Sp {fmt_pct(test['sp'])} %  Se {fmt_pct(test['se'])} %  Score {fmt_pct(test['score'])} %  "
        f"(95 % patient-bootstrap CI {ci}, {test['bootstrap']['patients']} patients)  "
        f"macro-F1 {fmt_pct(test['macro_f1'])} %")
    log("recall: " + "  ".join(f"{k} {fmt_pct(v)} %" for k, v in test["recall"].items()))
    log("confusion (rows true, columns predicted: " + " / ".join(CLASSES) + "):")
    for name, row in zip(CLASSES, test["confusion"]):
        log(f"  {name:8s}" + "".join(f"{v:6d}" for v in row))
    for title, groups in (("device", test["per_device"]), ("source rate", test["per_sample_rate"])):
        for key, g in groups.items():
            log(f"  {title} {key:9s} n={g['n']:4d}  Sp {fmt_pct(g['sp'])}  Se {fmt_pct(g['se'])}  "
                f"Score {fmt_pct(g['score'])}")
    log(f"wall time {wall:.0f} s (features {t_features:.0f} s, training {train_seconds:.0f} s, "
        f"{epochs_run} epochs{', stopped by the time budget' if stopped_by_budget else ''})")

    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        log(f"wrote {args.out}")
    if args.json:
        print(text)


if __name__ == "__main__":
    main()
