#!/usr/bin/env python3
"""Cross-validates classifier recipes on the official ICBHI *training* patients (never the test split).

Each recipe is a JSON training config (the format of a run's config.json; missing fields take
auscult's defaults). For every recipe, seed and fold, it runs

    auscult train --data ROOT --config RECIPE.json --split cv:K:FOLD[:FOLD_SEED] --seed SEED --json

(the held-out fold of training patients is the run's "test" set; early stopping uses a
validation carve-out of the remaining training patients) and sums the held-out confusion
matrices over the folds. Prints, per recipe: pooled Sp / Se / Score over all held-out cycles,
the mean and spread of the per-fold Scores, per-class recall and the mean wall time of a run.
Results are appended to a JSON-lines file, one line per run, so an interrupted sweep resumes.

    python3 bench/recipe_cv.py --data ../shared/data/icbhi-dev --auscult target/release/auscult \\
        --folds 4 --seeds 0 --out cv.jsonl recipes/a.json recipes/b.json

Recipes may also be given inline as NAME=JSON, e.g. 'wide={"model": {"channels": [16,32,64,128]}}'.
A recipe's "val_fraction" key is passed as `--val-fraction` (0: no validation, no early stopping).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CLASSES = ["normal", "crackle", "wheeze", "both"]


def icbhi(confusion):
    """Specificity, sensitivity and score of a 4-class ICBHI confusion matrix (rows = truth)."""
    normal_total = sum(confusion[0])
    abnormal_total = sum(sum(row) for row in confusion[1:])
    sp = confusion[0][0] / normal_total if normal_total else 0.0
    se = sum(confusion[c][c] for c in range(1, len(confusion))) / abnormal_total if abnormal_total else 0.0
    return sp, se, (sp + se) / 2


def recipes_from(args):
    out = []
    for item in args:
        if "=" in item and not os.path.exists(item):
            name, text = item.split("=", 1)
            out.append((name, json.loads(text)))
        else:
            with open(item) as f:
                out.append((os.path.splitext(os.path.basename(item))[0], json.load(f)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="ICBHI root with the official split file")
    ap.add_argument("--auscult", default="target/release/auscult", help="the auscult binary")
    ap.add_argument("--folds", type=int, default=4, help="K of cv:K:I (default 4)")
    ap.add_argument("--fold-seed", type=int, default=0, help="seed of the fold assignment")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--out", default="cv.jsonl", help="JSON-lines results (appended; reused)")
    ap.add_argument("--keep", help="keep run directories under this folder")
    ap.add_argument("recipes", nargs="+", help="recipe JSON files or NAME=JSON")
    a = ap.parse_args()

    done = {}
    if os.path.exists(a.out):
        with open(a.out) as f:
            for line in f:
                r = json.loads(line)
                done[(r["recipe"], r["seed"], r["fold"], r["folds"], r["fold_seed"])] = r
    seeds = [int(s) for s in a.seeds.split(",")]
    for name, cfg in recipes_from(a.recipes):
        runs = []
        for seed in seeds:
            for fold in range(a.folds):
                key = (name, seed, fold, a.folds, a.fold_seed)
                if key in done and done[key].get("config") == cfg:
                    runs.append(done[key])
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    cfg_path = os.path.join(tmp, "recipe.json")
                    train_cfg = {k: v for k, v in cfg.items() if k != "val_fraction"}
                    with open(cfg_path, "w") as f:
                        json.dump(train_cfg, f)
                    run_dir = os.path.join(a.keep, f"{name}-s{seed}-f{fold}") if a.keep else os.path.join(tmp, "run")
                    cmd = [a.auscult, "train", "--data", a.data, "--config", cfg_path,
                           "--split", f"cv:{a.folds}:{fold}:{a.fold_seed}", "--seed", str(seed),
                           "--out", run_dir, "--json"]
                    if "val_fraction" in cfg:
                        cmd += ["--val-fraction", str(cfg["val_fraction"])]
                    t0 = time.time()
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    wall = time.time() - t0
                    if p.returncode != 0:
                        sys.exit(f"{name} seed {seed} fold {fold} failed:\n{p.stderr[-3000:]}")
                    rep = json.loads(p.stdout)
                test = rep["test"]
                r = {"recipe": name, "config": cfg, "seed": seed, "fold": fold, "folds": a.folds,
                     "fold_seed": a.fold_seed, "wall_s": round(wall, 1), "epochs": rep["epochs"],
                     "best_epoch": rep["best_epoch"], "confusion": test["confusion"],
                     "score": test["score"], "sp": test["specificity"], "se": test["sensitivity"]}
                with open(a.out, "a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"  {name} seed {seed} fold {fold}: Score {100 * r['score']:.1f} "
                      f"(Sp {100 * r['sp']:.1f}, Se {100 * r['se']:.1f}), {r['epochs']} epochs, {wall:.0f} s",
                      file=sys.stderr, flush=True)
                runs.append(r)
        summarise(name, runs)


def summarise(name, runs):
    n = len(CLASSES)
    pooled = [[0] * n for _ in range(n)]
    for r in runs:
        for i in range(n):
            for j in range(n):
                pooled[i][j] += r["confusion"][i][j]
    sp, se, score = icbhi(pooled)
    scores = [100 * r["score"] for r in runs]
    mean = sum(scores) / len(scores)
    sd = (sum((s - mean) ** 2 for s in scores) / max(1, len(scores) - 1)) ** 0.5
    recall = [pooled[c][c] / max(1, sum(pooled[c])) for c in range(n)]
    wall = sum(r["wall_s"] for r in runs) / len(runs)
    line = {"recipe": name, "runs": len(runs), "pooled_sp": round(100 * sp, 1), "pooled_se": round(100 * se, 1),
            "pooled_score": round(100 * score, 1), "fold_score_mean": round(mean, 1), "fold_score_sd": round(sd, 1),
            "recall": {c: round(100 * x, 1) for c, x in zip(CLASSES, recall)}, "mean_wall_s": round(wall, 1)}
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
