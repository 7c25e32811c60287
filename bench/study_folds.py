#!/usr/bin/env python3
"""Pool the held-out folds of `auscult study --split cv:K:I` runs and compare settings.

Each fold study keeps every arm's predictions on its held-out patients
(`seed-S/<arm>/test-predictions.csv`). The folds' held-out patients are disjoint, so their
predictions together cover the training patients once: this script pools them per setting
and arm, computes the ICBHI metrics of the pooled confusion matrix, and the paired Score
difference of each arm against the baseline arm with a 95% interval from resampling patients
(one draw shared by every setting and arm). Only the standard library is needed.

Usage:
  python3 bench/study_folds.py NAME=DIR[,DIR...] [NAME=DIR,...] [--baseline b-mixup-supcon]
e.g.
  python3 bench/study_folds.py defaults=cv0,cv1,cv2,cv3 half=cv0-half,cv1-half,cv2-half,cv3-half
"""

import argparse
import csv
import os
import random
import sys

CLASSES = ["normal", "crackle", "wheeze", "both"]


def read_arm(dirs, arm, seed):
    rows = []
    for d in dirs:
        path = os.path.join(d, f"seed-{seed}", arm, "test-predictions.csv")
        if not os.path.exists(path):
            sys.exit(f"{path}: missing (was arm {arm} run in {d}?)")
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def metrics(rows):
    """Sp, Se, Score and per-class recall of a list of (truth, predicted) rows."""
    n = {c: 0 for c in CLASSES}
    hit = {c: 0 for c in CLASSES}
    for t, p in rows:
        n[t] += 1
        hit[t] += t == p
    abnormal = sum(n[c] for c in CLASSES[1:])
    sp = hit["normal"] / n["normal"] if n["normal"] else 0.0
    se = sum(hit[c] for c in CLASSES[1:]) / abnormal if abnormal else 0.0
    recall = {c: hit[c] / n[c] if n[c] else float("nan") for c in CLASSES}
    return sp, se, (sp + se) / 2, recall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("settings", nargs="+", help="NAME=DIR[,DIR...]: one setting's fold studies")
    ap.add_argument("--arms", default="b-mixup-supcon,c-augmented,e-gated")
    ap.add_argument("--baseline", default="b-mixup-supcon")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    arms = args.arms.split(",")
    runs = {}
    for s in args.settings:
        name, _, dirs = s.partition("=")
        for arm in arms:
            rows = read_arm(dirs.split(","), arm, args.seed)
            runs[(name, arm)] = {r["id"]: (r["patient"], r["truth"], r["predicted"]) for r in rows}
    first = next(iter(runs.values()))
    ids = sorted(first)
    for key, r in runs.items():
        if sorted(r) != ids:
            sys.exit(f"{key}: predictions cover other cycles than the first setting's")
    by_patient = {}
    for i in ids:
        by_patient.setdefault(first[i][0], []).append(i)
    patients = sorted(by_patient)
    rng = random.Random(0)
    draws = [[rng.choice(patients) for _ in patients] for _ in range(args.resamples)]

    def of(run, items):
        return metrics([(run[i][1], run[i][2]) for i in items])

    def score(run, items):
        return of(run, items)[2]

    print(f"{len(ids)} held-out cycles from {len(patients)} patients, seed {args.seed}\n")
    print("| setting | arm | Sp % | Se % | Score % | recall C / W / B % | vs baseline [95% CI, patients] |")
    print("|---|---|---|---|---|---|---|")
    for (name, arm), run in runs.items():
        sp, se, sc, rec = of(run, ids)
        rc = " / ".join(f"{100 * rec[c]:.1f}" for c in CLASSES[1:])
        diff = ""
        base = runs[(name, args.baseline)]
        if arm != args.baseline:
            d = sc - score(base, ids)
            boot = sorted(
                score(run, items) - score(base, items)
                for items in ([i for p in draw for i in by_patient[p]] for draw in draws)
            )
            lo = boot[int(0.025 * len(boot))]
            hi = boot[min(len(boot) - 1, int(0.975 * len(boot)))]
            diff = f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        print(f"| {name} | {arm} | {100 * sp:.1f} | {100 * se:.1f} | {100 * sc:.1f} | {rc} | {diff} |")


if __name__ == "__main__":
    main()
