#!/usr/bin/env python3
"""Does averaging several seeds' models help on real lung sounds? Cross-validated on the
training patients, with the device-label confound of `bench/confound_cv.py` built into each
fold's training part (the structure that makes the official test split fail).

For every fold, trains one model per seed (`auscult train --data FOLD --seed S`, the recipe
auscult picks for ICBHI data plus any extra flags), classifies the held-out fold's cycles with
each (`auscult classify --json`, one probability row per annotated cycle), and pools over the
folds:
- each single model's confusion matrix (the mean Sp / Se / Score over seeds is what one
  `auscult train` run gives on average);
- the ensemble's: the mean of the members' class probabilities per cycle, then the argmax.

    python3 bench/ensemble_cv.py --data ../shared/data/icbhi-dev --members 3 --work ens-cv

The fold copies, runs and per-cycle probabilities stay under --work, so a rerun reuses them.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from confound_cv import DB, build_fold, training_folds  # noqa: E402
from recipe_cv import CLASSES, icbhi  # noqa: E402


def truth_of(txt):
    """The ICBHI classes of a recording's annotated cycles, in file order."""
    out = []
    with open(txt, newline="") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 4:
                continue
            crackle, wheeze = fields[2] == "1", fields[3] == "1"
            out.append(3 if crackle and wheeze else 2 if wheeze else 1 if crackle else 0)
    return out


def probability_rows(segments):
    rows = []
    for s in segments:
        p = s["probabilities"]
        if isinstance(p, dict):
            rows.append([float(p[c]) for c in CLASSES])
        else:
            d = {k: v for k, v in p}
            rows.append([float(d[c]) for c in CLASSES])
    return rows


def confusion(truth, rows):
    n = len(CLASSES)
    cm = [[0] * n for _ in range(n)]
    for t, r in zip(truth, rows):
        cm[t][max(range(n), key=lambda c: r[c])] += 1
    return cm


def add(a, b):
    return [[x + y for x, y in zip(ra, rb)] for ra, rb in zip(a, b)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--auscult", default="target/release/auscult")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--fold-seed", type=int, default=0)
    ap.add_argument("--members", type=int, default=3, help="seeds 0..N-1 per fold")
    ap.add_argument("--chain", default="Meditron:44100")
    ap.add_argument("--keep", type=float, default=0.15)
    ap.add_argument("--work", default="ensemble-cv")
    ap.add_argument("flags", nargs="*", help="extra `auscult train` flags")
    a = ap.parse_args()
    device, rate = a.chain.split(":")
    chain = (device, int(rate))
    train, folds = training_folds(a.data, a.folds, a.fold_seed)

    n = len(CLASSES)
    single = [[[0] * n for _ in range(n)] for _ in range(a.members)]
    ens = [[0] * n for _ in range(n)]
    for fold in range(a.folds):
        fdir = os.path.join(a.work, f"fold-{fold}")
        root = os.path.join(fdir, "db")
        held = [x for x in train if x.split("_")[0] in folds[fold]]
        rest = [x for x in train if x.split("_")[0] not in folds[fold]]
        if not os.path.isdir(root):
            build_fold(a.data, root, rest, held, chain, a.keep, random.Random(1000 * a.fold_seed + fold))
        wavs = [os.path.join(root, DB, x + ".wav") for x in held]
        truth = [t for x in held for t in truth_of(os.path.join(root, DB, x + ".txt"))]
        members = []
        for seed in range(a.members):
            run = os.path.join(fdir, f"seed-{seed}")
            probs = os.path.join(fdir, f"seed-{seed}.probs.json")
            if not os.path.exists(probs):
                t0 = time.time()
                if not os.path.exists(os.path.join(run, "report.json")):
                    subprocess.run([a.auscult, "train", "--data", root, "--seed", str(seed),
                                    "--out", run, "--json"] + a.flags, check=True,
                                   stdout=subprocess.DEVNULL)
                out = subprocess.run([a.auscult, "classify", "--model", run, "--json"] + wavs,
                                     check=True, capture_output=True, text=True).stdout
                recs = json.loads(out)
                rows = [r for rec in recs for r in probability_rows(rec["cycles"])]
                with open(probs, "w") as f:
                    json.dump(rows, f)
                print(f"fold {fold} seed {seed}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            with open(probs) as f:
                rows = json.load(f)
            if len(rows) != len(truth):
                sys.exit(f"fold {fold} seed {seed}: {len(rows)} predictions for {len(truth)} cycles")
            members.append(rows)
            single[seed] = add(single[seed], confusion(truth, rows))
        mean = [[sum(m[i][c] for m in members) / len(members) for c in range(n)] for i in range(len(truth))]
        ens = add(ens, confusion(truth, mean))

    res = {"flags": a.flags, "members": a.members, "single": [], "ensemble": None}
    for seed, cm in enumerate(single):
        sp, se, sc = icbhi(cm)
        res["single"].append({"seed": seed, "sp": sp, "se": se, "score": sc, "confusion": cm})
        print(f"seed {seed} alone: Sp {100 * sp:.1f} Se {100 * se:.1f} Score {100 * sc:.1f}")
    m = [sum(r[k] for r in res["single"]) / a.members for k in ("sp", "se", "score")]
    print(f"single models, mean over seeds: Sp {100 * m[0]:.1f} Se {100 * m[1]:.1f} Score {100 * m[2]:.1f}")
    sp, se, sc = icbhi(ens)
    res["ensemble"] = {"sp": sp, "se": se, "score": sc, "confusion": ens}
    print(f"ensemble of {a.members}: Sp {100 * sp:.1f} Se {100 * se:.1f} Score {100 * sc:.1f}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
