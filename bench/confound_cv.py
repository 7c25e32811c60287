#!/usr/bin/env python3
"""Cross-validation with a device-label confound put into each fold's training part.

ICBHI's test split punishes a failure that ordinary folds of the training patients cannot
show: a stethoscope whose few training recordings are mostly abnormal (the Littmann 3200 in
the official training split) is learnt as a sign of disease, and that device's normal cycles
in new patients are called abnormal. This script builds the same structure from the training
patients alone, so a remedy can be judged without the test split:

- the official *training* patients are cut into K patient-disjoint folds (seeded);
- for fold I, a copy of the database (links to the audio, rewritten annotation and split
  files) holds the other folds as its training split and fold I as its test split; the
  official test recordings are left out;
- in the training part only, the recordings of one recording chain (a device at a native
  sample rate, default Meditron at 44.1 kHz) keep every abnormal cycle but only a fraction of
  their normal cycles (default 0.15), so that chain becomes mostly abnormal, as the
  Littmann 3200 is in the official training split; the held-out fold keeps all its cycles.

Each recipe is trained on every fold and seed (`auscult train --split official` on the
fold's copy) and the held-out confusion matrices are summed. Prints pooled Sp / Se / Score,
and specificity on the confounded chain's held-out normal cycles, which a confounded model
calls abnormal. Results are appended to a JSON-lines file, one line per run.

    python3 bench/confound_cv.py --data ../shared/data/icbhi-dev --auscult target/release/auscult \\
        --seeds 0,1 --out confound.jsonl base= balanced=--device-balance

Each recipe is NAME=FLAGS: extra `auscult train` flags on top of the recipe auscult picks for
ICBHI data (icbhi: no validation carve-out), e.g. 'compact=--recipe compact'.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import wave

DB = "ICBHI_final_database"
SPLIT = "ICBHI_challenge_train_test.txt"
# The ICBHI metric and class order, as bench/recipe_cv.py computes them.
from recipe_cv import CLASSES, icbhi  # noqa: E402


def native_rate(path):
    """The sample rate in a WAV header (also for 24-bit files)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    i = head.find(b"fmt ")
    if i < 0:
        with wave.open(path) as w:
            return w.getframerate()
    return int.from_bytes(head[i + 12:i + 16], "little")


def read_split(root):
    out = {}
    with open(os.path.join(root, SPLIT), newline="") as f:
        for line in f:
            parts = line.strip().split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


def build_fold(root, dest, train_names, test_names, chain, keep, rng):
    """Writes the fold's copy of the database under dest; returns per-part cycle counts."""
    os.makedirs(os.path.join(dest, DB))
    for f in os.listdir(root):
        if f.startswith("ICBHI_Challenge_") and f.endswith(".txt"):
            os.symlink(os.path.abspath(os.path.join(root, f)), os.path.join(dest, f))
    dropped = kept = 0
    with open(os.path.join(dest, SPLIT), "w") as split:
        for names, part in ((train_names, "train"), (test_names, "test")):
            for name in names:
                wav = os.path.abspath(os.path.join(root, DB, name + ".wav"))
                os.symlink(wav, os.path.join(dest, DB, name + ".wav"))
                device = name.split("_")[-1]
                confounded = part == "train" and (device, native_rate(wav)) == chain
                lines = []
                with open(os.path.join(root, DB, name + ".txt"), newline="") as f:
                    for line in f:
                        fields = line.split()
                        if len(fields) < 4:
                            continue
                        normal = fields[2] == "0" and fields[3] == "0"
                        if confounded and normal:
                            if rng.random() >= keep:
                                dropped += 1
                                continue
                            kept += 1
                        lines.append("\t".join(fields[:4]))
                if not lines:
                    # Every cycle dropped: leave the recording out.
                    os.remove(os.path.join(dest, DB, name + ".wav"))
                    continue
                with open(os.path.join(dest, DB, name + ".txt"), "w") as f:
                    f.write("\n".join(lines) + "\n")
                split.write(f"{name}\t{part}\n")
    return dropped, kept


def training_folds(root, k, seed):
    """The official training recordings present under root, and k patient-disjoint folds of
    their patients (sets of patient ids), shuffled by seed."""
    split = read_split(root)
    train = sorted(n for n, p in split.items() if p == "train"
                   and os.path.exists(os.path.join(root, DB, n + ".wav")))
    patients = sorted({n.split("_")[0] for n in train})
    random.Random(seed).shuffle(patients)
    return train, [set(patients[i::k]) for i in range(k)]


def recipes_from(args):
    out = []
    for item in args:
        name, flags = item.split("=", 1)
        out.append((name, flags.split()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="ICBHI root with the official split file")
    ap.add_argument("--auscult", default="target/release/auscult")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--fold-seed", type=int, default=0)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--chain", default="Meditron:44100", help="DEVICE:RATE made mostly abnormal in training")
    ap.add_argument("--keep", type=float, default=0.15, help="share of that chain's normal training cycles kept")
    ap.add_argument("--out", default="confound.jsonl")
    ap.add_argument("recipes", nargs="+")
    a = ap.parse_args()
    device, rate = a.chain.split(":")
    chain = (device, int(rate))

    train, folds = training_folds(a.data, a.folds, a.fold_seed)

    done = {}
    if os.path.exists(a.out):
        with open(a.out) as f:
            for line in f:
                r = json.loads(line)
                done[(r["recipe"], r["seed"], r["fold"], r["chain"], r["keep"], r["fold_seed"])] = r
    seeds = [int(s) for s in a.seeds.split(",")]
    for name, cfg in recipes_from(a.recipes):
        runs = []
        for seed in seeds:
            for fold in range(a.folds):
                key = (name, seed, fold, a.chain, a.keep, a.fold_seed)
                if key in done and done[key].get("config") == cfg:
                    runs.append(done[key])
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    held = [n for n in train if n.split("_")[0] in folds[fold]]
                    rest = [n for n in train if n.split("_")[0] not in folds[fold]]
                    root = os.path.join(tmp, "db")
                    dropped, kept = build_fold(a.data, root, rest, held, chain, a.keep,
                                               random.Random(1000 * a.fold_seed + fold))
                    run_dir = os.path.join(tmp, "run")
                    cmd = [a.auscult, "train", "--data", root, "--seed", str(seed),
                           "--out", run_dir, "--json"] + cfg
                    t0 = time.time()
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    wall = time.time() - t0
                    if p.returncode != 0:
                        sys.exit(f"{name} seed {seed} fold {fold} failed:\n{p.stderr[-3000:]}")
                    rep = json.loads(p.stdout)
                    ev = subprocess.run([a.auscult, "evaluate", "--model", run_dir, "--data", root,
                                         "--part", "test", "--bootstrap", "0", "--json"], capture_output=True, text=True)
                    if ev.returncode != 0:
                        sys.exit(f"evaluate failed:\n{ev.stderr[-3000:]}")
                    e = json.loads(ev.stdout)
                chain_metrics = next((g for g in e["by_sample_rate"] if g["group"] == str(chain[1])), None)
                test = rep["test"]
                r = {"recipe": name, "config": cfg, "seed": seed, "fold": fold, "chain": a.chain,
                     "keep": a.keep, "fold_seed": a.fold_seed, "dropped": dropped, "kept": kept,
                     "wall_s": round(wall, 1), "confusion": test["confusion"], "score": test["score"],
                     "sp": test["specificity"], "se": test["sensitivity"], "by_sample_rate": e["by_sample_rate"],
                     "by_device": e["by_device"]}
                with open(a.out, "a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"  {name} seed {seed} fold {fold}: Score {100 * r['score']:.1f} "
                      f"(Sp {100 * r['sp']:.1f}, Se {100 * r['se']:.1f}); chain "
                      f"{json.dumps(chain_metrics)[:200] if chain_metrics else '-'}; {wall:.0f} s",
                      file=sys.stderr, flush=True)
                runs.append(r)
        summarise(name, runs, chain)


def summarise(name, runs, chain):
    n = len(CLASSES)
    pooled = [[0] * n for _ in range(n)]
    for r in runs:
        for i in range(n):
            for j in range(n):
                pooled[i][j] += r["confusion"][i][j]
    sp, se, score = icbhi(pooled)
    chain_pooled = [[0] * n for _ in range(n)]
    for r in runs:
        g = next((g for g in r["by_sample_rate"] if g["group"] == str(chain[1])), None)
        if g:
            for i in range(n):
                for j in range(n):
                    chain_pooled[i][j] += g["confusion"][i][j]
    csp, cse, cscore = icbhi(chain_pooled)
    scores = [100 * r["score"] for r in runs]
    mean = sum(scores) / len(scores)
    sd = (sum((s - mean) ** 2 for s in scores) / max(1, len(scores) - 1)) ** 0.5
    recall = [pooled[c][c] / max(1, sum(pooled[c])) for c in range(n)]
    print(json.dumps({"recipe": name, "runs": len(runs), "pooled_sp": round(100 * sp, 1),
                      "pooled_se": round(100 * se, 1), "pooled_score": round(100 * score, 1),
                      "fold_score_mean": round(mean, 1), "fold_score_sd": round(sd, 1),
                      "chain_sp": round(100 * csp, 1), "chain_se": round(100 * cse, 1),
                      "chain_score": round(100 * cscore, 1),
                      "recall": {c: round(100 * x, 1) for c, x in zip(CLASSES, recall)}}), flush=True)


if __name__ == "__main__":
    main()
