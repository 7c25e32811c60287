#!/bin/bash
# The real-data study and the PyTorch reference on a GPU machine, timed (run by hand from the
# repository root through the device tool; never by CI). Needs, in the ignored folder devcarry/:
#   auscult.xz        the release binary built here with `cargo build --release -p auscult
#                     --features gpu`, stripped and xz-compressed (the carry limit is 64 MiB);
#   icbhi8k.tar.xz    ../shared/data/icbhi-dev with every recording above 8 kHz resampled to
#                     8 kHz 16-bit by auscult's own resampler (the compact front end's rate, so
#                     the study sees the same examples; the 4 kHz recordings are unchanged;
#                     the 113 MB original does not fit beside the binary);
# the Vulkan loader packages in .gl/ (../shared/BURN-NOTES.md), and python3 with torch there.
#
# Usage: DEADLINE=SECONDS bash bench/device_study.sh study|reference|folds
#   study      `auscult study --data D --seeds 1 --device gpu`, every arm, its own VQ-VAE and
#              prior, alone on the machine (the timing docs/study.md quotes);
#   reference  bench/icbhi_reference.py, CNN6 at full width on CUDA, seeds 0-2 side by side,
#              training capped at REF_BUDGET seconds each (default 100);
#   folds      the study on the four folds of the training patients (--split cv:4:I, arms
#              b,c,e), side by side: the generation settings chosen without the test split.
# Each job is cut off at the deadline. The first burn run on a fresh machine spends minutes
# compiling and autotuning kernels (232 s of the VQ-VAE's first epoch on 4 December 2026); the
# autotune results are cached under the working directory and reused by later processes.
# Everything small (reports, logs, histories) comes back as $OUT/results.tar.gz.
set -u
MODE=${1:-study}
OUT=${OUT:-/tmp/device-out}
DEADLINE=${DEADLINE:-540}
mkdir -p "$OUT"
W=/tmp/w
mkdir -p "$W"
T0=$(date +%s)
left() { echo $((DEADLINE - ($(date +%s) - T0) - 15)); }
pack() {
  cd "$W" && find . \( -name '*.json' -o -name '*.jsonl' -o -name '*.md' -o -name '*.log' \
    -o -name '*.csv' -o -name '*.txt' \) -size -4M -not -path './icbhi8k/*' -print0 |
    tar czf "$OUT/results.tar.gz" --null -T - 2>/dev/null
  ls -la "$OUT"
}
trap pack EXIT

nproc
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
tar xJf devcarry/icbhi8k.tar.xz -C "$W"
D=$W/icbhi8k
if [ "$MODE" != reference ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  xz -dc devcarry/auscult.xz >/tmp/auscult && chmod +x /tmp/auscult
  /tmp/auscult --version
fi
A=/tmp/auscult
echo "setup done at $(($(date +%s) - T0)) s; mode $MODE"

case "$MODE" in
study)
  t=$(date +%s)
  timeout "$(left)" $A study --data "$D" --seeds 1 --device gpu --out "$W/official" --json \
    >"$W/official.json" 2>"$W/official.log"
  echo "study: rc $? in $(($(date +%s) - t)) s"
  grep -E "^==>|done in" "$W/official.log"
  ;;
reference)
  for s in 0 1 2; do
    PYTHONUNBUFFERED=1 timeout "$(left)" python3 bench/icbhi_reference.py --data "$D" \
      --seed $s --width 1.0 --epochs 50 --time-budget-s "${REF_BUDGET:-100}" --threads 4 \
      --device cuda --out "$W/ref-seed$s.json" >"$W/ref-seed$s.log" 2>&1 &
  done
  wait
  for s in 0 1 2; do grep -A2 "^== test" "$W/ref-seed$s.log"; done
  ;;
folds)
  export RAYON_NUM_THREADS=4
  for i in 0 1 2 3; do
    timeout "$(left)" $A study --data "$D" --split cv:4:$i --seeds 1 --arms b,c,e \
      --device gpu --out "$W/cv$i" --json >"$W/cv$i.json" 2>"$W/cv$i.log" &
  done
  wait
  for i in 0 1 2 3; do echo "cv$i:"; grep -E "^==>|done in|Verdict" "$W/cv$i.log" | tail -6; done
  ;;
*)
  echo "unknown mode $MODE (study, reference or folds)" >&2
  exit 2
  ;;
esac
